// The canonical-line scan: accepts exactly `{"v":1,"kind":"log","ts":"…","host":"…",
// "service":"…","pid":N,"level":"…","msg":"…","fields":{…},"src":"…","path":"…","off":N,
// "flags":[…]}` (and an optional `"len":N`) followed by '\n' or the end of the message, where
// every check of the general path (record-line.ts) holds — schema v1, pid fits UInt32, ts year
// 1900-2299, ≤ maxRecordBytes — and every value is canonical JSON, so the row written from its
// spans is byte for byte what the general path would write. Anything else → -1 (general path).
// JSON strings and objects are checked by the one canonical-JSON scanner, schemas/fast-line.ts.
import { isV1DateTime } from '../schemas/records.js'
import { skipCanonicalObject, skipString } from '../schemas/fast-line.js'
import { maxPid, maxRecordBytes } from './row-types.js'

const head = '{"v":1,"kind":"log","ts":"'
const levels: Record<number, [number, string]> = { 105: [30, 'info"'], 119: [40, 'warn"'], 101: [50, 'error"'], 100: [20, 'debug"'], 116: [10, 'trace"'], 102: [60, 'fatal"'] }

/** The values of the last line `scan` accepted. One per message: it also remembers the last
 *  validated minute of ts, which the lines after it share. */
export class CanonicalLogScan {
  /** [start, end) of each of the eleven values (ts, host, service, pid, level, msg, fields, src,
   *  path, off, flags); strings with their quotes, except ts and level */
  readonly spans = new Int32Array(22)
  level = 0
  pid = 0
  offset = 0
  len = 0
  private num = 0
  // the last ts that passed the full check, by its minute ("YYYY-MM-DDTHH:MM:"): a ts of the
  // same minute written "SS.mmmZ" with SS ≤ 59 is then valid too (ISO-8601 / ECMAScript)
  private okMinute = ''

  /** index of the '\n' (or the end) after a canonical v1 log line starting at i, or -1.
   *  `simple`: the message has no backslash and no control character but '\n' (see str) */
  scan (t: string, i: number, simple = false): number {
    const spans = this.spans
    let le = t.indexOf('\n', i)
    if (le === -1) le = t.length
    // UTF-16 units → at most 3 UTF-8 bytes each: longer lines get the exact byte check
    if (le - i > maxRecordBytes / 3) return -1
    i = lit(t, i, head); if (i < 0) return -1
    spans[0] = i - 1 // the ts value's opening quote ends head
    i = this.tsEnd(t, i); if (i < 0) return -1
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
    i = this.uint(t, i, 10); if (i < 0 || this.num > maxPid) return -1
    this.pid = this.num
    spans[7] = i
    i = lit(t, i, ',"level":"'); if (i < 0) return -1
    spans[8] = i - 1
    i = this.levelEnd(t, i); if (i < 0) return -1
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
    i = this.uint(t, i, 15); if (i < 0) return -1
    this.offset = this.num
    spans[19] = i
    i = lit(t, i, ',"flags":['); if (i < 0) return -1
    spans[20] = i - 1
    i = stringArrayEnd(t, i, simple, le); if (i < 0) return -1
    spans[21] = i
    return this.tail(t, i, le)
  }

  /** the optional len and the closing brace at i: le, or -1 */
  private tail (t: string, i: number, le: number): number {
    this.len = 0
    if (t.charCodeAt(i) === 44) {
      i = lit(t, i, ',"len":'); if (i < 0) return -1
      i = this.uint(t, i, 10); if (i < 0 || this.num > 4294967295) return -1
      this.len = this.num
    }
    return t.charCodeAt(i) !== 125 || i + 1 !== le ? -1 : le
  }

  /** end of a canonical non-negative integer of ≤ maxDigits digits at i (value in `num`), or -1 */
  private uint (t: string, i: number, maxDigits: number): number {
    let c = t.charCodeAt(i)
    if (c === 48) { this.num = 0; c = t.charCodeAt(i + 1); return c >= 48 && c <= 57 ? -1 : i + 1 }
    let v = 0
    let j = i
    for (; c >= 48 && c <= 57; c = t.charCodeAt(++j)) v = v * 10 + (c - 48)
    if (j === i || j - i > maxDigits || c === 46 /* . */ || c === 101 || c === 69 /* e E */) return -1
    this.num = v
    return j
  }

  /** end of the closing quote of a v1 ts (schema format, year 1900-2299) at i, or -1 */
  private tsEnd (t: string, i: number): number {
    // the common shape: 24 chars "YYYY-MM-DDTHH:MM:SS.mmmZ" in an already validated minute
    if (t.charCodeAt(i + 24) === 34 && t.charCodeAt(i + 23) === 90 /* Z */ && t.charCodeAt(i + 19) === 46 /* . */ &&
      isDigitCode(t.charCodeAt(i + 17)) && t.charCodeAt(i + 17) <= 53 /* 5 */ && isDigitCode(t.charCodeAt(i + 18)) &&
      isDigitCode(t.charCodeAt(i + 20)) && isDigitCode(t.charCodeAt(i + 21)) && isDigitCode(t.charCodeAt(i + 22)) &&
      this.okMinute !== '' && lit(t, i, this.okMinute) >= 0) return i + 25
    const q = t.indexOf('"', i)
    if (q < 0 || q - i > 40) return -1
    const ts = t.slice(i, q)
    if (!isV1DateTime(ts)) return -1
    const year = Number(ts.slice(0, 4))
    if (year < 1900 || year > 2299) return -1
    // (not hour 24: "T24:00:00Z" is valid, "T24:00:30Z" is not, so that minute vouches for nothing)
    if (ts.length === 24 && ts.charCodeAt(23) === 90 && !(ts.charCodeAt(11) === 50 && ts.charCodeAt(12) === 52)) this.okMinute = ts.slice(0, 17)
    return q + 1
  }

  /** end of `level"` (one of the six v1 levels) at i, or -1 */
  private levelEnd (t: string, i: number): number {
    const l = levels[t.charCodeAt(i)]
    if (l === undefined) return -1
    this.level = l[0]
    return lit(t, i, l[1])
  }
}

/** index of the '\n' (or the end) after a canonical v1 log line starting at i, or -1 */
export function scanCanonicalLog (t: string, i: number, simple = false, into = new CanonicalLogScan()): number {
  return into.scan(t, i, simple)
}

const isDigitCode = (c: number): boolean => c >= 48 && c <= 57

/** i + s.length when t continues with s at i, else -1 (a char loop: cheaper than startsWith here) */
function lit (t: string, i: number, s: string): number {
  const n = s.length
  for (let k = 0; k < n; k++) if (t.charCodeAt(i + k) !== s.charCodeAt(k)) return -1
  return i + n
}

/** end of a canonical string at i without escapes, of minLen..maxLen UTF-16 units, or -1 */
function plainString (t: string, i: number, minLen: number, maxLen: number, simple: boolean, le: number): number {
  const e = str(t, i, simple, le)
  if (e < 0) return -1
  const len = e - i - 2
  if (len < minLen || len > maxLen) return -1
  if (!simple) for (let j = i + 1; j < e - 1; j++) if (t.charCodeAt(j) === 92) return -1
  return e
}

/**
 * end of a canonical JSON string at i (before `le`), or -1. In a `simple` message (no
 * backslash, no control character but '\n', no lone surrogate: the collector decodes valid
 * UTF-8 only) every string is canonical and ends at the next quote.
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

/** end of a canonical array of strings whose '[' ends before i, or -1 */
function stringArrayEnd (t: string, i: number, simple: boolean, le: number): number {
  if (t.charCodeAt(i) === 93) return i + 1
  for (;;) {
    i = str(t, i, simple, le); if (i < 0) return -1
    const c = t.charCodeAt(i++)
    if (c === 93) return i
    if (c !== 44) return -1
  }
}
