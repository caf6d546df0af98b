// /v1/alerts/rules on the real engine (embedded ClickHouse): CRUD, the rules file, built-in
// defaults, and the exact 400/404/409 answers.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Registry } from 'prom-client'
import type { FastifyInstance } from 'fastify'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { buildQueryApi } from '../../query-api/server.js'
import { alertsFeature } from '../../alerts/routes.js'
import { tempDir } from '../helpers/env.js'

describe('alert rules API', () => {
  const dir = tempDir('alerts-rules')
  let ch: ClickHouse
  let app: FastifyInstance
  const rulesFile = path.join(dir, 'rules.json')

  beforeAll(async () => {
    fs.writeFileSync(rulesFile, JSON.stringify({ rules: [{ id: 'file.rss', name: 'rss above 1 GiB', kind: 'threshold', metric: 'rss', op: '>', threshold: 1073741824, for: '5m' }] }))
    ch = await createClickHouse({ database: 'sluice', dataDir: dir })
    await migrate(ch.client, ch.database, { retentionDays: 30 })
    app = await buildQueryApi({ clickhouse: ch.client, database: ch.database, tokens: [], registries: [], plugins: [alertsFeature({ registry: new Registry(), builtins: true, rulesFile, maxRules: 8 })] })
    await app.ready()
  })
  afterAll(async () => { await app?.close(); await ch?.close() })

  const post = async (body: unknown): Promise<{ status: number, body: unknown }> => {
    const res = await app.inject({ method: 'POST', url: '/v1/alerts/rules', payload: body as object })
    return { status: res.statusCode, body: res.json() }
  }
  const bad = (message: string): { status: number, body: unknown } => ({ status: 400, body: { error: 'SLUICE_ERR_BAD_RULE', message } })
  const base = { name: 'fds', kind: 'threshold', metric: 'fds', divide_by: 'fd_limit', op: '>', threshold: 0.8 }

  it('lists the built-in defaults and the rules file, read-only', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/alerts/rules' })
    expect(res.statusCode).toBe(200)
    const rules = (res.json() as { rules: Array<{ id: string, origin: string, threshold: number, for: string }> }).rules
    expect(rules.map(r => [r.id, r.origin, r.threshold, r.for])).toEqual([
      ['builtin.heap', 'builtin', 0.9, '5m'], ['builtin.fds', 'builtin', 0.8, '1m'], ['builtin.eventloop', 'builtin', 1000, '1m'], ['file.rss', 'file', 1073741824, '5m']
    ])
    const del = await app.inject({ method: 'DELETE', url: '/v1/alerts/rules/builtin.heap' })
    expect([del.statusCode, del.json()]).toEqual([409, { error: 'SLUICE_ERR_RULE_READONLY', message: "alert rule 'builtin.heap' comes from the built-in defaults and cannot be changed through the API" }])
    const put = await app.inject({ method: 'PUT', url: '/v1/alerts/rules/file.rss', payload: { ...base } })
    expect([put.statusCode, put.json()]).toEqual([409, { error: 'SLUICE_ERR_RULE_READONLY', message: "alert rule 'file.rss' comes from the rules file (SLUICE_ALERT_RULES) and cannot be changed through the API" }])
  })

  it('creates, reads, replaces and deletes a rule', async () => {
    expect(await post({ ...base, id: 'fds-high', for: '30s', resolve_threshold: 0.7 })).toEqual({ status: 201, body: { rule: { ...base, id: 'fds-high', for: '30s', resolve_threshold: 0.7, enabled: true, origin: 'api' } } })
    expect(await post({ ...base, id: 'fds-high' })).toEqual({ status: 409, body: { error: 'SLUICE_ERR_RULE_EXISTS', message: "an alert rule with id 'fds-high' already exists; use PUT /v1/alerts/rules/fds-high to change it" } })
    const put = await app.inject({ method: 'PUT', url: '/v1/alerts/rules/fds-high', payload: { ...base, threshold: 0.9, enabled: false } })
    expect([put.statusCode, put.json()]).toEqual([200, { rule: { ...base, id: 'fds-high', threshold: 0.9, enabled: false, origin: 'api' } }])
    const get = await app.inject({ method: 'GET', url: '/v1/alerts/rules/fds-high' })
    expect(get.json()).toEqual({ rule: { ...base, id: 'fds-high', threshold: 0.9, enabled: false, origin: 'api' } })
    const generated = await post({ name: 'slow loop', kind: 'threshold', metric: 'eventloop_delay_p99_ms', op: '>', threshold: 250 })
    expect(generated.status).toBe(201)
    expect((generated.body as { rule: { id: string } }).rule.id).toMatch(/^[0-9a-f]{12}$/)
    const del = await app.inject({ method: 'DELETE', url: '/v1/alerts/rules/fds-high' })
    expect(del.statusCode).toBe(204)
    const gone = await app.inject({ method: 'GET', url: '/v1/alerts/rules/fds-high' })
    expect([gone.statusCode, gone.json()]).toEqual([404, { error: 'SLUICE_ERR_RULE_NOT_FOUND', message: "no alert rule with id 'fds-high'" }])
    const put404 = await app.inject({ method: 'PUT', url: '/v1/alerts/rules/nope', payload: base })
    expect([put404.statusCode, put404.json()]).toEqual([404, { error: 'SLUICE_ERR_RULE_NOT_FOUND', message: "no alert rule with id 'nope'" }])
  })

  it.each([
    ['a missing kind', { name: 'x', metric: 'fds', op: '>', threshold: 1 }, "invalid alert rule: 'kind' is required: one of 'threshold', 'increase', 'log_rate', 'no_data', 'gap'"],
    ['an unknown field', { ...base, thresold: 2 }, "invalid alert rule: 'thresold' is not a rule field"],
    ['a threshold that is not a number', { ...base, threshold: 'high' }, 'invalid alert rule: \'threshold\' must be a number, got "high"'],
    ['an unknown operator', { ...base, op: '!=' }, 'invalid alert rule: \'op\' must be one of \'>\', \'>=\', \'<\', \'<=\', got "!="'],
    ['a threshold rule without metric', { name: 'x', kind: 'threshold', op: '>', threshold: 1 }, "invalid alert rule: 'metric' is required when kind is 'threshold'"],
    ['a threshold rule without threshold', { name: 'x', kind: 'threshold', metric: 'fds', op: '>' }, "invalid alert rule: 'threshold' is required when kind is 'threshold'"],
    ['a bad duration', { ...base, for: '5 minutes' }, 'invalid alert rule: \'for\' must be a duration like 30s, 5m or 1h, got "5 minutes"'],
    ['a too long keep_firing_for', { ...base, keep_firing_for: '8d' }, "invalid alert rule: 'keep_firing_for' must be at most 7d"],
    ['a resolve threshold on the firing side', { ...base, resolve_threshold: 0.95 }, "invalid alert rule: 'resolve_threshold' must be ≤ threshold (0.8) for op '>': it is the level at which the alert clears"],
    ['a no-data rule without for', { name: 'x', kind: 'no_data', metric: 'heap_used' }, "invalid alert rule: 'for' is required for kind 'no_data' and must be at least 1s"],
    ['a no-data rule with a threshold', { name: 'x', kind: 'no_data', metric: 'heap_used', for: '1m', threshold: 3 }, "invalid alert rule: 'threshold' does not apply to kind 'no_data' (it fires when no sample arrived for 'for')"],
    ['a log-rate rule with a metric', { name: 'x', kind: 'log_rate', metric: 'fds', op: '>', threshold: 3 }, "invalid alert rule: 'metric' does not apply to kind 'log_rate' (it counts log lines)"],
    ['level on a threshold rule', { ...base, level: 'error' }, "invalid alert rule: 'level' applies only to kind 'log_rate'"],
    ['a non-http webhook', { ...base, webhook: 'ftp://example.com/x' }, "invalid alert rule: 'webhook' must be an http(s) URL"],
    ['a bad id', { ...base, id: 'Has Spaces' }, 'invalid alert rule: \'id\' must be an id of 1-64 characters a-z 0-9 _ . - starting with a letter or digit, got "Has Spaces"'],
    ['a body that is not an object', ['x'], 'invalid alert rule: \'(body)\' must be a JSON object, got ["x"]'],
    ['an increase rule without window', { name: 'x', kind: 'increase', metric: 'fds', op: '>', threshold: 50 }, "invalid alert rule: 'window' is required when kind is 'increase' (e.g. 5m: value = last sample − the sample 5m before)"],
    ['an increase rule with a too long window and divide_by', { name: 'x', kind: 'increase', metric: 'fds', divide_by: 'fd_limit', window: '2d', op: '>', threshold: 50 }, "invalid alert rule: 'divide_by' applies only to kind 'threshold'; 'window' must be between 1s and 1d"],
    ['an increase rule without metric or threshold', { name: 'x', kind: 'increase', window: '5m', op: '>' }, "invalid alert rule: 'metric' is required when kind is 'increase'; 'threshold' is required when kind is 'increase'"],
    ['window on a threshold rule', { ...base, window: '5m' }, "invalid alert rule: 'window' applies only to kind 'increase'"],
    ['stale_after on a no-data rule', { name: 'x', kind: 'no_data', metric: 'heap_used', for: '1m', stale_after: '5m' }, "invalid alert rule: 'stale_after' applies only to kinds 'threshold' and 'increase'"],
    ['a bad stale_after', { ...base, stale_after: 'soon' }, 'invalid alert rule: \'stale_after\' must be a duration like 30s, 5m or 1h, got "soon"'],
    ['a stale_after under 1s', { ...base, stale_after: '500ms' }, "invalid alert rule: 'stale_after' must be at least 1s"],
    ['several inconsistencies at once', { name: 'x', kind: 'no_data', metric: 'm', threshold: 3, op: '>', level: 'error' }, "invalid alert rule: 'level' applies only to kind 'log_rate'; 'op' does not apply to kind 'no_data' (it fires when no sample arrived for 'for'); 'threshold' does not apply to kind 'no_data' (it fires when no sample arrived for 'for'); 'for' is required for kind 'no_data' and must be at least 1s"]
  ])('rejects %s with a specific 400', async (_what, body, message) => {
    expect(await post(body)).toEqual(bad(message))
  })

  // issue 15 item 8: the route used to coerce before the rule check (null → 0, true → 1,
  // ["no_data"] → "no_data", enabled null → false); the raw body is checked now, every problem
  // named at once
  it.each([
    ['threshold null', { ...base, threshold: null }, "'threshold' must be a number, got null"],
    ['threshold true', { ...base, threshold: true }, "'threshold' must be a number, got true"],
    ['threshold "5"', { ...base, threshold: '5' }, '\'threshold\' must be a number, got "5"'],
    ['resolve_threshold "0.5"', { ...base, resolve_threshold: '0.5' }, '\'resolve_threshold\' must be a number, got "0.5"'],
    ['enabled null', { ...base, enabled: null }, "'enabled' must be true or false, got null"],
    ['enabled "false"', { ...base, enabled: 'false' }, '\'enabled\' must be true or false, got "false"'],
    ['kind ["no_data"]', { ...base, kind: ['no_data'] }, '\'kind\' must be one of \'threshold\', \'increase\', \'log_rate\', \'no_data\', \'gap\', got ["no_data"]'],
    ['service "api"', { ...base, service: 'api' }, '\'service\' must be an array of at most 100 names (strings of 1-255 characters), got "api"'],
    ['op "=>"', { ...base, op: '=>' }, '\'op\' must be one of \'>\', \'>=\', \'<\', \'<=\', got "=>"'],
    ['missing name with other errors', { kind: 'threshold', metric: 'fds', op: '=>', threshold: null, for: 5, colour: 'red' },
      '\'name\' is required; \'op\' must be one of \'>\', \'>=\', \'<\', \'<=\', got "=>"; \'threshold\' must be a number, got null; \'for\' must be a duration like 30s, 5m or 1h, got 5; \'colour\' is not a rule field']
  ])('rule_coercion: %s is a 400 naming the field', async (_what, body, why) => {
    expect(await post(body)).toEqual(bad(`invalid alert rule: ${why}`))
    const put = await app.inject({ method: 'PUT', url: '/v1/alerts/rules/file.rss', payload: body as object })
    expect([put.statusCode, put.json()]).toEqual([400, { error: 'SLUICE_ERR_BAD_RULE', message: `invalid alert rule: ${why}` }])
  })

  it.each([
    ['[::1]', 'http://[::1]:9/x', "destination '[::1]' is a loopback address"],
    ['a decimal 127.0.0.1', 'http://2130706433:9/x', "destination '127.0.0.1' is a loopback address"],
    ['a hex 127.0.0.1', 'http://0x7f.1:9/x', "destination '127.0.0.1' is a loopback address"],
    ['an IPv4-mapped private address', 'http://[::ffff:10.0.0.1]/x', "destination '[::ffff:a00:1]' is a private address"],
    ['the metadata address', 'http://169.254.169.254/latest', "destination '169.254.169.254' is a link-local address"]
  ])('refuses a webhook to %s', async (_what, webhook, why) => {
    expect(await post({ ...base, webhook })).toEqual(bad(`invalid alert rule: 'webhook' is refused: ${why}; allow it with SLUICE_ALERT_WEBHOOK_ALLOW`))
  })

  it('never shows webhook credentials, and keeps them through a GET → PUT round trip', async () => {
    const webhook = 'https://ops:hunter2@8.8.8.8/hook?token=s3cret'
    const shown = 'https://***@8.8.8.8/hook?token=***'
    const created = await post({ ...base, id: 'secret-hook', webhook })
    expect(created).toEqual({ status: 201, body: { rule: { ...base, id: 'secret-hook', webhook: shown, enabled: true, origin: 'api' } } })
    const list = await app.inject({ method: 'GET', url: '/v1/alerts/rules' })
    expect(list.body).not.toContain('hunter2')
    expect(list.body).not.toContain('s3cret')
    const { rule } = (await app.inject({ method: 'GET', url: '/v1/alerts/rules/secret-hook' })).json() as { rule: Record<string, unknown> }
    expect(rule.webhook).toBe(shown)
    const { origin: _o, ...back } = rule
    const put = await app.inject({ method: 'PUT', url: '/v1/alerts/rules/secret-hook', payload: { ...back, threshold: 0.7 } })
    expect([put.statusCode, (put.json() as { rule: { webhook: string } }).rule.webhook]).toEqual([200, shown])
    const stored = await (await ch.client.query({ query: `SELECT body FROM ${ch.database}.alert_rules FINAL WHERE id = 'secret-hook'`, format: 'JSONEachRow' })).json<{ body: string }>()
    expect(JSON.parse(stored[0].body).webhook).toBe(webhook)
    expect((await app.inject({ method: 'DELETE', url: '/v1/alerts/rules/secret-hook' })).statusCode).toBe(204)
  })

  it('accepts a log-rate rule and a no-data rule', async () => {
    expect((await post({ id: 'errors', name: 'errors per minute', kind: 'log_rate', level: 'error', q: 'timeout', op: '>', threshold: 100, service: ['api'] })).status).toBe(201)
    expect((await post({ id: 'silent', name: 'process stopped reporting', kind: 'no_data', metric: 'heap_used', for: '2m', severity: 'critical' })).status).toBe(201)
  })

  it('warns about a metric no process has reported (unknown_metric_accepted_silently), and ?strict=true refuses it', async () => {
    // a custom metric some process reported is known; one that nothing reports is not
    await ch.client.insert({ table: `${ch.database}.stats`, values: [{ ts: '2026-12-05 10:00:00.000', host: 'h1', service: 'api', pid: 4, metric: 'queue_depth', value: 3, source: 's', offset: 0 }], format: 'JSONEachRow' })
    const typo = { id: 'fd-typo', name: 'fds high', kind: 'threshold', metric: 'fd', op: '>', threshold: 50 }
    expect(await post(typo)).toEqual({ status: 201, body: {
      rule: { ...typo, enabled: true, origin: 'api' },
      warnings: [{ field: 'metric', message: "metric 'fd' has not been reported by any process and is not a sluice/stats metric: the rule cannot fire until a process reports it; did you mean 'fds' or 'fd_limit'?", suggestions: ['fds', 'fd_limit'] }]
    } })
    const list = (await app.inject({ method: 'GET', url: '/v1/alerts/rules' })).json() as { rules: Array<{ id: string, kind: string, enabled: boolean }>, waiting_for_data: string[] }
    // no evaluator runs under inject(): no enabled stats rule has seen a sample
    expect(list.waiting_for_data).toContain('fd-typo')
    expect(list.waiting_for_data).toEqual(list.rules.filter(r => r.enabled && r.kind !== 'log_rate').map(r => r.id))
    const both = { id: 'ratio', name: 'queue per conn', kind: 'threshold', metric: 'queue_dept', divide_by: 'conections', op: '>', threshold: 2 }
    const strict = await app.inject({ method: 'POST', url: '/v1/alerts/rules?strict=true', payload: both })
    expect([strict.statusCode, strict.json()]).toEqual([400, { error: 'SLUICE_ERR_BAD_RULE', message: "invalid alert rule: 'metric' names 'queue_dept', which no process has reported and sluice/stats does not emit (strict=true refuses it); did you mean 'queue_depth'?; 'divide_by' names 'conections', which no process has reported and sluice/stats does not emit (strict=true refuses it); did you mean 'connections'?" }])
    expect((await app.inject({ method: 'GET', url: '/v1/alerts/rules/ratio' })).statusCode).toBe(404)
    const putStrict = await app.inject({ method: 'PUT', url: '/v1/alerts/rules/fd-typo?strict=true', payload: typo })
    expect([putStrict.statusCode, putStrict.json()]).toEqual([400, { error: 'SLUICE_ERR_BAD_RULE', message: "invalid alert rule: 'metric' names 'fd', which no process has reported and sluice/stats does not emit (strict=true refuses it); did you mean 'fds' or 'fd_limit'?" }])
    const fixed = await app.inject({ method: 'PUT', url: '/v1/alerts/rules/fd-typo?strict=true', payload: { ...typo, metric: 'fds' } })
    expect([fixed.statusCode, fixed.json()]).toEqual([200, { rule: { ...typo, metric: 'fds', enabled: true, origin: 'api' } }])
    const custom = await app.inject({ method: 'PUT', url: '/v1/alerts/rules/fd-typo', payload: { ...typo, metric: 'queue_depth' } })
    expect([custom.statusCode, custom.json()]).toEqual([200, { rule: { ...typo, metric: 'queue_depth', enabled: true, origin: 'api' } }])
    const badStrict = await app.inject({ method: 'POST', url: '/v1/alerts/rules?strict=yes', payload: typo })
    expect([badStrict.statusCode, badStrict.json()]).toEqual([400, { error: 'SLUICE_ERR_BAD_PARAM', message: 'invalid query parameter \'strict\': must be true or false, got "yes"' }])
    expect((await app.inject({ method: 'DELETE', url: '/v1/alerts/rules/fd-typo' })).statusCode).toBe(204)
  })

  it('enforces the rule cap (SLUICE_ALERT_MAX_RULES) across all origins', async () => {
    // 3 built-in + 1 file + 3 API rules so far; the cap is 8
    expect((await app.inject({ method: 'GET', url: '/v1/alerts/rules' })).json().rules).toHaveLength(7)
    expect((await post({ ...base, id: 'cap-8' })).status).toBe(201)
    expect(await post({ ...base, id: 'cap-9' })).toEqual({ status: 409, body: { error: 'SLUICE_ERR_TOO_MANY_RULES', message: 'too many alert rules: this server evaluates at most 8 (SLUICE_ALERT_MAX_RULES); delete a rule or raise the limit' } })
    // replacing one is not creating one
    const put = await app.inject({ method: 'PUT', url: '/v1/alerts/rules/cap-8', payload: { ...base, threshold: 0.5 } })
    expect(put.statusCode).toBe(200)
  })
})
