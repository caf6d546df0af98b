// One shipper batch: tailed lines → v1 records → NDJSON Kafka message values, grouped by
// (topic, host key), each value at most maxMessageBytes (a single larger record goes alone).
// Kept apart from the send loop so the lines, records and parts of a batch become garbage as
// soon as it is encoded: only the message values live on while Kafka is retried.
import { isUtf8 } from 'node:buffer'
import { decodeLine, normalizeLine } from '../schemas/normalize.js'
import { fastLogParts } from '../schemas/fast-line.js'
import { segmentHeaderJson } from '../schemas/segment.js'
import type { Topics } from '../schemas/topics.js'
import type { LogRecordV1 } from '../schemas/records.js'
import type { Source, TailedLine } from './tailer.js'

export interface EncodedBatch {
  /** topic → host key → NDJSON message values (UTF-8) */
  byTopic: Map<string, Map<string, Buffer[]>>
  /** what to checkpoint once Kafka acknowledged */
  acks: Array<{ source: Source, endOffset: number }>
  counts: { log: number, stats: number }
  flagged: Record<string, number>
  srcBytes: number
  valueBytes: number
}

export interface BatchContext {
  host: string
  topics: Topics
  maxMessageBytes: number
  serviceFor: (s: Source) => string
  /** ship plain JSON lines raw, as log segments (schemas/segment.ts; default true) */
  segments?: boolean
  /** the read time (ms) for lines without a timestamp (default Date.now(); tests fix it) */
  now?: number
}

const statsNeedle = Buffer.from('"sluice_stats"')

/**
 * Byte checks for the lines of one read chunk, done once per run of lines rather than per line:
 * is the run valid UTF-8 (then so is each line: newlines never sit inside a UTF-8 sequence), and
 * where does a quoted "sluice_stats" occur (a stats line goes to the stats topic as a record; the
 * quoted name anywhere in a line only sends it the record way, which is always correct).
 */
class ChunkChecks {
  chunk: Buffer | null = null
  utf8 = true
  stats: number[] = []
  private si = 0
  /** lines[i…] that share lines[i]'s chunk */
  reset (lines: TailedLine[], i: number): void {
    const chunk = lines[i].chunk
    let j = i
    while (j + 1 < lines.length && lines[j + 1].chunk === chunk) j++
    const from = lines[i].start
    const to = lines[j].end
    this.chunk = chunk
    this.utf8 = isUtf8(chunk.subarray(from, to))
    this.stats.length = 0
    this.si = 0
    for (let p = chunk.indexOf(statsNeedle, from); p !== -1 && p < to; p = chunk.indexOf(statsNeedle, p + 1)) this.stats.push(p)
  }

  /** a line a segment can carry raw: braced ('{' first, '}' last), valid UTF-8, not a stats
   *  line (lines of one chunk are asked in order). Whether it really is JSON is the reader's
   *  to find out: readers normalise every segment line with the shipper's own normalizeLine
   *  (schemas/segment.ts), which flags a braced line that does not parse as not_json exactly
   *  as the v1 path here would. A full JSON check here was the largest cost on the shipper's
   *  main thread, for a question every reader answers again anyway when it parses the line
   *  (docs/design/2026-12-01-shipper-main-thread.md). */
  rawOk (l: TailedLine): boolean {
    const c = l.chunk
    if (l.end - l.start < 2 || c[l.start] !== 0x7b || c[l.end - 1] !== 0x7d) return false
    if (!this.utf8 && !isUtf8(l.buf)) return false
    while (this.si < this.stats.length && this.stats[this.si] < l.start) this.si++
    return this.si === this.stats.length || this.stats[this.si] + statsNeedle.length > l.end
  }
}

/** a memo of JSON.stringify for the few strings that repeat on every line (host, service) */
function quoter (): (v: string) => string {
  let last = ''
  let lastJson = '""'
  return v => {
    if (v !== last) { last = v; lastJson = JSON.stringify(v) }
    return lastJson
  }
}

/** the same JSON as JSON.stringify(rec), keys in the same order, with the per-file and
 *  per-host parts quoted once instead of per line (stringify was the shipper's largest cost).
 *  The *Json arguments are already JSON text (quoted strings, the fields object). */
function logJson (ts: string, hostJson: string, serviceJson: string, pid: number, level: string, msgJson: string, fieldsJson: string, srcPath: string, off: number, flagsJson: string, len: number | undefined): string {
  return `{"v":1,"kind":"log","ts":"${ts}","host":${hostJson},"service":${serviceJson},"pid":${pid},"level":"${level}","msg":${msgJson},"fields":${fieldsJson}${srcPath},"off":${off},"flags":${flagsJson}${len === undefined ? '' : `,"len":${len}`}}`
}

function logRecordJson (rec: LogRecordV1, q: { host: (v: string) => string, service: (v: string) => string }, srcPath: string): string {
  // ts is always toISOString()'s output (digits, '-', ':', '.', 'T', 'Z'): no quoting needed
  return logJson(rec.ts, q.host(rec.host), q.service(rec.service), rec.pid, rec.level, JSON.stringify(rec.msg), JSON.stringify(rec.fields), srcPath, rec.off, rec.flags.length === 0 ? '[]' : JSON.stringify(rec.flags), rec.len)
}

// The NDJSON value of one message, as the Buffer kafkajs would otherwise make from a string.
// Each record is a rope of template pieces; parts.join('\n') flattened them into one string
// (9% of the shipper's CPU profile) and kafkajs then encoded that string to UTF-8 again.
// Writing each record into a reused scratch buffer and copying out the used bytes does both
// at once (micro-bench: 1.3-1.6 → 1.2 µs per record including building it).
let scratch = Buffer.allocUnsafe(1 << 20)
function ndjson (parts: string[]): Buffer {
  let pos = 0
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]
    // UTF-8 needs at most 3 bytes per UTF-16 unit; +1 for the newline
    if (pos + 3 * p.length + 1 > scratch.length) {
      const bigger = Buffer.allocUnsafe(Math.max(2 * scratch.length, pos + 3 * p.length + 1))
      scratch.copy(bigger, 0, 0, pos)
      scratch = bigger
    }
    if (i > 0) scratch[pos++] = 10
    pos += scratch.write(p, pos)
  }
  const value = Buffer.allocUnsafe(pos)
  scratch.copy(value, 0, 0, pos)
  return value
}

export function encodeBatch (reads: Array<{ source: Source, lines: TailedLine[], endOffset: number }>, ctx: BatchContext): EncodedBatch {
  const out: EncodedBatch = { byTopic: new Map(), acks: [], counts: { log: 0, stats: 0 }, flagged: {}, srcBytes: 0, valueBytes: 0 }
  interface OpenMessage { topic: string, key: string, parts: string[], bytes: number }
  const open = new Map<string, OpenMessage>()
  let last: OpenMessage | undefined
  const push = (topic: string, key: string, value: Buffer): void => {
    let byKey = out.byTopic.get(topic)
    if (byKey === undefined) { byKey = new Map(); out.byTopic.set(topic, byKey) }
    let list = byKey.get(key)
    if (list === undefined) { list = []; byKey.set(key, list) }
    list.push(value)
    out.valueBytes += value.length
  }
  const flush = (cur: { topic: string, key: string, parts: string[] }): void => { push(cur.topic, cur.key, ndjson(cur.parts)) }
  const now = ctx.now ?? Date.now()
  const rt = new Date(now).toISOString()
  const q = { host: quoter(), service: quoter() }
  const logsTopic = ctx.topics.logs
  // one segment = consecutive raw lines of one file, one message (see schemas/segment.ts)
  let seg: { source: Source, service: string, off: number, lines: TailedLine[], bytes: number, end: number } | null = null
  const flushSegment = (): void => {
    if (seg === null) return
    const s = seg
    seg = null
    // keep the host key's messages in file order: a record message of the same key still open
    // (lines before this segment) goes first
    const k = `${logsTopic}\0${ctx.host}`
    const before = open.get(k)
    if (before !== undefined) { flush(before); open.delete(k); if (last === before) last = undefined }
    const header = segmentHeaderJson({ host: ctx.host, service: s.service, src: s.source.fp, path: s.source.path, off: s.off, lines: s.lines.length, bytes: s.bytes, rt })
    const hb = Buffer.byteLength(header)
    const value = Buffer.allocUnsafe(hb + 1 + s.bytes)
    value.write(header, 0)
    value[hb] = 10
    let p = hb + 1
    // lines adjacent in one chunk are copied with their newlines in one go
    const ls = s.lines
    for (let i = 0; i < ls.length;) {
      let j = i
      while (j + 1 < ls.length && ls[j + 1].chunk === ls[i].chunk && ls[j + 1].start === ls[j].end + 1) j++
      p += ls[i].chunk.copy(value, p, ls[i].start, ls[j].end)
      value[p++] = 10
      i = j + 1
    }
    push(logsTopic, ctx.host, value)
  }
  for (const { source, lines, endOffset } of reads) {
    out.acks.push({ source, endOffset })
    const service = ctx.serviceFor(source)
    const srcPath = `,"src":${JSON.stringify(source.fp)},"path":${JSON.stringify(source.path)}`
    // a header's worst case beyond its path: counts of up to 15 digits each
    const segBudget = ctx.maxMessageBytes - 320 - Buffer.byteLength(srcPath) - 3 * (ctx.host.length + service.length)
    const segmentsOk = ctx.segments !== false && ctx.host.length >= 1 && ctx.host.length <= 255 && service.length >= 1 && service.length <= 255
    const checks = new ChunkChecks()
    for (let li = 0; li < lines.length; li++) {
      const line = lines[li]
      if (line.chunk !== checks.chunk) checks.reset(lines, li)
      out.srcBytes += line.length + 1
      if (segmentsOk && !line.truncated && checks.rawOk(line)) {
        const len = line.length + 1
        if (seg !== null && (seg.source !== source || seg.end !== line.off || seg.bytes + len > segBudget)) flushSegment()
        if (seg === null) seg = { source, service, off: line.off, lines: [], bytes: 0, end: line.off }
        seg.lines.push(line)
        seg.bytes += len
        seg.end = line.off + len
        out.counts.log++
        continue
      }
      flushSegment()
      const { text, validUtf8 } = decodeLine(line.buf)
      // canonical pino-shaped lines skip JSON.parse → record → JSON.stringify (schemas/fast-line.ts:
      // same bytes, or null and the general path runs)
      const fast = validUtf8 && !line.truncated ? fastLogParts(text, ctx.host, service) : null
      let json: string
      let topic: string
      let recHost: string
      if (fast !== null) {
        json = logJson(fast.ts, q.host(fast.host), q.service(fast.service), fast.pid, fast.level, fast.msgJson, fast.fieldsJson, srcPath, line.off, '[]', line.length + 1)
        topic = ctx.topics.logs
        recHost = fast.host
        out.counts.log++
      } else {
        const rec = normalizeLine(text, { host: ctx.host, service, src: source.fp, path: source.path, off: line.off, now, truncated: line.truncated, len: line.truncated ? undefined : line.length + 1 }, validUtf8)
        topic = rec.kind === 'stats' ? ctx.topics.stats : ctx.topics.logs
        out.counts[rec.kind]++
        if (rec.kind === 'log') for (const f of rec.flags) out.flagged[f] = (out.flagged[f] ?? 0) + 1
        json = rec.kind === 'log' ? logRecordJson(rec, q, srcPath) : JSON.stringify(rec)
        recHost = rec.host
      }
      // consecutive lines almost always share topic and host: reuse the open message without
      // building and hashing a `topic\0host` key per line (it showed in the profile)
      let cur: OpenMessage | undefined
      let k = ''
      if (last !== undefined && last.topic === topic && last.key === recHost) cur = last
      else { k = `${topic}\0${recHost}`; cur = open.get(k) }
      if (cur !== undefined && cur.bytes + json.length > ctx.maxMessageBytes) { flush(cur); cur = undefined }
      if (cur === undefined) { cur = { topic, key: recHost, parts: [], bytes: 0 }; open.set(k === '' ? `${topic}\0${recHost}` : k, cur) }
      last = cur
      cur.parts.push(json)
      cur.bytes += json.length + 1
    }
    flushSegment()
  }
  for (const cur of open.values()) flush(cur)
  return out
}
