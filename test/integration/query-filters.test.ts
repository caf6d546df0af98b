// The filter language on the real engine (embedded chDB): field filters, exclusions and
// case-insensitive levels/hosts in /v1/logs give exactly the lines the tail's Node matcher
// picks from the same data; /v1/histogram counts them per bucket (replayed copies once);
// and every bad parameter answers a 400 naming it, what came and what is accepted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { compileLogFilter, parseLogFilter, type FilterQuery } from '../../schemas/log-filter.js'
import { buildQueryApi } from '../../query-api/server.js'
import { tempDir } from '../helpers/env.js'

interface Line { ts: string, host: string, service: string, level: string, msg: string, fields: Record<string, unknown>, offset: number }
interface Page { lines: Line[], nextCursor: string | null }

const base = Date.parse('2026-11-20T10:00:00.000Z')
const since = '2026-11-20T10:00:00Z'
const until = '2026-11-20T11:00:00Z'
const n = 1200 // one line every 3 s
const insertSettings = { max_execution_time: 0, max_rows_to_read: 0, max_insert_threads: 1 }
const variants = [
  '{"responseTime":500,"err":{"code":"ECONNRESET"}}',
  '{"responseTime":499.5,"s":"500"}',
  '{"responseTime":"700"}',
  '{"ok":true,"nul":null}',
  '{"empty":"","err":{"code":"EPIPE","errno":-32}}',
  '{}',
  '{"responseTime":1e3,"req":{"headers":{"x-id":"a"}}}',
  // an escape in the stored JSON: the value is ECONNRESET though the text does not contain it
  '{"err":{"code":"ECONN\\u0052ESET"},"responseTime":600}'
]

describe('the filter language on ClickHouse', () => {
  let ch: ClickHouse
  let app: FastifyInstance
  let all: Line[]
  const storedFields = new Map<number, string>()
  const db = 'sluice'

  beforeAll(async () => {
    ch = await createClickHouse({ database: db, dataDir: tempDir('qfilters') })
    await migrate(ch.client, db, { retentionDays: 3650 })
    const insert = `INSERT INTO ${db}.logs (ts, host, service, pid, level, level_num, msg, fields, source, path, offset, flags)
SELECT fromUnixTimestamp64Milli(toInt64({base:Int64} + number * 3000), 'UTC'), ['web-1', 'web-2', 'Web-3'][number % 3 + 1], ['api', 'worker'][number % 2 + 1], 1,
  ['debug', 'info', 'warn', 'error', 'fatal'][number % 5 + 1], [20, 30, 40, 50, 60][number % 5 + 1],
  if(number % 4 = 0, 'request completed', concat('event ', toString(number))), {variants:Array(String)}[number % 8 + 1],
  'ff0', '/f.log', number * 10, []
FROM numbers({n:UInt64}) WHERE number >= {from:UInt64}`
    await ch.client.command({ query: insert, query_params: { base, n, variants, from: 0 }, clickhouse_settings: insertSettings })
    // the last 200 lines delivered again (a shipper replay): counted once
    await ch.client.command({ query: insert, query_params: { base, n, variants, from: n - 200 }, clickhouse_settings: insertSettings })
    app = await buildQueryApi({ clickhouse: ch.client, database: db, tokens: [], registries: [] })
    all = await lines({})
    expect(all.length).toBe(n)
    // the tail matches text against the stored fields JSON, as ClickHouse does: not a re-serialisation
    const rs = await ch.client.query({ query: 'SELECT DISTINCT offset, fields FROM sluice.logs', format: 'JSONEachRow', clickhouse_settings: insertSettings })
    for (const r of await rs.json<{ offset: string | number, fields: string }>()) storedFields.set(Number(r.offset), r.fields)
  })
  afterAll(async () => {
    await app?.close()
    await ch?.close()
  })

  // the machine is shared and noisy: a 503 from the event-loop guard (under-pressure) is the
  // API's "retry later", so it is retried here; every other answer is asserted
  const inject = async (u: string): Promise<{ statusCode: number, body: string }> => {
    for (let i = 0; ; i++) {
      const r = await app.inject({ method: 'GET', url: u })
      if (r.statusCode !== 503 || !r.body.includes('eventLoop') || i >= 50) return r
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  }
  const url = (path: string, qs: Record<string, string | string[]>): string => {
    const p = new URLSearchParams()
    for (const [k, v] of Object.entries(qs)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x)
    return `${path}?${p.toString()}`
  }
  async function lines (qs: Record<string, string | string[]>): Promise<Line[]> {
    const out: Line[] = []
    let cursor: string | null = null
    do {
      const r = await inject(url('/v1/logs', { since, until, limit: '5000', ...qs, ...(cursor !== null ? { cursor } : {}) }))
      expect(r.statusCode, r.body).toBe(200)
      const page = JSON.parse(r.body) as Page
      out.push(...page.lines)
      cursor = page.nextCursor
    } while (cursor !== null)
    return out
  }

  const cases: Array<FilterQuery & { i?: string }> = [
    { field: 'responseTime>=500' }, { field: 'responseTime>500' }, { field: 'responseTime<500' }, { field: 'responseTime<=499.5' },
    { field: 'responseTime:500' }, { field: 'responseTime:1000' }, { field: 's:500' }, { field: 'ok:true' },
    { field: 'err.code:ECONNRESET' }, { field: 'err.code=EPIPE' }, { field: 'err.code!:ECONNRESET' }, { field: 'err.errno:-32' }, { field: 'err.errno<0' },
    { field: 'empty:' }, { field: 'nul:' }, { field: 'nul?' }, { field: 'err?' }, { field: '!err?' }, { field: 'req.headers.x-id:a' }, { field: 'err.code.deeper?' },
    { field: ['responseTime>=500', 'err.code:ECONNRESET'] },
    { host: 'WEB-3' }, { not_host: 'web-1,WEB-2' }, { service: 'worker', not_level: ['debug', 'FATAL'] }, { level: 'Error' },
    { v: 'request completed' }, { v: 'REQUEST', i: 'true' }, { v: 'ECONNRESET' },
    { host: 'web-2', v: 'request completed', field: 'responseTime?', level: 'warn' }
  ]
  for (const c of cases) {
    it(`${JSON.stringify(c)}: the SQL filter and the tail's matcher pick the same lines`, async () => {
      const { i, ...f } = c
      const match = compileLogFilter(parseLogFilter(f), i === 'true')
      const want = all.filter(l => match(l, storedFields.get(l.offset)!)).map(l => l.offset)
      const got = (await lines(c as Record<string, string | string[]>)).map(l => l.offset)
      expect(got).toEqual(want)
      // null is not the empty string; a string has no keys below it
      if (c.field === 'nul:' || c.field === 'err.code.deeper?') expect(want.length).toBe(0)
      else expect(want.length > 0 && want.length < n).toBe(true)
    })
  }

  it('exact counts of a few filters', async () => {
    const count = async (qs: Record<string, string | string[]>): Promise<number> => (await lines(qs)).length
    // variants 0 (500), 6 (1e3) and 7 (600) are numbers ≥ 500; variant 2 is the string "700"
    expect(await count({ field: 'responseTime>=500' })).toBe(450)
    // variant 7 writes ECONNRESET with an escape
    expect(await count({ field: 'err.code:ECONNRESET', host: 'web-1' })).toBe(100)
    expect(await count({ v: 'request completed' })).toBe(900)
  })

  it('/v1/histogram: counts per bucket by level, host or service, copies once, in one response', async () => {
    const r = await inject(url('/v1/histogram', { since, until: '2026-11-20T10:59:59.999Z', step: '10m' }))
    expect(r.statusCode, r.body).toBe(200)
    const h = JSON.parse(r.body) as { step: number, by: string, total: number, buckets: Array<{ t: string, counts: Record<string, number> }> }
    expect(h.step).toBe(600)
    expect(h.by).toBe('level')
    expect(h.total).toBe(n)
    expect(h.buckets.map(b => b.t)).toEqual([0, 1, 2, 3, 4, 5].map(k => new Date(base + k * 600_000).toISOString()))
    expect(h.buckets[0].counts).toEqual({ debug: 40, info: 40, warn: 40, error: 40, fatal: 40 })
    expect(h.buckets[5].counts).toEqual({ debug: 40, info: 40, warn: 40, error: 40, fatal: 40 })
    const byHost = JSON.parse((await inject(url('/v1/histogram', { since, until, buckets: '1', by: 'host', field: 'err.code:ECONNRESET', host: ['web-1', 'WEB-3'] }))).body) as typeof h
    expect(byHost.step).toBe(3600)
    expect(byHost.buckets.map(b => b.counts)).toEqual([{ 'Web-3': 100, 'web-1': 100 }, {}])
    expect(byHost.total).toBe(200)
    const auto = JSON.parse((await inject(url('/v1/histogram', { since, until, level: 'fatal', v: 'request completed' }))).body) as typeof h
    expect([auto.step, auto.buckets.length, auto.total]).toEqual([60, 61, 180])
  })

  const bad: Array<[string, Record<string, string | string[]>, string]> = [
    ['/v1/logs', { level: '50' }, "invalid query parameter 'level': must be one of trace, debug, info, warn, error, fatal (case-insensitive); got '50'"],
    ['/v1/logs', { order: 'up' }, "invalid query parameter 'order': must be one of asc, desc; got 'up'"],
    ['/v1/logs', { limit: '1e9' }, "invalid query parameter 'limit': must be a whole number from 1 to 5000; got '1000000000'"],
    ['/v1/logs', { limit: 'ten' }, "invalid query parameter 'limit': must be a whole number from 1 to 5000; got 'ten'"],
    ['/v1/logs', { i: 'maybe' }, "invalid query parameter 'i': must be true or false; got 'maybe'"],
    ['/v1/logs', { field: 'responseTime>=slow' }, "invalid query parameter 'field': compares numbers: expected a number after the operator (e.g. responseTime>=500); got 'responseTime>=slow'"],
    ['/v1/logs', { since: 'yesterday; DROP' }, `invalid query parameter 'since': expected a duration ago (15m, 1h30m, 7d), a time of day in UTC (15:48, 15:48:30), today, yesterday, now, or an ISO-8601 time (2026-12-05T15:48:30Z); got "yesterday; DROP"`],
    ['/v1/histogram', { by: 'pid' }, "invalid query parameter 'by': must be one of level, host, service; got 'pid'"],
    ['/v1/histogram', { step: '1m', buckets: '5' }, "invalid query parameter 'step': give step or buckets, not both"],
    ['/v1/histogram', { since: '7d', step: '1s' }, "invalid query parameter 'step': gives 604801 buckets; at most 1000 (use a larger step or a shorter range)"],
    ['/v1/tail', { level: 'Loud' }, "invalid query parameter 'level': must be one of trace, debug, info, warn, error, fatal (case-insensitive); got 'Loud'"],
    ['/v1/tail', { field: 'a.b' }, "invalid query parameter 'field': expected PATH:VALUE, PATH!:VALUE, PATH>=N (also > <= <), PATH? (exists) or !PATH? (absent), e.g. responseTime>=500 or err.code:ECONNRESET; got 'a.b'"],
    ['/v1/stats', { metric: 'heap_used', agg: 'rate' }, "invalid query parameter 'agg': must be one of avg, min, max, sum, last, p50, p95, p99; got 'rate'"]
  ]
  for (const [path, qs, message] of bad) {
    it(`${path} ${JSON.stringify(qs)} → 400 ${message.slice(0, 60)}`, async () => {
      const r = await inject(url(path, qs))
      expect([r.statusCode, JSON.parse(r.body)]).toEqual([400, { error: 'SLUICE_ERR_BAD_PARAM', message }])
    })
  }
  it('an unknown parameter lists the accepted ones', async () => {
    const r = await inject('/v1/histogram?format=csv')
    expect(JSON.parse(r.body)).toEqual({ error: 'SLUICE_ERR_BAD_PARAM', message: "invalid query parameter 'format': unknown parameter; accepted: q, regex, i, w, host, not_host, service, not_service, level, not_level, field, v, since, until, around, window, buckets, step, by" })
  })
})
