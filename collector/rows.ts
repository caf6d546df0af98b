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
// a record this large is a producer bug (the shipper truncates lines far below it); refusing it
// keeps one message from turning into an unbounded ClickHouse row
export const maxRecordBytes = 1024 * 1024
const maxPid = 4294967295
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
const logKeys = new Set(['v', 'kind', 'ts', 'host', 'service', 'pid', 'level', 'msg', 'fields', 'src', 'path', 'off', 'flags'])

export function emptyRows (): Rows { return { logs: [], stats: [], dead: [] } }

export function addMessage (rows: Rows, value: Buffer | null, meta: { topic: string, partition: number, offset: string, key: string }): void {
  const dead = (reason: string, raw: string, lineIndex: number): void => {
    rows.dead.push({ stage: 'collect', reason, raw: raw.length > maxRawBytes ? raw.slice(0, maxRawBytes) : raw, topic: meta.topic, partition: meta.partition, kafka_offset: meta.offset, line_index: lineIndex, host: meta.key })
  }
  if (value === null || value.length === 0) { dead('empty message value', '', 0); return }
  const text = value.toString('utf8')
  const lines = text.split('\n')
  // Buffer#toString replaces bad bytes with U+FFFD silently; only then pay for a strict check,
  // per line, so one bad line does not take its neighbours with it
  const badUtf8 = text.includes('\uFFFD') ? invalidUtf8Lines(value) : null
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    if (line === '') continue
    if (badUtf8?.has(i) === true) { dead('invalid UTF-8', line, i); continue }
    if (line.length > maxRecordBytes && Buffer.byteLength(line) > maxRecordBytes) { dead(`record of ${Buffer.byteLength(line)} bytes exceeds the ${maxRecordBytes}-byte limit`, line, i); continue }
    let rec: unknown
    try { rec = JSON.parse(line) } catch (err) { dead(`invalid JSON: ${(err as Error).message}`, line, i); continue }
    const why = validateRecord(rec)
    if (why !== null) { dead(`schema v1: ${why}`, line, i); continue }
    const r = rec as LogRecordV1 | StatsRecordV1
    // v1 allows values the tables cannot hold; ClickHouse would reject the whole batch for them
    // (and the batch would be retried forever), so they are dead letters here
    if (r.pid > maxPid) { dead(`schema v1: /pid: ${r.pid} does not fit UInt32`, line, i); continue }
    const year = Number(r.ts.slice(0, 4))
    if (year < 1900 || year > 2299) { dead(`schema v1: /ts: year ${year} is outside 1900-2299 (DateTime64 range)`, line, i); continue }
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

function invalidUtf8Lines (value: Buffer): Set<number> {
  const bad = new Set<number>()
  let start = 0
  for (let i = 0; start <= value.length; i++) {
    let end = value.indexOf(0x0a, start)
    if (end === -1) end = value.length
    try { strictUtf8.decode(value.subarray(start, end)) } catch { bad.add(i) }
    start = end + 1
  }
  return bad
}
