// The shipper's Kafka producer, on a thread of its own (see sender.ts for why and for the
// protocol). Everything that touches kafkajs lives here: encoding the record batches (copies,
// zero-filled growth, CRC32C in JS), gzip and the acks=all round trips, the retries with
// backoff while Kafka is down, and the split of a batch Kafka refuses as too large. The
// thread holds the message values it was given until Kafka acknowledged them, and keeps its
// own Buffer memory bounded the way the main thread does (forced minor/major GCs).
import { parentPort } from 'node:worker_threads'
import zlib from 'node:zlib'
import { promisify } from 'node:util'
import kafkajs, { CompressionTypes, type Producer } from 'kafkajs'
import { createKafka } from '../platform/kafka.js'
import { gc } from './gc.js'
import type { ToWorker, FromWorker, WireTopicMessages } from './sender.js'

// kafkajs gzips at zlib's default level 6. On NDJSON log batches level 1 measured ~3.5×
// faster for a 3% larger output (55 MiB of records: 261-353 ms → 75-93 ms, 3.0 → 3.1 MiB),
// so the shipper registers a level-1 codec — in this thread's own kafkajs, which only this
// producer uses. zlib hands its output back 16 KiB at a time by default, one thread-pool round
// trip and one callback each; gzip at level 1 shrinks log lines ~5-10×, so an output chunk of
// a quarter of the input (≥ 16 KiB, ≤ 1 MiB) takes one or two.
const gzipChunk = (n: number): number => Math.min(1 << 20, Math.max(16 * 1024, n >> 2))
const gzip1 = promisify((buf: Buffer, cb: (err: Error | null, out: Buffer) => void) => zlib.gzip(buf, { level: 1, chunkSize: gzipChunk(buf.length) }, cb))
const unzip = promisify(zlib.unzip)
// (kafkajs is CommonJS and Node's ESM loader does not detect CompressionCodecs as a named export)
kafkajs.CompressionCodecs[CompressionTypes.GZIP] = () => ({
  compress: async (encoder: { buffer: Buffer }) => await gzip1(encoder.buffer),
  decompress: async (buf: Buffer) => await unzip(buf)
})

const port = parentPort
if (port === null) throw new Error('shipper/send-worker.js runs as a worker thread of the shipper')

let producer: Producer | null = null
let running = true
let maxArrayBuffers = 0
// fault injection (tests, drills): this thread exits once Kafka acknowledged this many batches,
// before it reports the last one (see SLUICE_FAULT_SHIPPER_WORKER_EXIT in sender.ts)
let exitAfter = 0
let acknowledged = 0
const gcs = { minor: 0, major: 0 }
const wakes = new Set<() => void>()
const post = (m: FromWorker): void => { port.postMessage(m) }

const sleep = (ms: number): Promise<void> => new Promise(resolve => {
  const wake = (): void => { clearTimeout(t); wakes.delete(wake); resolve() }
  const t = setTimeout(wake, ms)
  wakes.add(wake)
})

// Kafka refuses a request over its size limits (message.max.bytes, 1 MiB by default) with
// a non-retriable error; retrying the same batch would stall the host's shipping forever
function tooLarge (err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 4) return false
  const e = err as { type?: string, cause?: unknown, originalError?: unknown, errors?: unknown[] }
  if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true
  if (Array.isArray(e.errors) && e.errors.some(x => tooLarge(x, depth + 1))) return true
  return tooLarge(e.cause ?? e.originalError, depth + 1)
}

/** true once Kafka acknowledged; false when Kafka refused it as too large; retries anything
 *  else until it lands or the shipper stops (then throws) */
async function sendWithRetry (topicMessages: WireTopicMessages): Promise<boolean> {
  let attempt = 0
  for (;;) {
    try {
      await producer!.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.GZIP, timeout: 30000 })
      return true
    } catch (err) {
      if (!running) throw err
      if (tooLarge(err)) return false
      attempt++
      const delay = Math.min(10000, 200 * 2 ** Math.min(attempt, 6))
      post({ op: 'retry', attempt, delay, message: (err as Error).message })
      await sleep(delay)
    }
  }
}

async function send (topicMessages: WireTopicMessages): Promise<void> {
  if (await sendWithRetry(topicMessages)) return
  // refused as too large: one message (≤ maxMessageBytes of records) per request instead
  post({ op: 'split' })
  for (const { topic, messages } of topicMessages) {
    for (const msg of messages) {
      if (await sendWithRetry([{ topic, messages: [msg] }])) continue
      // one message alone is over the broker's limit: drop it loudly rather than stall the host
      post({ op: 'dropped', topic, bytes: msg.value.length, head: msg.value.subarray(0, 300).toString() })
    }
  }
}

// Catching up after an outage, kafkajs allocates Buffers at several times the source rate
// (each value copied into a per-record encoder, then into a doubling records encoder, then
// compressed). A batch's buffers live across awaits, survive scavenges and are promoted, so
// V8 frees them only at a full GC, ~64 MB of external memory after the last one. Collecting
// whenever this thread's ArrayBuffers pass the bound keeps memory flat: a minor GC first (most
// died young), a full one when that was not enough.
function collect (type: 'minor' | 'major'): void {
  gc(type)
  gcs[type]++
}

function collectIfOver (): number {
  let ab = process.memoryUsage().arrayBuffers
  if (maxArrayBuffers <= 0 || ab <= maxArrayBuffers) return ab
  collect('minor')
  ab = process.memoryUsage().arrayBuffers
  if (ab <= maxArrayBuffers) return ab
  collect('major')
  return process.memoryUsage().arrayBuffers
}

port.on('message', (m: ToWorker) => {
  switch (m.op) {
    case 'connect': {
      maxArrayBuffers = m.maxArrayBufferBytes
      exitAfter = m.exitAfter
      const kafka = createKafka(m.brokers, m.clientId, { retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3000 } })
      producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: m.maxInFlight })
      producer.connect().then(
        () => post({ op: 'connected' }),
        (err: Error) => post({ op: 'connect-failed', message: err.message })
      )
      break
    }
    case 'send': {
      // values arrive as Uint8Arrays (structured clone); kafkajs wants Buffers
      const topicMessages: WireTopicMessages = m.topicMessages.map(t => ({
        topic: t.topic,
        messages: t.messages.map(x => ({ key: x.key, value: Buffer.from(x.value.buffer, x.value.byteOffset, x.value.byteLength), headers: x.headers }))
      }))
      send(topicMessages).then(
        () => {
          if (exitAfter > 0 && ++acknowledged >= exitAfter) process.exit(70)
          const arrayBuffers = collectIfOver()
          post({ op: 'done', id: m.id, ok: true, arrayBuffers, gcs: { ...gcs } })
        },
        (err: Error) => post({ op: 'done', id: m.id, ok: false, message: err.message })
      )
      break
    }
    case 'stop':
      running = false
      for (const w of [...wakes]) w()
      break
    case 'disconnect':
      (producer?.disconnect() ?? Promise.resolve()).catch(() => {}).finally(() => post({ op: 'disconnected' }))
      break
  }
})
