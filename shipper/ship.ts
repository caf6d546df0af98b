// `sluice ship` — one per host.
//   globs ──tailer──▶ whole lines ──braced {…}: raw, as log segments ───┐
//                                 └─anything else: normalize (v1)──────┴▶ messages (≤ 255 KiB, key = host)
//        ──worker thread: kafkajs (acks=all, gzip)──▶ sluice.logs.v1 / sluice.stats.v1 ──ack──▶ checkpoints
// Two batches are in flight (and one more encoded, waiting): when Kafka is slow or down the
// shipper stops reading and the log files themselves are the buffer, so memory stays flat
// whatever the backlog. kafkajs runs on a worker thread of its own (sender.ts).
import os from 'node:os'
import path from 'node:path'
import v8 from 'node:v8'
import { Counter, Gauge, Registry } from 'prom-client'
import { topicsFor, contentTypeHeader, type Topics } from '../schemas/topics.js'
import { isSegment, segmentContentType } from '../schemas/segment.js'
import { encodeBatch, type EncodedBatch } from './batch.js'
import { createCheckpointStore } from './checkpoint.js'
import { createTailer, type Source } from './tailer.js'
import { createSender, type Sender, type WireTopicMessages } from './sender.js'
import { info, warn } from '../platform/log.js'
import { compressionProblem, type Compression } from '../platform/kafka-codecs.js'
import { gc } from './gc.js'
import { createProgressReporter } from './progress.js'

export interface ShipperOptions {
  brokers: string[]
  topics?: Topics
  globs: string[]
  dataDir: string
  /** service name for lines that carry none (default: the file's parent directory name) */
  service?: string
  host?: string
  maxLineBytes?: number
  /** source bytes read per batch (default 2 MiB; was 1 MiB before log segments, when records,
   *  NDJSON messages and kafkajs' encoded copy cost several times the source bytes — with
   *  4 MiB the shipper's RSS then doubled while catching up after an outage; a segment's value
   *  is its source bytes plus one header) */
  maxBatchBytes?: number
  /** lines read per batch (default 8192; 4096 before log segments). Records cost ~250 bytes beyond their line, so with
   *  short lines the batch's message values are several times its source bytes (65-byte
   *  lines: 1 MiB of source = 16,000 lines = 4.5 MB of values, and kafkajs allocates ~5× its
   *  values while encoding a request); the line cap bounds both */
  maxBatchLines?: number
  /** least time between two checkpoint writes while batches keep being acknowledged (default
   *  250 ms; caught up, stopping, or idle, the checkpoint is written at once). Each write is
   *  two fsyncs on the main thread: one per batch was 11% of the shipper's CPU profile on the
   *  file → Kafka bench. A crash replays at most this much more, deduplicated downstream by
   *  (src, off) like any replay. */
  checkpointIntervalMs?: number
  /** max NDJSON bytes per Kafka message (default 255 KiB: kafkajs encodes each record into a
   *  buffer of the next power of two, so a value just under 256 KiB takes 256 KiB, not 512) */
  maxMessageBytes?: number
  pollIntervalMs?: number
  scanIntervalMs?: number
  /** bound on each thread's Buffer memory (read chunks and message values on the main thread,
   *  its `arrayBuffers`; the values it was given and kafkajs' encoded copies on the Kafka
   *  thread, its `external`), checked after each acknowledged batch: above it the thread runs a
   *  minor GC, and a full one if that was not enough (default 16 MiB; with the Kafka thread, 25 s outage test: recovery 1.06-1.12× steady. Before log
   *  segments, with full GCs only: recovery after a 30 s outage peaked at 1.09× steady RSS
   *  with 12 MiB vs 1.12-1.28× with 16 MiB. With segments and two batches in flight, a full
   *  GC at 12 MiB ran after nearly every batch — 18% of the main thread; minor first at
   *  16 MiB: 1.016× on the 25 s outage test (24 MiB: 1.13-1.17×) at the unbounded
   *  throughput within noise on the file → Kafka bench; 0 = never — \`sluice up\` shares its
   *  process with roles that hold large buffers of their own). Above 0 the shipper also assumes a process of its
   *  own: it stops V8's young generation from growing and has V8 free dead Buffers during the
   *  GC itself (see freeBuffersAtGc). See shipper/gc.ts. */
  maxArrayBufferBytes?: number
  /** batches sent to Kafka and not yet acknowledged (default 2; one more is read and encoded
   *  meanwhile). With one, the shipper's main thread sat idle over half the time waiting for
   *  gzip and acks=all on the file → Kafka bench. Once the main thread no longer JSON-checked
   *  each line, 3 or 4 made 15-25% more lines/s there, but catching up after the 25 s outage
   *  test then peaked at 1.04-1.43× steady RSS over five runs with 3 (limit 1.2×), against
   *  1.03× with 2: memory flat while catching up comes first */
  maxBatchesInFlight?: number
  /** ship braced lines ({…}) in valid UTF-8 raw, in log segments (schemas/segment.ts),
   *  leaving their normalisation to the collector (default true). false = every line as a
   *  normalised v1 record, as before segments existed */
  segments?: boolean
  /** steady interval of progress records, per file tailed (ms, default 10,000; progress.ts) */
  progressIntervalMs?: number
  /** Kafka compression of the shipper's record batches (default gzip, at level 1). zstd is
   *  faster and smaller (on 8,192 pino lines: 3.6-3.8 ms and 45× against gzip's 4.8-5.5 ms
   *  and 13×; +11% lines/s in paired in-process runs), but catching up after the 60 s Kafka
   *  outage test it held more memory: recovery/steady RSS median 1.21× over nine runs (limit
   *  1.2×) against gzip's 1.10× over nine the same day, also with glibc's mmap threshold fixed
   *  at 512 KiB or 1 MiB or an 8 MiB Buffer bound — runs from before synchronous gzip and the
   *  Buffers freed during the GC, which brought gzip to 0.85-0.99× (README, "Compression") */
  compression?: Compression
  registry?: Registry
}

export interface Shipper {
  start (): Promise<void>
  stop (): Promise<void>
  readonly registry: Registry
}

// V8 doubles the young generation (up to 2 × 16 MB semi-spaces) when allocation speeds up, as
// it does while catching up, and keeps it: +16 MB RSS (1.30× steady with only the GC bound,
// 20 s outage). Its maximum is fixed at startup (--max-semi-space-size), but the growth factor
// is read each time V8 considers growing, so a dedicated shipper lets new space grow up to
// maxNewSpaceBytes and not beyond. (A growth factor of 1 throughout kept RSS at 1.06× but let
// V8 shrink new space to 2 MB and never grow it back: GC went from 14% to 25% of the shipper's
// main thread on the file → Kafka bench.)
const maxNewSpaceBytes = 16 * 1024 * 1024
let growthAllowed = true
function boundYoungGeneration (): void {
  const ns = v8.getHeapSpaceStatistics().find(s => s.space_name === 'new_space')
  if (ns === undefined) return
  const allow = ns.space_size < maxNewSpaceBytes
  if (allow === growthAllowed) return
  v8.setFlagsFromString(`--semi-space-growth-factor=${allow ? 2 : 1}`)
  growthAllowed = allow
}

// V8 frees the Buffers a GC found dead on a background thread, later: on 2 busy cores, often
// much later. A forced GC then did not lower `arrayBuffers` or RSS, and catching up after an
// outage RSS kept climbing past 1.3× steady. Freeing them during the GC itself makes the bound's
// forced GCs take effect at once. Drill of 2026-12-02 (a 330,000-line backlog appended at once
// to a tailed file): peak/steady RSS 1.33-1.36× with this flag alone against 1.40-1.74×, and
// 1.21-1.28× with the day's other changes (synchronous gzip, the Kafka thread's bound on its
// external memory; README "Memory while catching up"), at the same or more lines/s. The flag is
// process-wide, so a dedicated shipper only (maxArrayBufferBytes > 0), like boundYoungGeneration.
// (Setting it again, for a second shipper in the process, changes nothing.)
function freeBuffersAtGc (): void {
  v8.setFlagsFromString('--no-concurrent-array-buffer-sweeping')
}

export function createShipper (opts: ShipperOptions): Shipper {
  if (opts.globs.length === 0) throw new TypeError('createShipper: at least one glob is required')
  const host = opts.host ?? os.hostname()
  const topics = opts.topics ?? topicsFor()
  const registry = opts.registry ?? new Registry()
  const maxBatchBytes = opts.maxBatchBytes ?? 2 * 1024 * 1024
  const maxMessageBytes = opts.maxMessageBytes ?? 255 * 1024
  const maxBatchLines = opts.maxBatchLines ?? 8192
  const maxInFlight = Math.max(1, opts.maxBatchesInFlight ?? 2)
  const compression = opts.compression ?? 'gzip'
  const compressionWhy = compressionProblem(compression)
  if (compressionWhy !== null) throw new TypeError(`createShipper: compression ${JSON.stringify(compression)}: ${compressionWhy}`)
  const checkpointMs = opts.checkpointIntervalMs ?? 250
  const pollMs = opts.pollIntervalMs ?? 100
  const scanMs = opts.scanIntervalMs ?? 1000
  const maxArrayBuffers = opts.maxArrayBufferBytes ?? 16 * 1024 * 1024
  const checkpoints = createCheckpointStore(path.join(opts.dataDir, 'shipper', 'checkpoints.json'))
  const tailer = createTailer({
    globs: opts.globs,
    checkpoints,
    host,
    maxLineBytes: opts.maxLineBytes,
    onWarning: warn,
    onInfo: info,
    onDrop: (reason, n, at) => { m.dropped.inc({ reason }, n); if (at !== undefined) progress.dropped(at.fp, at.path, at.offset, at.offset + n, reason) },
    onLoss (loss) {
      progress.lost(loss)
      m.lostFiles.inc({ reason: loss.reason })
      if (loss.bytes !== null) m.lostBytes.inc({ reason: loss.reason }, loss.bytes)
      const how = loss.reason === 'compressed' ? 'was compressed' : 'is no longer in its directory (deleted, or compressed in a format whose content cannot be checked)'
      warn(`ship: lost the unread end of a rotated file: ${loss.path} (source ${loss.fp}) was read up to byte ${loss.offset} and ${how} before the shipper could finish it; ${loss.bytes === null ? 'an unknown number of' : loss.bytes} bytes lost — use logrotate's delaycompress, and keep rotated files longer than the shipper can be down`)
    },
    onSkip (reason, p, format) {
      m.skippedFiles.inc({ reason })
      info(`ship: skipping ${p}: ${format}-compressed (a glob matched it; its lines are shipped from the plain file before it is compressed)`)
    }
  })

  const progress = createProgressReporter({ host, topic: topics.logs, intervalMs: opts.progressIntervalMs, sources: () => tailer.sources(), serviceOf: p => serviceFor({ path: p } as Source), send: async tm => { await sender!.send(tm) }, onError: err => warn(`ship: progress report not sent (${err.message}); the next one carries the same state`) })
  const m = {
    lines: new Counter({ name: 'sluice_shipper_lines_total', help: 'Lines shipped to Kafka (acknowledged), by kind', labelNames: ['kind'], registers: [registry] }),
    bytes: new Counter({ name: 'sluice_shipper_bytes_total', help: 'Bytes of source files shipped (acknowledged)', registers: [registry] }),
    flagged: new Counter({ name: 'sluice_shipper_flagged_lines_total', help: 'Lines shipped with a flag (truncated, not_json, invalid_utf8, no_ts)', labelNames: ['flag'], registers: [registry] }),
    retries: new Counter({ name: 'sluice_shipper_send_retries_total', help: 'Kafka sends retried after a failure', registers: [registry] }),
    kafkaErrors: new Counter({ name: 'sluice_shipper_kafka_request_errors_total', help: 'Kafka requests that failed and were retried inside the producer, by type (a leader change: NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE, CONNECTION_ERROR to the lost broker)', labelNames: ['type'], registers: [registry] }),
    lag: new Gauge({ name: 'sluice_shipper_file_lag_bytes', help: 'Bytes of a file not yet acknowledged by Kafka, by source (the file\'s fingerprint, the `source` of its lines in /v1/logs)', labelNames: ['source'], registers: [registry] }),
    files: new Gauge({ name: 'sluice_shipper_files', help: 'Files currently tailed', registers: [registry] }),
    lostBytes: new Counter({ name: 'sluice_shipper_lost_bytes_total', help: 'Bytes of a started file lost because it was compressed or deleted before the shipper read its end (size at last sight, or uncompressed size, minus the acknowledged offset), by reason (compressed, deleted)', labelNames: ['reason'], registers: [registry] }),
    lostFiles: new Counter({ name: 'sluice_shipper_lost_files_total', help: 'Started files compressed or deleted before the shipper read their end, by reason; counted whether or not the lost bytes are known', labelNames: ['reason'], registers: [registry] }),
    skippedFiles: new Counter({ name: 'sluice_shipper_skipped_files_total', help: 'Files matched by a glob and not shipped, by reason (compressed)', labelNames: ['reason'], registers: [registry] }),
    dropped: new Counter({ name: 'sluice_shipper_dropped_bytes_total', help: 'Bytes that could not be shipped, by reason (partial_last_line: source bytes of a rotated/deleted file closed mid-line; message_too_large: NDJSON bytes of a message Kafka refused even alone)', labelNames: ['reason'], registers: [registry] }),
    checkpointAge: new Gauge({ name: 'sluice_shipper_checkpoint_age_seconds', help: 'Seconds since a checkpoint last advanced while some file has unshipped bytes (0 when caught up)', registers: [registry] }),
    errors: new Counter({ name: 'sluice_shipper_loop_errors_total', help: 'Unexpected errors in the ship loop (each followed by a resume 1 s later)', registers: [registry] }),
    splits: new Counter({ name: 'sluice_shipper_batch_splits_total', help: 'Batches Kafka refused as too large and that were re-sent one message per request', registers: [registry] }),
    forcedGcs: new Counter({ name: 'sluice_shipper_forced_gcs_total', help: 'GCs the shipper ran because a thread\'s Buffer memory exceeded maxArrayBufferBytes (catching up; main thread: arrayBuffers, Kafka thread: external): a minor GC first, a major one when that was not enough', labelNames: ['type'], registers: [registry] }),
    arrayBuffers: new Gauge({ name: 'sluice_shipper_array_buffer_bytes', help: 'process.memoryUsage().arrayBuffers of the main thread plus the Kafka thread\'s, after the last acknowledged batch (each thread bounded by maxArrayBufferBytes through forced GCs)', registers: [registry] }),
    inFlightBytes: new Gauge({ name: 'sluice_shipper_in_flight_bytes', help: 'Source bytes of the batches being sent to Kafka (bounded by maxBatchesInFlight × maxBatchBytes; one more batch may wait encoded)', registers: [registry] })
  }
  let lastAdvanceAt = Date.now()
  let lastSaveAt = 0
  function saveCheckpoints (): void {
    checkpoints.save()
    lastSaveAt = Date.now()
  }

  let sender: Sender | null = null
  // the worker's own Buffer bytes and forced GCs, as of its last acknowledged batch
  let workerArrayBuffers = 0
  const workerGcs = { minor: 0, major: 0 }
  let running = false
  let loop: Promise<void> | null = null
  let wake: (() => void) | null = null
  let stopped = false
  // gauges on their own timer: the loop blocks in send() while Kafka is down, which is
  // exactly when lag and checkpoint age must keep moving
  let gaugeTimer: NodeJS.Timeout | null = null

  const sleep = (ms: number): Promise<void> => new Promise(resolve => {
    const t = setTimeout(() => { wake = null; resolve() }, ms)
    wake = () => { clearTimeout(t); wake = null; resolve() }
  })

  function serviceFor (s: Source): string {
    return opts.service ?? path.basename(path.dirname(s.path))
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

  async function send (messagesByTopic: Map<string, Map<string, Buffer[]>>): Promise<void> {
    const topicMessages: WireTopicMessages = []
    for (const [topic, byKey] of messagesByTopic) {
      const messages = []
      for (const [key, chunks] of byKey) for (const value of chunks) messages.push({ key, value, headers: { 'content-type': isSegment(value) ? segmentContentType : contentTypeHeader } })
      topicMessages.push({ topic, messages })
    }
    await sender!.send(topicMessages)
  }

  let lastScan = 0
  function scanIfDue (): void {
    const now = Date.now()
    if (now - lastScan >= scanMs) { tailer.scan(); lastScan = now }
  }

  function complete (batch: EncodedBatch): void {
    for (const { source, endOffset } of batch.acks) tailer.ack(source, endOffset)
    if (Date.now() - lastSaveAt >= checkpointMs) saveCheckpoints()
    lastAdvanceAt = Date.now()
    m.lines.inc({ kind: 'log' }, batch.counts.log)
    m.lines.inc({ kind: 'stats' }, batch.counts.stats)
    m.bytes.inc(batch.srcBytes)
    for (const [f, n] of Object.entries(batch.flagged)) m.flagged.inc({ flag: f }, n)
    collectIfOver()
  }

  // Catching up after an outage, the shipper allocates Buffers at ~10× the source rate (read
  // chunks and message values here; kafkajs copies each value into a per-record encoder, then
  // into the records encoder, then compresses — on the Kafka thread, which bounds its own
  // memory the same way, counting `external`). Buffers that live across awaits survive scavenges and are promoted, so V8
  // frees them only at a full GC — which it triggers on external memory only ~64 MB above the
  // last one. Measured (30 s outage, 5,000 lines/s, before the Kafka thread): arrayBuffers
  // 3 → 46 MB and RSS 1.77× steady while catching up. A GC of a small heap costs a few ms, so
  // collecting whenever arrayBuffers exceed a small bound keeps memory flat. (Node counts a
  // value transferred to the Kafka thread against this thread until the Kafka thread frees it:
  // a GC here cannot free those, so while catching up some of this thread's forced GCs are
  // wasted; left so, since this thread is busy only 50-70% of the time while shipping.)
  function collectIfOver (): void {
    if (maxArrayBuffers <= 0) return
    boundYoungGeneration()
    const ab = process.memoryUsage().arrayBuffers
    m.arrayBuffers.set(ab + workerArrayBuffers)
    if (ab <= maxArrayBuffers) return
    // most of these Buffers died young (read chunks and records of batches already handed to
    // the worker): a scavenge frees them for ~1 ms; only what survived it needs a full GC
    gc('minor')
    m.forcedGcs.inc({ type: 'minor' })
    const after = process.memoryUsage().arrayBuffers
    m.arrayBuffers.set(after + workerArrayBuffers)
    if (after <= maxArrayBuffers) return
    gc('major')
    m.forcedGcs.inc({ type: 'major' })
  }

  // maxBatchesInFlight batches in flight to Kafka while the next is read and encoded (the CPU
  // work overlaps the network and compression). Batches complete (checkpoint) strictly in
  // order: batch N+1's lines are checkpointed only once N's were acknowledged too, so a
  // checkpoint never skips lines. If N fails and N+1 lands, a restart re-sends both: duplicates
  // in Kafka, removed downstream by the lines' identity like any replay.
  async function runLoop (): Promise<void> {
    const batchCtx = { host, topics, maxMessageBytes, serviceFor, segments: opts.segments }
    const inFlight: Array<{ batch: EncodedBatch, sent: Promise<void> }> = []
    const inFlightBytes = (): number => inFlight.reduce((n, f) => n + f.batch.srcBytes, 0)
    // nothing is in flight here: lines read before an error ended the last run and not
    // acknowledged are read again (a send that failed took them with it)
    tailer.rewind()
    try {
      while (running) {
        scanIfDue()
        const reads = tailer.read(maxBatchBytes, maxBatchLines)
        const next = reads.length === 0 ? null : encodeBatch(reads, batchCtx)
        reads.length = 0 // the lines' buffers are garbage from here on, even while Kafka is retried
        collectIfOver()
        // the oldest batch completes first, so checkpoints advance in file order whatever order
        // Kafka acknowledges in
        while (inFlight.length > 0 && (next === null || inFlight.length >= maxInFlight)) {
          const done = inFlight.shift()!
          await done.sent
          complete(done.batch)
        }
        if (next === null) { m.inFlightBytes.set(0); saveCheckpoints(); await sleep(pollMs); continue }
        const sent = next.byTopic.size > 0 ? send(next.byTopic) : Promise.resolve()
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
    registry,
    async start () {
      if (running) return
      if (maxArrayBuffers > 0) freeBuffersAtGc()
      sender = createSender({ brokers: opts.brokers, clientId: `sluice-shipper-${host}`, compression, maxInFlight, maxArrayBufferBytes: maxArrayBuffers }, {
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
        onMemory (arrayBuffers, gcs) {
          workerArrayBuffers = arrayBuffers
          for (const type of ['minor', 'major'] as const) {
            if (gcs[type] > workerGcs[type]) m.forcedGcs.inc({ type }, gcs[type] - workerGcs[type])
            workerGcs[type] = gcs[type]
          }
        }
      })
      await sender.connect()
      running = true
      progress.start()
      // scanning here too keeps new files (a spool rotating during an outage) visible in the lag
      // gauges while the loop waits on Kafka; scan() never closes a file with unacked lines
      // (and a checkpoint acknowledged but not yet written, when the loop waits on a retry)
      gaugeTimer = setInterval(() => {
        scanIfDue(); tailer.refreshSizes(); updateGauges()
        // a failing write (full disk) is the loop's to report, on its next save
        if (Date.now() - lastSaveAt >= checkpointMs) { try { saveCheckpoints() } catch {} }
      }, 1000)
      gaugeTimer.unref()
      info(`ship: tailing ${opts.globs.join(' ')} → Kafka ${opts.brokers.join(',')}`)
      // an unexpected error (a checkpoint write failing on a full disk, say) must not leave a
      // live process that silently ships nothing: count it, say it, resume from the acks
      loop = (async () => {
        while (running) {
          try { await runLoop() } catch (err) {
            if (!running) break
            m.errors.inc()
            warn(`ship: ${(err as Error).message}; resuming in 1 s`)
            await sleep(1000)
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
      wake?.()
      await loop
      await progress.stop() // what was acknowledged, before the sender goes
      tailer.close() // first: it marks rotated files read to their end as finished
      checkpoints.save()
      await sender?.close().catch(() => {})
    }
  }
}
