// /v1/stats and /v1/stats/metrics on the real engine (embedded chDB), over a fixed data set
// (test/helpers/stats-fixture.ts): the metric list with units, divide_by, rate/increase, the
// hint for a metric nobody reported, humane 400s, and an OpenAPI document valid for 3.0.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { Registry } from 'prom-client'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { buildQueryApi } from '../../query-api/server.js'
import { alertsFeature } from '../../alerts/routes.js'
import { tempDir } from '../helpers/env.js'
import { insertStatsFixture, MiB } from '../helpers/stats-fixture.js'

const range = 'since=2026-11-20T10:00:00Z&until=2026-11-20T10:09:59Z'
const at = (hhmm: string): string => `2026-11-20T${hhmm}:00.000Z`

describe('GET /v1/stats and /v1/stats/metrics on ClickHouse', () => {
  let ch: ClickHouse
  let app: FastifyInstance
  const db = 'sluice'

  beforeAll(async () => {
    ch = await createClickHouse({ database: db, dataDir: tempDir('qstats') })
    await migrate(ch.client, db, { retentionDays: 3650 })
    await insertStatsFixture(ch.client, db)
    // alerts on too, so the OpenAPI document covers every route (no evaluation timer runs without listen)
    app = await buildQueryApi({ clickhouse: ch.client, database: db, tokens: [], registries: [], plugins: [alertsFeature({ registry: new Registry() })] })
  })
  afterAll(async () => {
    await app?.close()
    await ch?.close()
  })

  const get = async (url: string): Promise<{ status: number, body: unknown }> => {
    const r = await app.inject({ method: 'GET', url })
    return { status: r.statusCode, body: JSON.parse(r.body) }
  }

  it('GET /v1/stats/metrics lists each service\'s metrics with unit, processes and last sample', async () => {
    const api = {
      service: 'api',
      metrics: [
        { metric: 'fd_limit', unit: 'count', description: 'open file descriptor limit (-1 = unlimited or unknown)', processes: 2, last_seen: at('10:09') },
        { metric: 'fds', unit: 'count', description: 'open file descriptors', processes: 2, last_seen: at('10:09') },
        { metric: 'heap_limit', unit: 'bytes', description: 'V8 heap size limit', processes: 2, last_seen: at('10:09') },
        { metric: 'heap_used', unit: 'bytes', description: 'V8 heap in use', processes: 2, last_seen: at('10:09') }
      ]
    }
    const jobs = {
      service: 'jobs',
      metrics: [
        { metric: 'eventloop_utilization', unit: 'ratio', description: 'event-loop utilization over the interval (0-1)', processes: 1, last_seen: at('10:04') },
        { metric: 'heap_used', unit: 'bytes', description: 'V8 heap in use', processes: 1, last_seen: at('10:04') },
        { metric: 'queue_depth', unit: 'unknown', processes: 1, last_seen: at('10:04') }
      ]
    }
    expect(await get(`/v1/stats/metrics?${range}`)).toEqual({ status: 200, body: { since: at('10:00'), until: '2026-11-20T10:09:59.000Z', services: [api, jobs] } })
    expect(await get(`/v1/stats/metrics?${range}&service=jobs`)).toEqual({ status: 200, body: { since: at('10:00'), until: '2026-11-20T10:09:59.000Z', services: [jobs] } })
    // worker-1 stopped at 10:04
    expect(await get('/v1/stats/metrics?since=2026-11-20T10:05:00Z&until=2026-11-20T10:09:59Z&host=worker-1')).toEqual({ status: 200, body: { since: at('10:05'), until: '2026-11-20T10:09:59.000Z', services: [] } })
  })

  it('GET /v1/stats: a replayed sample counts once; the unit is stated', async () => {
    // 16 + 18 + … + 34 MiB, each sample inserted twice
    expect(await get(`/v1/stats?metric=heap_used&${range}&step=10m&agg=sum&host=web-1`)).toEqual({ status: 200, body: { metric: 'heap_used', unit: 'bytes', step: 600, agg: 'sum', since: at('10:00'), until: '2026-11-20T10:09:59.000Z', series: [{ host: 'web-1', service: 'api', pid: 101, points: [[at('10:00'), 250 * MiB]] }] } })
  })

  it('divide_by: the ratio of two metrics of the same sample; a denominator ≤ 0 or missing skips the sample', async () => {
    // worker-1 reports no heap_limit: no series for it
    expect(await get(`/v1/stats?metric=heap_used&divide_by=heap_limit&${range}&step=5m`)).toEqual({
      status: 200,
      body: {
        metric: 'heap_used', divide_by: 'heap_limit', unit: 'ratio', step: 300, agg: 'avg', since: at('10:00'), until: '2026-11-20T10:09:59.000Z',
        series: [
          { host: 'web-1', service: 'api', pid: 101, points: [[at('10:00'), 20 / 128], [at('10:05'), 30 / 128]] },
          { host: 'web-2', service: 'api', pid: 202, points: [[at('10:00'), 0.5], [at('10:05'), 0.5]] }
        ]
      }
    })
    // web-2's fd_limit is -1 (unlimited)
    expect(await get(`/v1/stats?metric=fds&divide_by=fd_limit&${range}&step=10m&agg=max`)).toEqual({
      status: 200,
      body: { metric: 'fds', divide_by: 'fd_limit', unit: 'ratio', step: 600, agg: 'max', since: at('10:00'), until: '2026-11-20T10:09:59.000Z', series: [{ host: 'web-1', service: 'api', pid: 101, points: [[at('10:00'), 65 / 1000]] }] }
    })
  })

  it('agg=increase and agg=rate: last value of a step minus the last value of the previous step with samples', async () => {
    // 2m steps: web-1's fds end each step 10 higher (25 at 10:01, 35 at 10:03, …); the 10:00 step
    // has no previous one with samples (the data starts at 10:00), so it has no point
    const steps = ['10:02', '10:04', '10:06', '10:08']
    const expected = (agg: string, unit: string, web1: number): unknown => ({
      status: 200,
      body: {
        metric: 'fds', unit, step: 120, agg, since: at('10:00'), until: '2026-11-20T10:09:59.000Z',
        series: [
          { host: 'web-1', service: 'api', pid: 101, points: steps.map(s => [at(s), web1]) },
          { host: 'web-2', service: 'api', pid: 202, points: steps.map(s => [at(s), 0]) }
        ]
      }
    })
    expect(await get(`/v1/stats?metric=fds&${range}&step=2m&agg=increase`)).toEqual(expected('increase', 'count', 10))
    // the two samples compared are 120 s apart; agg is case-insensitive
    expect(await get(`/v1/stats?metric=fds&${range}&step=2m&agg=RATE`)).toEqual(expected('rate', 'count/s', 10 / 120))
    // since 10:04 still compares the 10:04 step with the 10:02 one (read one step back)
    const late = await get('/v1/stats?metric=fds&since=2026-11-20T10:04:00Z&until=2026-11-20T10:05:59Z&step=2m&agg=increase&host=web-1')
    expect(late).toEqual({ status: 200, body: { metric: 'fds', unit: 'count', step: 120, agg: 'increase', since: at('10:04'), until: '2026-11-20T10:05:59.000Z', series: [{ host: 'web-1', service: 'api', pid: 101, points: [[at('10:04'), 10]] }] } })
  })

  describe('regression: metric=heap answered 200 series: [] with no hint — an empty answer now says why', () => {
    const cases: Array<[string, string]> = [
      ['metric=heap', "no metric 'heap' was reported in this range; closest known: heap_used, heap_limit, heap_total; GET /v1/stats/metrics lists the metrics reported"],
      ['metric=fd', "no metric 'fd' was reported in this range; closest known: fds, fd_limit; GET /v1/stats/metrics lists the metrics reported"],
      ['metric=queue_dept', "no metric 'queue_dept' was reported in this range; closest known: queue_depth; GET /v1/stats/metrics lists the metrics reported"],
      ['metric=zzz', "no metric 'zzz' was reported in this range; GET /v1/stats/metrics lists the metrics reported"],
      ['metric=heap_used&divide_by=heap_limt', "no metric 'heap_limt' was reported in this range; closest known: heap_limit; GET /v1/stats/metrics lists the metrics reported"],
      ['metric=heap_used&host=web-9', "'heap_used' was reported in this range, but not by a process matching the host/service/pid filters"],
      ['metric=fds&divide_by=fd_limit&host=web-2', "'fds' and 'fd_limit' were reported in this range, but not by a process matching the host/service/pid filters"],
      ['metric=heap_used&pid=303&step=10m&agg=increase', 'increase needs samples in at least two buckets of a process; use a smaller step or a longer range']
    ]
    for (const [qs, hint] of cases) {
      it(qs, async () => {
        const r = await get(`/v1/stats?${qs}&${range}`)
        expect(r.status).toBe(200)
        expect((r.body as { series: unknown[], hint: string })).toMatchObject({ series: [], hint })
      })
    }
  })

  describe('every 400 names the parameter, what it got and what is accepted', () => {
    const cases: Array<[string, string]> = [
      ['/v1/stats', "invalid query parameter 'metric': is required: the metric to plot, e.g. heap_used; GET /v1/stats/metrics lists the metrics reported"],
      ['/v1/stats?metric=fds&agg=mean', "invalid query parameter 'agg': must be one of avg, min, max, sum, last, p50, p95, p99, rate, increase; got \"mean\""],
      ['/v1/stats?metric=fds&divideBy=fd_limit', "invalid query parameter 'divideBy': unknown parameter; accepted: metric, divide_by, host, service, not_host, not_service, pid, since, until, step, agg, top, keys, band"],
      ['/v1/stats?metric=fds&pid=web-1', "invalid query parameter 'pid': must be a process id (a whole number 0-4294967295); got \"web-1\""],
      ['/v1/stats?metric=fds&step=1.5s', "invalid query parameter 'step': must be whole seconds of at least 1s, e.g. 60s or 5m; got \"1.5s\""],
      ['/v1/stats?metric=fds&since=2026-11-20T10:00:00Z&until=2026-11-20T09:00:00Z', "invalid query parameter 'until': must not be before since; got until 2026-11-20T09:00:00.000Z and since 2026-11-20T10:00:00.000Z"],
      ['/v1/stats?metric=fds&since=2026-10-01T00:00:00Z&until=2026-11-20T00:00:00Z', "invalid query parameter 'since': the range may span at most 31 days; got 50.0 days"],
      [`/v1/stats?metric=${'m'.repeat(201)}`, "invalid query parameter 'metric': must be at most 200 characters; got 201"],
      [`/v1/stats?metric=fds${'&host=h'.repeat(101)}`, "invalid query parameter 'host': may be given at most 100 times; got 101"],
      ['/v1/stats?metric=fds&since=30d&step=1s', "invalid query parameter 'step': gives 2592000 points per series; at most 100000 (use a larger step or a shorter range)"],
      ['/v1/stats/metrics?metric=fds', "invalid query parameter 'metric': unknown parameter; accepted: host, service, since, until"],
      ['/v1/stats/metrics?until=tomorrow', "invalid query parameter 'until': expected a duration ago like 15m, 2h, 7d, an ISO-8601 time or epoch ms; got \"tomorrow\""]
    ]
    for (const [url, message] of cases) {
      it(url.length > 90 ? url.slice(0, 90) + '…' : url, async () => {
        expect(await get(url)).toEqual({ status: 400, body: { error: 'SLUICE_ERR_BAD_PARAM', message } })
      })
    }
  })

  it('regression: /docs/json held a Type.Tuple (invalid in OpenAPI 3.0) — now no array-valued items, no null type, no const; health routes listed', async () => {
    const r = await app.inject({ method: 'GET', url: '/docs/json' })
    expect(r.statusCode).toBe(200)
    const doc = JSON.parse(r.body) as { openapi: string, paths: Record<string, unknown> }
    expect(doc.openapi).toMatch(/^3\.0\./)
    const problems: string[] = []
    const walk = (node: unknown, at: string): void => {
      if (Array.isArray(node)) { node.forEach((v, i) => walk(v, `${at}/${i}`)); return }
      if (node === null || typeof node !== 'object') return
      for (const [k, v] of Object.entries(node)) {
        if (k === 'items' && Array.isArray(v)) problems.push(`${at}/items is an array (a tuple)`)
        if (k === 'type' && (v === 'null' || Array.isArray(v))) problems.push(`${at}/type is ${JSON.stringify(v)}`)
        if (k === 'const') problems.push(`${at}/const`)
        if (k === 'additionalItems') problems.push(`${at}/additionalItems`)
        walk(v, `${at}/${k}`)
      }
    }
    walk(doc, '')
    expect(problems).toEqual([])
    for (const p of ['/healthz', '/readyz', '/metrics', '/v1/stats', '/v1/stats/metrics', '/v1/logs', '/v1/alerts/rules']) expect(Object.keys(doc.paths)).toContain(p)
  })
})
