// Fast path of normalizeLine for the common case: a log line that is already canonical JSON
// (what pino, sluice/transport and JSON.stringify write). A CPU profile of `sluice ship` on
// pino lines put ~40% of the main thread in JSON.parse + building the record + JSON.stringify
// of msg and fields (normalizeLine 20%, logRecordJson 11%, GC 7%). When the raw text of a
// value is byte-identical to JSON.stringify(JSON.parse(raw)), the record can reuse that text
// instead of parsing and re-serialising it. This module scans the line once and returns the
// record's parts, or null whenever it cannot *prove* the output equals the general path's:
// then normalizeLine runs as before. So the wire format is unchanged by construction; the
// differential test (test/unit/fast-line.test.ts) checks it on a table of lines.
//
// Accepted (anything else → null): a top-level object with no whitespace between tokens;
// keys without escapes, not starting with a digit (V8 orders integer-like keys first), not
// __proto__, no duplicates; strings whose escapes are those JSON.stringify writes (\" \\ \b
// \f \n \r \t and lowercase \u00XX for other control characters); numbers written as
// JSON.stringify writes them with ≤ 15 significant digits (so they round-trip exactly); true,
// false, null; nested arrays/objects of the same (depth ≤ 32). Semantics: a numeric or string
// `time` (the first of time/ts/timestamp/@timestamp, as in normalizeLine) that toIso accepts;
// string msg/message (or none); no sluice_stats key (stats records take the general path).
import { consumed, lineHost, toIso, toLevel } from './normalize.js'
import type { Level } from './records.js'

/** host and service are plain strings without escapes or control characters (JSON.stringify
 *  quotes them as `"${v}"`); msgJson and fieldsJson are JSON text copied from the line */
export interface FastParts {
  ts: string
  host: string
  service: string
  pid: number
  level: Level
  msgJson: string
  fieldsJson: string
}

const enum C { Quote = 34, Backslash = 92, Comma = 44, Colon = 58, LBrace = 123, RBrace = 125, LBracket = 91, RBracket = 93, Minus = 45, Zero = 48, Nine = 57, Dot = 46 }

// end of a canonical string starting at the opening quote i, or -1
export function skipString (t: string, i: number): number {
  const n = t.length
  i++
  while (i < n) {
    const c = t.charCodeAt(i)
    if (c > C.Backslash && c < 0xd800) { i++; continue } // lowercase letters and most text: one test
    if (c === C.Quote) return i + 1
    if (c < 0x20) return -1
    // a lone surrogate cannot come from UTF-8 decoding, but stay exact: stringify escapes it
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c <= 0xdbff) {
        const d = t.charCodeAt(i + 1)
        if (d >= 0xdc00 && d <= 0xdfff) { i += 2; continue }
      }
      return -1
    }
    if (c === C.Backslash) {
      const e = t.charCodeAt(i + 1)
      if (e === C.Quote || e === C.Backslash || e === 98 /* b */ || e === 102 /* f */ || e === 110 /* n */ || e === 114 /* r */ || e === 116 /* t */) { i += 2; continue }
      if (e === 117 /* u */) {
        // JSON.stringify writes \u00XX (lowercase hex) only for controls without a short form
        if (t.charCodeAt(i + 2) !== C.Zero || t.charCodeAt(i + 3) !== C.Zero) return -1
        const h = t.charCodeAt(i + 4)
        const l = t.charCodeAt(i + 5)
        if (h !== C.Zero && h !== 49 /* 1 */) return -1
        const lv = l >= C.Zero && l <= C.Nine ? l - C.Zero : l >= 97 && l <= 102 ? l - 87 : -1
        if (lv < 0) return -1
        const code = (h - C.Zero) * 16 + lv
        if (code === 8 || code === 9 || code === 10 || code === 12 || code === 13) return -1
        i += 6
        continue
      }
      return -1
    }
    i++
  }
  return -1
}

function isDigit (c: number): boolean { return c >= C.Zero && c <= C.Nine }

// end of a canonical number starting at i, or -1
function skipNumber (t: string, i: number): number {
  const start = i
  if (t.charCodeAt(i) === C.Minus) i++
  let digits = 0
  const first = t.charCodeAt(i)
  if (first === C.Zero) {
    i++
    if (t.charCodeAt(i) !== C.Dot) return i - start === 1 ? i : -1 // "0" ok, "-0" is written 0
  } else if (isDigit(first)) {
    while (isDigit(t.charCodeAt(i))) { i++; digits++ }
  } else return -1
  if (t.charCodeAt(i) === C.Dot) {
    i++
    let leadingZeros = 0
    let frac = 0
    let last = 0
    while (isDigit(t.charCodeAt(i))) {
      last = t.charCodeAt(i)
      if (digits === 0 && frac === leadingZeros && last === C.Zero) leadingZeros++
      frac++; i++
    }
    if (frac === 0 || last === C.Zero) return -1 // "1." invalid, "1.50" is written 1.5
    if (digits === 0 && leadingZeros >= 6) return -1 // 0.0000001 is written 1e-7
    digits += frac - (digits === 0 ? leadingZeros : 0)
  }
  const c = t.charCodeAt(i)
  if (c === 101 || c === 69) return -1 // exponents: stringify's choice differs
  return digits <= 15 ? i : -1
}

// end of a canonical value starting at i, or -1
function skipValue (t: string, i: number, depth: number): number {
  const c = t.charCodeAt(i)
  if (c === C.Quote) return skipString(t, i)
  if (c === C.LBrace) return skipObject(t, i, depth + 1)
  if (c === C.LBracket) {
    if (depth >= 32) return -1
    i++
    if (t.charCodeAt(i) === C.RBracket) return i + 1
    for (;;) {
      i = skipValue(t, i, depth + 1)
      if (i < 0) return -1
      const d = t.charCodeAt(i)
      if (d === C.RBracket) return i + 1
      if (d !== C.Comma) return -1
      i++
    }
  }
  if (c === 116) return t.startsWith('true', i) ? i + 4 : -1
  if (c === 102) return t.startsWith('false', i) ? i + 5 : -1
  if (c === 110) return t.startsWith('null', i) ? i + 4 : -1
  return skipNumber(t, i)
}

// end of a key (after its closing quote) starting at the opening quote i, or -1. Keys with
// escapes are left to the general path (they would have to be compared unescaped).
function skipKey (t: string, i: number): number {
  if (t.charCodeAt(i) !== C.Quote) return -1
  if (isDigit(t.charCodeAt(i + 1))) return -1 // integer-like keys are reordered by JSON.parse
  const n = t.length
  let j = i + 1
  for (; j < n; j++) {
    const c = t.charCodeAt(j)
    if (c > C.Backslash && c < 0xd800) continue
    if (c === C.Quote) break
    if (c === C.Backslash || c < 0x20 || (c >= 0xd800 && c <= 0xdfff)) return -1
  }
  if (j >= n) return -1
  if (j - i === 10 && t.startsWith('"__proto__"', i)) return -1
  return j + 1
}

// Keys of the objects being scanned, as [start, end) offsets into the line: a reused stack
// instead of a Set per object (a Set per line doubled the fast path's time in a micro-bench).
const keyStack = new Int32Array(512)
let keyTop = 0

/** pushes key [s, e) (quotes included) unless an identical key exists since `base` */
function pushKey (t: string, s: number, e: number, base: number): boolean {
  const len = e - s
  for (let k = base; k < keyTop; k += 2) {
    const ks = keyStack[k]
    if (keyStack[k + 1] - ks !== len) continue
    let j = 1
    while (j < len - 1 && t.charCodeAt(ks + j) === t.charCodeAt(s + j)) j++
    if (j >= len - 1) return false // duplicate: JSON.parse keeps the last value at the first position
  }
  if (keyTop >= keyStack.length) return false
  keyStack[keyTop++] = s
  keyStack[keyTop++] = e
  return true
}

/** end of the canonical JSON object starting at i (see the header: JSON.stringify(JSON.parse(text)) === text), or -1 */
export function skipCanonicalObject (t: string, i: number): number {
  if (t.charCodeAt(i) !== C.LBrace) return -1
  keyTop = 0
  return skipObject(t, i, 0)
}

function skipObject (t: string, i: number, depth: number): number {
  if (depth >= 32) return -1
  i++
  if (t.charCodeAt(i) === C.RBrace) return i + 1
  const base = keyTop
  try {
    for (;;) {
      const ke = skipKey(t, i)
      if (ke < 0 || t.charCodeAt(ke) !== C.Colon || !pushKey(t, i, ke, base)) return -1
      i = skipValue(t, ke + 1, depth)
      if (i < 0) return -1
      const d = t.charCodeAt(i)
      if (d === C.RBrace) return i + 1
      if (d !== C.Comma) return -1
      i++
    }
  } finally { keyTop = base }
}

/** the unescaped value of a canonical string token [s, e) without backslashes, else undefined */
function plainString (t: string, s: number, e: number): string | undefined {
  if (t.charCodeAt(s) !== C.Quote) return undefined
  const v = t.slice(s + 1, e - 1)
  return v.includes('\\') ? undefined : v
}

// the top-level keys normalizeLine consumes (normalize.ts `consumed`), by id
const consumedKeys = ['"v"', '"time"', '"ts"', '"timestamp"', '"@timestamp"', '"level"', '"msg"', '"message"', '"host"', '"hostname"', '"service"', '"pid"', '"sluice_stats"']
const K = { time: 1, ts: 2, timestamp: 3, atTimestamp: 4, level: 5, msg: 6, message: 7, host: 8, hostname: 9, service: 10, pid: 11, stats: 12 } as const
for (const k of consumedKeys) if (!consumed.has(JSON.parse(k) as string)) throw new Error(`fast-line: ${k} is not consumed by normalizeLine`)
if (consumed.size !== consumedKeys.length) throw new Error('fast-line: normalizeLine consumes keys this fast path does not know')

// ids of the consumed keys by quoted length: a key is compared with at most two of them
const byLength: number[][] = []
consumedKeys.forEach((k, id) => { (byLength[k.length] ??= []).push(id) })

/** id in consumedKeys of the quoted key [s, e), or -1 */
function consumedId (t: string, s: number, e: number): number {
  const ids = byLength[e - s]
  if (ids === undefined) return -1
  const c1 = t.charCodeAt(s + 1)
  for (let j = 0; j < ids.length; j++) {
    const k = consumedKeys[ids[j]]
    if (k.charCodeAt(1) === c1 && t.startsWith(k, s)) return ids[j]
  }
  return -1
}

// value spans [start, end) of the consumed keys on the current line (-1: absent)
const spans = new Int32Array(consumedKeys.length * 2)

function has (id: number): boolean { return spans[2 * id] >= 0 }
function isNull (t: string, id: number): boolean { return t.charCodeAt(spans[2 * id]) === 110 /* n: only null starts so */ }

/** the value of a consumed key's string token when it has no escapes; undefined when the
 *  value is absent or not a string; null for a string with escapes (not unescaped here) */
function plainOf (t: string, id: number): string | undefined | null {
  const s = spans[2 * id]
  if (s < 0 || t.charCodeAt(s) !== C.Quote) return undefined
  return plainString(t, s, spans[2 * id + 1]) ?? null
}

/** the number of a consumed key's numeric token, else undefined */
function numberOf (t: string, id: number): number | undefined {
  const s = spans[2 * id]
  if (s < 0) return undefined
  const e = spans[2 * id + 1]
  // plain integers (≤ 15 digits, checked by skipNumber: exact in a double) without a slice
  let v = 0
  let j = s
  for (; j < e; j++) {
    const d = t.charCodeAt(j) - C.Zero
    if (d < 0 || d > 9) break
    v = v * 10 + d
  }
  if (j === e) return v
  const c = t.charCodeAt(s)
  return c === C.Minus || isDigit(c) ? Number(t.slice(s, e)) : undefined
}

/**
 * The parts of the v1 log record normalizeLine would build from `text`, or null when the line
 * needs the general path. Only for whole (not truncated), valid UTF-8 lines.
 */
export function fastLogParts (text: string, defaultHost: string, defaultService: string): FastParts | null {
  const t = text
  const n = t.length
  if (t.charCodeAt(0) !== C.LBrace || t.charCodeAt(n - 1) !== C.RBrace || t.charCodeAt(1) === C.RBrace) return null
  if (defaultHost.length > 255 || defaultService.length > 255) return null // the general path slices them
  // identity: normalize.ts lineHost; the line's own host/hostname/service stay in fields
  // unless equal to it
  const host = lineHost(t, defaultHost, defaultService)
  spans.fill(-1)
  keyTop = 0
  // fields = the other keys' "key":value text in line order, copied as runs of adjacent pairs
  let fields = ''
  let runStart = -1
  let i = 1
  for (;;) {
    const ke = skipKey(t, i)
    if (ke < 0 || t.charCodeAt(ke) !== C.Colon || !pushKey(t, i, ke, 0)) return null
    const ve = skipValue(t, ke + 1, 0)
    if (ve < 0) return null
    let id = consumedId(t, i, ke)
    if (id === K.host || id === K.hostname || id === K.service) {
      if (t.charCodeAt(ke + 1) === C.Quote) {
        const v = plainString(t, ke + 1, ve)
        if (v === undefined) return null // escaped: compared unescaped by the general path
        if (id === K.service ? v !== defaultService : v !== host && v !== defaultHost) id = -1
      } else id = -1
    }
    if (id >= 0) {
      spans[2 * id] = ke + 1; spans[2 * id + 1] = ve
      if (runStart >= 0) { fields += (fields === '' ? '' : ',') + t.slice(runStart, i - 1); runStart = -1 }
    } else if (runStart < 0) runStart = i
    const d = t.charCodeAt(ve)
    if (d === C.RBrace) {
      if (ve + 1 !== n) return null
      if (runStart >= 0) fields += (fields === '' ? '' : ',') + t.slice(runStart, ve)
      break
    }
    if (d !== C.Comma) return null
    i = ve + 1
  }
  if (has(K.stats)) return null // stats records (and a non-object sluice_stats) take the general path

  // ts: obj.time ?? obj.ts ?? obj.timestamp ?? obj['@timestamp'] — null and absent fall through
  let rawTs: unknown
  for (let id: number = K.time; id <= K.atTimestamp; id++) {
    if (!has(id) || isNull(t, id)) continue
    rawTs = plainOf(t, id) ?? numberOf(t, id)
    if (rawTs === undefined || rawTs === null) return null
    break
  }
  const ts = toIso(rawTs)
  if (ts === null) return null // no_ts: general path

  const p = numberOf(t, K.pid)
  const pid = p !== undefined && Number.isInteger(p) && p >= 0 ? p : 0

  const rawLevel = plainOf(t, K.level)
  if (rawLevel === null) return null

  // msg: obj.msg ?? obj.message; a string keeps its canonical text, absent is ''
  const msgId = has(K.msg) && !isNull(t, K.msg) ? K.msg : K.message
  let msgJson = '""'
  if (has(msgId)) {
    if (t.charCodeAt(spans[2 * msgId]) !== C.Quote) return null // null/number/object msg: JSON.stringify'd by the general path
    msgJson = t.slice(spans[2 * msgId], spans[2 * msgId + 1])
  }
  return {
    ts,
    host,
    service: defaultService,
    pid,
    level: toLevel(rawLevel ?? numberOf(t, K.level)),
    msgJson,
    fieldsJson: `{${fields}}`
  }
}
