// One shipper batch: tailed lines → v1 records → NDJSON Kafka message values, grouped by
// (topic, host key), each value at most maxMessageBytes (a single larger record goes alone).
// Kept apart from the send loop so the lines, records and parts of a batch become garbage as
// soon as it is encoded: only the message values live on while Kafka is retried.
import { decodeLine, normalizeLine } from '../schemas/normalize.js'
import type { Topics } from '../schemas/topics.js'
import type { LogRecordV1 } from '../schemas/records.js'
import type { Source, TailedLine } from './tailer.js'

export interface EncodedBatch {
  /** topic → host key → NDJSON message values */
  byTopic: Map<string, Map<string, string[]>>
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
 *  per-host parts quoted once instead of per line (stringify was the shipper's largest cost) */
function logRecordJson (rec: LogRecordV1, q: { host: (v: string) => string, service: (v: string) => string }, srcPath: string): string {
  return `{"v":1,"kind":"log","ts":${JSON.stringify(rec.ts)},"host":${q.host(rec.host)},"service":${q.service(rec.service)},"pid":${rec.pid},"level":"${rec.level}","msg":${JSON.stringify(rec.msg)},"fields":${JSON.stringify(rec.fields)}${srcPath},"off":${rec.off},"flags":${rec.flags.length === 0 ? '[]' : JSON.stringify(rec.flags)}}`
}

export function encodeBatch (reads: Array<{ source: Source, lines: TailedLine[], endOffset: number }>, ctx: BatchContext): EncodedBatch {
  const out: EncodedBatch = { byTopic: new Map(), acks: [], counts: { log: 0, stats: 0 }, flagged: {}, srcBytes: 0, valueBytes: 0 }
  const open = new Map<string, { topic: string, key: string, parts: string[], bytes: number }>()
  const flush = (cur: { topic: string, key: string, parts: string[] }): void => {
    let byKey = out.byTopic.get(cur.topic)
    if (byKey === undefined) { byKey = new Map(); out.byTopic.set(cur.topic, byKey) }
    let list = byKey.get(cur.key)
    if (list === undefined) { list = []; byKey.set(cur.key, list) }
    const value = cur.parts.join('\n')
    out.valueBytes += value.length
    list.push(value)
  }
  const now = Date.now()
  const q = { host: quoter(), service: quoter() }
  for (const { source, lines, endOffset } of reads) {
    out.acks.push({ source, endOffset })
    const service = ctx.serviceFor(source)
    const srcPath = `,"src":${JSON.stringify(source.fp)},"path":${JSON.stringify(source.path)}`
    for (const line of lines) {
      out.srcBytes += line.buf.length + 1
      const { text, validUtf8 } = decodeLine(line.buf)
      const rec = normalizeLine(text, { host: ctx.host, service, src: source.fp, path: source.path, off: line.off, now, truncated: line.truncated }, validUtf8)
      const topic = rec.kind === 'stats' ? ctx.topics.stats : ctx.topics.logs
      out.counts[rec.kind]++
      if (rec.kind === 'log') for (const f of rec.flags) out.flagged[f] = (out.flagged[f] ?? 0) + 1
      const json = rec.kind === 'log' ? logRecordJson(rec, q, srcPath) : JSON.stringify(rec)
      const k = `${topic}\0${rec.host}`
      let cur = open.get(k)
      if (cur !== undefined && cur.bytes + json.length > ctx.maxMessageBytes) { flush(cur); cur = undefined }
      if (cur === undefined) { cur = { topic, key: rec.host, parts: [], bytes: 0 }; open.set(k, cur) }
      cur.parts.push(json)
      cur.bytes += json.length + 1
    }
  }
  for (const cur of open.values()) flush(cur)
  return out
}
