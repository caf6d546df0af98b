// /v1/logs and /v1/stats on the real engine (embedded chDB): keyset paging across hosts,
// grep -C by (source, offset), response formats, and hostile input answered with exact 4xx bodies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { buildQueryApi } from '../../query-api/server.js'
import { tempDir } from '../helpers/env.js'

interface Line { ts: string, host: string, service: string, pid: number, level: string, msg: string, fields: Record<string, unknown>, source: string, path: string, offset: number, flags: string[], context?: boolean }
interface Page { lines: Line[], nextCursor: string | null }

// a fixed hour well inside retention, so results do not depend on the clock
const base = Date.parse('2026-11-20T10:00:00.000Z')
const since = '2026-11-20T09:00:00Z'
const until = '2026-11-20T12:00:00Z'
const total = 50_000
// settings each statement relies on, stated (chDB keeps per-query settings in its session)
const insertSettings = { max_execution_time: 0, max_rows_to_read: 0, max_insert_threads: 1 }

describe('GET /v1/logs and /v1/stats on ClickHouse', () => {
  let ch: ClickHouse
  let app: FastifyInstance
  const db = 'sluice'

  beforeAll(async () => {
    ch = await createClickHouse({ database: db, dataDir: tempDir('qlogs') })
    await migrate(ch.client, db, { retentionDays: 3650 })
    // 3 hosts, one source each, interleaved: row n is host n%3, and every 3 consecutive rows
    // share one millisecond, so paging must break ties by (source, offset)
    await ch.client.command({
      query: `INSERT INTO ${db}.logs (ts, host, service, pid, level, level_num, msg, fields, source, path, offset, flags)
SELECT fromUnixTimestamp64Milli(toInt64({base:Int64} + intDiv(number, 3)), 'UTC'), concat('host-', toString(number % 3)), 'api', 100 + number % 3,
  if(number % 10 = 0, 'error', 'info'), if(number % 10 = 0, 50, 30), concat('line ', toString(intDiv(number, 3)), ' from host-', toString(number % 3)),
  concat('{"n":', toString(intDiv(number, 3)), '}'), concat('aa', toString(number % 3)), '/var/log/api.log', intDiv(number, 3) * 100, []
FROM numbers({total:UInt64})`,
      query_params: { base, total },
      clickhouse_settings: insertSettings
    })
    // the same 3,000 lines delivered again (a shipper replay): FINAL must hide the copies
    await ch.client.command({
      query: `INSERT INTO ${db}.logs (ts, host, service, pid, level, level_num, msg, fields, source, path, offset, flags)
SELECT ts, host, service, pid, level, level_num, msg, fields, source, path, offset, flags FROM ${db}.logs WHERE offset < 100000 ORDER BY source, offset`,
      clickhouse_settings: insertSettings
    })
    // grep -C fixture: source bb0 (host ctx-a) lines 0..199; a rare token at line 100 and at
    // line 1; host ctx-b logs 5,000 lines within the same milliseconds
    await ch.client.command({
      query: `INSERT INTO ${db}.logs (ts, host, service, pid, level, level_num, msg, fields, source, path, offset, flags)
SELECT fromUnixTimestamp64Milli(toInt64({b:Int64} + number * 10), 'UTC'), 'ctx-a', 'pay', 7, 'info', 30,
  multiIf(number = 100, 'charge failed zqx9needle', number = 1, 'boot zqx9needle', number = 150, 'retry zqw7other', number = 153, 'retry zqw7other', concat('a ', toString(number))),
  '{}', 'bb0', '/a.log', number * 57, []
FROM numbers(200)`,
      query_params: { b: base + 3_600_000 },
      clickhouse_settings: insertSettings
    })
    await ch.client.command({
      query: `INSERT INTO ${db}.logs (ts, host, service, pid, level, level_num, msg, fields, source, path, offset, flags)
SELECT fromUnixTimestamp64Milli(toInt64({b:Int64} + intDiv(number, 3)), 'UTC'), 'ctx-b', 'pay', 8, 'info', 30, concat('b ', toString(number)), '{}', 'bb1', '/b.log', number * 40, []
FROM numbers(5000)`,
      query_params: { b: base + 3_600_000 },
      clickhouse_settings: insertSettings
    })
    await ch.client.command({
      query: `INSERT INTO ${db}.stats (ts, host, service, pid, metric, value, source, offset)
SELECT fromUnixTimestamp64Milli(toInt64({base:Int64} + number * 30000), 'UTC'), concat('host-', toString(number % 2)), 'api', 100 + number % 2, 'heap_used', number, 'cc', number
FROM numbers(240)`,
      query_params: { base },
      clickhouse_settings: insertSettings
    })
    app = await buildQueryApi({ clickhouse: ch.client, database: db, tokens: [], registries: [], maxConcurrentQueries: 1 })
  })
  afterAll(async () => {
    await app?.close()
    await ch?.close()
  })

  const get = async (qs: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number, body: string, headers: Record<string, unknown> }> => {
    const r = await app.inject({ method: 'GET', url: `/v1/logs?${new URLSearchParams(qs).toString()}`, headers })
    return { status: r.statusCode, body: r.body, headers: r.headers }
  }

  for (const order of ['asc', 'desc'] as const) {
    it(`pages through 50,000 lines of 3 interleaved hosts (${order}) returning each exactly once in order`, async () => {
      const all: Line[] = []
      let cursor: string | null = null
      let pages = 0
      do {
        const qs: Record<string, string> = { since, until: '2026-11-20T10:59:59Z', limit: '5000', order, service: 'api' }
        if (cursor !== null) qs.cursor = cursor
        const r = await get(qs)
        expect(r.status).toBe(200)
        const page = JSON.parse(r.body) as Page
        all.push(...page.lines)
        cursor = page.nextCursor
        expect(r.headers['x-next-cursor']).toBe(cursor ?? undefined)
        pages++
      } while (cursor !== null)
      expect(pages).toBe(10)
      expect(all.length).toBe(total)
      const expected: string[] = []
      for (let n = 0; n < total; n++) expected.push(`line ${Math.floor(n / 3)} from host-${n % 3}`)
      if (order === 'desc') expected.reverse()
      expect(all.map(l => l.msg)).toEqual(expected)
      expect(all[0]).toEqual(order === 'asc'
        ? { ts: '2026-11-20T10:00:00.000Z', host: 'host-0', service: 'api', pid: 100, level: 'error', msg: 'line 0 from host-0', fields: { n: 0 }, source: 'aa0', path: '/var/log/api.log', offset: 0, flags: [] }
        : { ts: new Date(base + Math.floor((total - 1) / 3)).toISOString(), host: 'host-1', service: 'api', pid: 101, level: 'info', msg: `line ${Math.floor((total - 1) / 3)} from host-1`, fields: { n: Math.floor((total - 1) / 3) }, source: 'aa1', path: '/var/log/api.log', offset: Math.floor((total - 1) / 3) * 100, flags: [] })
    })
  }

  // A day of lines searched in time slices (query-api/search.ts searchLogs): dense and rare
  // needles, both orders, every slice boundary crossed by paging, replayed copies collapsed.
  describe('a day searched in time slices', () => {
    const day = Date.parse('2026-11-18T00:00:00.000Z')
    const n = 24_000 // one line every 3.6 s from 4 sources
    const msgOf = (k: number): string => `req ${k}${k % 37 === 0 ? ' dense7needle' : ''}${k % 4999 === 3 ? ' rare9needle' : ''}`
    beforeAll(async () => {
      const insert = `INSERT INTO ${db}.logs (ts, host, service, pid, level, level_num, msg, fields, source, path, offset, flags)
SELECT fromUnixTimestamp64Milli(toInt64({day:Int64} + number * 3600), 'UTC'), concat('day-', toString(number % 4)), 'day', 1, 'info', 30,
  concat('req ', toString(number), if(number % 37 = 0, ' dense7needle', ''), if(number % 4999 = 3, ' rare9needle', '')), '{}',
  concat('dd', toString(number % 4)), '/d.log', intDiv(number, 4) * 64, []
FROM numbers({n:UInt64}) WHERE {from:UInt64} <= number AND number < {to:UInt64}`
      await ch.client.command({ query: insert, query_params: { day, n, from: 0, to: n }, clickhouse_settings: insertSettings })
      // the last two hours again, as a shipper replay would deliver them
      await ch.client.command({ query: insert, query_params: { day, n, from: n - 2000, to: n }, clickhouse_settings: insertSettings })
    })
    const cases: Array<[string, Record<string, string>, (k: number) => boolean]> = [
      ['dense substring', { q: 'se7needl' }, k => k % 37 === 0],
      ['dense whole word', { q: 'dense7needle', w: 'true' }, k => k % 37 === 0],
      ['rare token', { q: 'rare9needle' }, k => k % 4999 === 3],
      ['regex', { regex: 'req [0-9]*5 dense7' }, k => k % 37 === 0 && k % 10 === 5],
      ['no needle', {}, () => true]
    ]
    for (const [name, qs0, matches] of cases) {
      for (const order of ['desc', 'asc'] as const) {
        it(`${name} (${order}): every match exactly once, in order, across pages`, async () => {
          const got: string[] = []
          let cursor: string | null = null
          let pages = 0
          do {
            const qs: Record<string, string> = { ...qs0, service: 'day', since: '2026-11-18T00:00:00Z', until: '2026-11-19T00:00:00Z', limit: name === 'no needle' ? '5000' : '50', order }
            if (cursor !== null) qs.cursor = cursor
            const r = await get(qs)
            expect(r.status).toBe(200)
            const page = JSON.parse(r.body) as Page
            got.push(...page.lines.map(l => l.msg))
            cursor = page.nextCursor
            pages++
          } while (cursor !== null && pages < 100)
          const expected: string[] = []
          for (let k = 0; k < n; k++) if (matches(k)) expected.push(msgOf(k))
          if (order === 'desc') expected.reverse()
          expect(got.length).toBe(expected.length)
          expect(got).toEqual(expected)
        })
      }
    }
  })

  it('a line without its own timestamp replayed with another ts is shown once, at the ts of the copy kept', async () => {
    // a plain-text line (no_ts) was read at 08:00:00 and, after a shipper crash, again at 08:00:30
    const row = (ts: string, msg: string, offset: number, ingested: string, flags: string[]): string =>
      `('${ts}', 'nots-h', 'nots', 1, 'info', 30, '${msg}', '{}', 'ee1', '/t.log', ${offset}, ${JSON.stringify(flags).replace(/"/g, "'")}, '${ingested}')`
    await ch.client.command({
      query: `INSERT INTO ${db}.logs (ts, host, service, pid, level, level_num, msg, fields, source, path, offset, flags, ingested_at) VALUES ` + [
        row('2026-11-17 08:00:00.000', 'plain a', 0, '2026-11-17 08:00:01.000', ['not_json', 'no_ts']),
        row('2026-11-17 08:00:00.000', 'plain b', 8, '2026-11-17 08:00:01.000', ['not_json', 'no_ts']),
        row('2026-11-17 08:00:10.000', 'json c', 16, '2026-11-17 08:00:11.000', []),
        row('2026-11-17 08:00:30.000', 'plain b', 8, '2026-11-17 08:00:31.000', ['not_json', 'no_ts'])
      ].join(', '),
      clickhouse_settings: insertSettings
    })
    for (const order of ['desc', 'asc'] as const) {
      const got: Array<[string, string]> = []
      let cursor: string | null = null
      let pages = 0
      do {
        const qs: Record<string, string> = { service: 'nots', since: '2026-11-17T07:00:00Z', until: '2026-11-17T09:00:00Z', limit: '1', order }
        if (cursor !== null) qs.cursor = cursor
        const r = await get(qs)
        expect(r.status).toBe(200)
        const page = JSON.parse(r.body) as Page
        got.push(...page.lines.map(l => [l.ts, l.msg] as [string, string]))
        cursor = page.nextCursor
      } while (cursor !== null && ++pages < 10)
      const want: Array<[string, string]> = [['2026-11-17T08:00:00.000Z', 'plain a'], ['2026-11-17T08:00:10.000Z', 'json c'], ['2026-11-17T08:00:30.000Z', 'plain b']]
      expect(got).toEqual(order === 'asc' ? want : want.reverse())
    }
  })

  it('filters by host (repeatable), minimum level, substring (i), and RE2 regex', async () => {
    const r1 = JSON.parse((await get({ since, until, host: 'host-2', level: 'error', limit: '3', order: 'asc' })).body) as Page
    expect(r1.lines.map(l => l.msg)).toEqual(['line 6 from host-2', 'line 16 from host-2', 'line 26 from host-2'])
    const r2 = JSON.parse((await get({ since, until, q: 'LINE 4999 FROM HOST-1', i: 'true' })).body) as Page
    expect(r2).toEqual({ lines: [expect.objectContaining({ msg: 'line 4999 from host-1', host: 'host-1' })], nextCursor: null })
    const r3 = JSON.parse((await get({ since, until, q: 'line 4999 FROM' })).body) as Page
    expect(r3).toEqual({ lines: [], nextCursor: null })
    const r4 = JSON.parse((await get({ since, until, regex: '^line 1234[0-9] from host-[02]$', order: 'asc', limit: '100' })).body) as Page
    expect(r4.lines.map(l => l.msg)).toEqual([...Array(10).keys()].flatMap(d => [`line 1234${d} from host-0`, `line 1234${d} from host-2`]))
    const r5 = JSON.parse((await get({ since, until, regex: 'NEEDLE$', i: 'true', order: 'asc' })).body) as Page
    expect(r5.lines.map(l => l.msg)).toEqual(['boot zqx9needle', 'charge failed zqx9needle'])
  })

  it('w=true matches whole words only; a substring inside fields is found through its token', async () => {
    const msgs = async (qs: Record<string, string>): Promise<string[]> => (JSON.parse((await get({ since, until, order: 'asc', ...qs })).body) as Page).lines.map(l => l.msg)
    expect(await msgs({ q: 'zqx9needle', w: 'true' })).toEqual(['boot zqx9needle', 'charge failed zqx9needle'])
    expect(await msgs({ q: 'zqx9need', w: 'true' })).toEqual([])
    expect(await msgs({ q: 'zqx9need' })).toEqual(['boot zqx9needle', 'charge failed zqx9needle'])
    expect(await msgs({ q: 'ZQX9NEEDLE', w: 'true', i: 'true' })).toEqual(['boot zqx9needle', 'charge failed zqx9needle'])
    expect(await msgs({ q: 'failed zqx9needle', w: 'true' })).toEqual(['charge failed zqx9needle'])
    expect(await msgs({ q: '"n":12345}' })).toEqual(['line 12345 from host-0', 'line 12345 from host-1', 'line 12345 from host-2'])
  })

  it('-C 3: exactly the 3 lines before and after each match from the same source, marked as context', async () => {
    const r = await get({ since, until, q: 'zqx9needle', context: '3', order: 'asc' })
    expect(r.status).toBe(200)
    const page = JSON.parse(r.body) as Page
    expect(page.nextCursor).toBeNull()
    expect(page.lines.map(l => [l.host, l.msg, l.offset, l.context ?? false])).toEqual([
      ['ctx-a', 'a 0', 0, true],
      ['ctx-a', 'boot zqx9needle', 57, false],
      ['ctx-a', 'a 2', 114, true],
      ['ctx-a', 'a 3', 171, true],
      ['ctx-a', 'a 4', 228, true],
      ['ctx-a', 'a 97', 97 * 57, true],
      ['ctx-a', 'a 98', 98 * 57, true],
      ['ctx-a', 'a 99', 99 * 57, true],
      ['ctx-a', 'charge failed zqx9needle', 100 * 57, false],
      ['ctx-a', 'a 101', 101 * 57, true],
      ['ctx-a', 'a 102', 102 * 57, true],
      ['ctx-a', 'a 103', 103 * 57, true]
    ])
    // overlapping windows merge; a line that matches is never repeated as context
    const o = JSON.parse((await get({ since, until, q: 'zqw7other', context: '2', order: 'desc' })).body) as Page
    expect(o.lines.map(l => [l.msg, l.context ?? false])).toEqual([
      ['a 155', true], ['a 154', true], ['retry zqw7other', false], ['a 152', true], ['a 151', true], ['retry zqw7other', false], ['a 149', true], ['a 148', true]
    ])
  })

  it('serves NDJSON and grep-able text by Accept header', async () => {
    const nd = await get({ since, until, q: 'zqx9needle', order: 'asc' }, { accept: 'application/x-ndjson' })
    expect(nd.status).toBe(200)
    expect(nd.headers['content-type']).toBe('application/x-ndjson; charset=utf-8')
    expect(nd.body.split('\n').filter(s => s !== '').map(s => (JSON.parse(s) as Line).msg)).toEqual(['boot zqx9needle', 'charge failed zqx9needle'])
    const tx = await get({ since, until, q: 'line 7 from host-1', order: 'asc' }, { accept: 'text/plain' })
    expect(tx.status).toBe(200)
    expect(tx.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(tx.body).toBe('2026-11-20T10:00:00.007Z host-1 api INFO line 7 from host-1 n=7\n')
  })

  const hostile: Array<[string, Record<string, string> | string, number, string, string]> = [
    ['SQL in q is only a substring', { since, until, q: "x' OR 1=1; DROP TABLE sluice.logs; --" }, 200, '', ''],
    ['backreference', { since, until, regex: '(a)\\1' }, 400, 'SLUICE_ERR_BAD_PARAM', "invalid query parameter 'regex': is not a valid RE2 expression: invalid escape sequence: \\1"],
    ['unbalanced regex', { since, until, regex: '(a' }, 400, 'SLUICE_ERR_BAD_PARAM', "invalid query parameter 'regex': is not a valid RE2 expression: missing ): (a"],
    ['regex over an empty range', { since: '2020-01-01T00:00:00Z', until: '2020-01-01T00:01:00Z', regex: 'x{1001}' }, 400, 'SLUICE_ERR_BAD_PARAM', "invalid query parameter 'regex': is not a valid RE2 expression: invalid repetition size: {1001}"],
    ['invalid UTF-8 in a parameter name', '%C3=1', 400, 'SLUICE_ERR_BAD_PARAM', "invalid query parameter '%C3': name is not valid UTF-8"],
    ['10-year range', { since: '2016-11-20T00:00:00Z', until }, 400, 'SLUICE_ERR_BAD_PARAM', "invalid query parameter 'since': time range exceeds the maximum of 31 days"],
    ['limit=1e9', { limit: '1e9' }, 400, 'SLUICE_ERR_BAD_PARAM', "invalid query parameter 'limit': must be a whole number from 1 to 5000; got '1000000000'"],
    ['limit=-1', { limit: '-1' }, 400, 'SLUICE_ERR_BAD_PARAM', "invalid query parameter 'limit': must be a whole number from 1 to 5000; got '-1'"],
    ['context too large', { context: '1000' }, 400, 'SLUICE_ERR_BAD_PARAM', "invalid query parameter 'context': must be a whole number from 0 to 100; got '1000'"],
    ['context with a large page', { context: '2', limit: '1000' }, 400, 'SLUICE_ERR_BAD_PARAM', "invalid query parameter 'limit': must be at most 200 when context is set"],
    ['cursor not base64url', { cursor: 'a b' }, 400, 'SLUICE_ERR_BAD_CURSOR', 'invalid cursor: not a cursor returned by this API (expected base64url)'],
    ['cursor of the wrong shape', { cursor: Buffer.from('[1,2,"x;DROP",3]').toString('base64url') }, 400, 'SLUICE_ERR_BAD_CURSOR', 'invalid cursor: not a cursor returned by this API (wrong shape)'],
    ['cursor undecodable', { cursor: 'AAAA' }, 400, 'SLUICE_ERR_BAD_CURSOR', 'invalid cursor: not a cursor returned by this API (undecodable)'],
    ['invalid UTF-8', 'q=%FF%FEabc', 400, 'SLUICE_ERR_BAD_PARAM', "invalid query parameter 'q': is not valid UTF-8"],
    ['bad since', { since: 'yesterday; DROP' }, 400, 'SLUICE_ERR_BAD_PARAM', "invalid query parameter 'since': expected a duration ago (15m, 1h30m, 7d), a time of day in UTC (15:48, 15:48:30), today, yesterday, now, or an ISO-8601 time (2026-12-05T15:48:30Z); got \"yesterday; DROP\""],
    ['unknown parameter', { format: 'csv' }, 400, 'SLUICE_ERR_BAD_PARAM', "invalid query parameter 'format': unknown parameter; accepted: q, regex, i, w, host, not_host, service, not_service, level, not_level, field, v, since, until, around, window, limit, cursor, order, context"],
    ['bad level', { level: 'loud' }, 400, 'SLUICE_ERR_BAD_PARAM', "invalid query parameter 'level': must be one of trace, debug, info, warn, error, fatal (case-insensitive); got 'loud'"]
  ]
  for (const [name, qs, status, code, message] of hostile) {
    it(`hostile input: ${name} → ${status}`, async () => {
      const url = typeof qs === 'string' ? `/v1/logs?${qs}` : `/v1/logs?${new URLSearchParams(qs).toString()}`
      const r = await app.inject({ method: 'GET', url })
      expect(r.statusCode).toBe(status)
      if (status === 200) { expect(JSON.parse(r.body)).toEqual({ lines: [], nextCursor: null }); return }
      const body = JSON.parse(r.body) as { error: string, message: string }
      expect(body.error).toBe(code)
      expect(body).toEqual({ error: code, message })
    })
  }

  it('(a+)+$ is linear in RE2: answered normally, not a 5xx or a hang', async () => {
    const r = await get({ since, until, regex: '(a+)+$', host: 'ctx-a' })
    expect(r.status).toBe(200)
    expect(JSON.parse(r.body)).toEqual({ lines: [], nextCursor: null })
    // the table survived the SQL-looking input above
    const count = await (await ch.client.query({ query: `SELECT count() AS c FROM ${db}.logs FINAL`, format: 'JSONEachRow', clickhouse_settings: { max_rows_to_read: 0, max_execution_time: 0 } })).json<{ c: number }>()
    expect(Number(count[0].c)).toBe(total + 200 + 5000 + 24_000 + 3)
  })

  it('more concurrent queries than slots get 503 + Retry-After, never a queue', async () => {
    const rs = await Promise.all([...Array(6)].map(async () => await app.inject({ method: 'GET', url: `/v1/logs?${new URLSearchParams({ since, until, regex: 'from host-[12]$', limit: '5000' }).toString()}` })))
    const refused = rs.filter(r => r.statusCode === 503)
    expect(rs.filter(r => r.statusCode === 200).length).toBeGreaterThanOrEqual(1)
    expect(refused.length).toBeGreaterThanOrEqual(1)
    expect(refused.length + rs.filter(r => r.statusCode === 200).length).toBe(6)
    expect(refused[0].headers['retry-after']).toBe('5')
    expect(JSON.parse(refused[0].body)).toEqual({ error: 'SLUICE_ERR_OVERLOADED', message: 'server overloaded (too many concurrent queries (limit 1)); retry later' })
  })

  it('GET /v1/stats: a metric per host/pid, bucketed by step with the chosen aggregation', async () => {
    const r = await app.inject({ method: 'GET', url: `/v1/stats?metric=heap_used&since=${since}&until=2026-11-20T10:09:59Z&step=5m&agg=max&host=host-1` })
    expect(r.statusCode).toBe(200)
    // host-1 has the odd samples n (one every 60 s): buckets [0,5m) max n=9, [5m,10m) max n=19
    expect(JSON.parse(r.body)).toEqual({ metric: 'heap_used', unit: 'bytes', step: 300, agg: 'max', series: [{ host: 'host-1', service: 'api', pid: 101, points: [['2026-11-20T10:00:00.000Z', 9], ['2026-11-20T10:05:00.000Z', 19]] }] })
    const avg = JSON.parse((await app.inject({ method: 'GET', url: `/v1/stats?metric=heap_used&since=${since}&until=2026-11-20T10:00:59Z&step=60s` })).body) as { series: Array<{ host: string, points: unknown[] }> }
    expect(avg.series).toEqual([{ host: 'host-0', service: 'api', pid: 100, points: [['2026-11-20T10:00:00.000Z', 0]] }, { host: 'host-1', service: 'api', pid: 101, points: [['2026-11-20T10:00:00.000Z', 1]] }])
    const bad = await app.inject({ method: 'GET', url: '/v1/stats?metric=heap_used&since=30d&step=1s' })
    expect(bad.statusCode).toBe(400)
    expect(JSON.parse(bad.body)).toEqual({ error: 'SLUICE_ERR_BAD_PARAM', message: "invalid query parameter 'step': gives 2592000 points per series; at most 100000 (use a larger step or a shorter range)" })
    const noMetric = await app.inject({ method: 'GET', url: '/v1/stats' })
    expect(JSON.parse(noMetric.body)).toEqual({ error: 'SLUICE_ERR_BAD_PARAM', message: "invalid query parameter 'metric': is required" })
  })

  it('/v1/tail without Kafka answers 503 with Retry-After', async () => {
    const r = await app.inject({ method: 'GET', url: '/v1/tail' })
    expect(r.statusCode).toBe(503)
    expect(r.headers['retry-after']).toBe('5')
    expect(JSON.parse(r.body)).toEqual({ error: 'SLUICE_ERR_OVERLOADED', message: 'server overloaded (live tail needs Kafka: set KAFKA_BROKERS); retry later' })
  })
})
