// One /v1/tail client's side of the stream: a bounded queue of shared SSE frames in front of
// its socket, the writer that drains it, idle heartbeats, and the `dropped` event that ends a
// client whose queue overflowed.
//   push (filter) ──▶ queue (≤ maxClientBytes) ──write/drain──▶ socket
import type { ServerResponse } from 'node:http'
import type { LogLine } from './search.js'
import type { TailEntry, TailHub, TailSubscriber } from './tail-hub.js'
import type { CatchUpEntry } from './tail-message.js'

export interface TailStreamOptions {
  filter: (l: LogLine, fieldsJson: string) => boolean
  /** bytes queued before a blocked client is dropped */
  maxClientBytes: number
  /** idle time before a comment line keeps proxies from closing the stream */
  heartbeatMs: number
  /** concatenates a flush's frames (shared between clients that get the same frames) */
  joined: (frames: Buffer[]) => Buffer
  /** `lost` lines were not delivered and the client is being disconnected */
  onOverflow: (lost: number) => void
  /** runs once when the stream ends, whatever ended it */
  onFinish: () => void
}

export interface TailStream {
  readonly closed: boolean
  readonly sub: TailSubscriber
  /** bytes waiting in this client's queue */
  queued (): number
  flush (): void
  /** writes a replayed chunk (filtered) and waits until the socket took it */
  writeEntries (es: TailEntry[]): Promise<void>
  /** lines read back from Kafka: one string per fetch, encoded by the socket write */
  writeCaughtUp (es: CatchUpEntry[]): Promise<void>
  /** joins the live stream of the hub */
  follow (hub: TailHub): void
  /** ends the stream with an error event */
  fail (error: string, message: string): void
}

/** Starts an SSE response on `res` whose first block is the id `startId` (a client dropped
 *  before its first line can still resume from there). */
export function openTailStream (res: ServerResponse, startId: string, o: TailStreamOptions): TailStream {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
  res.write(`id: ${startId}\nretry: 1000\n\n`)
  // small chunks keep what sits in the socket's buffer small too: per client at most one
  // chunk there plus maxClientBytes here
  const flushBytes = Math.min(64 * 1024, o.maxClientBytes / 4)
  const queue: Buffer[] = []
  let queued = 0
  let blocked = false
  let closed = false
  let wroteSince = false
  let unsubscribe = (): void => {}

  const finish = (): void => {
    if (closed) return
    closed = true
    unsubscribe()
    clearInterval(hb)
    queue.length = 0
    queued = 0
    o.onFinish()
  }
  // frames are shared Buffers; one write per flush (an HTTP chunk each) keeps the per-write
  // cost of many clients low, and the concatenated copy lives only until the socket took it
  const writeNow = (frames: Buffer[]): void => {
    wroteSince = true
    if (!res.write(frames.length === 1 ? frames[0] : o.joined(frames))) blocked = true
  }
  const flush = (): void => {
    if (closed || blocked || queue.length === 0) return
    const frames = queue.splice(0, queue.length)
    queued = 0
    writeNow(frames)
  }
  const overflow = (lost: number): void => {
    o.onOverflow(lost)
    finish()
    // no id: the client's Last-Event-ID still names the last line it got, so a reconnect resumes there
    res.end(`event: dropped\ndata: ${JSON.stringify({ count: lost, reason: 'client too slow; reconnect with Last-Event-ID to resume' })}\n\n`)
    // a peer that never reads would hold the socket (and its buffer) forever
    setTimeout(() => res.destroy(), 10_000).unref()
  }
  const sub: TailSubscriber = {
    push (e: TailEntry) {
      if (closed || !o.filter(e.line, e.fieldsJson)) return
      // only a client whose socket is full can overflow; a big burst to a reader is written on
      if (queued + e.frame.length > o.maxClientBytes) {
        if (blocked) { overflow(queue.length + 1); return }
        flush()
      }
      queue.push(e.frame)
      queued += e.frame.length
      if (queued >= flushBytes && !blocked) flush()
    },
    flush,
    close () { finish(); res.end() }
  }
  res.on('drain', () => { blocked = false; flush() })
  res.on('close', finish)
  const hb = setInterval(() => {
    if (!wroteSince && !blocked) res.write(': heartbeat\n\n')
    wroteSince = false
  }, o.heartbeatMs)
  hb.unref()

  const drained = (): Promise<void> => new Promise(resolve => {
    if (!blocked || closed) { resolve(); return }
    const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
    res.on('drain', done)
    res.on('close', done)
  })

  return {
    get closed () { return closed },
    sub,
    queued: () => queued,
    flush,
    async writeEntries (es) {
      const frames: Buffer[] = []
      for (const e of es) if (o.filter(e.line, e.fieldsJson)) frames.push(e.frame)
      if (frames.length > 0 && !closed) writeNow(frames)
      await drained()
    },
    async writeCaughtUp (es) {
      let text = ''
      for (const e of es) if (o.filter(e.line, e.fieldsJson)) text += e.frame
      if (text !== '' && !closed) { wroteSince = true; if (!res.write(text)) blocked = true }
      await drained()
    },
    follow (hub) { unsubscribe = hub.subscribe(sub) },
    fail (error, message) {
      if (closed) return
      finish()
      res.end(`event: error\ndata: ${JSON.stringify({ error, message })}\n\n`)
    }
  }
}
