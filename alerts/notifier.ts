// Notifications: evaluator ──enqueue (sync, never waits)──▶ one bounded queue per receiver
//   (webhook origin) ──▶ N senders per receiver
//   sender: claim (ClickHouse) ──won──▶ log line + webhook POST (hard timeout, retries, backoff)
//           ──▶ one delivery row per attempt (delivered | retrying | failed)
// A full queue drops the newest notification (counted, warned): a slow or dead receiver costs
// at most `queueCapacity` payloads of memory, never delays evaluation nor another receiver.
//
// Exactly one notification per transition, across restarts and processes: the transition id
// is derived from the data (state.ts), and only the evaluator whose claim row the server kept
// (insert_deduplication_token = transition id) sends. See README "Alerts" for the limits.
import os from 'node:os'
import crypto from 'node:crypto'
import type { Registry } from 'prom-client'
import { alertMetrics, type AlertMetrics } from './metrics.js'
import { info, warn } from '../platform/log.js'
import type { AlertStore } from './store.js'
import { denyAllPrivate, redactUrl, type DestinationPolicy } from './destination.js'
import { postWebhook } from './webhook-post.js'

export interface NotificationPayload {
  transition_id: string
  rule_id: string
  rule: string
  kind: string
  state: string
  previous_state: string
  severity: string
  labels: Record<string, string>
  service: string
  host: string
  pid: number
  value: number
  threshold: number
  metric: string | null
  since: string
  ts: string
  for_ms: number
  message: string
  /** why, when not the value itself: 'stale' = the group sent no sample for the rule's stale_after */
  reason: 'stale' | null
  /** gap rules: the lost byte range ([from, to) of the source's file at path) */
  gap?: { source: string, path: string, from: number, to: number | null }
}

export interface Notification { payload: NotificationPayload, webhook: string | null }

export interface NotifierOptions {
  store: AlertStore
  registry: Registry
  /** this evaluator's claim identity (default host:pid:random) */
  owner?: string
  /** notifications waiting to be sent, per receiver (default 1000) */
  queueCapacity?: number
  /** webhook POSTs in flight at once, per receiver (default 2) */
  concurrency?: number
  /** where webhooks may go (SLUICE_ALERT_WEBHOOK_ALLOW; default: public addresses only) */
  policy?: DestinationPolicy
  /** per-attempt timeout, ms (default 5000) */
  timeoutMs?: number
  /** attempts per webhook before it is recorded as failed (default 5) */
  maxAttempts?: number
  /** first retry delay, ms; doubles per attempt up to maxBackoffMs (defaults 500 / 30 000) */
  backoffMs?: number
  maxBackoffMs?: number
}

export interface Notifier {
  readonly owner: string
  /** false when the queue was full and the notification was dropped */
  enqueue (n: Notification): boolean
  depth (): number
  /** resolves when the queue is empty and nothing is in flight (tests, clean stop) */
  idle (): Promise<void>
  stop (): Promise<void>
}

interface DeliveryParts {
  store: AlertStore
  owner: string
  policy: DestinationPolicy
  timeoutMs: number
  maxAttempts: number
  backoffMs: number
  maxBackoffMs: number
  metrics: AlertMetrics
  /** aborted when the notifier stops: waits end, the last attempt is recorded as failed */
  signal: AbortSignal
}

/** One notification's delivery: claim it, log it, POST its webhook with retries and backoff,
 *  one delivery row per attempt. */
function createDelivery ({ store, owner, policy, timeoutMs, maxAttempts, backoffMs, maxBackoffMs, metrics: m, signal }: DeliveryParts): (n: Notification) => Promise<void> {
  function sleep (ms: number): Promise<void> {
    return new Promise(resolve => {
      // the abort listener goes when the timer fires: retries must not pile up listeners
      const onAbort = (): void => { clearTimeout(t); resolve() }
      const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
      t.unref()
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  async function claim (id: string): Promise<boolean> {
    // look first: a claim older than the server's deduplication window is still honoured
    const existing = await store.claimOwner(id)
    if (existing !== null) return existing === owner
    await store.insertClaim(id, owner)
    return (await store.claimOwner(id)) === owner
  }

  return async function send (n: Notification): Promise<void> {
    const p = n.payload
    let won = false
    for (let attempt = 1; ; attempt++) {
      try { won = await claim(p.transition_id); break } catch (err) {
        if (signal.aborted || attempt >= maxAttempts) { warn(`alerts: cannot claim notification ${p.transition_id} (${(err as Error).message.split('\n')[0]}); not sent`); return }
        await sleep(Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1)))
      }
    }
    if (!won) { m.sent.inc({ outcome: 'claimed_elsewhere' }); return }
    info(`alert ${p.state}${p.reason !== null ? ` (${p.reason})` : ''}: [${p.severity}] ${p.message} (rule ${p.rule_id}, transition ${p.transition_id})`)
    if (n.webhook === null) { m.sent.inc({ outcome: 'logged' }); return }
    const body = JSON.stringify(p)
    // the URL with its credentials is used for sending only; rows and logs get the redacted form
    const shown = redactUrl(n.webhook)
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const r = await postWebhook(n.webhook, body, { policy, timeoutMs, signal })
      m.attempts.inc({ result: r.result })
      const last = r.ok || !r.retry || attempt === maxAttempts || signal.aborted
      const status = r.ok ? 'delivered' : last ? 'failed' : 'retrying'
      await store.recordDelivery({ transition_id: p.transition_id, rule_id: p.rule_id, channel: 'webhook', target: shown, owner, attempt, status, http_status: r.status, error: r.error })
        .catch(err => warn(`alerts: cannot record delivery of ${p.transition_id}: ${(err as Error).message.split('\n')[0]}`))
      if (r.ok) { m.sent.inc({ outcome: 'delivered' }); return }
      if (last) { m.sent.inc({ outcome: 'failed' }); warn(`alerts: webhook ${shown} failed for ${p.transition_id} after ${attempt} attempt(s): ${r.error}`); return }
      await sleep(Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1)))
    }
  }
}

export function createNotifier (opts: NotifierOptions): Notifier {
  const owner = opts.owner ?? `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`
  const capacity = opts.queueCapacity ?? 1000
  const concurrency = opts.concurrency ?? 2
  const timeoutMs = opts.timeoutMs ?? 5000
  const maxAttempts = opts.maxAttempts ?? 5
  const backoffMs = opts.backoffMs ?? 500
  const maxBackoffMs = opts.maxBackoffMs ?? 30_000
  const m = alertMetrics(opts.registry)
  const policy = opts.policy ?? denyAllPrivate
  // one queue per receiver: a receiver that never answers holds only its own senders
  interface Receiver { queue: Notification[], active: number }
  const receivers = new Map<string, Receiver>()
  let queued = 0
  let active = 0
  let stopped = false
  const stopController = new AbortController()
  let idleWaiters: Array<() => void> = []

  function settleIdle (): void {
    if (queued === 0 && active === 0) { const w = idleWaiters; idleWaiters = []; for (const f of w) f() }
  }

  const send = createDelivery({ store: opts.store, owner, policy, timeoutMs, maxAttempts, backoffMs, maxBackoffMs, metrics: m, signal: stopController.signal })

  // one notification in flight per (rule, group): a receiver never sees "resolved" overtake
  // the "firing" it resolves, even with several senders
  const busy = new Set<string>()
  const orderKey = (n: Notification): string => `${n.payload.rule_id}\u0000${n.payload.service}\u0000${n.payload.host}\u0000${n.payload.pid}`

  const receiverKey = (n: Notification): string => {
    if (n.webhook === null) return 'log'
    try { return new URL(n.webhook).origin } catch { return n.webhook }
  }

  function pump (key: string): void {
    const rc = receivers.get(key)
    if (rc === undefined) return
    while (!stopped && rc.active < concurrency) {
      const i = rc.queue.findIndex(n => !busy.has(orderKey(n)))
      if (i === -1) break
      const n = rc.queue.splice(i, 1)[0]
      const order = orderKey(n)
      busy.add(order)
      rc.active++; active++; queued--
      m.depth.set(queued)
      void send(n).catch(err => warn(`alerts: notification ${n.payload.transition_id}: ${(err as Error).message}`)).finally(() => {
        busy.delete(order)
        rc.active--; active--
        // a firing held back for its alert may wait in another receiver's queue
        for (const k of [...receivers.keys()]) pump(k)
        settleIdle()
      })
    }
    if (rc.queue.length === 0 && rc.active === 0) receivers.delete(key)
  }

  let dropWarned = 0
  return {
    owner,
    enqueue (n) {
      if (stopped) return false
      const key = receiverKey(n)
      let rc = receivers.get(key)
      if (rc === undefined) { rc = { queue: [], active: 0 }; receivers.set(key, rc) }
      if (rc.queue.length >= capacity) {
        m.dropped.inc()
        // one warning per 10 s: a dead receiver must not turn into a log flood
        if (Date.now() - dropWarned > 10_000) { dropWarned = Date.now(); warn(`alerts: notification queue of ${key === 'log' ? 'log-only alerts' : redactUrl(key)} full (${capacity}); dropping ${n.payload.transition_id} (see sluice_alert_notifications_dropped_total)`) }
        return false
      }
      rc.queue.push(n)
      queued++
      m.depth.set(queued)
      pump(key)
      return true
    },
    depth: () => queued + active,
    idle: async () => { if (queued === 0 && active === 0) return; await new Promise<void>(resolve => idleWaiters.push(resolve)) },
    async stop () {
      if (stopped) return
      stopped = true
      stopController.abort()
      for (const rc of receivers.values()) rc.queue.length = 0
      queued = 0
      m.depth.set(0)
      const deadline = Date.now() + 5000
      while (active > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
      settleIdle()
    }
  }
}
