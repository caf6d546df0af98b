// The shipper's Kafka producer, on a thread of its own (see sender.ts for why and for the
// protocol). Everything that touches kafkajs lives here: encoding the record batches (copies,
// CRC32C in JS), compression (gzip level 1 by default, synchronous on this thread; codecs
// in platform/kafka-codecs.ts) and the acks=all round trips, the retries with
// backoff while Kafka is down, and the split of a batch Kafka refuses as too large. The
// thread holds the message values it was given until Kafka acknowledged them, and bounds its
// Buffer memory with forced minor/major GCs as the main thread does, counting `external`
// (below).
import { parentPort } from 'node:worker_threads'
import { type Producer } from 'kafkajs'
import { createKafka } from '../platform/kafka.js'
import { compressionType, type Compression } from '../platform/kafka-codecs.js'
import { gc } from '../platform/gc.js'
import { collectIfOver } from './memory-bound.js'
import type { ToWorker, FromWorker, WireTopicMessages } from './sender.js'

const port = parentPort
if (port === null) throw new Error('shipper/send-worker.js runs as a worker thread of the shipper')

let producer: Producer | null = null
let compression: Compression = 'gzip'
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

// the kafkajs error or one of its causes has one of these Kafka error types
function hasType (err: unknown, types: string[], depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 4) return false
  const e = err as { type?: string, cause?: unknown, originalError?: unknown, errors?: unknown[] }
  if (e.type !== undefined && types.includes(e.type)) return true
  if (Array.isArray(e.errors) && e.errors.some(x => hasType(x, types, depth + 1))) return true
  return hasType(e.cause ?? e.originalError, types, depth + 1)
}
// Kafka refuses a request over its size limits (message.max.bytes, 1 MiB by default) with
// a non-retriable error; retrying the same batch would stall the host's shipping forever
const tooLarge = (err: unknown): boolean => hasType(err, ['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'])

/** true once Kafka acknowledged; false when Kafka refused it as too large; retries anything
 *  else until it lands or the shipper stops (then throws) */
async function sendWithRetry (topicMessages: WireTopicMessages): Promise<boolean> {
  let attempt = 0
  for (;;) {
    try {
      await producer!.sendBatch({ topicMessages, acks: -1, compression: compressionType(compression), timeout: 30000 })
      return true
    } catch (err) {
      if (!running) throw err
      if (tooLarge(err)) return false
      attempt++
      const delay = Math.min(10000, 200 * 2 ** Math.min(attempt, 6))
      // a broker older than Kafka 2.1 refuses zstd: retried like any error (nothing is lost),
      // with the fix in the message
      const hint = hasType(err, ['UNSUPPORTED_COMPRESSION_TYPE']) ? ` — this broker does not accept ${compression}; restart the shipper with --compression gzip` : ''
      post({ op: 'retry', attempt, delay, message: (err as Error).message + hint })
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

// The memory bound (memory-bound.ts) counts this thread's `external`, not `arrayBuffers`: Node
// counts a Buffer against the thread that allocated it, so the message values the main thread
// transferred here (half of what this thread holds while catching up) are in this thread's
// external memory but in the main thread's arrayBuffers.
/** runs the GCs the bound calls for; returns this thread's own arrayBuffers afterwards (the
 *  gauge adds the main thread's, which counts the values) */
function boundMemory (): number {
  let mem: NodeJS.MemoryUsage | null = null
  const measure = (): number => { mem = process.memoryUsage(); return mem.external }
  const ran = collectIfOver(maxArrayBuffers, measure, type => { gc(type); gcs[type]++ })
  const after: NodeJS.MemoryUsage | null = ran.includes('major') ? null : mem
  return (after ?? process.memoryUsage()).arrayBuffers
}

port.on('message', (m: ToWorker) => {
  switch (m.op) {
    case 'connect': {
      maxArrayBuffers = m.maxArrayBufferBytes
      compression = m.compression
      exitAfter = m.exitAfter
      const kafka = createKafka(m.brokers, m.clientId, { retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 3000 } }, type => post({ op: 'request-error', type }))
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
      // the callbacks below keep only the id: holding `m` would keep this batch's values alive
      // through the GC that collectIfOver runs once Kafka acknowledged them
      const id = m.id
      send(topicMessages).then(
        () => {
          if (exitAfter > 0 && ++acknowledged >= exitAfter) process.exit(70)
          const arrayBuffers = boundMemory()
          post({ op: 'done', id, ok: true, arrayBuffers, gcs: { ...gcs } })
        },
        (err: Error) => post({ op: 'done', id, ok: false, message: err.message })
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
