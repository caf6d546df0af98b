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
    app = await buildQueryApi({ clickhouse: ch.client, database: ch.database, tokens: [], registries: [], alerts: { registry: new Registry(), builtins: true, rulesFile } })
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
    ['a missing kind', { name: 'x', metric: 'fds', op: '>', threshold: 1 }, "invalid alert rule: 'kind' expected required property"],
    ['an unknown field', { ...base, thresold: 2 }, "invalid alert rule: 'thresold' is not a rule field"],
    ['a threshold that is not a number', { ...base, threshold: 'high' }, "invalid alert rule: 'threshold' expected number"],
    ['an unknown operator', { ...base, op: '!=' }, "invalid alert rule: 'op' expected union value"],
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
    ['a bad id', { ...base, id: 'Has Spaces' }, "invalid alert rule: 'id' expected string to match '^[a-z0-9][a-z0-9_.-]{0,63}$'"]
  ])('rejects %s with a specific 400', async (_what, body, message) => {
    expect(await post(body)).toEqual(bad(message))
  })

  it('accepts a log-rate rule and a no-data rule', async () => {
    expect((await post({ id: 'errors', name: 'errors per minute', kind: 'log_rate', level: 'error', q: 'timeout', op: '>', threshold: 100, service: ['api'] })).status).toBe(201)
    expect((await post({ id: 'silent', name: 'process stopped reporting', kind: 'no_data', metric: 'heap_used', for: '2m', severity: 'critical' })).status).toBe(201)
  })
})
