// /v1/stats with top / keys / band on the real engine (embedded chDB): the chosen processes'
// series, the others as one min–max band per step, and every process in rank order — so a page
// of 200 processes no longer receives 200 series per chart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { buildQueryApi } from '../../query-api/server.js'
import { tempDir } from '../helpers/env.js'

const base = Date.parse('2026-11-20T10:00:00.000Z')
const at = (m: number): string => new Date(base + m * 60_000).toISOString()
const range = 'since=2026-11-20T10:00:00Z&until=2026-11-20T10:03:59Z&step=1m'
// connections per minute 0-3; the mean ranks: h-4/svc/44 50.5, h-2 35, h-4/svc/4 30, h-3 18.75, h-1 10
// (h-3 has the highest single value, 60, but a low mean); pid 44 replaced pid 4 on h-4 at minute 2
const fleet: Array<[string, number, Array<number | null>]> = [
  ['h-1', 1, [10, 10, 10, 10]],
  ['h-2', 2, [50, 40, 30, 20]],
  ['h-3', 3, [5, 60, 5, 5]],
  ['h-4', 4, [30, 30, null, null]],
  ['h-4', 44, [null, null, 1, 100]]
]
const proc = (host: string, pid: number, first: number, last: number): unknown => ({ host, service: 'svc', pid, first: at(first), last: at(last) })
const everyProcess = [proc('h-4', 44, 2, 3), proc('h-2', 2, 0, 3), proc('h-4', 4, 0, 1), proc('h-3', 3, 0, 3), proc('h-1', 1, 0, 3)]
const head = { metric: 'connections', unit: 'count', step: 60, since: at(0), until: '2026-11-20T10:03:59.000Z' }

describe('GET /v1/stats?top=N&band=minmax and keys=…', () => {
  let ch: ClickHouse
  let app: FastifyInstance
  const db = 'sluice'

  beforeAll(async () => {
    ch = await createClickHouse({ database: db, dataDir: tempDir('qstats-top') })
    await migrate(ch.client, db, { retentionDays: 3650 })
    const values = fleet.flatMap(([host, pid, vs]) => vs.map((v, m) => v === null ? null : `(fromUnixTimestamp64Milli(toInt64(${base + m * 60_000 + 5000}), 'UTC'), '${host}', 'svc', ${pid}, 'connections', ${v}, 'top-fixture', ${pid * 10 + m})`)).filter(v => v !== null)
    await ch.client.command({ query: `INSERT INTO ${db}.stats (ts, host, service, pid, metric, value, source, offset) VALUES ${values.join(',\n')}`, clickhouse_settings: { max_execution_time: 0, max_rows_to_read: 0 } })
    app = await buildQueryApi({ clickhouse: ch.client, database: db, tokens: [], registries: [] })
  })
  afterAll(async () => {
    await app?.close()
    await ch?.close()
  })

  const get = async (url: string): Promise<{ status: number, body: unknown }> => {
    const r = await app.inject({ method: 'GET', url })
    return { status: r.statusCode, body: JSON.parse(r.body) }
  }

  it('top=2&band=minmax: the two highest means as series, the other three as min–max per step, all five listed', async () => {
    expect(await get(`/v1/stats?metric=connections&${range}&top=2&band=minmax`)).toEqual({
      status: 200,
      body: {
        ...head,
        agg: 'avg',
        series: [
          { host: 'h-4', service: 'svc', pid: 44, points: [[at(2), 1], [at(3), 100]] },
          { host: 'h-2', service: 'svc', pid: 2, points: [[at(0), 50], [at(1), 40], [at(2), 30], [at(3), 20]] }
        ],
        band: { count: 3, points: [[at(0), 5, 30], [at(1), 10, 60], [at(2), 5, 10], [at(3), 5, 10]] },
        processes: everyProcess
      }
    })
    // without band: the series and the list only
    expect(await get(`/v1/stats?metric=connections&${range}&top=1`)).toEqual({
      status: 200,
      body: { ...head, agg: 'avg', series: [{ host: 'h-4', service: 'svc', pid: 44, points: [[at(2), 1], [at(3), 100]] }], processes: everyProcess }
    })
  })

  it('keys=…&band=minmax: exactly those processes (in rank order), the band over the others', async () => {
    expect(await get(`/v1/stats?metric=connections&${range}&keys=h-1/svc/1,h-3/svc/3&keys=h-9/svc/9&band=minmax`)).toEqual({
      status: 200,
      body: {
        ...head,
        agg: 'avg',
        series: [
          { host: 'h-3', service: 'svc', pid: 3, points: [[at(0), 5], [at(1), 60], [at(2), 5], [at(3), 5]] },
          { host: 'h-1', service: 'svc', pid: 1, points: [[at(0), 10], [at(1), 10], [at(2), 10], [at(3), 10]] }
        ],
        band: { count: 3, points: [[at(0), 30, 50], [at(1), 30, 40], [at(2), 1, 30], [at(3), 20, 100]] },
        processes: everyProcess
      }
    })
    // the chosen series are the plain answer's series, value for value
    const plain = (await get(`/v1/stats?metric=connections&${range}`)).body as { series: Array<{ pid: number }> }
    const chosen = (await get(`/v1/stats?metric=connections&${range}&keys=h-1/svc/1,h-3/svc/3`)).body as { series: Array<{ pid: number }> }
    expect(chosen.series).toEqual(plain.series.filter(s => s.pid === 3 || s.pid === 1).reverse())
  })

  it('not_host / not_service: the excluded processes are neither ranked, nor in the band, nor listed', async () => {
    expect(await get(`/v1/stats?metric=connections&${range}&top=2&band=minmax&not_host=h-4`)).toEqual({
      status: 200,
      body: {
        ...head,
        agg: 'avg',
        series: [
          { host: 'h-2', service: 'svc', pid: 2, points: [[at(0), 50], [at(1), 40], [at(2), 30], [at(3), 20]] },
          { host: 'h-3', service: 'svc', pid: 3, points: [[at(0), 5], [at(1), 60], [at(2), 5], [at(3), 5]] }
        ],
        band: { count: 1, points: [[at(0), 10, 10], [at(1), 10, 10], [at(2), 10, 10], [at(3), 10, 10]] },
        processes: [proc('h-2', 2, 0, 3), proc('h-3', 3, 0, 3), proc('h-1', 1, 0, 3)]
      }
    })
    expect(await get(`/v1/stats?metric=connections&${range}&not_service=svc`)).toMatchObject({ status: 200, body: { series: [], hint: "'connections' was reported in this range, but not by a process matching the host/service/pid filters" } })
  })

  it('keys= (empty): no series, every process in the band', async () => {
    expect(await get(`/v1/stats?metric=connections&${range}&keys=&band=minmax`)).toEqual({
      status: 200,
      body: { ...head, agg: 'avg', series: [], band: { count: 5, points: [[at(0), 5, 50], [at(1), 10, 60], [at(2), 1, 30], [at(3), 5, 100]] }, processes: everyProcess }
    })
  })

  it('agg=increase with top: ranked and banded on the differences, as the plain answer computes them', async () => {
    expect(await get(`/v1/stats?metric=connections&${range}&agg=increase&top=1&band=minmax`)).toEqual({
      status: 200,
      body: {
        ...head,
        agg: 'increase',
        series: [{ host: 'h-4', service: 'svc', pid: 44, points: [[at(3), 99]] }],
        band: { count: 4, points: [[at(1), -10, 55], [at(2), -55, 0], [at(3), -10, 0]] },
        processes: [proc('h-4', 44, 3, 3), proc('h-1', 1, 1, 3), proc('h-3', 3, 1, 3), proc('h-4', 4, 1, 1), proc('h-2', 2, 1, 3)]
      }
    })
    const plain = (await get(`/v1/stats?metric=connections&${range}&agg=increase&host=h-3`)).body as { series: unknown[] }
    const keyed = (await get(`/v1/stats?metric=connections&${range}&agg=increase&keys=h-3/svc/3`)).body as { series: unknown[] }
    expect(keyed.series).toEqual(plain.series)
  })

  it('no process matches: the plain answer\'s hint, an empty list', async () => {
    const r = await get(`/v1/stats?metric=connections&${range}&top=3&band=minmax&host=h-9`)
    expect(r).toEqual({ status: 200, body: { ...head, agg: 'avg', series: [], band: { count: 0, points: [] }, processes: [], hint: "'connections' was reported in this range, but not by a process matching the host/service/pid filters" } })
  })

  describe('every 400 names the parameter, what it got and what is accepted', () => {
    const cases: Array<[string, string]> = [
      ['top=0', "invalid query parameter 'top': must be a whole number from 1 to 50; got \"0\""],
      ['top=51', "invalid query parameter 'top': must be a whole number from 1 to 50; got \"51\""],
      ['top=ten', "invalid query parameter 'top': must be a whole number from 1 to 50; got \"ten\""],
      ['top=2&band=p5p95', "invalid query parameter 'band': must be minmax (the lowest and highest value per step of the processes not chosen); got \"p5p95\""],
      ['band=minmax', "invalid query parameter 'band': needs top or keys: the band covers the processes not chosen by them"],
      ['top=2&keys=h-1/svc/1', "invalid query parameter 'keys': cannot be combined with top: ask for the top N processes or for exactly these"],
      ['keys=h-1/svc', "invalid query parameter 'keys': each must be host/service/pid, e.g. web-1/api/4242; got \"h-1/svc\""],
      [`keys=${Array.from({ length: 51 }, (_, i) => `h/s/${i}`).join(',')}`, "invalid query parameter 'keys': lists at most 50 processes; got 51"],
      [`${'keys=h/s/1&'.repeat(51)}top=1`, "invalid query parameter 'keys': may be given at most 50 times; got 51"],
      ['tops=2', "invalid query parameter 'tops': unknown parameter; accepted: metric, divide_by, host, service, not_host, not_service, pid, since, until, step, agg, top, keys, band"]
    ]
    for (const [qs, message] of cases) {
      it(qs.length > 60 ? qs.slice(0, 60) + '…' : qs, async () => {
        expect(await get(`/v1/stats?metric=connections&${range}&${qs}`)).toEqual({ status: 400, body: { error: 'SLUICE_ERR_BAD_PARAM', message } })
      })
    }
  })
})
