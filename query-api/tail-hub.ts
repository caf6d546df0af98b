// The live tail's single Kafka reader, fanned out to every SSE client.
//   Kafka logs topic ──one consumer (unique group, never commits)──▶ parse v1 ──▶ ring (bounded)
//                                                                         └──▶ subscribers (push, flush per batch)
// The consumer starts exactly at the high watermarks read with the admin client, so the ring
// covers a known range of every partition: a client resuming from any position inside that
// range is replayed from memory with no gap and no duplicate. Older positions are read back
// from Kafka itself (catchUp), which keeps the data for its retention period. Those read-backs
// are bounded: at most `maxResumes` run at once (others wait in a bounded queue or are refused),
// none starts more than `resumeMaxMessages` behind the ring, and parsing yields to the event
// loop between slices so the rest of the API keeps answering.
import crypto from 'node:crypto'
import os from 'node:os'
import type { Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs'
import { Counter, Gauge, type Registry } from 'prom-client'
import { createKafka } from '../platform/kafka.js'
import { errors } from '../platform/errors.js'
import { validateRecord, type LogRecordV1 } from '../schemas/records.js'
import { forEachSegmentLine, isSegment, parseSegment, segmentLineRecord } from '../schemas/segment.js'
import { maxJsonDepth, nestsDeeperThan } from '../schemas/limits.js'
import { tooDeepFlag } from '../schemas/normalize.js'
import type { LogLine } from './search.js'
import { createSeenLines } from './tail-dedup.js'
import { comparePos, encodePosition, type Pos, type TailPosition } from './tail-position.js'

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

export interface TailSubscriber {
  push (e: TailEntry): void
  /** end of a Kafka batch: write what was pushed in one syscall */
  flush (): void
  close (): void
}

export interface TailHubOptions {
  brokers: string[]
  topic: string
  /** consumer-group prefix; a random suffix makes each hub's group unique */
  groupPrefix: string
  /** ring capacity in lines (default 50,000) and in frame bytes (default 32 MiB) */
  ringLines?: number
  ringBytes?: number
  /** resumes reading back from Kafka at once (default 2) and resumes waiting for one (default 16) */
  maxResumes?: number
  maxResumeWaiters?: number
  /** how far behind the ring (Kafka messages per partition) a resume may start (default 20,000) */
  resumeMaxMessages?: number
  registry?: Registry
}

export interface TailHub {
  start (): Promise<void>
  stop (): Promise<void>
  readonly ready: boolean
  /** position after the newest line seen: where a new client starts */
  position (): TailPosition
  /** ring entries at or after `from` in hub order; null when `from` is older than the ring */
  after (from: TailPosition, max: number): TailEntry[] | null
  subscribe (sub: TailSubscriber): () => void
  readonly subscribers: number
  /** null when a resume from `from` may be served; else the oldest position it may start at */
  resumeFloor (from: TailPosition): { oldest: TailPosition, maxMessages: number } | null
  /** a turn to read back from Kafka (call the result to give it back, once). `mayRefuse`: throws
   *  SLUICE_ERR_RESUME_BUSY when the waiting queue is full; otherwise waits. Rejects on abort. */
  acquireResume (signal: AbortSignal, mayRefuse: boolean): Promise<() => void>
  /** reads lines from `from` up to the ring's start straight from Kafka, in partition order */
  catchUp (from: TailPosition, onEntries: (es: TailEntry[]) => Promise<void>, signal: AbortSignal): Promise<TailPosition>
}

function toLine (r: LogRecordV1): LogLine {
  const ms = Date.parse(r.ts)
  return { ts: new Date(ms).toISOString(), host: r.host, service: r.service, pid: r.pid, level: r.level, msg: r.msg, fields: r.fields, source: r.src, path: r.path, offset: r.off, flags: r.flags }
}

function sseFrame (id: string, line: LogLine): Buffer {
  return Buffer.from(`id: ${id}\nevent: line\ndata: ${JSON.stringify(line)}\n\n`)
}

/** counts a line the tail cannot show (the collector dead-letters it); the stream goes on */
type Skip = (reason: 'too_deep' | 'failed') => void
const noSkip: Skip = () => {}

/** the entry of one record, or null when it cannot be rendered (skipped, counted) */
function entryOf (rec: LogRecordV1, partition: number, pos: Pos, next: Pos, cur: TailPosition, skip: Skip): TailEntry | null {
  if (rec.flags.includes(tooDeepFlag)) { skip('too_deep'); return null }
  try {
    const line = toLine(rec)
    return { line, fieldsJson: JSON.stringify(line.fields), partition, pos, next, frame: sseFrame(encodePosition(cur), line) }
  } catch { skip('failed'); return null }
}

/** Splits one Kafka message (NDJSON of v1 records, or a log segment) into entries, advancing
 *  `cur` per line. A line's index is its index among the message's lines (a segment's header
 *  is line 0). A line that cannot be rendered is skipped (`skip`), never thrown. */
function parseMessage (partition: number, m: KafkaMessage, cur: TailPosition, skip: Skip = noSkip): TailEntry[] {
  const off = Number(m.offset)
  if (m.value !== null && isSegment(m.value)) return parseSegmentMessage(partition, off, m.value, cur, skip)
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
    const e = entryOf(rec as LogRecordV1, partition, [off, i], next, cur, skip)
    if (e !== null) out.push(e)
  }
  return out
}

function parseSegmentMessage (partition: number, off: number, value: Buffer, cur: TailPosition, skip: Skip): TailEntry[] {
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
    const e = entryOf(rec, partition, [off, i], next, cur, skip)
    if (e !== null) out.push(e)
  }
  return out
}

/** main-thread time a resume may parse before it yields to the event loop */
const sliceMs = 8

export function createTailHub (opts: TailHubOptions): TailHub {
  const ringLines = opts.ringLines ?? 50_000
  const ringBytes = opts.ringBytes ?? 32 * 1024 * 1024
  const regs = opts.registry !== undefined ? [opts.registry] : []
  const m = {
    lines: new Counter({ name: 'sluice_tail_lines_total', help: 'Log lines the tail hub read from Kafka', registers: regs }),
    replayed: new Counter({ name: 'sluice_tail_replayed_lines_total', help: 'Lines the hub had streamed already (same source and offset within its window of recent lines: a shipper replay or a Kafka batch retried), not sent again', registers: regs }),
    ring: new Gauge({ name: 'sluice_tail_ring_lines', help: 'Lines held in the tail replay ring', registers: regs }),
    ringBytes: new Gauge({ name: 'sluice_tail_ring_bytes', help: 'Bytes of SSE frames held in the tail replay ring', registers: regs }),
    catchUps: new Counter({ name: 'sluice_tail_kafka_catchups_total', help: 'Resumes older than the ring, read back from Kafka', registers: regs }),
    resumesInFlight: new Gauge({ name: 'sluice_tail_resumes_in_flight', help: 'Tails reading back from Kafka now (at most maxResumes)', registers: regs }),
    resumesPeak: new Gauge({ name: 'sluice_tail_resumes_in_flight_max', help: 'Most tails reading back from Kafka at once since the server started', registers: regs }),
    resumesWaiting: new Gauge({ name: 'sluice_tail_resumes_waiting', help: 'Tails waiting for a turn to read back from Kafka (at most maxResumeWaiters)', registers: regs }),
    resumesRefused: new Counter({ name: 'sluice_tail_resumes_refused_total', help: 'Resumes refused: busy (503, the waiting queue was full) or too_old (410, beyond resumeMaxMessages)', labelNames: ['reason'], registers: regs }),
    skipped: new Counter({ name: 'sluice_tail_skipped_lines_total', help: 'Lines the live tail could not render and skipped (too_deep: nested deeper than the limit; failed: any other error); the collector dead-letters them', labelNames: ['reason'], registers: regs })
  }
  const maxResumes = opts.maxResumes ?? 2
  const maxResumeWaiters = opts.maxResumeWaiters ?? 16
  const resumeMaxMessages = opts.resumeMaxMessages ?? 20_000
  let resuming = 0
  let resumePeak = 0
  const resumeWaiters: Array<() => void> = []
  const resumeGauges = (): void => { m.resumesInFlight.set(resuming); m.resumesPeak.set(resumePeak); m.resumesWaiting.set(resumeWaiters.length) }
  resumeGauges()
  // a turn is handed straight to the next waiter, so `resuming` never exceeds maxResumes
  const resumeTurn = (): (() => void) => {
    let given = false
    return () => {
      if (given) return
      given = true
      const next = resumeWaiters.shift()
      if (next !== undefined) next()
      else resuming--
      resumeGauges()
    }
  }
  const skip: Skip = reason => m.skipped.inc({ reason })
  /** parseMessage that never throws: a message it fails on is skipped whole, the position moves past it */
  function entriesOf (partition: number, msg: KafkaMessage, pos: TailPosition): TailEntry[] {
    try { return parseMessage(partition, msg, pos, skip) } catch {
      skip('failed')
      pos.set(partition, [Number(msg.offset) + 1, 0])
      return []
    }
  }
  const kafka = createKafka(opts.brokers, 'sluice-tail')
  const cur: TailPosition = new Map()
  /** first position still in the ring, per partition */
  const low: TailPosition = new Map()
  const ring: Array<TailEntry | undefined> = new Array(ringLines)
  let head = 0 // index of the oldest entry
  let size = 0
  let bytes = 0
  const subs = new Set<TailSubscriber>()
  let consumer: Consumer | null = null
  let ready = false
  let stopped = false

  const groupId = (): string => `${opts.groupPrefix}tail-${os.hostname()}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`

  function evictOne (): void {
    const e = ring[head]!
    ring[head] = undefined
    head = (head + 1) % ringLines
    size--
    bytes -= e.frame.length
    low.set(e.partition, e.next)
  }

  function append (e: TailEntry): void {
    while (size > 0 && (size >= ringLines || bytes + e.frame.length > ringBytes)) evictOne()
    ring[(head + size) % ringLines] = e
    size++
    bytes += e.frame.length
  }

  const seen = createSeenLines()

  async function eachBatch ({ batch }: EachBatchPayload): Promise<void> {
    for (const msg of batch.messages) {
      // a message below the hub's position was delivered already: kafkajs can fetch it again
      // after a broker loss (a retried fetch, a rejoin); each line reaches clients once
      if (Number(msg.offset) < (cur.get(batch.partition)?.[0] ?? 0)) continue
      const entries = entriesOf(batch.partition, msg, cur)
      for (const e of entries) {
        if (!seen.firstSighting(e.line.source, e.line.offset)) { m.replayed.inc(); continue }
        append(e)
        for (const s of subs) s.push(e)
      }
      m.lines.inc(entries.length)
    }
    for (const s of subs) s.flush()
    m.ring.set(size)
    m.ringBytes.set(bytes)
  }

  async function highWatermarks (): Promise<Array<{ partition: number, offset: number }>> {
    const admin = kafka.admin()
    await admin.connect()
    try {
      return (await admin.fetchTopicOffsets(opts.topic)).map(p => ({ partition: p.partition, offset: Number(p.high) }))
    } finally { await admin.disconnect().catch(() => {}) }
  }

  /** A consumer of the logs topic starting at `from` (per partition). The group has no
   *  committed offsets, so after a rejoin or a restart kafkajs would start at the latest offset:
   *  every (re)join seeks back to the hub's own position, and a consumer kafkajs gives up on
   *  (e.g. a broker lost for longer than its retries) is replaced by a new one from there. */
  async function connectConsumer (from: Array<{ partition: number, offset: number }>): Promise<void> {
    const c = kafka.consumer({ groupId: groupId(), maxWaitTimeInMs: 100, minBytes: 1, allowAutoTopicCreation: false, retry: { retries: 10 } })
    consumer = c
    // start exactly where the ring's coverage begins (`from`), whatever offset reset would pick:
    // after run(), or — when the group restarted at once (kafkajs then has no group to seek in,
    // and seek throws) — when it has joined; a later join (rejoin) resumes from our own position
    let seeked = false
    const seekStart = (): void => {
      if (seeked) return
      for (const p of from) c.seek({ topic: opts.topic, partition: p.partition, offset: String(p.offset) })
      seeked = true
    }
    let joins = 0
    const joined = new Promise<void>(resolve => c.on(c.events.GROUP_JOIN, () => {
      if (joins++ > 0) for (const [partition, [offset]] of cur) c.seek({ topic: opts.topic, partition, offset: String(offset) })
      else try { seekStart() } catch {}
      resolve()
    }))
    c.on(c.events.CRASH, (ev) => {
      if (ev.payload.restart || stopped || consumer !== c) return
      ready = false
      void (async () => {
        await c.disconnect().catch(() => {})
        for (;;) {
          if (stopped) return
          await new Promise(resolve => setTimeout(resolve, 1000))
          try {
            await connectConsumer([...cur].map(([partition, [offset]]) => ({ partition, offset })))
            ready = true
            return
          } catch { await consumer?.disconnect().catch(() => {}) }
        }
      })()
    })
    await c.connect()
    await c.subscribe({ topic: opts.topic, fromBeginning: false })
    await c.run({ autoCommit: false, eachBatchAutoResolve: true, eachBatch })
    try { seekStart() } catch {}
    await joined
  }

  return {
    get ready () { return ready },
    get subscribers () { return subs.size },
    position: () => new Map(cur),

    async start () {
      if (consumer !== null) return
      const marks = await highWatermarks()
      for (const p of marks) { cur.set(p.partition, [p.offset, 0]); low.set(p.partition, [p.offset, 0]) }
      await connectConsumer(marks)
      ready = true
    },

    async stop () {
      if (stopped) return
      stopped = true
      ready = false
      for (const s of [...subs]) s.close()
      subs.clear()
      await consumer?.disconnect().catch(() => {})
    },

    after (from, max) {
      for (const [p, l] of low) {
        const f = from.get(p)
        if (f === undefined || comparePos(f, l) < 0) return null
      }
      const out: TailEntry[] = []
      for (let k = 0; k < size && out.length < max; k++) {
        const e = ring[(head + k) % ringLines]!
        if (comparePos(e.pos, from.get(e.partition)!) >= 0) out.push(e)
      }
      return out
    },

    subscribe (sub) {
      if (stopped) throw errors.CLOSED('the tail hub')
      subs.add(sub)
      return () => { subs.delete(sub) }
    },

    resumeFloor (from) {
      let behind = false
      const oldest: TailPosition = new Map()
      for (const [p, l] of low) {
        const f = from.get(p) ?? [0, 0]
        if (l[0] - f[0] > resumeMaxMessages) { behind = true; oldest.set(p, [l[0] - resumeMaxMessages, 0]) } else oldest.set(p, comparePos(f, l) < 0 ? f : l)
      }
      if (!behind) return null
      m.resumesRefused.inc({ reason: 'too_old' })
      return { oldest, maxMessages: resumeMaxMessages }
    },

    async acquireResume (signal, mayRefuse) {
      if (signal.aborted) throw errors.CLOSED('the tail request')
      if (resuming < maxResumes) {
        resuming++
        resumePeak = Math.max(resumePeak, resuming)
        resumeGauges()
        return resumeTurn()
      }
      if (mayRefuse && resumeWaiters.length >= maxResumeWaiters) {
        m.resumesRefused.inc({ reason: 'busy' })
        throw errors.RESUME_BUSY(resuming, resumeWaiters.length)
      }
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          const i = resumeWaiters.indexOf(go)
          if (i !== -1) resumeWaiters.splice(i, 1)
          resumeGauges()
          reject(errors.CLOSED('the tail request'))
        }
        const go = (): void => { signal.removeEventListener('abort', onAbort); resolve() }
        resumeWaiters.push(go)
        signal.addEventListener('abort', onAbort, { once: true })
        resumeGauges()
      })
      return resumeTurn()
    },

    async catchUp (from, onEntries, signal) {
      m.catchUps.inc()
      // what to read: every partition whose resume point is below the ring's low mark
      const until = new Map(low)
      const todo = new Map<number, Pos>()
      for (const [p, l] of until) {
        const f = from.get(p) ?? [0, 0]
        if (comparePos(f, l) < 0) todo.set(p, f)
      }
      const pos: TailPosition = new Map(from)
      for (const [p, l] of until) if (!pos.has(p)) pos.set(p, todo.get(p) ?? l)
      if (todo.size === 0) return pos
      const c = kafka.consumer({ groupId: groupId(), maxWaitTimeInMs: 100, allowAutoTopicCreation: false, maxBytesPerPartition: 1024 * 1024 })
      try {
        await c.connect()
        await c.subscribe({ topic: opts.topic, fromBeginning: true })
        let failed: unknown = null
        const done = new Promise<void>((resolve) => {
          const finishIfDone = (): void => { if (todo.size === 0 || signal.aborted || failed !== null) resolve() }
          signal.addEventListener('abort', () => resolve(), { once: true })
          void c.run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              const want = todo.get(batch.partition)
              if (want === undefined || signal.aborted) return
              const stop = until.get(batch.partition)!
              const out: TailEntry[] = []
              const scratch: TailPosition = new Map(pos)
              let sliceStart = performance.now()
              for (const msg of batch.messages) {
                // parsing a fetch of up to 1 MiB per partition: let other requests run between slices
                if (performance.now() - sliceStart > sliceMs) { await new Promise(resolve => setImmediate(resolve)); sliceStart = performance.now(); if (signal.aborted) break }
                if (Number(msg.offset) >= stop[0] && stop[1] === 0) { todo.delete(batch.partition); break }
                for (const e of entriesOf(batch.partition, msg, scratch)) {
                  if (comparePos(e.pos, want) >= 0 && comparePos(e.pos, stop) < 0) {
                    pos.set(e.partition, e.next)
                    out.push({ ...e, frame: sseFrame(encodePosition(pos), e.line) })
                  }
                }
                if (comparePos([Number(msg.offset) + 1, 0], stop) >= 0) { todo.delete(batch.partition); pos.set(batch.partition, stop); break }
              }
              try { if (out.length > 0) await onEntries(out) } catch (err) { failed = err }
              finishIfDone()
            }
          }).then(() => {
            for (const [p, f] of todo) c.seek({ topic: opts.topic, partition: p, offset: String(f[0]) })
            // partitions the ring already covers are not read at all
            const idle = [...until.keys()].filter(p => !todo.has(p))
            if (idle.length > 0) c.pause([{ topic: opts.topic, partitions: idle }])
          }, (err: unknown) => { failed = err; resolve() })
        })
        await done
        if (failed !== null) throw failed
        return pos
      } finally {
        await c.disconnect().catch(() => {})
      }
    }
  }
}
