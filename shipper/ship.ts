// `sluice ship` — one per host.
//   globs ──tailer──▶ whole lines ──braced {…}: raw, as log segments ───┐
//                                 └─anything else: normalize (v1)──────┴▶ messages (≤ 255 KiB, key = host)
//        ──worker thread: kafkajs (acks=all, gzip)──▶ sluice.logs.v1 / sluice.stats.v1 ──ack──▶ checkpoints
// Two batches are in flight (and one more encoded, waiting): when Kafka is slow or down the
// shipper stops reading and the log files themselves are the buffer, so memory stays flat
// whatever the backlog. kafkajs runs on a worker thread of its own (sender.ts).
// Parts: options.ts (defaults), metrics.ts, memory-bound.ts (Buffer memory while catching up),
// ship-loop.ts (read → send → checkpoint), tailer.ts, batch.ts, sender.ts.
import path from 'node:path'
import type { Registry } from 'prom-client'
import { createCheckpointStore } from './checkpoint.js'
import { createTailer, type TailerOptions } from './tailer.js'
import { createSender, type Sender, type SenderEvents } from './sender.js'
import { info, warn } from '../platform/log.js'
import { createMemoryBound, type MemoryBound } from './memory-bound.js'
import { createShipperMetrics, type ShipperMetrics } from './metrics.js'
import { resolveShipperOptions, type ShipperOptions } from './options.js'
import { createShipLoop } from './ship-loop.js'
import { createProgressReporter, type ProgressReporter } from './progress.js'

export type { ShipperOptions } from './options.js'

export interface Shipper {
  start (): Promise<void>
  stop (): Promise<void>
  readonly registry: Registry
}

/** what the tailer reports: counted, and said once on stderr with what to do about it */
function tailerEvents (m: ShipperMetrics, progress: () => ProgressReporter): Pick<TailerOptions, 'onWarning' | 'onInfo' | 'onDrop' | 'onLoss' | 'onSkip'> {
  return {
    onWarning: warn,
    onInfo: info,
    onDrop: (reason, n, at) => { m.dropped.inc({ reason }, n); if (at !== undefined) progress().dropped(at.fp, at.path, at.offset, at.offset + n, reason) },
    onLoss (loss) {
      progress().lost(loss)
      m.lostFiles.inc({ reason: loss.reason })
      if (loss.bytes !== null) m.lostBytes.inc({ reason: loss.reason }, loss.bytes)
      const how = loss.reason === 'compressed' ? 'was compressed' : 'is no longer in its directory (deleted, or compressed in a format whose content cannot be checked)'
      warn(`ship: lost the unread end of a rotated file: ${loss.path} (source ${loss.fp}) was read up to byte ${loss.offset} and ${how} before the shipper could finish it; ${loss.bytes === null ? 'an unknown number of' : loss.reason === 'deleted' ? `at least ${loss.bytes}` : loss.bytes} bytes lost — use logrotate's delaycompress, and keep rotated files longer than the shipper can be down`)
    },
    onSkip (reason, p, format) {
      m.skippedFiles.inc({ reason })
      info(`ship: skipping ${p}: ${format}-compressed (a glob matched it; its lines are shipped from the plain file before it is compressed)`)
    }
  }
}

/** what the Kafka thread reports: counted, retries and drops said on stderr */
function senderEvents (m: ShipperMetrics, memory: MemoryBound): SenderEvents {
  return {
    onRetry (attempt, delay, message) {
      m.retries.inc()
      if (attempt === 1 || attempt % 10 === 0) warn(`ship: Kafka send failed (${message}); retry ${attempt} in ${delay} ms — files are the buffer, nothing is lost`)
    },
    onSplit () { m.splits.inc() },
    onRequestError (type) { m.kafkaErrors.inc({ type }) },
    onDropped (topic, bytes, head) {
      m.dropped.inc({ reason: 'message_too_large' }, bytes)
      warn(`ship: Kafka refused a ${bytes}-byte message to ${topic} as too large even alone; dropped it (first record: ${head}…) — raise the topic's max.message.bytes or lower --max-line-bytes`)
    },
    onMemory (arrayBuffers, gcs) { memory.workerReport(arrayBuffers, gcs) }
  }
}

export function createShipper (opts: ShipperOptions): Shipper {
  const o = resolveShipperOptions(opts)
  const m = createShipperMetrics(o.registry)
  const memory = createMemoryBound(o.maxArrayBuffers, {
    onForcedGc: (type, n) => m.forcedGcs.inc({ type }, n),
    onBufferBytes: bytes => m.arrayBuffers.set(bytes)
  })
  const checkpoints = createCheckpointStore(path.join(o.dataDir, 'shipper', 'checkpoints.json'))
  // progress records (gap detection) report the tailer's files; the tailer reports drops to them
  let progress: ProgressReporter | null = null
  const tailer = createTailer({ globs: o.globs, checkpoints, host: o.host, maxLineBytes: o.maxLineBytes, rotatedSettleMs: o.rotatedSettleMs, ...tailerEvents(m, () => progress!) })
  let sender: Sender | null = null
  progress = createProgressReporter({ host: o.host, topic: o.topics.logs, intervalMs: o.progressIntervalMs, sources: () => tailer.sources(), serviceOf: p => o.service ?? path.basename(path.dirname(p)), send: async tm => { await sender!.send(tm) }, onError: err => warn(`ship: progress report not sent (${err.message}); the next one carries the same state`) })
  const shipLoop = createShipLoop({ o, tailer, checkpoints, m, memory, send: async topicMessages => { await sender!.send(topicMessages) } })
  let running = false
  let stopped = false
  let loop: Promise<void> | null = null
  // gauges on their own timer: the loop blocks in send() while Kafka is down, which is
  // exactly when lag and checkpoint age must keep moving
  let gaugeTimer: NodeJS.Timeout | null = null

  return {
    registry: o.registry,
    async start () {
      if (running) return
      memory.activate()
      sender = createSender({ brokers: o.brokers, clientId: `sluice-shipper-${o.host}`, compression: o.compression, maxInFlight: o.maxInFlight, maxArrayBufferBytes: o.maxArrayBuffers }, senderEvents(m, memory))
      await sender.connect()
      running = true
      progress!.start()
      gaugeTimer = setInterval(shipLoop.tick, 1000)
      gaugeTimer.unref()
      info(`ship: tailing ${o.globs.join(' ')} → Kafka ${o.brokers.join(',')}`)
      // an unexpected error (a checkpoint write failing on a full disk, say) must not leave a
      // live process that silently ships nothing: count it, say it, resume from the acks
      loop = (async () => {
        while (running) {
          try { await shipLoop.run(() => running) } catch (err) {
            if (!running) break
            m.errors.inc()
            warn(`ship: ${(err as Error).message}; resuming in 1 s`)
            await shipLoop.sleep(1000)
          }
        }
      })()
    },
    async stop () {
      if (stopped) return
      stopped = true
      running = false
      sender?.stop() // a send retrying against a Kafka that is down gives up; its lines are re-read next start
      if (gaugeTimer !== null) clearInterval(gaugeTimer)
      shipLoop.wakeUp()
      await loop
      await progress!.stop() // what was acknowledged, before the sender goes
      tailer.close() // first: it marks rotated files read to their end as finished
      checkpoints.save()
      await sender?.close().catch(() => {})
    }
  }
}
