// `sluice ship` — one per host.
//   globs ──tailer──▶ whole lines ──normalize (v1)──▶ NDJSON messages (≤ 256 KiB, key = host)
//        ──kafkajs (acks=all, gzip)──▶ sluice.logs.v1 / sluice.stats.v1 ──ack──▶ checkpoints
// Exactly one batch is in flight: when Kafka is slow or down the shipper stops reading and
// the log files themselves are the buffer, so memory stays flat whatever the backlog.
import os from 'node:os'
import path from 'node:path'
import { CompressionTypes, type Producer } from 'kafkajs'
import { Counter, Gauge, Registry } from 'prom-client'
import { createKafka } from '../platform/kafka.js'
import { topicsFor, contentTypeHeader, type Topics } from '../schemas/topics.js'
import { decodeLine, normalizeLine } from '../schemas/normalize.js'
import { createCheckpointStore } from './checkpoint.js'
import { createTailer, type Source } from './tailer.js'
import { info, warn } from '../platform/log.js'

export interface ShipperOptions {
  brokers: string[]
  topics?: Topics
  globs: string[]
  dataDir: string
  /** service name for lines that carry none (default: the file's parent directory name) */
  service?: string
  host?: string
  maxLineBytes?: number
  /** source bytes read per batch — the one batch in flight (default 1 MiB: records, NDJSON
   *  messages and kafkajs' encoded copy cost several times the source bytes; with 4 MiB the
   *  shipper's RSS doubled while catching up after an outage) */
  maxBatchBytes?: number
  /** max NDJSON bytes per Kafka message (default 256 KiB) */
  maxMessageBytes?: number
  pollIntervalMs?: number
  scanIntervalMs?: number
  registry?: Registry
}

export interface Shipper {
  start (): Promise<void>
  stop (): Promise<void>
  readonly registry: Registry
}

export function createShipper (opts: ShipperOptions): Shipper {
  if (opts.globs.length === 0) throw new TypeError('createShipper: at least one glob is required')
  const host = opts.host ?? os.hostname()
  const topics = opts.topics ?? topicsFor()
  const registry = opts.registry ?? new Registry()
  const maxBatchBytes = opts.maxBatchBytes ?? 1024 * 1024
  const maxMessageBytes = opts.maxMessageBytes ?? 256 * 1024
  const pollMs = opts.pollIntervalMs ?? 100
  const scanMs = opts.scanIntervalMs ?? 1000
  const checkpoints = createCheckpointStore(path.join(opts.dataDir, 'shipper', 'checkpoints.json'))
  const tailer = createTailer({ globs: opts.globs, checkpoints, host, maxLineBytes: opts.maxLineBytes, onWarning: warn, onDrop: (reason, n) => m.dropped.inc({ reason }, n) })

  const m = {
    lines: new Counter({ name: 'sluice_shipper_lines_total', help: 'Lines shipped to Kafka (acknowledged), by kind', labelNames: ['kind'], registers: [registry] }),
    bytes: new Counter({ name: 'sluice_shipper_bytes_total', help: 'Bytes of source files shipped (acknowledged)', registers: [registry] }),
    flagged: new Counter({ name: 'sluice_shipper_flagged_lines_total', help: 'Lines shipped with a flag (truncated, not_json, invalid_utf8, no_ts)', labelNames: ['flag'], registers: [registry] }),
    retries: new Counter({ name: 'sluice_shipper_send_retries_total', help: 'Kafka sends retried after a failure', registers: [registry] }),
    lag: new Gauge({ name: 'sluice_shipper_file_lag_bytes', help: 'Bytes of a file not yet acknowledged by Kafka', labelNames: ['path'], registers: [registry] }),
    files: new Gauge({ name: 'sluice_shipper_files', help: 'Files currently tailed', registers: [registry] }),
    dropped: new Counter({ name: 'sluice_shipper_dropped_bytes_total', help: 'Bytes that could not be shipped, by reason (partial_last_line: a rotated/deleted file closed mid-line)', labelNames: ['reason'], registers: [registry] }),
    checkpointAge: new Gauge({ name: 'sluice_shipper_checkpoint_age_seconds', help: 'Seconds since a checkpoint last advanced while some file has unshipped bytes (0 when caught up)', registers: [registry] }),
    inFlightBytes: new Gauge({ name: 'sluice_shipper_in_flight_bytes', help: 'Source bytes read and not yet acknowledged by Kafka (bounded by maxBatchBytes)', registers: [registry] })
  }
  let lastAdvanceAt = Date.now()

  let producer: Producer | null = null
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
      m.lag.set({ path: s.path }, lag)
    }
    m.files.set(tailer.sources().length)
    // an idle, caught-up file is not "old": age only counts while bytes wait to be shipped
    m.checkpointAge.set(lagTotal === 0 ? 0 : (Date.now() - lastAdvanceAt) / 1000)
  }

  async function send (messagesByTopic: Map<string, Map<string, string[]>>): Promise<void> {
    const topicMessages = []
    for (const [topic, byKey] of messagesByTopic) {
      const messages = []
      for (const [key, chunks] of byKey) for (const value of chunks) messages.push({ key, value, headers: { 'content-type': contentTypeHeader } })
      topicMessages.push({ topic, messages })
    }
    let attempt = 0
    for (;;) {
      try {
        await producer!.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.GZIP, timeout: 30000 })
        return
      } catch (err) {
        if (!running) throw err
        attempt++
        m.retries.inc()
        const delay = Math.min(10000, 200 * 2 ** Math.min(attempt, 6))
        if (attempt === 1 || attempt % 10 === 0) warn(`ship: Kafka send failed (${(err as Error).message}); retry ${attempt} in ${delay} ms — files are the buffer, nothing is lost`)
        await sleep(delay)
      }
    }
  }

  async function runLoop (): Promise<void> {
    let lastScan = 0
    while (running) {
      const now = Date.now()
      if (now - lastScan >= scanMs) { tailer.scan(); lastScan = now }
      const reads = tailer.read(maxBatchBytes)
      if (reads.length === 0) { checkpoints.save(); await sleep(pollMs); continue }
      // group into NDJSON chunks per (topic, host key)
      const byTopic = new Map<string, Map<string, string[]>>()
      const open = new Map<string, { parts: string[], bytes: number }>()
      const counts = { log: 0, stats: 0 }
      let srcBytes = 0
      const flagged: Record<string, number> = {}
      for (const { source, lines } of reads) {
        const service = serviceFor(source)
        for (const line of lines) {
          srcBytes += line.buf.length + 1
          const { text, validUtf8 } = decodeLine(line.buf)
          const rec = normalizeLine(text, { host, service, src: source.fp, path: source.path, off: line.off, now: Date.now(), truncated: line.truncated }, validUtf8)
          const topic = rec.kind === 'stats' ? topics.stats : topics.logs
          counts[rec.kind]++
          if (rec.kind === 'log') for (const f of rec.flags) flagged[f] = (flagged[f] ?? 0) + 1
          const json = JSON.stringify(rec)
          const k = `${topic}\0${rec.host}`
          let cur = open.get(k)
          if (cur === undefined || cur.bytes + json.length > maxMessageBytes) {
            if (cur !== undefined) push(byTopic, topic, rec.host, cur.parts.join('\n'))
            cur = { parts: [], bytes: 0 }
            open.set(k, cur)
          }
          cur.parts.push(json)
          cur.bytes += json.length + 1
        }
      }
      for (const [k, cur] of open) {
        const [topic, key] = k.split('\0')
        if (cur.parts.length > 0) push(byTopic, topic, key, cur.parts.join('\n'))
      }
      m.inFlightBytes.set(srcBytes)
      if (byTopic.size > 0) await send(byTopic)
      for (const { source, endOffset } of reads) tailer.ack(source, endOffset)
      checkpoints.save()
      lastAdvanceAt = Date.now()
      m.inFlightBytes.set(0)
      m.lines.inc({ kind: 'log' }, counts.log)
      m.lines.inc({ kind: 'stats' }, counts.stats)
      m.bytes.inc(srcBytes)
      for (const [f, n] of Object.entries(flagged)) m.flagged.inc({ flag: f }, n)
    }
  }

  function push (byTopic: Map<string, Map<string, string[]>>, topic: string, key: string, value: string): void {
    let byKey = byTopic.get(topic)
    if (byKey === undefined) { byKey = new Map(); byTopic.set(topic, byKey) }
    let list = byKey.get(key)
    if (list === undefined) { list = []; byKey.set(key, list) }
    list.push(value)
  }

  return {
    registry,
    async start () {
      if (running) return
      const kafka = createKafka(opts.brokers, `sluice-shipper-${host}`, { retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3000 } })
      producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 1 })
      await producer.connect()
      running = true
      gaugeTimer = setInterval(() => { tailer.refreshSizes(); updateGauges() }, 1000)
      gaugeTimer.unref()
      info(`ship: tailing ${opts.globs.join(' ')} → Kafka ${opts.brokers.join(',')}`)
      loop = runLoop().catch(err => {
        if (running) warn(`ship: stopped on error: ${(err as Error).message}`)
      })
    },
    async stop () {
      if (stopped) return
      stopped = true
      running = false
      if (gaugeTimer !== null) clearInterval(gaugeTimer)
      wake?.()
      await loop
      checkpoints.save()
      tailer.close()
      await producer?.disconnect().catch(() => {})
    }
  }
}
