// Resumes older than the replay ring: read back from Kafka itself, which keeps the data for its
// retention period. Bounded: at most `maxResumes` read back at once (others wait in a bounded
// queue or are refused), and parsing yields to the event loop between slices so the rest of the
// API keeps answering.
import type { Kafka } from 'kafkajs'
import type { Counter, Gauge } from 'prom-client'
import { errors } from '../platform/errors.js'
import { gc } from '../platform/gc.js'
import { parseMessage, sseFrameText, type CatchUpEntry } from './tail-message.js'
import { comparePos, encodePosition, type Pos, type TailPosition } from './tail-position.js'

/** main-thread time a resume may parse before it yields to the event loop */
const sliceMs = 8
/** quiet time after the last read-back (or the last tail that read back closing) before one
 *  major GC frees what they held: V8 may not collect while the server idles, and the frames'
 *  Buffers (outside its heap) stay allocated until it does */
export const idleGcMs = 5000
/** the second idle GC comes this many idleGcMs after the first */
const settleGcs = 5

export interface ResumeSlots {
  /** a turn to read back from Kafka (call the result to give it back, once). `mayRefuse`: throws
   *  SLUICE_ERR_RESUME_BUSY when the waiting queue is full; otherwise waits. Rejects on abort. */
  acquire (signal: AbortSignal, mayRefuse: boolean): Promise<() => void>
  /** a tail that read back from Kafka closed: what it held is garbage now (postpones the idle GC) */
  closed (): void
}

export interface ResumeSlotMetrics {
  resumesInFlight: Gauge
  resumesPeak: Gauge
  resumesWaiting: Gauge
  resumesRefused: Counter
  idleGcs?: Counter
}

export function createResumeSlots (maxResumes: number, maxResumeWaiters: number, m: ResumeSlotMetrics, gcAfterMs = idleGcMs): ResumeSlots {
  let resuming = 0
  let resumePeak = 0
  const resumeWaiters: Array<() => void> = []
  // a GC once no resume has run for gcAfterMs and a second one settleGcs × later (a new resume
  // postpones both): what a read-back held may still be referenced at the first one (a consumer
  // still disconnecting, a socket still draining), and an idle server may not collect on its own
  let idleGc: NodeJS.Timeout | null = null
  const scheduleGc = (round = 0): void => {
    if (resuming > 0) return
    if (idleGc !== null) clearTimeout(idleGc)
    idleGc = setTimeout(() => {
      idleGc = null
      if (resuming > 0) return
      gc('major')
      m.idleGcs?.inc()
      if (round === 0) scheduleGc(1)
    }, round === 0 ? gcAfterMs : gcAfterMs * settleGcs)
    idleGc.unref()
  }
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
      scheduleGc()
    }
  }
  return {
    closed: () => scheduleGc(),
    async acquire (signal, mayRefuse) {
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
    }
  }
}

/** Reads lines from `from` up to `ring.low` (the ring's first position per partition) straight
 *  from Kafka with a consumer of its own group, in partition order; returns the position after
 *  the last line handed to `onEntries`. */
export async function readBackFromKafka (kafka: Kafka, topic: string, groupId: string, from: TailPosition, ring: { low: TailPosition }, onEntries: (es: CatchUpEntry[]) => Promise<void>, signal: AbortSignal): Promise<TailPosition> {
  // what to read: every partition whose resume point is below the ring's low mark
  const until = new Map(ring.low)
  const todo = new Map<number, Pos>()
  for (const [p, l] of until) {
    const f = from.get(p) ?? [0, 0]
    if (comparePos(f, l) < 0) todo.set(p, f)
  }
  const pos: TailPosition = new Map(from)
  for (const [p, l] of until) if (!pos.has(p)) pos.set(p, todo.get(p) ?? l)
  if (todo.size === 0) return pos
  const c = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false, maxBytesPerPartition: 1024 * 1024 })
  try {
    await c.connect()
    await c.subscribe({ topic, fromBeginning: true })
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
          const out: CatchUpEntry[] = []
          const scratch: TailPosition = new Map(pos)
          let sliceStart = performance.now()
          for (const msg of batch.messages) {
            // parsing a fetch of up to 1 MiB per partition: let other requests run between slices
            if (performance.now() - sliceStart > sliceMs) { await new Promise(resolve => setImmediate(resolve)); sliceStart = performance.now(); if (signal.aborted) break }
            if (Number(msg.offset) >= stop[0] && stop[1] === 0) { todo.delete(batch.partition); break }
            for (const e of parseMessage(batch.partition, msg, scratch, undefined, false)) {
              if (comparePos(e.pos, want) >= 0 && comparePos(e.pos, stop) < 0) {
                pos.set(e.partition, e.next)
                out.push({ ...e, frame: sseFrameText(encodePosition(pos), e.line) })
              }
            }
            if (comparePos([Number(msg.offset) + 1, 0], stop) >= 0) { todo.delete(batch.partition); pos.set(batch.partition, stop); break }
          }
          try { if (out.length > 0) await onEntries(out) } catch (err) { failed = err }
          finishIfDone()
        }
      }).then(() => {
        for (const [p, f] of todo) c.seek({ topic, partition: p, offset: String(f[0]) })
        // partitions the ring already covers are not read at all
        const idle = [...until.keys()].filter(p => !todo.has(p))
        if (idle.length > 0) c.pause([{ topic, partitions: idle }])
      }, (err: unknown) => { failed = err; resolve() })
    })
    await done
    if (failed !== null) throw failed
    return pos
  } finally {
    await c.disconnect().catch(() => {})
  }
}
