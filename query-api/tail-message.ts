// One Kafka message of the logs topic (NDJSON of v1 records, or a log segment) as tail entries,
// each with its position and its SSE frame.
import type { KafkaMessage } from 'kafkajs'
import { validateRecord, type LogRecordV1 } from '../schemas/records.js'
import { forEachSegmentLine, isSegment, parseSegment, segmentLineRecord } from '../schemas/segment.js'
import { maxJsonDepth, nestsDeeperThan } from '../schemas/limits.js'
import { tooDeepFlag } from '../schemas/normalize.js'
import { toLogLine, type LogLine } from '../schemas/log-line.js'
import { encodePosition, type Pos, type TailPosition } from './tail-position.js'

export interface TailEntry {
  line: LogLine
  fieldsJson: string
  partition: number
  /** this line's own (offset, index) and the next position to read after it */
  pos: Pos
  next: Pos
  /** SSE frame (id = hub position after this line), encoded once and shared by every client:
   *  a client's queue holds references, never copies */
  frame: Buffer
}

function toLine (r: LogRecordV1): LogLine {
  return toLogLine({ ...r, tsMs: Date.parse(r.ts), source: r.src, offset: r.off })
}

export function sseFrame (id: string, line: LogLine): Buffer {
  return Buffer.from(sseFrameText(id, line))
}

export function sseFrameText (id: string, line: LogLine): string {
  return `id: ${id}\nevent: line\ndata: ${JSON.stringify(line)}\n\n`
}

/** an entry read back from Kafka for one client: its frame is a string (JS heap) rather than
 *  a Buffer per line, whose malloc'd memory the process kept after a resume storm */
export type CatchUpEntry = Omit<TailEntry, 'frame'> & { frame: string }

const noFrame = Buffer.alloc(0)

/** counts a line the tail cannot show (the collector dead-letters it); the stream goes on */
export type Skip = (reason: 'too_deep' | 'failed') => void
const noSkip: Skip = () => {}

/** the entry of one record, or null when it cannot be rendered (skipped, counted) */
function entryOf (rec: LogRecordV1, partition: number, pos: Pos, next: Pos, cur: TailPosition, skip: Skip, framed: boolean): TailEntry | null {
  if (rec.flags.includes(tooDeepFlag)) { skip('too_deep'); return null }
  try {
    const line = toLine(rec)
    return { line, fieldsJson: JSON.stringify(line.fields), partition, pos, next, frame: framed ? sseFrame(encodePosition(cur), line) : noFrame }
  } catch { skip('failed'); return null }
}

/** Splits one Kafka message (NDJSON of v1 records, or a log segment) into entries, advancing
 *  `cur` per line. A line's index is its index among the message's lines (a segment's header
 *  is line 0). Never throws: a line that cannot be rendered is skipped (`skip`), and a message
 *  that fails as a whole is skipped with the position moved past it. `framed` false: the
 *  entries' frames are left empty (the caller frames them itself). */
export function parseMessage (partition: number, m: KafkaMessage, cur: TailPosition, skip: Skip = noSkip, framed = true): TailEntry[] {
  try { return parseMessageLines(partition, m, cur, skip, framed) } catch {
    skip('failed')
    cur.set(partition, [Number(m.offset) + 1, 0])
    return []
  }
}

function parseMessageLines (partition: number, m: KafkaMessage, cur: TailPosition, skip: Skip, framed: boolean): TailEntry[] {
  const off = Number(m.offset)
  if (m.value !== null && isSegment(m.value)) return parseSegmentMessage(partition, off, m.value, cur, skip, framed)
  const raw = (m.value?.toString('utf8') ?? '').split('\n').filter(s => s !== '')
  cur.set(partition, [off + 1, 0])
  const out: TailEntry[] = []
  for (let i = 0; i < raw.length; i++) {
    const next: Pos = i === raw.length - 1 ? [off + 1, 0] : [off, i + 1]
    cur.set(partition, next)
    let rec: unknown
    try { rec = JSON.parse(raw[i]) } catch { continue } // the collector dead-letters it
    if (nestsDeeperThan(rec, maxJsonDepth + 1)) { skip('too_deep'); continue }
    if ((rec as { kind?: unknown }).kind !== 'log' || validateRecord(rec) !== null) continue
    const e = entryOf(rec as LogRecordV1, partition, [off, i], next, cur, skip, framed)
    if (e !== null) out.push(e)
  }
  return out
}

function parseSegmentMessage (partition: number, off: number, value: Buffer, cur: TailPosition, skip: Skip, framed: boolean): TailEntry[] {
  cur.set(partition, [off + 1, 0])
  const seg = parseSegment(value)
  if ('error' in seg) return [] // the collector dead-letters it
  const spans: number[] = []
  forEachSegmentLine(value, seg, (start, end, lineOff) => { spans.push(start, end, lineOff) })
  const count = spans.length / 3
  const out: TailEntry[] = []
  for (let k = 0; k < count; k++) {
    const i = k + 1
    const next: Pos = k === count - 1 ? [off + 1, 0] : [off, i + 1]
    cur.set(partition, next)
    // the record the shipper would have sent for this line (what the collector stores)
    let rec
    try { rec = segmentLineRecord(value, spans[3 * k], spans[3 * k + 1], spans[3 * k + 2], seg) } catch { skip('failed'); continue }
    if (rec.kind !== 'log' || validateRecord(rec) !== null) continue
    const e = entryOf(rec, partition, [off, i], next, cur, skip, framed)
    if (e !== null) out.push(e)
  }
  return out
}

