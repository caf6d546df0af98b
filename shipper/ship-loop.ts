// The shipper's read → encode → send → checkpoint loop. maxBatchesInFlight batches are in
// flight to Kafka while the next is read and encoded (the CPU work overlaps the network and
// compression). Batches complete (checkpoint) strictly in order: batch N+1's lines are
// checkpointed only once N's were acknowledged too, so a checkpoint never skips lines. If N
// fails and N+1 lands, a restart re-sends both: duplicates in Kafka, removed downstream by the
// lines' identity like any replay.
import path from 'node:path'
import { contentTypeHeader } from '../schemas/topics.js'
import { isSegment, segmentContentType } from '../schemas/segment.js'
import { encodeBatch, type EncodedBatch } from './batch.js'
import type { CheckpointStore } from './checkpoint.js'
import type { MemoryBound } from './memory-bound.js'
import type { ShipperMetrics } from './metrics.js'
import type { ResolvedShipperOptions } from './options.js'
import type { WireTopicMessages } from './sender.js'
import type { Source, Tailer } from './tailer.js'

export interface ShipLoopParts {
  o: ResolvedShipperOptions
  tailer: Tailer
  checkpoints: CheckpointStore
  m: ShipperMetrics
  memory: MemoryBound
  send: (topicMessages: WireTopicMessages) => Promise<void>
}

export interface ShipLoop {
  /** one run of the loop, until `running()` turns false or an error ends it */
  run: (running: () => boolean) => Promise<void>
  /** the 1 s housekeeping: new files, sizes, lag gauges, a due checkpoint write */
  tick: () => void
  /** a sleep that wakeUp() cuts short */
  sleep: (ms: number) => Promise<void>
  wakeUp: () => void
}

/** a batch's messages as the Kafka thread takes them, each with its content type */
export function wireMessages (messagesByTopic: Map<string, Map<string, Buffer[]>>): WireTopicMessages {
  const topicMessages: WireTopicMessages = []
  for (const [topic, byKey] of messagesByTopic) {
    const messages = []
    for (const [key, chunks] of byKey) for (const value of chunks) messages.push({ key, value, headers: { 'content-type': isSegment(value) ? segmentContentType : contentTypeHeader } })
    topicMessages.push({ topic, messages })
  }
  return topicMessages
}

export function createShipLoop ({ o, tailer, checkpoints, m, memory, send }: ShipLoopParts): ShipLoop {
  let lastAdvanceAt = Date.now()
  let lastSaveAt = 0
  let lastScan = 0
  let wake: (() => void) | null = null

  function saveCheckpoints (): void {
    checkpoints.save()
    lastSaveAt = Date.now()
  }

  function scanIfDue (): void {
    const now = Date.now()
    if (now - lastScan >= o.scanMs) { tailer.scan(); lastScan = now }
  }

  function updateGauges (): void {
    m.lag.reset()
    let lagTotal = 0
    for (const s of tailer.sources()) {
      const lag = Math.max(0, s.size - s.ackedOffset)
      lagTotal += lag
      m.lag.set({ source: s.fp }, lag)
    }
    m.files.set(tailer.sources().length)
    // an idle, caught-up file is not "old": age only counts while bytes wait to be shipped
    m.checkpointAge.set(lagTotal === 0 ? 0 : (Date.now() - lastAdvanceAt) / 1000)
  }

  function complete (batch: EncodedBatch): void {
    for (const { source, endOffset } of batch.acks) tailer.ack(source, endOffset)
    if (Date.now() - lastSaveAt >= o.checkpointMs) saveCheckpoints()
    lastAdvanceAt = Date.now()
    m.lines.inc({ kind: 'log' }, batch.counts.log)
    m.lines.inc({ kind: 'stats' }, batch.counts.stats)
    m.bytes.inc(batch.srcBytes)
    for (const [f, n] of Object.entries(batch.flagged)) m.flagged.inc({ flag: f }, n)
    memory.check()
  }

  function sleep (ms: number): Promise<void> {
    return new Promise(resolve => {
      const t = setTimeout(() => { wake = null; resolve() }, ms)
      wake = () => { clearTimeout(t); wake = null; resolve() }
    })
  }

  const serviceFor = (s: Source): string => o.service ?? path.basename(path.dirname(s.path))

  async function run (running: () => boolean): Promise<void> {
    const batchCtx = { host: o.host, topics: o.topics, maxMessageBytes: o.maxMessageBytes, serviceFor, segments: o.segments }
    const inFlight: Array<{ batch: EncodedBatch, sent: Promise<void> }> = []
    const inFlightBytes = (): number => inFlight.reduce((n, f) => n + f.batch.srcBytes, 0)
    // nothing is in flight here: lines read before an error ended the last run and not
    // acknowledged are read again (a send that failed took them with it)
    tailer.rewind()
    try {
      while (running()) {
        scanIfDue()
        const reads = tailer.read(o.maxBatchBytes, o.maxBatchLines)
        const next = reads.length === 0 ? null : encodeBatch(reads, batchCtx)
        reads.length = 0 // the lines' buffers are garbage from here on, even while Kafka is retried
        memory.check()
        // the oldest batch completes first, so checkpoints advance in file order whatever order
        // Kafka acknowledges in
        while (inFlight.length > 0 && (next === null || inFlight.length >= o.maxInFlight)) {
          const done = inFlight.shift()!
          await done.sent
          complete(done.batch)
        }
        if (next === null) { m.inFlightBytes.set(0); saveCheckpoints(); await sleep(o.pollMs); continue }
        const sent = next.byTopic.size > 0 ? send(wireMessages(next.byTopic)) : Promise.resolve()
        sent.catch(() => {}) // observed when awaited; never an unhandled rejection meanwhile
        inFlight.push({ batch: next, sent })
        m.inFlightBytes.set(inFlightBytes())
      }
    } finally {
      // stopping: batches Kafka acknowledged are checkpointed, in order, up to the first that
      // failed; that one and those after it are re-read next start
      try {
        for (const f of inFlight) { await f.sent; complete(f.batch) }
      } catch {}
      m.inFlightBytes.set(0)
    }
  }

  return {
    run,
    sleep,
    wakeUp: () => wake?.(),
    tick () {
      // scanning here too keeps new files (a spool rotating during an outage) visible in the lag
      // gauges while the loop waits on Kafka; scan() never closes a file with unacked lines
      scanIfDue(); tailer.refreshSizes(); updateGauges()
      // a checkpoint acknowledged but not yet written, when the loop waits on a retry; a failing
      // write (full disk) is the loop's to report, on its next save
      if (Date.now() - lastSaveAt >= o.checkpointMs) { try { saveCheckpoints() } catch {} }
    }
  }
}
