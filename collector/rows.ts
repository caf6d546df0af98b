// Kafka message (NDJSON of v1 records) → ClickHouse rows. Every line either becomes rows
// or a dead-letter row with a readable reason; nothing is dropped silently.
//
// Log rows are not built as objects: they are written straight into a RowBinary buffer
// (`Rows.log`, row-binary.ts: the logs table's columns in `logColumns` order as binary values,
// which ClickHouse reads without parsing text — half of its insert work was parsing JSON rows).
// A line already in the shipper's canonical layout (the v1 keys in order, nothing else, every
// value written as JSON.stringify writes it) is checked by one scan, without JSON.parse, and its
// values are copied from the message bytes; every other line takes the general path
// (JSON.parse + the TypeBox schema) and, when valid, its record's values are written. The
// stored values are the same either way (test/integration/collector-rows-roundtrip.test.ts
// reads them back from the real engine). CPU profile of the bench before the scan: JSON.parse
// + validate + JSON.stringify of the rows and their GC were ~75% of the collector's main thread.
import { levelNum, isV1DateTime, validateRecord, type LogRecordV1, type ProgressRecordV1, type StatsRecordV1 } from '../schemas/records.js'
import { fastLogParts, skipCanonicalObject, skipString } from '../schemas/fast-line.js'
import { forEachSegmentLine, isSegment, parseSegment, segmentLineRecord, type ParsedSegment } from '../schemas/segment.js'
import { maxJsonDepth, nestsDeeperThan, tooDeepReason, tsInRange, tsOriginalField, tsOutOfRangeFlag } from '../schemas/limits.js'
import { tooDeepFlag } from '../schemas/normalize.js'
import { readLogRows, RowBinaryWriter, tsMillis, tsMillisIn } from './row-binary.js'

export interface LogRow {
  ts: string, host: string, service: string, pid: number, level: string, level_num: number
  msg: string, fields: string, source: string, path: string, offset: number, flags: string[]
  /** bytes of the line in its source, newline included (0: unknown) */
  len: number
}
export interface StatsRow { ts: string, host: string, service: string, pid: number, metric: string, value: number, source: string, offset: number, len: number }
/** source/offset/len: the line's identity, when the dead letter knows it (gap detection) */
export interface DeadLetterRow { stage: string, reason: string, raw: string, topic: string, partition: number, kafka_offset: string, line_index: number, host: string, source?: string, offset?: number, len?: number }
/** a shipper's progress report of one file (schemas/records.ts ProgressRecordV1), for source_progress */
export interface ProgressRow { ts: string, host: string, service: string, source: string, path: string, size: number, acked: number, state: string, reason: string, dropped: string }
/** the identity of the line a dead letter stands for */
interface LineId { source: string, offset: number, len: number }

/** the logs table's columns in the order of a row's values in Rows.log */
export const logColumns = ['ts', 'host', 'service', 'pid', 'level', 'msg', 'fields', 'source', 'path', 'offset', 'flags', 'level_num', 'len'] as const

export interface Rows {
  /** log rows in RowBinary, values in `logColumns` order (row-binary.ts) */
  log: RowBinaryWriter
  /** number of rows in log */
  logCount: number
  stats: StatsRow[]
  dead: DeadLetterRow[]
  progress: ProgressRow[]
}

const maxRawBytes = 64 * 1024
// a record this large is a producer bug (the shipper truncates lines far below it); refusing it
// keeps one message from turning into an unbounded ClickHouse row
export const maxRecordBytes = 1024 * 1024
const maxPid = 4294967295
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
const logKeys = new Set(['v', 'kind', 'ts', 'host', 'service', 'pid', 'level', 'msg', 'fields', 'src', 'path', 'off', 'flags', 'len'])

export function emptyRows (): Rows { return { log: new RowBinaryWriter(), logCount: 0, stats: [], dead: [], progress: [] } }

/** the log rows' RowBinary body */
export function logBody (rows: Rows): Buffer { return rows.log.bytes() }

export function rowCount (rows: Rows): number { return rows.logCount + rows.stats.length + rows.dead.length + rows.progress.length }

/** The log rows as objects (for clients that insert row objects, and for tests). */
export function logRowsOf (rows: Rows): LogRow[] { return readLogRows(rows.log.bytes()) }

export interface Meta {
  topic: string, partition: number, offset: string, key: string
  /** when the message was produced (its Kafka timestamp, ms) and the logs' retention in days:
   *  a log line whose ts lies outside [received - retention, received + 1 day] is stored at
   *  this time, flagged (schemas/limits.ts). Without them timestamps are not checked. */
  receivedMs?: number
  retentionDays?: number
}

/** what rows held before a line or message, to take back what it wrote when it fails */
interface Mark { pos: number, logCount: number, stats: number, dead: number, progress?: number }
const markOf = (rows: Rows): Mark => ({ pos: rows.log.pos, logCount: rows.logCount, stats: rows.stats.length, dead: rows.dead.length, progress: rows.progress.length })
function rollback (rows: Rows, m: Mark): void {
  rows.log.pos = m.pos; rows.logCount = m.logCount; rows.stats.length = m.stats; rows.dead.length = m.dead
  if (m.progress !== undefined) rows.progress.length = m.progress
}

/** the dead-letter reason of a line or message whose processing threw */
export const failedReason = (err: unknown): string => `could not process: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`

const statsOutOfRangeReason = (ts: string, meta: Meta): string => `stats sample at ${ts} is outside the retention (${meta.retentionDays ?? 30} days before its receive time ${new Date(meta.receivedMs ?? 0).toISOString()}, or more than a day after it)`

/** true when a row of this ts (ms) must be stored at the receive time instead */
function outOfRange (tsMs: number, meta: Meta): boolean {
  return meta.receivedMs !== undefined && !tsInRange(tsMs, meta.receivedMs, meta.retentionDays ?? 30)
}


/** Adds one Kafka message's rows. Never throws: a message (or line) whose processing fails
 *  becomes a dead letter with the reason, and what it had written is taken back. */
export function addMessage (rows: Rows, value: Buffer | null, meta: Meta): void {
  const m = markOf(rows)
  try { addMessageRows(rows, value, meta) } catch (err) {
    rollback(rows, m)
    dead(rows, meta, failedReason(err), value === null ? '' : value.toString('utf8', 0, Math.min(value.length, maxRawBytes)), 0)
  }
}

function addMessageRows (rows: Rows, value: Buffer | null, meta: Meta): void {
  if (value === null || value.length === 0) { dead(rows, meta, 'empty message value', '', 0); return }
  if (isSegment(value)) { addSegment(rows, value, meta); return }
  const text = value.toString('utf8')
  // Buffer#toString replaces bad bytes with U+FFFD silently; only then pay for a strict check,
  // per line, so one bad line does not take its neighbours with it. U+2028/9 fail the schema's
  // key pattern of `fields` (^(.*)$), which the scan does not reproduce: general path.
  if (text.includes('\uFFFD') || text.includes('\u2028') || text.includes('\u2029')) {
    const badUtf8 = text.includes('\uFFFD') ? invalidUtf8Lines(value) : null
    const lines = text.split('\n')
    for (let i = 0; i < lines.length; i++) {
      if (badUtf8?.has(i) === true) { dead(rows, meta, 'invalid UTF-8', lines[i], i); continue }
      if (lines[i] !== '') addLine(rows, lines[i], i, meta)
    }
    return
  }
  const n = text.length
  const simple = !notSimple.test(text)
  // ASCII (one UTF-16 unit per byte): values are copied as bytes straight from the message
  const bytes = n === value.length ? value : null
  let i = 0
  for (let lineIndex = 0; i < n; lineIndex++) {
    const end = scanCanonicalLog(text, i, simple)
    if (end >= 0 && !outOfRange(tsMillisIn(text, spans[0] + 1, spans[1] - 1), meta) && !(spans[21] - spans[20] > 2 && text.slice(spans[20], spans[21]).includes(tooDeepJson))) {
      canonicalRow(rows.log, text, bytes, simple)
      rows.logCount++
      i = end + 1
      continue
    }
    let e = text.indexOf('\n', i)
    if (e === -1) e = n
    if (e > i) addLine(rows, text.slice(i, e), lineIndex, meta)
    i = e + 1
  }
}

// a record the shipper did not parse (too deep): the general path dead-letters it
const tooDeepJson = JSON.stringify(tooDeepFlag)

const levelBytes: Record<number, Buffer> = { 10: Buffer.from('trace'), 20: Buffer.from('debug'), 30: Buffer.from('info'), 40: Buffer.from('warn'), 50: Buffer.from('error'), 60: Buffer.from('fatal') }

/** the row of the canonical line scanCanonicalLog just accepted, from its value spans: from the
 *  message bytes when the message is ASCII (byte and UTF-16 indices agree), else from the text */
function canonicalRow (w: RowBinaryWriter, text: string, bytes: Buffer | null, simple: boolean): void {
  w.int64(tsMillisIn(text, spans[0] + 1, spans[1] - 1))
  plain(w, text, bytes, spans[2] + 1, spans[3] - 1) // host, service, src: never escaped
  plain(w, text, bytes, spans[4] + 1, spans[5] - 1)
  w.uint32(pidNum)
  const ln = levelBytes[lv]
  w.bytesString(ln, 0, ln.length)
  quoted(w, text, bytes, spans[10], spans[11], simple) // msg
  plain(w, text, bytes, spans[12], spans[13]) // fields: the object's JSON text, as stored
  plain(w, text, bytes, spans[14] + 1, spans[15] - 1)
  quoted(w, text, bytes, spans[16], spans[17], simple) // path
  w.uint64(offNum)
  if (spans[21] - spans[20] === 2) w.uint8(0) // flags: [] (a zero count)
  else w.stringArray(JSON.parse(text.slice(spans[20], spans[21])) as string[])
  w.uint8(lv)
  w.uint32(lenNum)
}

function plain (w: RowBinaryWriter, text: string, bytes: Buffer | null, start: number, end: number): void {
  if (bytes !== null) w.bytesString(bytes, start, end)
  else w.string(text.slice(start, end))
}

/** a canonical JSON string at [start, end) (quotes included), decoded */
function quoted (w: RowBinaryWriter, text: string, bytes: Buffer | null, start: number, end: number, simple: boolean): void {
  if (!simple) {
    for (let j = start + 1; j < end - 1; j++) {
      if (text.charCodeAt(j) === 92) { w.string(JSON.parse(text.slice(start, end)) as string); return }
    }
  }
  plain(w, text, bytes, start + 1, end - 1)
}

// ── log segments (schemas/segment.ts): raw lines, normalised here ────────────────────────
// Each line gets the rows its v1 record would have got, as if the shipper had sent it: a
// canonical line (fastLogParts, the shipper's own fast path) becomes the row text directly;
// any other line is normalised (normalizeLine) and its record goes through addLine, with every
// check and dead letter of the record path.
const oddChars = /[\uFFFD\u2028\u2029]/

function addSegment (rows: Rows, value: Buffer, meta: Meta): void {
  const seg = parseSegment(value)
  if ('error' in seg) { dead(rows, meta, seg.error, value.toString('utf8', 0, Math.min(value.length, maxRawBytes)), 0); return }
  const h = seg.header
  const n = forEachSegmentLine(value, seg, (start, end, off, index) => {
    // one line's failure costs that line only (the mark in locals: no object per line)
    const pos = rows.log.pos
    const logCount = rows.logCount
    const stats = rows.stats.length
    const deadCount = rows.dead.length
    try { segmentLine(rows, value, seg, start, end, off, index, meta) } catch (err) {
      rollback(rows, { pos, logCount, stats, dead: deadCount })
      dead(rows, meta, failedReason(err), value.toString('utf8', start, Math.min(end, start + maxRawBytes)), index, { source: h.src, offset: off, len: end - start + 1 })
    }
  })
  if (n !== h.lines) dead(rows, meta, `segment header says ${h.lines} lines, the body holds ${n} (its rows are kept: line identities come from byte offsets)`, value.toString('utf8', 0, value.indexOf(10)), 0)
}

function segmentLine (rows: Rows, value: Buffer, seg: ParsedSegment, start: number, end: number, off: number, index: number, meta: Meta): void {
  const h = seg.header
  const w = rows.log
  // a v1 record is its line plus < 1 KiB: lines under 256 KiB are far from maxRecordBytes
  const line = end - start <= 256 * 1024 ? value.toString('utf8', start, end) : null
  const fast = line !== null && !oddChars.test(line) ? fastLogParts(line, h.host, h.service) : null
  if (fast !== null && fast.pid <= maxPid && fast.ts.length === 24) {
    const year = Number(fast.ts.slice(0, 4))
    const tsMs = tsMillis(fast.ts)
    if (year >= 1900 && year <= 2299 && !outOfRange(tsMs, meta)) {
      w.int64(tsMs)
      w.string(fast.host)
      w.string(fast.service)
      w.uint32(fast.pid)
      w.string(fast.level)
      const m = fast.msgJson
      w.string(m.includes('\\') ? JSON.parse(m) as string : m.slice(1, -1))
      w.string(fast.fieldsJson)
      w.string(h.src)
      w.string(h.path)
      w.uint64(off)
      w.uint8(0) // no flags
      w.uint8(levelNum[fast.level])
      w.uint32(end - start + 1)
      rows.logCount++
      return
    }
  }
  addLine(rows, JSON.stringify(segmentLineRecord(value, start, end, off, seg)), index, meta, { source: h.src, offset: off, len: end - start + 1 })
}

function dead (rows: Rows, meta: Meta, reason: string, raw: string, lineIndex: number, id?: LineId | null): void {
  const row: DeadLetterRow = { stage: 'collect', reason, raw: raw.length > maxRawBytes ? raw.slice(0, maxRawBytes) : raw, topic: meta.topic, partition: meta.partition, kafka_offset: meta.offset, line_index: lineIndex, host: meta.key }
  if (id != null) { row.source = id.source; row.offset = id.offset; row.len = id.len }
  rows.dead.push(row)
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

/** The general path for one non-empty line; a line whose processing throws becomes a dead letter. */
function addLine (rows: Rows, line: string, i: number, meta: Meta, id?: LineId): void {
  const m = markOf(rows)
  try { addLineRows(rows, line, i, meta, id ?? null) } catch (err) {
    rollback(rows, m)
    dead(rows, meta, failedReason(err), line, i, id)
  }
}

function addLineRows (rows: Rows, line: string, i: number, meta: Meta, given: LineId | null): void {
  if (line.length > maxRecordBytes && Buffer.byteLength(line) > maxRecordBytes) { dead(rows, meta, `record of ${Buffer.byteLength(line)} bytes exceeds the ${maxRecordBytes}-byte limit`, line, i, given); return }
  let rec: unknown
  try { rec = JSON.parse(line) } catch (err) { dead(rows, meta, `invalid JSON: ${(err as Error).message}`, line, i, given); return }
  const id = given ?? lineIdOf(rec)
  // JSON.parse is iterative, but the schema check and JSON.stringify of fields recurse; a record
  // holds its line's keys one level down, in fields
  if (nestsDeeperThan(rec, maxJsonDepth + 1)) { dead(rows, meta, tooDeepReason, line, i, id); return }
  const why = validateRecord(rec)
  if (why !== null) { dead(rows, meta, `schema v1: ${why}`, line, i, id); return }
  if ((rec as { kind: string }).kind === 'progress') { rows.progress.push(progressRow(rec as ProgressRecordV1)); return }
  let r = rec as LogRecordV1 | StatsRecordV1
  // the shipper's normalizeLine did not parse it (schemas/limits.ts): msg holds the raw line
  if (r.kind === 'log' && r.flags.includes(tooDeepFlag)) { dead(rows, meta, tooDeepReason, r.msg, i, id); return }
  if (meta.receivedMs !== undefined && outOfRange(tsMillis(r.ts), meta)) {
    // a log line is kept at its receive time, flagged; a stats sample has no place for a flag
    // and a sample at the wrong time would mislead its series: a dead letter
    if (r.kind === 'stats') { dead(rows, meta, statsOutOfRangeReason(r.ts, meta), line, i, id); return }
    r = { ...r, ts: new Date(meta.receivedMs).toISOString(), fields: { ...r.fields, [tsOriginalField]: r.ts }, flags: [...r.flags, tsOutOfRangeFlag] }
  }
  // v1 allows values the tables cannot hold; ClickHouse would reject the whole batch for them
  // (and the batch would be retried forever), so they are dead letters here
  if (r.pid > maxPid) { dead(rows, meta, `schema v1: /pid: ${r.pid} does not fit UInt32`, line, i, id); return }
  if (r.off > Number.MAX_SAFE_INTEGER) { dead(rows, meta, `schema v1: /off: ${r.off} is beyond 2^53 - 1 (a byte offset cannot be that large)`, line, i, id); return }
  const year = Number(r.ts.slice(0, 4))
  if (year < 1900 || year > 2299) { dead(rows, meta, `schema v1: /ts: year ${year} is outside 1900-2299 (DateTime64 range)`, line, i, id); return }
  if (r.kind === 'log') {
    // fields a newer producer added at the top level are kept, not dropped
    let fields = r.fields
    for (const k of Object.keys(r)) if (!logKeys.has(k)) { if (fields === r.fields) fields = { ...r.fields }; fields[k] = (r as Record<string, unknown>)[k] }
    // the values in logColumns order
    const w = rows.log
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
    rows.logCount++
  } else {
    for (const [metric, v] of Object.entries(r.metrics)) rows.stats.push({ ts: r.ts, host: r.host, service: r.service, pid: r.pid, metric, value: v, source: r.src, offset: r.off, len: r.len ?? 0 })
  }
}

function progressRow (p: ProgressRecordV1): ProgressRow {
  return { ts: p.ts, host: p.host, service: p.service, source: p.src, path: p.path, size: p.size, acked: p.acked, state: p.state, reason: p.reason ?? '', dropped: JSON.stringify(p.dropped) }
}

// ── the canonical-line scan ──────────────────────────────────────────────────────────────
// Accepts exactly `{"v":1,"kind":"log","ts":"…","host":"…","service":"…","pid":N,"level":"…",
// "msg":"…","fields":{…},"src":"…","path":"…","off":N,"flags":[…]}` followed by '\n' or the end
// of the message, where every check of the general path holds (schema v1, pid fits UInt32, ts
// year 1900-2299, ≤ maxRecordBytes) and every value is canonical JSON, so the text ClickHouse
// reads is byte for byte what the general path would write. Anything else → -1 (general path).

const head = '{"v":1,"kind":"log","ts":"'
let num = 0
// the last line scanCanonicalLog accepted: [start, end) of each of its eleven values (ts, host,
// service, pid, level, msg, fields, src, path, off, flags), its level number, pid and offset,
// for canonicalRow
const spans = new Int32Array(22)
let lv = 0
let pidNum = 0
let offNum = 0
let lenNum = 0
// backslashes and control characters but '\n': strings need the full canonical check
const notSimple = /[\\\x00-\x09\x0b-\x1f]/

/** i + s.length when t continues with s at i, else -1 (a char loop: cheaper than startsWith here) */
function lit (t: string, i: number, s: string): number {
  const n = s.length
  for (let k = 0; k < n; k++) if (t.charCodeAt(i + k) !== s.charCodeAt(k)) return -1
  return i + n
}

/** end of a canonical string at i without escapes, of minLen..maxLen UTF-16 units, or -1 */
function plainString (t: string, i: number, minLen: number, maxLen: number, simple: boolean, le: number): number {
  if (t.charCodeAt(i) !== 34) return -1
  if (simple) {
    const q = t.indexOf('"', i + 1)
    if (q === -1 || q >= le) return -1
    const len = q - i - 1
    return len < minLen || len > maxLen ? -1 : q + 1
  }
  let j = i + 1
  for (;;) {
    const c = t.charCodeAt(j)
    if (c === 34) break
    if (c === 92 || c < 0x20 || (c >= 0xd800 && c <= 0xdfff) || Number.isNaN(c)) return plainStringSlow(t, i, minLen, maxLen)
    j++
  }
  const len = j - i - 1
  return len < minLen || len > maxLen ? -1 : j + 1
}

// surrogates (pairs are fine, lone ones are not canonical) and the rest: the shared scanner
function plainStringSlow (t: string, i: number, minLen: number, maxLen: number): number {
  const e = skipString(t, i)
  if (e < 0) return -1
  const len = e - i - 2
  if (len < minLen || len > maxLen) return -1
  for (let j = i + 1; j < e - 1; j++) if (t.charCodeAt(j) === 92) return -1
  return e
}

/** end of a canonical non-negative integer of ≤ maxDigits digits at i (value in `num`), or -1 */
function uint (t: string, i: number, maxDigits: number): number {
  let c = t.charCodeAt(i)
  if (c === 48) { num = 0; c = t.charCodeAt(i + 1); return c >= 48 && c <= 57 ? -1 : i + 1 }
  let v = 0
  let j = i
  for (; c >= 48 && c <= 57; c = t.charCodeAt(++j)) v = v * 10 + (c - 48)
  if (j === i || j - i > maxDigits || c === 46 /* . */ || c === 101 || c === 69 /* e E */) return -1
  num = v
  return j
}

const isDigitCode = (c: number): boolean => c >= 48 && c <= 57

// The last ts that passed the full check, by its minute ("YYYY-MM-DDTHH:MM:"): a ts of the same
// minute written "SS.mmmZ" with SS ≤ 59 is then valid too (ISO-8601 / ECMAScript date-time)
let okMinute = ''

/** end of the closing quote of a v1 ts (schema format, year 1900-2299) at i, or -1 */
function tsEnd (t: string, i: number): number {
  // the common shape: 24 chars "YYYY-MM-DDTHH:MM:SS.mmmZ" in an already validated minute
  if (t.charCodeAt(i + 24) === 34 && t.charCodeAt(i + 23) === 90 /* Z */ && t.charCodeAt(i + 19) === 46 /* . */ &&
    isDigitCode(t.charCodeAt(i + 17)) && t.charCodeAt(i + 17) <= 53 /* 5 */ && isDigitCode(t.charCodeAt(i + 18)) &&
    isDigitCode(t.charCodeAt(i + 20)) && isDigitCode(t.charCodeAt(i + 21)) && isDigitCode(t.charCodeAt(i + 22)) &&
    okMinute !== '' && lit(t, i, okMinute) >= 0) return i + 25
  const q = t.indexOf('"', i)
  if (q < 0 || q - i > 40) return -1
  const ts = t.slice(i, q)
  if (!isV1DateTime(ts)) return -1
  const year = Number(ts.slice(0, 4))
  if (year < 1900 || year > 2299) return -1
  // (not hour 24: "T24:00:00Z" is valid, "T24:00:30Z" is not, so that minute vouches for nothing)
  if (ts.length === 24 && ts.charCodeAt(23) === 90 && !(ts.charCodeAt(11) === 50 && ts.charCodeAt(12) === 52)) okMinute = ts.slice(0, 17)
  return q + 1
}

/** end of `"level"` (one of the six v1 levels) at i, or -1 */
function levelEnd (t: string, i: number): number {
  switch (t.charCodeAt(i)) {
    case 105: lv = 30; return lit(t, i, 'info"')
    case 119: lv = 40; return lit(t, i, 'warn"')
    case 101: lv = 50; return lit(t, i, 'error"')
    case 100: lv = 20; return lit(t, i, 'debug"')
    case 116: lv = 10; return lit(t, i, 'trace"')
    case 102: lv = 60; return lit(t, i, 'fatal"')
    default: return -1
  }
}

/** index of the '\n' (or the end) after a canonical v1 log line starting at i, or -1 */
export function scanCanonicalLog (t: string, i: number, simple = false): number {
  const start = i
  let le = t.indexOf('\n', i)
  if (le === -1) le = t.length
  // UTF-16 units → at most 3 UTF-8 bytes each: longer lines get the exact byte check
  if (le - i > maxRecordBytes / 3) return -1
  i = lit(t, i, head); if (i < 0) return -1
  spans[0] = i - 1 // the ts value's opening quote ends head
  i = tsEnd(t, i); if (i < 0) return -1
  spans[1] = i
  i = lit(t, i, ',"host":'); if (i < 0) return -1
  spans[2] = i
  i = plainString(t, i, 1, 255, simple, le); if (i < 0) return -1
  spans[3] = i
  i = lit(t, i, ',"service":'); if (i < 0) return -1
  spans[4] = i
  i = plainString(t, i, 1, 255, simple, le); if (i < 0) return -1
  spans[5] = i
  i = lit(t, i, ',"pid":'); if (i < 0) return -1
  spans[6] = i
  i = uint(t, i, 10); if (i < 0 || num > maxPid) return -1
  pidNum = num
  spans[7] = i
  i = lit(t, i, ',"level":"'); if (i < 0) return -1
  spans[8] = i - 1
  i = levelEnd(t, i); if (i < 0) return -1
  spans[9] = i
  i = lit(t, i, ',"msg":'); if (i < 0) return -1
  spans[10] = i
  i = str(t, i, simple, le); if (i < 0) return -1
  spans[11] = i
  i = lit(t, i, ',"fields":'); if (i < 0) return -1
  spans[12] = i
  i = skipCanonicalObject(t, i); if (i < 0) return -1
  spans[13] = i
  i = lit(t, i, ',"src":'); if (i < 0) return -1
  spans[14] = i
  i = plainString(t, i, 1, Infinity, simple, le); if (i < 0) return -1
  spans[15] = i
  i = lit(t, i, ',"path":'); if (i < 0) return -1
  spans[16] = i
  i = str(t, i, simple, le); if (i < 0) return -1
  spans[17] = i
  i = lit(t, i, ',"off":'); if (i < 0) return -1
  spans[18] = i
  i = uint(t, i, 15); if (i < 0) return -1
  offNum = num
  spans[19] = i
  i = lit(t, i, ',"flags":['); if (i < 0) return -1
  spans[20] = i - 1
  if (t.charCodeAt(i) === 93) i++
  else {
    for (;;) {
      i = str(t, i, simple, le); if (i < 0) return -1
      const c = t.charCodeAt(i++)
      if (c === 93) break
      if (c !== 44) return -1
    }
  }
  spans[21] = i
  lenNum = 0
  if (t.charCodeAt(i) === 44) {
    i = lit(t, i, ',"len":'); if (i < 0) return -1
    i = uint(t, i, 10); if (i < 0 || num > 4294967295) return -1
    lenNum = num
  }
  if (t.charCodeAt(i) !== 125 || i + 1 !== le) return -1
  return le
}

/**
 * end of a canonical JSON string at i (before `le`), or -1. In a `simple` message (no
 * backslash, no control character but '\n', no lone surrogate: rows.ts decodes valid UTF-8
 * only) every string is canonical and ends at the next quote.
 */
function str (t: string, i: number, simple: boolean, le: number): number {
  if (t.charCodeAt(i) !== 34) return -1
  if (simple) {
    const q = t.indexOf('"', i + 1)
    return q === -1 || q >= le ? -1 : q + 1
  }
  const e = skipString(t, i)
  return e > le ? -1 : e
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
