// A Kafka message of v1 records, one JSON line each (schemas/records.ts) → rows.
// A line already in the shipper's canonical layout (canonical-log.ts) is checked by one scan,
// without JSON.parse, and its values are copied from the message bytes; every other line takes
// the general path (record-line.ts). The stored values are the same either way
// (test/integration/collector-rows-roundtrip.test.ts reads them back from the real engine).
import { tooDeepFlag } from '../schemas/normalize.js'
import { addLine } from './record-line.js'
import { CanonicalLogScan } from './canonical-log.js'
import { tsMillisIn, type RowBinaryWriter } from './row-binary.js'
import { addDeadLetter, outOfRange, type Meta, type Rows } from './row-types.js'

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
// backslashes and control characters but '\n': strings need the full canonical check
const notSimple = /[\\\x00-\x09\x0b-\x1f]/
// a record the shipper did not parse (too deep): the general path dead-letters it
const tooDeepJson = JSON.stringify(tooDeepFlag)
const levelBytes: Record<number, Buffer> = { 10: Buffer.from('trace'), 20: Buffer.from('debug'), 30: Buffer.from('info'), 40: Buffer.from('warn'), 50: Buffer.from('error'), 60: Buffer.from('fatal') }

export function addV1Lines (rows: Rows, value: Buffer, meta: Meta): void {
  const text = value.toString('utf8')
  // Buffer#toString replaces bad bytes with U+FFFD silently; only then pay for a strict check,
  // per line, so one bad line does not take its neighbours with it. U+2028/9 fail the schema's
  // key pattern of `fields` (^(.*)$), which the scan does not reproduce: general path.
  if (text.includes('\uFFFD') || text.includes('\u2028') || text.includes('\u2029')) { addOddLines(rows, value, text, meta); return }
  const n = text.length
  const simple = !notSimple.test(text)
  // ASCII (one UTF-16 unit per byte): values are copied as bytes straight from the message
  const bytes = n === value.length ? value : null
  const scan = new CanonicalLogScan()
  const s = scan.spans
  let i = 0
  for (let lineIndex = 0; i < n; lineIndex++) {
    const end = scan.scan(text, i, simple)
    if (end >= 0 && !outOfRange(tsMillisIn(text, s[0] + 1, s[1] - 1), meta) && !(s[21] - s[20] > 2 && text.slice(s[20], s[21]).includes(tooDeepJson))) {
      canonicalRow(rows.log, scan, text, bytes, simple)
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

/** a message with invalid UTF-8 or U+2028/9: every line takes the general path */
function addOddLines (rows: Rows, value: Buffer, text: string, meta: Meta): void {
  const badUtf8 = text.includes('\uFFFD') ? invalidUtf8Lines(value) : null
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    if (badUtf8?.has(i) === true) { addDeadLetter(rows, meta, 'invalid UTF-8', lines[i], i); continue }
    if (lines[i] !== '') addLine(rows, lines[i], i, meta)
  }
}

/** the row of the canonical line `scan` just accepted, from its value spans: from the message
 *  bytes when the message is ASCII (byte and UTF-16 indices agree), else from the text */
function canonicalRow (w: RowBinaryWriter, scan: CanonicalLogScan, text: string, bytes: Buffer | null, simple: boolean): void {
  const s = scan.spans
  w.int64(tsMillisIn(text, s[0] + 1, s[1] - 1))
  plain(w, text, bytes, s[2] + 1, s[3] - 1) // host, service, src: never escaped
  plain(w, text, bytes, s[4] + 1, s[5] - 1)
  w.uint32(scan.pid)
  const ln = levelBytes[scan.level]
  w.bytesString(ln, 0, ln.length)
  quoted(w, text, bytes, s[10], s[11], simple) // msg
  plain(w, text, bytes, s[12], s[13]) // fields: the object's JSON text, as stored
  plain(w, text, bytes, s[14] + 1, s[15] - 1)
  quoted(w, text, bytes, s[16], s[17], simple) // path
  w.uint64(scan.offset)
  if (s[21] - s[20] === 2) w.uint8(0) // flags: [] (a zero count)
  else w.stringArray(JSON.parse(text.slice(s[20], s[21])) as string[])
  w.uint8(scan.level)
  w.uint32(scan.len)
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

/** indices of the lines of value that are not valid UTF-8 */
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
