// The shipper's Kafka producer runs on a worker thread (send-worker.ts). The main thread
// tails, checks and cuts lines into messages; kafkajs' work on those messages — encoding record
// batches, CRC32C, gzip, acks=all round trips, and the garbage all of that makes — was the
// largest share of the main thread while a second core sat mostly idle
// (docs/design/2026-12-01-shipper-main-thread.md). Message values move to the worker without a
// copy (their memory is transferred); the worker retries, splits and reports back; the main
// thread keeps the order of completions, the checkpoints and the metrics, exactly as when it sent
// the batches itself.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Compression } from '../platform/kafka-codecs.js'

export type WireTopicMessages = Array<{ topic: string, messages: Array<{ key: string, value: Buffer, headers: Record<string, string> }> }>

export type ToWorker =
  | { op: 'connect', brokers: string[], clientId: string, compression: Compression, maxInFlight: number, maxArrayBufferBytes: number, exitAfter: number }
  | { op: 'send', id: number, topicMessages: Array<{ topic: string, messages: Array<{ key: string, value: Uint8Array, headers: Record<string, string> }> }> }
  | { op: 'stop' }
  | { op: 'disconnect' }

export type FromWorker =
  | { op: 'connected' }
  | { op: 'connect-failed', message: string }
  | { op: 'retry', attempt: number, delay: number, message: string }
  | { op: 'request-error', type: string }
  | { op: 'split' }
  | { op: 'dropped', topic: string, bytes: number, head: string }
  | { op: 'done', id: number, ok: true, arrayBuffers: number, gcs: { minor: number, major: number } }
  | { op: 'done', id: number, ok: false, message: string }
  | { op: 'disconnected' }

export interface SenderEvents {
  onRetry: (attempt: number, delay: number, message: string) => void
  onSplit: () => void
  /** a Kafka request failed inside kafkajs (which retries it): type as in platform/kafka.ts */
  onRequestError: (type: string) => void
  onDropped: (topic: string, bytes: number, head: string) => void
  /** after each acknowledged batch: the worker's ArrayBuffer bytes and its forced GCs so far */
  onMemory: (arrayBuffers: number, gcs: { minor: number, major: number }) => void
}

export interface Sender {
  connect (): Promise<void>
  /** resolves once Kafka acknowledged every message (or dropped one it refused even alone);
   *  rejects only after stop() (or if the worker thread died). Values are moved to the worker
   *  when they own their memory: the caller must not use them afterwards. */
  send (topicMessages: WireTopicMessages): Promise<void>
  /** failing sends stop retrying and reject */
  stop (): void
  close (): Promise<void>
}

/** dist/shipper/send-worker.js — also when this module runs from its TypeScript source (the
 *  tests): a worker thread needs JavaScript, which `tsc -p .` puts under dist/ */
function workerFile (): string {
  const here = fileURLToPath(import.meta.url)
  const dir = path.dirname(here)
  const file = here.endsWith('.ts')
    ? path.join(dir, '..', 'dist', 'shipper', 'send-worker.js')
    : path.join(dir, 'send-worker.js')
  if (!fs.existsSync(file)) throw new Error(`the shipper's Kafka worker ${file} is missing — build first: npx tsc -p .`)
  return file
}

// A dedicated shipper keeps its threads' young generations small (see boundYoungGeneration in
// ship.ts): V8 grows a young generation while allocation is fast, as it is while catching up
// after an outage, and keeps it; the worker's is capped at creation
const youngGenerationMb = 16

// Fault injection for tests and drills, off unless set: SLUICE_FAULT_SHIPPER_WORKER_EXIT=N makes
// the first worker thread exit right after Kafka acknowledged its N-th batch, before it reports
// that batch — the main thread must re-read and re-send what was not reported (duplicates in
// Kafka, removed downstream by the lines' identity), and lose nothing.
function workerExitFault (): number {
  const v = process.env.SLUICE_FAULT_SHIPPER_WORKER_EXIT
  if (v === undefined || v === '') return 0
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1) throw new Error(`SLUICE_FAULT_SHIPPER_WORKER_EXIT must be a whole number ≥ 1, got ${JSON.stringify(v)}`)
  return n
}

export function createSender (opts: { brokers: string[], clientId: string, compression: Compression, maxInFlight: number, maxArrayBufferBytes: number }, ev: SenderEvents): Sender {
  let exitFault = workerExitFault()
  let worker: Worker | null = null
  /** the current thread's connect, awaited by every send (a send must not reach a producer
   *  that is still connecting) */
  let connected: Promise<void> = Promise.resolve()
  let nextId = 1
  const pending = new Map<number, { resolve: () => void, reject: (err: Error) => void }>()
  let waitConnect: { resolve: () => void, reject: (err: Error) => void } | null = null
  let waitClose: (() => void) | null = null

  function failAll (err: Error): void {
    for (const p of pending.values()) p.reject(err)
    pending.clear()
    waitConnect?.reject(err)
    waitConnect = null
    waitClose?.()
    waitClose = null
  }

  function spawn (): Worker {
    const w = new Worker(workerFile(), opts.maxArrayBufferBytes > 0 ? { resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb } } : {})
    w.on('message', (m: FromWorker) => {
      switch (m.op) {
        case 'connected': waitConnect?.resolve(); waitConnect = null; break
        case 'connect-failed': waitConnect?.reject(new Error(m.message)); waitConnect = null; break
        case 'retry': ev.onRetry(m.attempt, m.delay, m.message); break
        case 'request-error': ev.onRequestError(m.type); break
        case 'split': ev.onSplit(); break
        case 'dropped': ev.onDropped(m.topic, m.bytes, m.head); break
        case 'done': {
          const p = pending.get(m.id)
          pending.delete(m.id)
          if (m.ok) { ev.onMemory(m.arrayBuffers, m.gcs); p?.resolve() } else p?.reject(new Error(m.message))
          break
        }
        case 'disconnected': waitClose?.(); waitClose = null; break
      }
    })
    // whatever ends the thread, every batch it held is failed (the ship loop re-reads them from
    // the last acknowledged offsets) and the next send starts a new thread
    const died = (err: Error): void => { if (worker === w) { worker = null; failAll(err) } }
    w.on('error', (err: Error) => died(new Error(`the shipper's Kafka worker thread failed: ${err.message}`)))
    w.on('exit', code => died(new Error(`the shipper's Kafka worker thread exited (code ${code})`)))
    return w
  }

  const post = (m: ToWorker, transfer: ArrayBuffer[] = []): void => { worker!.postMessage(m, transfer) }

  async function connect (): Promise<void> {
    worker = spawn()
    connected = new Promise<void>((resolve, reject) => {
      waitConnect = { resolve, reject }
      post({ op: 'connect', brokers: opts.brokers, clientId: opts.clientId, compression: opts.compression, maxInFlight: opts.maxInFlight, maxArrayBufferBytes: opts.maxArrayBufferBytes, exitAfter: exitFault })
      exitFault = 0
    }).catch(async (err: Error) => { await close(); throw err })
    await connected
  }

  async function close (): Promise<void> {
    const w = worker
    if (w === null) return
    await new Promise<void>(resolve => {
      waitClose = resolve // (also when the thread dies meanwhile)
      post({ op: 'disconnect' })
    })
    worker = null
    await w.terminate()
  }

  return {
    connect,
    async send (topicMessages) {
      if (worker === null) await connect() // the worker died (reported by the last send): a new one
      else await connected
      const id = nextId++
      const transfer: ArrayBuffer[] = []
      const seen = new Set<ArrayBuffer>()
      for (const t of topicMessages) {
        for (const msg of t.messages) {
          const b = msg.value
          // only a Buffer that owns all of its ArrayBuffer moves; a small one may sit in Node's
          // shared allocation pool and is copied instead
          if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer && !seen.has(b.buffer)) {
            seen.add(b.buffer)
            transfer.push(b.buffer)
          }
        }
      }
      return await new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        post({ op: 'send', id, topicMessages }, transfer)
      })
    },
    stop () { if (worker !== null) post({ op: 'stop' }) },
    close
  }
}
