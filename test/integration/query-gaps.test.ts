// GET /v1/gaps on the real engine (embedded chDB), for the one-pass check that finds the sources
// with holes before reading them in offset order: a replayed copy not merged yet must not make up
// for a hole of its size; stats lines fill the file between log lines; a line of unknown length
// reaches the next stored line; a hole before `since` is not reported.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { buildQueryApi } from '../../query-api/server.js'
import { tempDir } from '../helpers/env.js'

const base = Date.parse('2026-11-20T10:00:00.000Z')
const db = 'sluice'
const tsOf = (k: number): string => new Date(base + k * 1000).toISOString()
interface Line { source: string, k: number, len?: number }

describe('GET /v1/gaps: the one-pass check on ClickHouse', () => {
  let ch: ClickHouse
  let app: FastifyInstance

  // line k of a source: offset k * 100, 100 bytes, ts base + k s
  const insertLogs = async (ls: Line[]): Promise<void> => {
    await ch.client.insert({ table: `${db}.logs`, format: 'JSONEachRow', values: ls.map(l => ({ ts: tsOf(l.k), host: 'web-1', service: 'api', pid: 1, level: 'info', level_num: 30, msg: `line ${l.k}`, fields: '{}', source: l.source, path: `/var/log/${l.source}.log`, offset: l.k * 100, len: l.len ?? 100, flags: [] })) })
  }
  const range = (source: string, from: number, to: number, skip: number[] = []): Line[] => Array.from({ length: to - from }, (_, i) => ({ source, k: from + i })).filter(l => !skip.includes(l.k))

  beforeAll(async () => {
    ch = await createClickHouse({ database: db, dataDir: tempDir('gaps-pass') })
    await migrate(ch.client, db, { retentionDays: 3650 })
    // merging would drop the replayed copies this test is about
    await ch.client.command({ query: `SYSTEM STOP MERGES ${db}.logs` })
    // replayed: lines 0-49, then 10-19 again (a restarted shipper): complete
    await insertLogs(range('replayed', 0, 50))
    await insertLogs(range('replayed', 10, 20))
    // masked: line 30 missing (100 bytes), line 5 (100 bytes) stored twice
    await insertLogs(range('masked', 0, 50, [30]))
    await insertLogs(range('masked', 5, 6))
    // mixed: log lines, and every 5th line a stats line (3 metric rows); stats line 25 missing
    await insertLogs(range('mixed', 0, 50).filter(l => l.k % 5 !== 0))
    await ch.client.insert({
      table: `${db}.stats`,
      format: 'JSONEachRow',
      values: range('mixed', 0, 50).filter(l => l.k % 5 === 0 && l.k !== 25).flatMap(l => ['heap_used', 'rss', 'fds'].map(metric => ({ ts: tsOf(l.k), host: 'web-1', service: 'api', pid: 1, metric, value: 1, source: 'mixed', offset: l.k * 100, len: 100 })))
    })
    // unknown: line 20's length unknown (0), line 21 missing (it reaches line 22); lines 40-41 missing
    await insertLogs([...range('unknown', 0, 50, [20, 21, 40, 41]), { source: 'unknown', k: 20, len: 0 }])
    // early: a hole at line 3 (before `since` in the second case) and one at line 40
    await insertLogs(range('early', 0, 50, [3, 40]))
    app = await buildQueryApi({ clickhouse: ch.client, database: db, tokens: [], registries: [] })
  }, 60_000)

  afterAll(async () => {
    await app?.close()
    await ch?.close()
  })

  // a 503 from the event-loop guard (a shared, noisy machine) is the API's "retry later"
  const gaps = async (qs: string): Promise<Array<{ source: string, ranges: unknown[] }>> => {
    let r = await app.inject({ method: 'GET', url: `/v1/gaps?${qs}` })
    for (let i = 0; r.statusCode === 503 && r.body.includes('eventLoop') && i < 50; i++) {
      await new Promise(resolve => setTimeout(resolve, 200))
      r = await app.inject({ method: 'GET', url: `/v1/gaps?${qs}` })
    }
    expect(r.statusCode, r.body).toBe(200)
    return r.json().sources.map((s: { source: string, ranges: unknown[] }) => ({ source: s.source, ranges: s.ranges }))
  }
  const lost = (from: number, to: number): Record<string, unknown> => ({ from: from * 100, to: to * 100, bytes: (to - from) * 100, class: 'lost', before: tsOf(from - 1), after: tsOf(to) })

  it('replayed copy not merged yet does not hide a hole of its size; stats lines and unknown lengths count', async () => {
    // the copies are really there: the check has to see past them
    const rows = await (await ch.client.query({ query: `SELECT source, count() AS c FROM ${db}.logs GROUP BY source ORDER BY source`, format: 'JSONEachRow' })).json<{ source: string, c: number }>()
    expect(rows.map(r => [r.source, Number(r.c)])).toEqual([['early', 48], ['masked', 50], ['mixed', 40], ['replayed', 60], ['unknown', 47]])
    expect(await gaps('since=2026-11-20T09:00:00Z')).toEqual([
      { source: 'early', ranges: [lost(3, 4), lost(40, 41)] },
      { source: 'masked', ranges: [lost(30, 31)] },
      { source: 'mixed', ranges: [lost(25, 26)] },
      { source: 'unknown', ranges: [lost(40, 42)] }
    ])
  })

  it('a hole before since is not reported; one source alone', async () => {
    expect(await gaps(`since=${tsOf(10)}`)).toEqual([
      { source: 'early', ranges: [lost(40, 41)] },
      { source: 'masked', ranges: [lost(30, 31)] },
      { source: 'mixed', ranges: [lost(25, 26)] },
      { source: 'unknown', ranges: [lost(40, 42)] }
    ])
    expect(await gaps(`since=${tsOf(10)}&until=${tsOf(45)}&source=masked`)).toEqual([{ source: 'masked', ranges: [lost(30, 31)] }])
    expect(await gaps('source=replayed')).toEqual([])
  })
})
