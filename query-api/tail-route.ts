// GET /v1/tail — live lines over Server-Sent Events, with the filters of /v1/logs.
//   request ──admit (filter, limits, resume point)──▶ replay (ring or Kafka) ──▶ tailHub
//   tailHub ──push (filter)──▶ per-client queue (≤ maxClientBytes, tail-stream.ts) ──▶ socket
// Every `line` event carries an id (a Kafka position, see tail-position.ts). Reconnecting
// with Last-Event-ID replays from the hub's ring, or from Kafka when older, then joins the
// live stream in the same tick: no gap, no duplicate. A client that stops reading fills its
// bounded queue; then it gets a `dropped` event (without an id, so its Last-Event-ID still
// names the last line it received) and is disconnected: memory stays bounded and a
// reconnect resumes exactly where it left off.
import fp from 'fastify-plugin'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Counter, Gauge, type Registry } from 'prom-client'
import { filterParams, parseLogFilter } from '../schemas/log-filter.js'
import { errors } from '../platform/errors.js'
import { utf8QueryHook } from './utf8.js'
import { compileFilter } from './tail-filter.js'
import { decodePosition, encodePosition, type TailPosition } from './tail-position.js'
import type { TailHub } from './tail-hub.js'
import type { LogLine } from '../schemas/log-line.js'
import { openTailStream } from './tail-stream.js'
import { replayThenFollow, resumeTurn, type ResumeTurn } from './tail-replay.js'
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

/** Shares one concatenation of the same frames between the clients of one flush. */
function frameJoiner (): (frames: Buffer[]) => Buffer {
  let last: { frames: Buffer[], out: Buffer } | null = null
  return frames => {
    const j = last
    if (j !== null && j.frames.length === frames.length && j.frames.every((f, i) => f === frames[i])) return j.out
    const out = Buffer.concat(frames)
    last = { frames, out }
    return out
  }
}

function tailMetrics (regs: Registry[], active: () => number, clients: Set<{ queued: () => number }>): { dropped: Counter, slow: Counter, clientRefused: Counter } {
  new Gauge({ name: 'sluice_tail_clients', help: 'Connected /v1/tail clients', registers: regs, collect () { this.set(active()) } })
  new Gauge({ name: 'sluice_tail_queued_bytes', help: 'Bytes queued in Node for all /v1/tail clients (each bounded by maxClientBytes)', registers: regs, collect () { let n = 0; for (const c of clients) n += c.queued(); this.set(n) } })
  return {
    dropped: new Counter({ name: 'sluice_tail_dropped_lines_total', help: 'Lines not delivered because a client read too slowly (it was disconnected and may resume)', registers: regs }),
    slow: new Counter({ name: 'sluice_tail_slow_disconnects_total', help: 'Tail clients disconnected because their queue was full', registers: regs }),
    clientRefused: new Counter({ name: 'sluice_tail_client_limit_refused_total', help: 'Tails refused because their client already held its per-client share', registers: regs })
  }
}

/** The Last-Event-ID a request resumes from, or null for a tail that starts now. */
function resumePoint (req: FastifyRequest): TailPosition | null {
  const lastId = req.headers['last-event-id']
  return typeof lastId === 'string' && lastId !== '' ? decodePosition(lastId) : null
}

export const tailRoute = fp(async (app: FastifyInstance, opts: TailRouteOptions) => {
  const maxTails = opts.maxTails ?? 256
  const maxTailsPerClient = opts.maxTailsPerClient ?? halfOf(maxTails)
  const byClient = createClientCounts()
  const maxClientBytes = opts.maxClientBytes ?? 1024 * 1024
  const heartbeatMs = opts.heartbeatMs ?? 15_000
  const clients = new Set<{ queued: () => number }>()
  let active = 0
  const m = tailMetrics(opts.registry !== undefined ? [opts.registry] : [], () => active, clients)
  // caught-up clients that share a filter get the same frames at each flush: joined once, not
  // per client (why: docs/design/2026-12-01-tail-fanout.md). Holds one chunk (≤ maxClientBytes).
  const joined = frameJoiner()

  /** The checks before a tail takes a slot: a bad filter is a 400 even when the tail could not run. */
  const admit = (req: FastifyRequest<{ Querystring: TailQuerystring }>): { hub: TailHub, filter: (l: LogLine, fieldsJson: string) => boolean, who: string, from: TailPosition | null } => {
    const qs = req.query
    const filter = compileFilter({ q: qs.q, regex: qs.regex, i: qs.i === true, w: qs.w === true, filter: parseLogFilter(qs) })
    const hub = opts.hub
    if (hub === null || !hub.ready) throw errors.OVERLOADED(hub === null ? 'live tail needs Kafka: set KAFKA_BROKERS' : 'live tail is connecting to Kafka')
    if (active >= maxTails) throw errors.TOO_MANY_TAILS(maxTails)
    const who = clientKey(req)
    if (byClient.held(who) >= maxTailsPerClient) { m.clientRefused.inc(); throw errors.CLIENT_LIMIT('live tails', maxTailsPerClient) }
    return { hub, filter, who, from: resumePoint(req) }
  }

  /** A resume older than the ring waits for its turn to read Kafka before the stream opens, so a
   *  refusal can still be a 503 (the waiter counts as a tail of its client meanwhile). False when
   *  the client went away while waiting. */
  const awaitResumeTurn = async (reply: FastifyReply, hub: TailHub, from: TailPosition, turn: ResumeTurn, ac: AbortController): Promise<boolean> => {
    if (hub.after(from, 0) !== null) return true
    const gone = (): void => ac.abort()
    reply.raw.once('close', gone)
    try { turn.held = await hub.acquireResume(ac.signal, true); turn.readBack = true } finally { reply.raw.off('close', gone) }
    return !ac.signal.aborted
  }

  app.get<{ Querystring: TailQuerystring }>('/v1/tail', {
    // each event must leave at once: a compressor would hold them back to fill its window
    compress: false,
    preValidation: utf8QueryHook,
    schema: { summary: 'Follow new lines live (text/event-stream); event ids resume via Last-Event-ID', querystring: TailQuerystring, produces: ['text/event-stream'] }
  }, async (req, reply) => {
    const { hub, filter, who, from } = admit(req)
    const floor = from === null ? null : hub.resumeFloor(from)
    if (floor !== null) {
      const oldest = encodePosition(floor.oldest)
      const tooOld = errors.RESUME_TOO_OLD(oldest, floor.maxMessages)
      return await reply.code(tooOld.statusCode).send({ error: tooOld.code, message: tooOld.message, oldest })
    }

    active++
    byClient.take(who)
    const release = (): void => { active--; byClient.give(who) }
    const ac = new AbortController()
    const turn = resumeTurn()
    if (from !== null) {
      let waited: boolean
      try { waited = await awaitResumeTurn(reply, hub, from, turn, ac) } catch (err) { release(); throw err }
      if (!waited) { turn.give(); release(); reply.hijack(); return }
    }
    reply.hijack()
    const stream = openTailStream(reply.raw, encodePosition(from ?? hub.position()), {
      filter,
      maxClientBytes,
      heartbeatMs,
      joined,
      onOverflow (lost) { m.dropped.inc(lost); m.slow.inc() },
      onFinish () { release(); turn.give(); if (turn.readBack) hub.resumedTailClosed(); clients.delete(stream); ac.abort() }
    })
    clients.add(stream)
    if (from === null) { stream.follow(hub); return }
    try {
      await replayThenFollow(hub, from, stream, turn, ac.signal, maxClientBytes)
    } catch (err) {
      stream.fail(errors.INTERNAL().code, `resume failed: ${(err as Error).message.split('\n')[0]}`)
    }
  })
}, { name: 'sluice-tail' })
