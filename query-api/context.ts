// grep -C for the timeline: the N lines before and after each match *in the same source*,
// found by the line identity (source, byte offset) — the logs table's primary key — so each
// window is a primary-key range read however many lines other hosts logged meanwhile.
// All windows of a page go to ClickHouse as one UNION ALL statement with bound parameters.
import type { ClickHouseClient } from '@clickhouse/client'
import { lineColumns, toLine, type LogLine, type RawRow } from './search.js'
import { readSettings, type ReadLimits } from './query-slots.js'

export async function withContext (client: ClickHouseClient, db: string, matches: RawRow[], n: number, order: 'asc' | 'desc', limits: ReadLimits, signal?: AbortSignal): Promise<LogLine[]> {
  const key = (r: RawRow): string => `${r.source}\u0000${r.offset}`
  const byKey = new Map<string, { row: RawRow, context: boolean }>()
  for (const r of matches) byKey.set(key(r), { row: r, context: false })
  if (n > 0 && matches.length > 0) {
    const params: Record<string, unknown> = { n }
    const parts: string[] = []
    matches.forEach((m, i) => {
      params[`s${i}`] = m.source
      params[`o${i}`] = Number(m.offset)
      parts.push(`(SELECT ${lineColumns} FROM ${db}.logs FINAL WHERE source = {s${i}:String} AND offset < {o${i}:UInt64} ORDER BY offset DESC LIMIT {n:UInt32})`)
      parts.push(`(SELECT ${lineColumns} FROM ${db}.logs FINAL WHERE source = {s${i}:String} AND offset > {o${i}:UInt64} ORDER BY offset ASC LIMIT {n:UInt32})`)
    })
    const rs = await client.query({ query: parts.join('\nUNION ALL\n'), query_params: params, format: 'JSONEachRow', abort_signal: signal, clickhouse_settings: readSettings(limits) })
    for (const r of await rs.json<RawRow>()) {
      const k = key(r)
      if (!byKey.has(k)) byKey.set(k, { row: r, context: true })
    }
  }
  const sign = order === 'asc' ? 1 : -1
  const all = [...byKey.values()].sort((a, b) =>
    sign * (Number(a.row.tsms) - Number(b.row.tsms) || (a.row.source < b.row.source ? -1 : a.row.source > b.row.source ? 1 : 0) || Number(a.row.offset) - Number(b.row.offset)))
  return all.map(e => e.context ? { ...toLine(e.row), context: true } : toLine(e.row))
}
