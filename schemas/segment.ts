// Wire format v1, log segments: a run of consecutive lines of one file, shipped as the file
// holds them, behind one header record.
//
//   {"v":1,"kind":"lines","host":"web-1","service":"checkout","src":"9f2c…","path":"/var/log/…",
//    "off":1832,"lines":3,"bytes":512,"rt":"2026-11-22T04:00:00.123Z"}\n
//   <exactly `bytes` bytes: `lines` raw lines, each ending in '\n'>
//
// The shipper sends a line this way only when it is braced ('{' first, '}' last), valid UTF-8,
// not truncated and not a stats line; everything else still travels as a normalised v1 record.
// A braced line need not be JSON: readers find out when they parse it, and normalise it to the
// same not_json record the shipper would have sent.
// Line k of the segment has the identity (src, off + its byte position in the body), the same
// identity the v1 record of that line would carry, so replays deduplicate across both forms.
// Readers normalise each line exactly as the shipper would have (normalizeLine, with `rt`, the
// time the shipper read it, standing in for a missing timestamp): the records, and so the rows,
// are the same either way. Why: normalising and re-encoding every line was the shipper's main
// cost (a v1 record is ~290 bytes of JSON for a 170-byte pino line); raw, the shipper only
// checks bytes, and the normalising happens once, in the collector, off the application hosts.
import { isUtf8 } from 'node:buffer'
import { Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { normalizeLine } from './normalize.js'
import type { LogRecordV1, StatsRecordV1 } from './records.js'

export const SegmentHeaderV1 = Type.Object({
  v: Type.Literal(1),
  kind: Type.Literal('lines'),
  host: Type.String({ minLength: 1, maxLength: 255, description: 'host that shipped the lines: their host, unless a line carries the sluice/transport header for this service (normalize.ts lineHost)' }),
  service: Type.String({ minLength: 1, maxLength: 255, description: 'service of the lines (a line\'s own service key stays in its fields)' }),
  src: Type.String({ minLength: 1, description: 'content fingerprint of the file' }),
  path: Type.String(),
  off: Type.Integer({ minimum: 0, description: 'byte offset of the first line in the file' }),
  lines: Type.Integer({ minimum: 1 }),
  bytes: Type.Integer({ minimum: 1, description: 'length of the body after the header line' }),
  rt: Type.String({ format: 'date-time', description: 'when the shipper read the lines: the time of a line without one' })
}, { additionalProperties: true })
export type SegmentHeaderV1 = Static<typeof SegmentHeaderV1>

const headerCheck = TypeCompiler.Compile(SegmentHeaderV1)

/** the bytes every segment starts with (how readers tell it from NDJSON of records) */
export const segmentPrefix = Buffer.from('{"v":1,"kind":"lines",')
export const segmentContentType = 'application/x-ndjson; sluice=v1; segment'

export function isSegment (value: Buffer): boolean {
  if (value.length < segmentPrefix.length) return false
  for (let i = 0; i < segmentPrefix.length; i++) if (value[i] !== segmentPrefix[i]) return false
  return true
}

/** the header line's JSON (without the newline); keys in schema order */
export function segmentHeaderJson (h: Omit<SegmentHeaderV1, 'v' | 'kind'>): string {
  return `{"v":1,"kind":"lines","host":${JSON.stringify(h.host)},"service":${JSON.stringify(h.service)},"src":${JSON.stringify(h.src)},"path":${JSON.stringify(h.path)},"off":${h.off},"lines":${h.lines},"bytes":${h.bytes},"rt":"${h.rt}"}`
}

export interface ParsedSegment { header: SegmentHeaderV1, rtMs: number, bodyStart: number }

/** header of a segment message, or a one-line reason it cannot be read */
export function parseSegment (value: Buffer): ParsedSegment | { error: string } {
  const nl = value.indexOf(10)
  if (nl === -1) return { error: 'segment header is not followed by a newline' }
  let h: unknown
  try { h = JSON.parse(value.toString('utf8', 0, nl)) } catch (err) { return { error: `segment header: invalid JSON: ${(err as Error).message}` } }
  if (!headerCheck.Check(h)) {
    const first = headerCheck.Errors(h).First()
    return { error: `segment header: ${first !== undefined ? `${first.path || '/'}: ${first.message}` : 'does not match the schema'}` }
  }
  const header = h as SegmentHeaderV1
  const body = value.length - nl - 1
  if (body !== header.bytes) return { error: `segment header says ${header.bytes} bytes of lines, the message holds ${body}` }
  if (value[value.length - 1] !== 10) return { error: 'segment body does not end with a newline' }
  // every line's identity (off + its position) must stay an exact integer, as a v1 record's off
  if (header.off + header.bytes > Number.MAX_SAFE_INTEGER) return { error: `segment header: /off: ${header.off} + ${header.bytes} bytes is beyond 2^53 - 1 (a byte offset cannot be that large)` }
  return { header, rtMs: Date.parse(header.rt), bodyStart: nl + 1 }
}

/**
 * Calls fn for each line of a parsed segment: [start, end) in `value` (without the '\n'), the
 * line's byte offset in its file and its index among the message's lines (the header is 0).
 * Returns the number of lines seen.
 */
export function forEachSegmentLine (value: Buffer, seg: ParsedSegment, fn: (start: number, end: number, off: number, index: number) => void): number {
  let index = 0
  for (let p = seg.bodyStart; p < value.length;) {
    let e = value.indexOf(10, p)
    if (e === -1) e = value.length
    fn(p, e, seg.header.off + (p - seg.bodyStart), ++index)
    p = e + 1
  }
  return index
}

/** the v1 record the shipper would have sent for this line of a segment */
export function segmentLineRecord (value: Buffer, start: number, end: number, off: number, seg: ParsedSegment): LogRecordV1 | StatsRecordV1 {
  const sub = value.subarray(start, end)
  const h = seg.header
  return normalizeLine(sub.toString('utf8'), { host: h.host, service: h.service, src: h.src, path: h.path, off, now: seg.rtMs, len: end - start + 1 }, isUtf8(sub))
}
