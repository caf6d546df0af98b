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
// Parts: tail-consumer.ts (the live consumer), tail-ring.ts (the replay ring), tail-resume.ts
// (resume turns and the read-back from Kafka), tail-message.ts (a Kafka message → entries).
import crypto from 'node:crypto'
import os from 'node:os'
import type { EachBatchPayload } from 'kafkajs'
import { Counter, Gauge, type Registry } from 'prom-client'
import { createKafka } from '../platform/kafka.js'
import { errors } from '../platform/errors.js'
import { createSeenLines } from './tail-dedup.js'
import { parseMessage, type CatchUpEntry, type Skip, type TailEntry } from './tail-message.js'
import { comparePos, type TailPosition } from './tail-position.js'
import { createLiveConsumer, highWatermarks } from './tail-consumer.js'
import { createTailRing } from './tail-ring.js'
import { createResumeSlots, readBackFromKafka } from './tail-resume.js'

export type { TailEntry } from './tail-message.js'

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
  /** a tail that had a resume turn closed (schedules the idle GC) */
  resumedTailClosed (): void
  /** reads lines from `from` up to the ring's start straight from Kafka, in partition order */
  catchUp (from: TailPosition, onEntries: (es: CatchUpEntry[]) => Promise<void>, signal: AbortSignal): Promise<TailPosition>
}

function createTailHubMetrics (regs: Registry[]) {
  return {
  lines: new Counter({ name: 'sluice_tail_lines_total', help: 'Log lines the tail hub read from Kafka', registers: regs }),
  replayed: new Counter({ name: 'sluice_tail_replayed_lines_total', help: 'Lines the hub had streamed already (same source and offset within its window of recent lines: a shipper replay or a Kafka batch retried), not sent again', registers: regs }),
  ring: new Gauge({ name: 'sluice_tail_ring_lines', help: 'Lines held in the tail replay ring', registers: regs }),
  ringBytes: new Gauge({ name: 'sluice_tail_ring_bytes', help: 'Bytes of SSE frames held in the tail replay ring', registers: regs }),
  catchUps: new Counter({ name: 'sluice_tail_kafka_catchups_total', help: 'Resumes older than the ring, read back from Kafka', registers: regs }),
  resumesInFlight: new Gauge({ name: 'sluice_tail_resumes_in_flight', help: 'Tails reading back from Kafka now (at most maxResumes)', registers: regs }),
  resumesPeak: new Gauge({ name: 'sluice_tail_resumes_in_flight_max', help: 'Most tails reading back from Kafka at once since the server started', registers: regs }),
  resumesWaiting: new Gauge({ name: 'sluice_tail_resumes_waiting', help: 'Tails waiting for a turn to read back from Kafka (at most maxResumeWaiters)', registers: regs }),
  resumesRefused: new Counter({ name: 'sluice_tail_resumes_refused_total', help: 'Resumes refused: busy (503, the waiting queue was full) or too_old (410, beyond resumeMaxMessages)', labelNames: ['reason'], registers: regs }),
  idleGcs: new Counter({ name: 'sluice_tail_resume_idle_gcs_total', help: 'Garbage collections run once Kafka read-backs had stopped for a few seconds (frees what they read while the server idles)', registers: regs }),
  skipped: new Counter({ name: 'sluice_tail_skipped_lines_total', help: 'Lines the live tail could not render and skipped (too_deep: nested deeper than the limit; failed: any other error); the collector dead-letters them', labelNames: ['reason'], registers: regs })
}
}

export function createTailHub (opts: TailHubOptions): TailHub {
  const m = createTailHubMetrics(opts.registry !== undefined ? [opts.registry] : [])
  const resumeMaxMessages = opts.resumeMaxMessages ?? 20_000
  const resumeSlots = createResumeSlots(opts.maxResumes ?? 2, opts.maxResumeWaiters ?? 16, m)
  const ring = createTailRing(opts.ringLines ?? 50_000, opts.ringBytes ?? 32 * 1024 * 1024)
  const kafka = createKafka(opts.brokers, 'sluice-tail')
  const cur: TailPosition = new Map()
  const subs = new Set<TailSubscriber>()
  const seen = createSeenLines()
  const skip: Skip = reason => m.skipped.inc({ reason })
  let stopped = false

  const groupId = (): string => `${opts.groupPrefix}tail-${os.hostname()}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`
  const live = createLiveConsumer(kafka, opts.topic, groupId, cur, eachBatch)

  async function eachBatch ({ batch }: EachBatchPayload): Promise<void> {
    for (const msg of batch.messages) {
      // a message below the hub's position was delivered already: kafkajs can fetch it again
      // after a broker loss (a retried fetch, a rejoin); each line reaches clients once
      if (Number(msg.offset) < (cur.get(batch.partition)?.[0] ?? 0)) continue
      const entries = parseMessage(batch.partition, msg, cur, skip)
      for (const e of entries) {
        if (!seen.firstSighting(e.line.source, e.line.offset)) { m.replayed.inc(); continue }
        ring.append(e)
        for (const s of subs) s.push(e)
      }
      m.lines.inc(entries.length)
    }
    for (const s of subs) s.flush()
    m.ring.set(ring.size)
    m.ringBytes.set(ring.bytes)
  }

  return {
    get ready () { return live.ready },
    get subscribers () { return subs.size },
    position: () => new Map(cur),

    async start () {
      if (live.started) return
      const marks = await highWatermarks(kafka, opts.topic)
      for (const p of marks) { cur.set(p.partition, [p.offset, 0]); ring.low.set(p.partition, [p.offset, 0]) }
      await live.start(marks)
    },

    async stop () {
      if (stopped) return
      stopped = true
      for (const s of [...subs]) s.close()
      subs.clear()
      await live.stop()
    },

    after: (from, max) => ring.after(from, max),

    subscribe (sub) {
      if (stopped) throw errors.CLOSED('the tail hub')
      subs.add(sub)
      return () => { subs.delete(sub) }
    },

    resumeFloor (from) {
      let behind = false
      const oldest: TailPosition = new Map()
      for (const [p, l] of ring.low) {
        const f = from.get(p) ?? [0, 0]
        if (l[0] - f[0] > resumeMaxMessages) { behind = true; oldest.set(p, [l[0] - resumeMaxMessages, 0]) } else oldest.set(p, comparePos(f, l) < 0 ? f : l)
      }
      if (!behind) return null
      m.resumesRefused.inc({ reason: 'too_old' })
      return { oldest, maxMessages: resumeMaxMessages }
    },

    acquireResume: (signal, mayRefuse) => resumeSlots.acquire(signal, mayRefuse),
    resumedTailClosed: () => resumeSlots.closed(),

    async catchUp (from, onEntries, signal) {
      m.catchUps.inc()
      return await readBackFromKafka(kafka, opts.topic, groupId(), from, ring, onEntries, signal)
    }
  }
}
