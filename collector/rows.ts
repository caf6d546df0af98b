// Kafka message (NDJSON of v1 records) → ClickHouse rows. Every line either becomes rows
// or a dead-letter row with a readable reason; nothing is dropped silently.
import { levelNum, validateRecord, type LogRecordV1, type StatsRecordV1 } from '../schemas/records.js'

export interface LogRow {
  ts: string, host: string, service: string, pid: number, level: string, level_num: number
  msg: string, fields: string, source: string, path: string, offset: number, flags: string[]
}
export interface StatsRow { ts: string, host: string, service: string, pid: number, metric: string, value: number, source: string, offset: number }
export interface DeadLetterRow { stage: string, reason: string, raw: string, topic: string, partition: number, kafka_offset: string, line_index: number, host: string }

export interface Rows { logs: LogRow[], stats: StatsRow[], dead: DeadLetterRow[] }

const maxRawBytes = 64 * 1024
const logKeys = new Set(['v', 'kind', 'ts', 'host', 'service', 'pid', 'level', 'msg', 'fields', 'src', 'path', 'off', 'flags'])

export function emptyRows (): Rows { return { logs: [], stats: [], dead: [] } }

export function addMessage (rows: Rows, value: Buffer | null, meta: { topic: string, partition: number, offset: string, key: string }): void {
  const dead = (reason: string, raw: string, lineIndex: number): void => {
    rows.dead.push({ stage: 'collect', reason, raw: raw.length > maxRawBytes ? raw.slice(0, maxRawBytes) : raw, topic: meta.topic, partition: meta.partition, kafka_offset: meta.offset, line_index: lineIndex, host: meta.key })
  }
  if (value === null || value.length === 0) { dead('empty message value', '', 0); return }
  const text = value.toString('utf8')
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line === '') continue
    let rec: unknown
    try { rec = JSON.parse(line) } catch (err) { dead(`invalid JSON: ${(err as Error).message}`, line, i); continue }
    const why = validateRecord(rec)
    if (why !== null) { dead(`schema v1: ${why}`, line, i); continue }
    const r = rec as LogRecordV1 | StatsRecordV1
    if (r.kind === 'log') {
      // fields a newer producer added at the top level are kept, not dropped
      let fields = r.fields
      for (const k of Object.keys(r)) if (!logKeys.has(k)) { if (fields === r.fields) fields = { ...r.fields }; fields[k] = (r as Record<string, unknown>)[k] }
      rows.logs.push({ ts: r.ts, host: r.host, service: r.service, pid: r.pid, level: r.level, level_num: levelNum[r.level], msg: r.msg, fields: JSON.stringify(fields), source: r.src, path: r.path, offset: r.off, flags: r.flags })
    } else {
      for (const [metric, v] of Object.entries(r.metrics)) rows.stats.push({ ts: r.ts, host: r.host, service: r.service, pid: r.pid, metric, value: v, source: r.src, offset: r.off })
    }
  }
}
