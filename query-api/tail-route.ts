// GET /v1/tail — live lines over Server-Sent Events, with the filters of /v1/logs.
//   tailHub ──push (filter)──▶ per-client queue (≤ maxClientBytes) ──write/drain──▶ socket
// Every `line` event carries an id (a Kafka position, see tail-position.ts). Reconnecting
// with Last-Event-ID replays from the hub's ring, or from Kafka when older, then joins the
// live stream in the same tick: no gap, no duplicate. A client that stops reading fills its
// bounded queue; then it gets a `dropped` event (without an id, so its Last-Event-ID still
// names the last line it received) and is disconnected: memory stays bounded and a
// reconnect resumes exactly where it left off.
import fp from 'fastify-plugin'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { ServerResponse } from 'node:http'
import { Counter, Gauge, type Registry } from 'prom-client'
import { filterParams, parseLogFilter } from '../schemas/log-filter.js'
import { errors } from '../platform/errors.js'
import { utf8QueryHook } from './utf8.js'
import { compileFilter } from './tail-filter.js'
import { decodePosition, encodePosition, type TailPosition } from './tail-position.js'
import type { TailEntry, TailHub, TailSubscriber } from './tail-hub.js'
import type { CatchUpEntry } from './tail-message.js'
import { clientKey, createClientCounts } from './client-key.js'
import { halfOf } from './query-slots.js'

export const TailQuerystring = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 1024, description: 'substring to find in msg or fields' })),
  regex: Type.Optional(Type.String({ maxLength: 1024, description: 'RE2 regular expression on msg or fields (linear time, as in /v1/logs)' })),
  i: Type.Optional(Type.Boolean({ description: 'case-insensitive q / regex' })),
  w: Type.Optional(Type.Boolean({ description: 'q matches whole words only (like grep -w)' })),
  ...filterParams,
  since: Type.Optional(Type.String({ maxLength: 64, description: 'accepted for CLI symmetry; the tail starts now (or at Last-Event-ID)' }))
}, { additionalProperties: false })
export type TailQuerystring = Static<typeof TailQuerystring>

export interface TailRouteOptions {
  /** null when the server has no Kafka (the route then answers 503) */
  hub: TailHub | null
  /** concurrent SSE clients (default 256), and per client (token, or address without tokens; default half) */
  maxTails?: number
  maxTailsPerClient?: number
  /** bytes queued for one client before it is dropped (default 1 MiB) */
  maxClientBytes?: number
  /** comment line sent when idle, keeping proxies from closing the stream (default 15 s) */
  heartbeatMs?: number
  registry?: Registry
}

const replayChunk = 2000

export const tailRoute = fp(async (app: FastifyInstance, opts: TailRouteOptions) => {
  const maxTails = opts.maxTails ?? 256
  const maxTailsPerClient = opts.maxTailsPerClient ?? halfOf(maxTails)
  const byClient = createClientCounts()
  const maxClientBytes = opts.maxClientBytes ?? 1024 * 1024
  const flushBytes = Math.min(64 * 1024, maxClientBytes / 4)
  const heartbeatMs = opts.heartbeatMs ?? 15_000
  const regs = opts.registry !== undefined ? [opts.registry] : []
  const clients = new Set<{ queued: () => number }>()
  let active = 0
  new Gauge({ name: 'sluice_tail_clients', help: 'Connected /v1/tail clients', registers: regs, collect () { this.set(active) } })
  new Gauge({ name: 'sluice_tail_queued_bytes', help: 'Bytes queued in Node for all /v1/tail clients (each bounded by maxClientBytes)', registers: regs, collect () { let n = 0; for (const c of clients) n += c.queued(); this.set(n) } })
  const dropped = new Counter({ name: 'sluice_tail_dropped_lines_total', help: 'Lines not delivered because a client read too slowly (it was disconnected and may resume)', registers: regs })
  const slow = new Counter({ name: 'sluice_tail_slow_disconnects_total', help: 'Tail clients disconnected because their queue was full', registers: regs })
  const clientRefused = new Counter({ name: 'sluice_tail_client_limit_refused_total', help: 'Tails refused because their client already held its per-client share', registers: regs })

  // Clients that are caught up and share a filter get the same frames at each flush: the
  // concatenation is made once and shared (measured with 200 clients at 5,000 lines/s, the
  // per-client copies were ~15% of the server's CPU). Holds one chunk (≤ maxClientBytes).
  let lastJoin: { frames: Buffer[], out: Buffer } | null = null
  const joined = (frames: Buffer[]): Buffer => {
    const j = lastJoin
    if (j !== null && j.frames.length === frames.length && j.frames.every((f, i) => f === frames[i])) return j.out
    const out = Buffer.concat(frames)
    lastJoin = { frames, out }
    return out
  }

  app.get<{ Querystring: TailQuerystring }>('/v1/tail', {
    preValidation: utf8QueryHook,
    schema: { summary: 'Follow new lines live (text/event-stream); event ids resume via Last-Event-ID', querystring: TailQuerystring, produces: ['text/event-stream'] }
  }, async (req, reply) => {
    const qs = req.query
    // a bad filter is a 400 even when the tail could not run
    const filter = compileFilter({ q: qs.q, regex: qs.regex, i: qs.i === true, w: qs.w === true, filter: parseLogFilter(qs) })
    const hub = opts.hub
    if (hub === null || !hub.ready) throw errors.OVERLOADED(hub === null ? 'live tail needs Kafka: set KAFKA_BROKERS' : 'live tail is connecting to Kafka')
    if (active >= maxTails) throw errors.TOO_MANY_TAILS(maxTails)
    const who = clientKey(req)
    if (byClient.held(who) >= maxTailsPerClient) { clientRefused.inc(); throw errors.CLIENT_LIMIT('live tails', maxTailsPerClient) }
    const lastId = req.headers['last-event-id']
    const from: TailPosition | null = typeof lastId === 'string' && lastId !== '' ? decodePosition(lastId) : null
    if (from !== null) {
      const floor = hub.resumeFloor(from)
      if (floor !== null) {
        const oldest = encodePosition(floor.oldest)
        return await reply.code(410).send({ error: 'SLUICE_ERR_RESUME_TOO_OLD', message: errors.RESUME_TOO_OLD(oldest, floor.maxMessages).message, oldest })
      }
    }

    active++
    byClient.take(who)
    const ac = new AbortController()
    // a resume older than the ring waits for its turn to read Kafka before the stream opens,
    // so a refusal can still be a 503 (the waiter counts as a tail of its client meanwhile)
    let releaseResume: (() => void) | null = null
    let readBack = false
    if (from !== null && hub.after(from, 0) === null) {
      const gone = (): void => ac.abort()
      reply.raw.once('close', gone)
      try { releaseResume = await hub.acquireResume(ac.signal, true); readBack = true } catch (err) {
        active--
        byClient.give(who)
        throw err
      } finally { reply.raw.off('close', gone) }
      if (ac.signal.aborted) { releaseResume(); active--; byClient.give(who); reply.hijack(); return }
    }
    reply.hijack()
    const res: ServerResponse = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    // an id-only block: a client dropped before its first line can still resume from here
    res.write(`id: ${encodePosition(from ?? hub.position())}\nretry: 1000\n\n`)

    const queue: Buffer[] = []
    let queued = 0
    let blocked = false
    let closed = false
    let wroteSince = false
    let unsubscribe = (): void => {}
    const me = { queued: () => queued }
    clients.add(me)

    const finish = (): void => {
      if (closed) return
      closed = true
      active--
      byClient.give(who)
      releaseResume?.()
      releaseResume = null
      if (readBack) hub.resumedTailClosed()
      clients.delete(me)
      unsubscribe()
      clearInterval(hb)
      ac.abort()
      queue.length = 0
      queued = 0
    }
    // frames are shared Buffers; one write per flush (an HTTP chunk each) keeps the per-write
    // cost of 200 clients low, and the concatenated copy lives only until the socket took it
    const writeNow = (frames: Buffer[]): void => {
      wroteSince = true
      if (!res.write(frames.length === 1 ? frames[0] : joined(frames))) blocked = true
    }
    const flush = (): void => {
      if (closed || blocked || queue.length === 0) return
      const frames = queue.splice(0, queue.length)
      queued = 0
      writeNow(frames)
    }
    const overflow = (lost: number): void => {
      dropped.inc(lost)
      slow.inc()
      finish()
      // no id: the client's Last-Event-ID still names the last line it got, so a reconnect resumes there
      res.end(`event: dropped\ndata: ${JSON.stringify({ count: lost, reason: 'client too slow; reconnect with Last-Event-ID to resume' })}\n\n`)
      // a peer that never reads would hold the socket (and its buffer) forever
      setTimeout(() => res.destroy(), 10_000).unref()
    }
    const sub: TailSubscriber = {
      push (e: TailEntry) {
        if (closed || !filter(e.line, e.fieldsJson)) return
        // only a client whose socket is full can overflow; a big burst to a reader is written on
        if (queued + e.frame.length > maxClientBytes) {
          if (blocked) { overflow(queue.length + 1); return }
          flush()
        }
        queue.push(e.frame)
        queued += e.frame.length
        // small chunks keep what sits in the socket's buffer small too: per client at most
        // one chunk there plus maxClientBytes here
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
    }, heartbeatMs)
    hb.unref()

    const drained = (): Promise<void> => new Promise(resolve => {
      if (!blocked || closed) { resolve(); return }
      const done = (): void => { res.off('drain', done); res.off('close', done); resolve() }
      res.on('drain', done)
      res.on('close', done)
    })
    const writeEntries = async (es: TailEntry[]): Promise<void> => {
      const frames: Buffer[] = []
      for (const e of es) if (filter(e.line, e.fieldsJson)) frames.push(e.frame)
      if (frames.length > 0 && !closed) writeNow(frames)
      await drained()
    }
    // read back from Kafka: one string per fetch, encoded by the socket write
    const writeCaughtUp = async (es: CatchUpEntry[]): Promise<void> => {
      let text = ''
      for (const e of es) if (filter(e.line, e.fieldsJson)) text += e.frame
      if (text !== '' && !closed) { wroteSince = true; if (!res.write(text)) blocked = true }
      await drained()
    }

    try {
      if (from === null) {
        unsubscribe = hub.subscribe(sub)
        return
      }
      // replay: from the ring in chunks (waiting for the socket), from Kafka when older than
      // the ring; the last small remainder is written and the subscription made in one tick
      let pos = from
      for (;;) {
        if (closed) return
        const es = hub.after(pos, replayChunk)
        if (es === null) {
          // the ring moved past a slow reader: it waits for a turn like any resume (never refused here)
          releaseResume ??= await hub.acquireResume(ac.signal, false)
          readBack = true
          pos = await hub.catchUp(pos, writeCaughtUp, ac.signal)
          continue
        }
        releaseResume?.()
        releaseResume = null
        // the remainder joins the live stream in this tick, so it must fit the client's queue
        if (es.length < replayChunk && es.reduce((n, e) => n + e.frame.length, 0) <= maxClientBytes / 2) {
          for (const e of es) sub.push(e)
          if (closed) return
          unsubscribe = hub.subscribe(sub)
          flush()
          return
        }
        await writeEntries(es)
        pos = new Map(pos)
        for (const e of es) pos.set(e.partition, e.next)
      }
    } catch (err) {
      if (!closed) {
        finish()
        res.end(`event: error\ndata: ${JSON.stringify({ error: 'SLUICE_ERR_INTERNAL', message: `resume failed: ${(err as Error).message.split('\n')[0]}` })}\n\n`)
      }
    }
  })
}, { name: 'sluice-tail' })
