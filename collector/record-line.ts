// The general path for one line of v1 JSON (schemas/records.ts): JSON.parse, the TypeBox schema
// and the checks of what the tables can hold, then its rows — or a dead letter with the reason.
// Every line the canonical scan (canonical-log.ts) or the segment fast path declines ends here.
import { levelNum, validateRecord, type LogRecordV1, type ProgressRecordV1, type StatsRecordV1 } from '../schemas/records.js'
import { maxJsonDepth, nestsDeeperThan, tooDeepReason, tsOriginalField, tsOutOfRangeFlag } from '../schemas/limits.js'
import { tooDeepFlag } from '../schemas/normalize.js'
import { tsMillis, type RowBinaryWriter } from './row-binary.js'
import { addDeadLetter, failedReason, markOf, maxPid, maxRecordBytes, outOfRange, rollback, type LineId, type Meta, type ProgressRow, type Rows } from './row-types.js'

const logKeys = new Set(['v', 'kind', 'ts', 'host', 'service', 'pid', 'level', 'msg', 'fields', 'src', 'path', 'off', 'flags', 'len'])

const statsOutOfRangeReason = (ts: string, meta: Meta): string => `stats sample at ${ts} is outside the retention (${meta.retentionDays ?? 30} days before its receive time ${new Date(meta.receivedMs ?? 0).toISOString()}, or more than a day after it)`

/** Adds the rows of one non-empty line; a line whose processing throws becomes a dead letter
 *  and what it wrote is taken back. `id`: the line's identity when the caller knows it. */
export function addLine (rows: Rows, line: string, i: number, meta: Meta, id?: LineId): void {
  const m = markOf(rows)
  try { addLineRows(rows, line, i, meta, id ?? null) } catch (err) {
    rollback(rows, m)
    addDeadLetter(rows, meta, failedReason(err), line, i, id)
  }
}

/** the identity a parsed record claims, when it is well formed (a dead letter keeps it so gap
 *  detection can tell a dead-lettered line from a lost one) */
function lineIdOf (rec: unknown): LineId | null {
  if (rec === null || typeof rec !== 'object') return null
  const r = rec as { src?: unknown, off?: unknown, len?: unknown }
  if (typeof r.src !== 'string' || r.src === '' || typeof r.off !== 'number' || !Number.isSafeInteger(r.off) || r.off < 0) return null
  const len = typeof r.len === 'number' && Number.isInteger(r.len) && r.len > 0 && r.len <= 4294967295 ? r.len : 0
  return { source: r.src, offset: r.off, len }
}

function addLineRows (rows: Rows, line: string, i: number, meta: Meta, given: LineId | null): void {
  const dead = (reason: string, raw: string, id: LineId | null): void => addDeadLetter(rows, meta, reason, raw, i, id)
  if (line.length > maxRecordBytes && Buffer.byteLength(line) > maxRecordBytes) { dead(`record of ${Buffer.byteLength(line)} bytes exceeds the ${maxRecordBytes}-byte limit`, line, given); return }
  let rec: unknown
  try { rec = JSON.parse(line) } catch (err) { dead(`invalid JSON: ${(err as Error).message}`, line, given); return }
  const id = given ?? lineIdOf(rec)
  // JSON.parse is iterative, but the schema check and JSON.stringify of fields recurse; a record
  // holds its line's keys one level down, in fields
  if (nestsDeeperThan(rec, maxJsonDepth + 1)) { dead(tooDeepReason, line, id); return }
  const why = validateRecord(rec)
  if (why !== null) { dead(`schema v1: ${why}`, line, id); return }
  if ((rec as { kind: string }).kind === 'progress') { rows.progress.push(progressRow(rec as ProgressRecordV1)); return }
  let r = rec as LogRecordV1 | StatsRecordV1
  // the shipper's normalizeLine did not parse it (schemas/limits.ts): msg holds the raw line
  if (r.kind === 'log' && r.flags.includes(tooDeepFlag)) { dead(tooDeepReason, r.msg, id); return }
  if (meta.receivedMs !== undefined && outOfRange(tsMillis(r.ts), meta)) {
    // a log line is kept at its receive time, flagged; a stats sample has no place for a flag
    // and a sample at the wrong time would mislead its series: a dead letter
    if (r.kind === 'stats') { dead(statsOutOfRangeReason(r.ts, meta), line, id); return }
    r = { ...r, ts: new Date(meta.receivedMs).toISOString(), fields: { ...r.fields, [tsOriginalField]: r.ts }, flags: [...r.flags, tsOutOfRangeFlag] }
  }
  const unfit = tableMisfit(r)
  if (unfit !== null) { dead(unfit, line, id); return }
  if (r.kind === 'log') {
    writeLogRow(rows.log, r)
    rows.logCount++
  } else {
    for (const [metric, v] of Object.entries(r.metrics)) rows.stats.push({ ts: r.ts, host: r.host, service: r.service, pid: r.pid, metric, value: v, source: r.src, offset: r.off, len: r.len ?? 0 })
  }
}

/** v1 allows values the tables cannot hold; ClickHouse would reject the whole batch for them (and
 *  the batch would be retried forever), so they are dead letters: the reason, or null */
function tableMisfit (r: LogRecordV1 | StatsRecordV1): string | null {
  if (r.pid > maxPid) return `schema v1: /pid: ${r.pid} does not fit UInt32`
  if (r.off > Number.MAX_SAFE_INTEGER) return `schema v1: /off: ${r.off} is beyond 2^53 - 1 (a byte offset cannot be that large)`
  const year = Number(r.ts.slice(0, 4))
  if (year < 1900 || year > 2299) return `schema v1: /ts: year ${year} is outside 1900-2299 (DateTime64 range)`
  return null
}

/** a valid log record's row, its values in logColumns order */
function writeLogRow (w: RowBinaryWriter, r: LogRecordV1): void {
  // fields a newer producer added at the top level are kept, not dropped
  let fields = r.fields
  for (const k of Object.keys(r)) if (!logKeys.has(k)) { if (fields === r.fields) fields = { ...r.fields }; fields[k] = (r as unknown as Record<string, unknown>)[k] }
  w.int64(tsMillis(r.ts))
  w.string(r.host)
  w.string(r.service)
  w.uint32(r.pid)
  w.string(r.level)
  w.string(r.msg)
  w.string(JSON.stringify(fields))
  w.string(r.src)
  w.string(r.path)
  w.uint64(r.off)
  w.stringArray(r.flags)
  w.uint8(levelNum[r.level])
  w.uint32(r.len ?? 0)
}

function progressRow (p: ProgressRecordV1): ProgressRow {
  return { ts: p.ts, host: p.host, service: p.service, source: p.src, path: p.path, size: p.size, acked: p.acked, state: p.state, reason: p.reason ?? '', dropped: JSON.stringify(p.dropped) }
}
