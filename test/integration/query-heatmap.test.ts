// GET /v1/heatmap on the real engine (embedded chDB): request lines with known responseTime
// values — a fast band around 20 ms from every host and a slow band at ~800 ms from web-3 only —
// land in exactly the expected cells; isolating web-3 gives the slow band's counts; a cell's
// click-through /v1/logs query lists exactly that cell's lines; lines outside the value range
// or without a numeric value are counted; replayed copies count once; bad parameters are 400s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { buildQueryApi } from '../../query-api/server.js'
import { logLinearBounds } from '../../query-api/heatmap-route.js'
import { tempDir } from '../helpers/env.js'

const base = Date.parse('2026-11-20T10:00:00.000Z')
const since = '2026-11-20T10:00:00Z'
const until = '2026-11-20T10:59:59.999Z'
const n = 2000 // one line every 1.8 s
const stepMs = 600_000
const insertSettings = { max_execution_time: 0, max_rows_to_read: 0, max_insert_threads: 1 }

interface Row { i: number, ts: number, host: string, service: string, fields: string, value: number | null }
// the data set, line by line: what each line's value is and where it must land
function row (i: number): Row {
  const ts = base + i * 1800
  const service = i % 2 === 0 ? 'api' : 'worker'
  if (i % 20 === 7) { const v = 800 + ((i - 7) / 20) % 50; return { i, ts, host: 'web-3', service, fields: `{"responseTime":${v},"statusCode":200}`, value: v } }
  const host = ['web-1', 'web-2', 'Web-3'][i % 3]
  if (i % 100 === 33) return { i, ts, host, service, fields: '{"responseTime":"700"}', value: null }
  if (i % 100 === 66) return { i, ts, host, service, fields: '{"statusCode":200}', value: null }
  if (i % 100 === 99) return { i, ts, host, service, fields: '{"responseTime":0.5}', value: 0.5 }
  if (i % 100 === 11) return { i, ts, host, service, fields: '{"responseTime":100000}', value: 100000 }
  const v = 15 + i % 10
  return { i, ts, host, service, fields: `{"responseTime":${v},"statusCode":200}`, value: v }
}
const rows = Array.from({ length: n }, (_, i) => row(i))
// the default axis (1 … 100000, 18 buckets per decade): [15,20) is bucket 19, [20,25) 20, [800,850) 50
const yOf = (v: number): number => v >= 15 && v < 20 ? 19 : v >= 20 && v < 25 ? 20 : v >= 800 && v < 850 ? 50 : -1

describe('GET /v1/heatmap on ClickHouse', () => {
  let ch: ClickHouse
  let app: FastifyInstance
  const db = 'sluice'

  beforeAll(async () => {
    ch = await createClickHouse({ database: db, dataDir: tempDir('heatmap') })
    await migrate(ch.client, db, { retentionDays: 3650 })
    const insert = async (rs: Row[]): Promise<void> => {
      await ch.client.command({
        query: `INSERT INTO ${db}.logs (ts, host, service, pid, level, level_num, msg, fields, source, path, offset, flags)
SELECT fromUnixTimestamp64Milli(r.1, 'UTC'), r.2, r.3, 1, 'info', 30, 'request completed', r.4, 'hm0', '/h.log', r.5, []
FROM (SELECT arrayJoin(arrayZip({ts:Array(Int64)}, {host:Array(String)}, {svc:Array(String)}, {fields:Array(String)}, {off:Array(UInt64)})) AS r)`,
        query_params: { ts: rs.map(r => r.ts), host: rs.map(r => r.host), svc: rs.map(r => r.service), fields: rs.map(r => r.fields), off: rs.map(r => r.i * 100) },
        clickhouse_settings: insertSettings
      })
    }
    await insert(rows)
    // the last 300 lines delivered again (a shipper replay): counted once
    await insert(rows.slice(n - 300))
    // an hour later: the key written with a JSON escape (still responseTime), and a number in a string
    await insert([{ i: 5000, ts: base + 2 * 3600_000, host: 'web-1', service: 'api', fields: '{"response\\u0054ime":820}', value: 820 },
      { i: 5001, ts: base + 2 * 3600_000 + 1, host: 'web-1', service: 'api', fields: '{"responseTime":"820"}', value: null }])
    app = await buildQueryApi({ clickhouse: ch.client, database: db, tokens: [], registries: [] })
  })
  afterAll(async () => {
    await app?.close()
    await ch?.close()
  })

  // a 503 from the event-loop guard (a shared, noisy machine) is the API's "retry later"
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
  interface Tally { total: number, below: number, above: number, nonNumeric: number }
  interface Heatmap extends Tally { field: string, step: number, start: string, columns: number, since: string, until: string, y: Array<{ lo: number, hi: number }>, cells: number[][], isolate?: Tally & { by: string, value: string } }
  const heatmap = async (qs: Record<string, string | string[]>): Promise<Heatmap> => {
    const r = await inject(url('/v1/heatmap', { since, until, step: '10m', field: 'responseTime', ...qs }))
    expect(r.statusCode, r.body).toBe(200)
    return JSON.parse(r.body) as Heatmap
  }
  // cells as the data set says they must be: [t, y, count, count of `iso` lines]
  const expectedCells = (pick: (r: Row) => boolean, iso?: (r: Row) => boolean): number[][] => {
    const m = new Map<string, number[]>()
    for (const r of rows.filter(pick)) {
      if (r.value === null || yOf(r.value) < 0) continue
      const t = Math.floor((r.ts - base) / stepMs)
      const k = `${t}/${yOf(r.value)}`
      const c = m.get(k) ?? (iso !== undefined ? [t, yOf(r.value), 0, 0] : [t, yOf(r.value), 0])
      c[2]++
      if (iso?.(r) === true) c[3]++
      m.set(k, c)
    }
    return [...m.values()].sort((a, b) => a[0] - b[0] || a[1] - b[1])
  }

  it('the two bands land in exactly the expected cells; below, above and non-numeric lines are counted', async () => {
    const h = await heatmap({})
    expect([h.field, h.step, h.start, h.columns, h.since, h.until]).toEqual(['responseTime', 600, '2026-11-20T10:00:00.000Z', 6, '2026-11-20T10:00:00.000Z', '2026-11-20T10:59:59.999Z'])
    expect(h.y.length).toBe(90)
    expect([h.y[0], h.y[17], h.y[18], h.y[19], h.y[20], h.y[50], h.y[89]]).toEqual([
      { lo: 1, hi: 1.5 }, { lo: 9.5, hi: 10 }, { lo: 10, hi: 15 }, { lo: 15, hi: 20 }, { lo: 20, hi: 25 }, { lo: 800, hi: 850 }, { lo: 95000, hi: 100000 }])
    expect(h.cells).toEqual(expectedCells(() => true))
    // the slow band: 100 lines (every 20th), 800 … 849, in every 10-minute bucket
    const slow = h.cells.filter(c => c[1] === 50)
    expect(slow.map(c => c[0])).toEqual([0, 1, 2, 3, 4, 5])
    expect(slow.reduce((s, c) => s + c[2], 0)).toBe(100)
    // 0.5 is below 1; 100000 is the end of the axis, so above; "700" and a missing key are not numbers
    expect([h.total, h.below, h.above, h.nonNumeric]).toEqual([2000, 20, 20, 40])
    expect(h.cells.reduce((s, c) => s + c[2], 0) + h.below + h.above + h.nonNumeric).toBe(h.total)
    expect(h.isolate).toBeUndefined()
  })

  it('isolating host web-3 (case-insensitive) counts its lines per cell: all of the slow band, a third of the fast one', async () => {
    const h = await heatmap({ by: 'host', isolate: 'WEB-3' })
    const web3 = (r: Row): boolean => r.host.toLowerCase() === 'web-3'
    expect(h.cells).toEqual(expectedCells(() => true, web3))
    for (const c of h.cells.filter(c => c[1] === 50)) expect(c[3]).toBe(c[2])
    const isoTotal = rows.filter(web3).length
    expect(h.isolate).toEqual({ by: 'host', value: 'WEB-3', total: isoTotal, below: rows.filter(r => web3(r) && r.value === 0.5).length, above: rows.filter(r => web3(r) && r.value === 100000).length, nonNumeric: rows.filter(r => web3(r) && r.value === null).length })
    const bySvc = await heatmap({ by: 'service', isolate: 'worker', field: ['responseTime', 'responseTime>=800'] })
    expect(bySvc.cells).toEqual(expectedCells(r => r.value !== null && r.value >= 800 && r.value < 100000, r => r.service === 'worker'))
    const slowOrAbove = rows.filter(r => r.value !== null && r.value >= 800)
    expect([bySvc.total, bySvc.above, bySvc.isolate?.total]).toEqual([120, 20, slowOrAbove.filter(r => r.service === 'worker').length])
  })

  it('a cell clicked through to /v1/logs lists exactly the lines of that cell', async () => {
    const h = await heatmap({ by: 'host', isolate: 'web-3' })
    const cell = h.cells.find(c => c[0] === 3 && c[1] === 50)!
    const { lo, hi } = h.y[cell[1]]
    const t0 = Date.parse(h.start) + cell[0] * h.step * 1000
    // the time bucket [t0, t0 + step) as since/until (until is inclusive, to the millisecond)
    const click = { since: new Date(t0).toISOString(), until: new Date(t0 + h.step * 1000 - 1).toISOString(), field: [`responseTime>=${lo}`, `responseTime<${hi}`], limit: '5000' }
    const r = await inject(url('/v1/logs', click))
    expect(r.statusCode, r.body).toBe(200)
    const got = (JSON.parse(r.body) as { lines: Array<{ offset: number, fields: { responseTime: number } }> }).lines
    const want = rows.filter(x => x.ts >= t0 && x.ts < t0 + stepMs && x.value !== null && x.value >= 800 && x.value < 850)
    expect(got.map(l => l.offset)).toEqual(want.map(x => x.i * 100))
    expect(got.length).toBe(cell[2])
    // 800 itself is in [800, 850) (lo is inclusive): line 1007 is in this bucket with exactly 800
    expect(want.some(x => x.value === 800)).toBe(true)
    // with the isolated host too: its count
    const iso = await inject(url('/v1/logs', { ...click, host: 'web-3' }))
    expect((JSON.parse(iso.body) as { lines: unknown[] }).lines.length).toBe(cell[3])
    // a fast cell the same way: the upper bound is exclusive (20 is in [20, 25), not [15, 20))
    const fast = h.cells.find(c => c[0] === 0 && c[1] === 19)!
    const f = await inject(url('/v1/logs', { since: h.start, until: new Date(Date.parse(h.start) + stepMs - 1).toISOString(), field: [`responseTime>=${h.y[19].lo}`, `responseTime<${h.y[19].hi}`], limit: '5000' }))
    const fl = (JSON.parse(f.body) as { lines: Array<{ fields: { responseTime: number } }> }).lines
    expect(fl.length).toBe(fast[2])
    expect(fl.every(l => l.fields.responseTime >= 15 && l.fields.responseTime < 20)).toBe(true)
  })

  it('a key written with a JSON escape is read; a number in a string is not a number', async () => {
    const h = await heatmap({ since: '2026-11-20T12:00:00Z', until: '2026-11-20T12:59:59.999Z', step: '1h' })
    expect([h.cells, h.total, h.nonNumeric]).toEqual([[[0, 50, 1]], 2, 1])
    const r = await inject(url('/v1/logs', { since: '2026-11-20T12:00:00Z', until: '2026-11-20T12:59:59.999Z', field: ['responseTime>=800', 'responseTime<850'] }))
    expect((JSON.parse(r.body) as { lines: Array<{ offset: number }> }).lines.map(l => l.offset)).toEqual([500000])
  })

  it('min, max and decade_steps shape the value axis; the filters of /v1/logs apply', async () => {
    const h = await heatmap({ min: '10', max: '1000', decade_steps: '9', step: '1h', not_host: 'web-3' })
    expect(h.y.map(b => b.lo)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 200, 300, 400, 500, 600, 700, 800, 900])
    expect(h.y[17]).toEqual({ lo: 900, hi: 1000 })
    expect([h.step, h.columns]).toEqual([3600, 1])
    // without web-3: no slow band; 0.5 below, 100000 above, the rest between 15 and 24
    const kept = rows.filter(r => r.host.toLowerCase() !== 'web-3')
    expect(h.cells).toEqual([[0, 0, kept.filter(r => r.value !== null && r.value >= 10 && r.value < 20).length], [0, 1, kept.filter(r => r.value !== null && r.value >= 20 && r.value < 30).length]])
    expect([h.total, h.below, h.above, h.nonNumeric]).toEqual([kept.length, kept.filter(r => r.value === 0.5).length, kept.filter(r => r.value === 100000).length, kept.filter(r => r.value === null).length])
    expect(logLinearBounds(0.3, 2, 9)).toEqual([0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 2])
    expect(logLinearBounds(2.5, 40, 2)).toEqual([2.5, 5.5, 10, 40])
  })

  const bad: Array<[Record<string, string | string[]>, string]> = [
    [{ field: [] }, "invalid query parameter 'field': is required: the numeric field to measure, a dotted path without an operator (e.g. field=responseTime); field filters such as responseTime>=500 may be given besides it"],
    [{ field: 'responseTime>=500' }, "invalid query parameter 'field': is required: the numeric field to measure, a dotted path without an operator (e.g. field=responseTime); field filters such as responseTime>=500 may be given besides it"],
    [{ field: ['responseTime', 'latency'] }, "invalid query parameter 'field': measures one field; got 'responseTime' and 'latency' (a field filter needs an operator, e.g. responseTime>=500)"],
    [{ field: 'res..time' }, "invalid query parameter 'field': has an empty key in its dotted path (a.b.c); got 'res..time'"],
    [{ buckets: '0' }, "invalid query parameter 'buckets': must be a whole number from 1 to 1000; got '0'"],
    [{ buckets: 'many' }, "invalid query parameter 'buckets': must be a whole number from 1 to 1000; got 'many'"],
    [{ buckets: '5', step: '1m' }, "invalid query parameter 'step': give step or buckets, not both"],
    [{ min: '500', max: '100' }, "invalid query parameter 'min': must be less than max (100); got '500'"],
    [{ min: '100', max: '100' }, "invalid query parameter 'min': must be less than max (100); got '100'"],
    [{ min: '0' }, "invalid query parameter 'min': must be greater than 0 (the value axis is logarithmic); got '0'"],
    [{ max: 'fast' }, "invalid query parameter 'max': must be a number; got 'fast'"],
    [{ decade_steps: '91' }, "invalid query parameter 'decade_steps': must be a whole number from 1 to 90; got '91'"],
    [{ min: '0.000001', max: '1e9', decade_steps: '90' }, "invalid query parameter 'decade_steps': gives more than 400 value buckets from min 0.000001 to max 1000000000; use fewer decade_steps or a narrower min…max"],
    [{ by: 'host' }, "invalid query parameter 'by': needs isolate=VALUE (the host or service whose lines are counted separately)"],
    [{ isolate: 'web-3' }, "invalid query parameter 'isolate': needs by=host or by=service"],
    [{ by: 'level', isolate: 'error' }, "invalid query parameter 'by': must be one of host, service; got 'level'"],
    [{ field: ['responseTime', 'responseTime>=slow'] }, "invalid query parameter 'field': compares numbers: expected a number after the operator (e.g. responseTime>=500); got 'responseTime>=slow'"]
  ]
  for (const [qs, message] of bad) {
    it(`${JSON.stringify(qs)} → 400 ${message.slice(26, 90)}`, async () => {
      const p = new URLSearchParams({ since, until })
      if (qs.field === undefined) p.append('field', 'responseTime')
      for (const [k, v] of Object.entries(qs)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x)
      const r = await inject(`/v1/heatmap?${p.toString()}`)
      expect([r.statusCode, JSON.parse(r.body)]).toEqual([400, { error: 'SLUICE_ERR_BAD_PARAM', message }])
    })
  }
})
