// Log rows in ClickHouse's RowBinary format: each row is its column values back to back, in
// `logColumns` order (schemas/log-table.ts), with no names, quotes or escapes — strings as a
// LEB128 length and their UTF-8 bytes, numbers little-endian, DateTime64(3) as Int64
// milliseconds, Array(String) as a count and its strings (https://clickhouse.com/docs/interfaces/formats/RowBinary).
// Why: ClickHouse parsing text rows was half of its insert work; binary rows cost it a fraction
// of that (docs/design/2026-12-01-rowbinary.md).
import type { LogRow } from '../schemas/log-table.js'

const two32 = 4294967296

/** An append-only RowBinary buffer that grows as rows are written (doubling; bounded by the
 *  batch it belongs to, which the collector bounds). */
export class RowBinaryWriter {
  buf: Buffer = Buffer.allocUnsafe(0)
  pos = 0

  /** room for n more bytes */
  ensure (n: number): void {
    if (this.pos + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos + n, 64 * 1024))
    this.buf.copy(bigger, 0, 0, this.pos)
    this.buf = bigger
  }

  /** the rows written so far (a view, not a copy) */
  bytes (): Buffer { return this.buf.subarray(0, this.pos) }

  private varint (n: number): void {
    const b = this.buf
    while (n >= 0x80) { b[this.pos++] = (n & 0x7f) | 0x80; n = Math.floor(n / 128) }
    b[this.pos++] = n
  }

  /** a String column from a JS string (UTF-8; a lone surrogate becomes U+FFFD) */
  string (s: string): void {
    // most values are short: when even 3 bytes per UTF-16 unit stays under 128, the length
    // fits one byte, written after the text instead of measuring it first
    if (s.length < 43) {
      this.ensure(129)
      const at = this.pos++
      const n = this.buf.write(s, this.pos)
      this.buf[at] = n
      this.pos += n
      return
    }
    const n = Buffer.byteLength(s)
    this.ensure(n + 5)
    this.varint(n)
    this.pos += this.buf.write(s, this.pos)
  }

  /** a String column from bytes src[start, end) (already UTF-8) */
  bytesString (src: Uint8Array, start: number, end: number): void {
    const n = end - start
    this.ensure(n + 5)
    this.varint(n)
    const b = this.buf
    // log values are mostly under a few hundred bytes: a loop beats the view and native call
    // of Buffer#copy or TypedArray#set there
    if (n < 256) { let p = this.pos; for (let j = start; j < end; j++) b[p++] = src[j]; this.pos = p } else { b.set(src.subarray(start, end), this.pos); this.pos += n }
  }

  uint8 (v: number): void { this.ensure(1); this.buf[this.pos++] = v }

  uint32 (v: number): void { this.ensure(4); this.buf.writeUInt32LE(v, this.pos); this.pos += 4 }

  /** a UInt64 column from a safe integer ≥ 0 */
  uint64 (v: number): void { this.word64(v, false) }

  /** a DateTime64(3) column: milliseconds since the epoch (negative before 1970) */
  int64 (v: number): void { this.word64(v, true) }

  private word64 (v: number, signed: boolean): void {
    this.ensure(8)
    const hi = Math.floor(v / two32)
    this.buf.writeUInt32LE(v - hi * two32, this.pos)
    if (signed) this.buf.writeInt32LE(hi, this.pos + 4); else this.buf.writeUInt32LE(hi, this.pos + 4)
    this.pos += 8
  }

  stringArray (xs: readonly string[]): void {
    this.ensure(5)
    this.varint(xs.length)
    for (const x of xs) this.string(x)
  }
}

// ── v1 timestamps → milliseconds ─────────────────────────────────────────────────────────
// A v1 ts is ISO 8601 with a Z or ±HH:MM offset and 0-9 fractional digits (schemas/records.ts,
// already validated by the time a row is written). Stored as DateTime64(3): the instant,
// truncated to the millisecond — what ClickHouse's text parser stores too, except before 1970
// with a fractional second, where it stores the whole second minus the fraction (a known
// ClickHouse bug; over HTTP, where rows still go as text, such a rare row can differ by < 2 s). The common shape,
// toISOString()'s "YYYY-MM-DDTHH:MM:SS.mmmZ", is computed from its digits with the minute
// cached (lines arrive in time order, so one minute serves many rows); any other shape goes
// through Date.parse, which reads the same instant (and truncates extra fractional digits).
let minuteKey = ''
let minuteMs = 0

const digit = (s: string, i: number): number => s.charCodeAt(i) - 48

/** tsMillis of the ts at t[start, end) (the quotes excluded), without slicing the common shape */
export function tsMillisIn (t: string, start: number, end: number): number {
  if (end - start !== 24 || t.charCodeAt(start + 23) !== 90 /* Z */ || t.charCodeAt(start + 19) !== 46 /* . */) return Date.parse(t.slice(start, end))
  let same = minuteKey.length === 16
  for (let k = 0; same && k < 16; k++) same = t.charCodeAt(start + k) === minuteKey.charCodeAt(k)
  if (!same) {
    minuteKey = t.slice(start, start + 16)
    minuteMs = Date.parse(`${minuteKey}:00Z`)
  }
  return minuteMs + (digit(t, start + 17) * 10 + digit(t, start + 18)) * 1000 + digit(t, start + 20) * 100 + digit(t, start + 21) * 10 + digit(t, start + 22)
}

export function tsMillis (ts: string): number { return tsMillisIn(ts, 0, ts.length) }

// ── reading rows back (HTTP mode inserts row objects; tests compare rows) ─────────────────

class Reader {
  pos = 0
  constructor (readonly b: Buffer) {}
  varint (): number {
    let n = 0
    let mul = 1
    for (;;) {
      const c = this.b[this.pos++]
      n += (c & 0x7f) * mul
      if (c < 0x80) return n
      mul *= 128
    }
  }

  string (): string { const n = this.varint(); const s = this.b.toString('utf8', this.pos, this.pos + n); this.pos += n; return s }
  u8 (): number { return this.b[this.pos++] }
  u32 (): number { const v = this.b.readUInt32LE(this.pos); this.pos += 4; return v }
  u64 (): number { const v = this.b.readUInt32LE(this.pos) + this.b.readUInt32LE(this.pos + 4) * two32; this.pos += 8; return v }
  i64 (): number { const v = this.b.readUInt32LE(this.pos) + this.b.readInt32LE(this.pos + 4) * two32; this.pos += 8; return v }
}

/** The log rows of a RowBinary buffer as objects (ts as toISOString()). */
export function readLogRows (b: Buffer): LogRow[] {
  const r = new Reader(b)
  const out: LogRow[] = []
  while (r.pos < b.length) {
    const ts = new Date(r.i64()).toISOString()
    const host = r.string()
    const service = r.string()
    const pid = r.u32()
    const level = r.string()
    const msg = r.string()
    const fields = r.string()
    const source = r.string()
    const path = r.string()
    const offset = r.u64()
    const flags: string[] = []
    for (let n = r.varint(); n > 0; n--) flags.push(r.string())
    const levelNum = r.u8()
    const len = r.u32()
    out.push({ ts, host, service, pid, level, level_num: levelNum, msg, fields, source, path, offset, flags, len })
  }
  return out
}
