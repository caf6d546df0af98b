// The rows one batch of Kafka messages becomes, per table, and the operations every path that
// fills them shares: a dead letter, and taking back what a failed line or message wrote.
import { tsInRange } from '../schemas/limits.js'
import type { LogRow } from '../schemas/log-table.js'
import { readLogRows, RowBinaryWriter } from './row-binary.js'

export interface StatsRow { ts: string, host: string, service: string, pid: number, metric: string, value: number, source: string, offset: number, len: number }
/** source/offset/len: the line's identity, when the dead letter knows it (gap detection) */
export interface DeadLetterRow { stage: string, reason: string, raw: string, topic: string, partition: number, kafka_offset: string, line_index: number, host: string, source?: string, offset?: number, len?: number }
/** a shipper's progress report of one file (schemas/records.ts ProgressRecordV1), for source_progress */
export interface ProgressRow { ts: string, host: string, service: string, source: string, path: string, size: number, acked: number, state: string, reason: string, dropped: string }
/** the identity of the line a dead letter stands for */
export interface LineId { source: string, offset: number, len: number }

export interface Rows {
  /** log rows in RowBinary, values in `logColumns` order (schemas/log-table.ts) */
  log: RowBinaryWriter
  /** number of rows in log */
  logCount: number
  stats: StatsRow[]
  dead: DeadLetterRow[]
  progress: ProgressRow[]
}

/** where a Kafka message comes from */
export interface Meta {
  topic: string, partition: number, offset: string, key: string
  /** when the message was produced (its Kafka timestamp, ms) and the logs' retention in days:
   *  a log line whose ts lies outside [received - retention, received + 1 day] is stored at
   *  this time, flagged (schemas/limits.ts). Without them timestamps are not checked. */
  receivedMs?: number
  retentionDays?: number
}

/** the most of a raw line or message a dead letter keeps */
export const maxRawBytes = 64 * 1024
// a record this large is a producer bug (the shipper truncates lines far below it); refusing it
// keeps one message from turning into an unbounded ClickHouse row
export const maxRecordBytes = 1024 * 1024
/** the largest pid the tables hold (UInt32) */
export const maxPid = 4294967295

export function emptyRows (): Rows { return { log: new RowBinaryWriter(), logCount: 0, stats: [], dead: [], progress: [] } }

/** the log rows' RowBinary body */
export function logBody (rows: Rows): Buffer { return rows.log.bytes() }

export function rowCount (rows: Rows): number { return rows.logCount + rows.stats.length + rows.dead.length + rows.progress.length }

/** The log rows as objects (for clients that insert row objects, and for tests). */
export function logRowsOf (rows: Rows): LogRow[] { return readLogRows(rows.log.bytes()) }

/** what rows held before a line or message, to take back what it wrote when it fails */
export interface Mark { pos: number, logCount: number, stats: number, dead: number, progress?: number }
export const markOf = (rows: Rows): Mark => ({ pos: rows.log.pos, logCount: rows.logCount, stats: rows.stats.length, dead: rows.dead.length, progress: rows.progress.length })
export function rollback (rows: Rows, m: Mark): void {
  rows.log.pos = m.pos; rows.logCount = m.logCount; rows.stats.length = m.stats; rows.dead.length = m.dead
  if (m.progress !== undefined) rows.progress.length = m.progress
}

/** the dead-letter reason of a line or message whose processing threw */
export const failedReason = (err: unknown): string => `could not process: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`

export function addDeadLetter (rows: Rows, meta: Meta, reason: string, raw: string, lineIndex: number, id?: LineId | null): void {
  const row: DeadLetterRow = { stage: 'collect', reason, raw: raw.length > maxRawBytes ? raw.slice(0, maxRawBytes) : raw, topic: meta.topic, partition: meta.partition, kafka_offset: meta.offset, line_index: lineIndex, host: meta.key }
  if (id != null) { row.source = id.source; row.offset = id.offset; row.len = id.len }
  rows.dead.push(row)
}

/** true when a row of this ts (ms) must be stored at the receive time instead */
export function outOfRange (tsMs: number, meta: Meta): boolean {
  return meta.receivedMs !== undefined && !tsInRange(tsMs, meta.receivedMs, meta.retentionDays ?? 30)
}
