// Notifications: evaluator ──enqueue (sync, never waits)──▶ bounded queue ──▶ N senders
//   sender: claim (ClickHouse) ──won──▶ log line + webhook POST (timeout, retries, backoff)
//           ──▶ one delivery row per attempt (delivered | retrying | failed)
// A full queue drops the newest notification (counted, warned): a slow or dead receiver costs
// at most `queueCapacity` payloads of memory and never delays evaluation.
//
// Exactly one notification per transition, across restarts and processes: the transition id
// is derived from the data (state.ts), and only the evaluator whose claim row the server kept
// (insert_deduplication_token = transition id) sends. See README "Alerts" for the limits.
import os from 'node:os'
import crypto from 'node:crypto'
import type { Registry } from 'prom-client'
import { alertMetrics } from './metrics.js'
import { info, warn } from '../../platform/log.js'
import type { AlertStore } from './store.js'

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
}

export interface Notification { payload: NotificationPayload, webhook: string | null }

export interface NotifierOptions {
  store: AlertStore
  registry: Registry
  /** this evaluator's claim identity (default host:pid:random) */
  owner?: string
  /** notifications waiting to be sent (default 1000) */
  queueCapacity?: number
  /** webhook POSTs in flight at once (default 2) */
  concurrency?: number
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

export function createNotifier (opts: NotifierOptions): Notifier {
  const owner = opts.owner ?? `${os.hostname()}:${process.pid}:${crypto.randomBytes(4).toString('hex')}`
  const capacity = opts.queueCapacity ?? 1000
  const concurrency = opts.concurrency ?? 2
  const timeoutMs = opts.timeoutMs ?? 5000
  const maxAttempts = opts.maxAttempts ?? 5
  const backoffMs = opts.backoffMs ?? 500
  const maxBackoffMs = opts.maxBackoffMs ?? 30_000
  const m = alertMetrics(opts.registry)
  const queue: Notification[] = []
  let active = 0
  let stopped = false
  const stopController = new AbortController()
  let idleWaiters: Array<() => void> = []

  function settleIdle (): void {
    if (queue.length === 0 && active === 0) { const w = idleWaiters; idleWaiters = []; for (const f of w) f() }
  }

  function sleep (ms: number): Promise<void> {
    return new Promise(resolve => {
      // the abort listener goes when the timer fires: retries must not pile up listeners
      const onAbort = (): void => { clearTimeout(t); resolve() }
      const t = setTimeout(() => { stopController.signal.removeEventListener('abort', onAbort); resolve() }, ms)
      t.unref()
      stopController.signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  async function claim (id: string): Promise<boolean> {
    // look first: a claim older than the server's deduplication window is still honoured
    const existing = await opts.store.claimOwner(id)
    if (existing !== null) return existing === owner
    await opts.store.insertClaim(id, owner)
    return (await opts.store.claimOwner(id)) === owner
  }

  async function post (url: string, body: string): Promise<{ ok: boolean, status: number, error: string, result: string }> {
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'sluice-alerts/1' }, body, signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), stopController.signal]) })
      // drain so the connection is reusable; the body of a receiver is not our business
      await res.arrayBuffer().catch(() => {})
      if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, error: '', result: 'ok' }
      return { ok: false, status: res.status, error: `HTTP ${res.status}`, result: 'http_error' }
    } catch (err) {
      const e = err as Error & { cause?: { code?: string, message?: string } }
      if (e.name === 'TimeoutError') return { ok: false, status: 0, error: `timed out after ${timeoutMs} ms`, result: 'timeout' }
      return { ok: false, status: 0, error: e.cause?.code ?? e.cause?.message ?? e.message, result: 'network_error' }
    }
  }

  async function send (n: Notification): Promise<void> {
    const p = n.payload
    let won = false
    for (let attempt = 1; ; attempt++) {
      try { won = await claim(p.transition_id); break } catch (err) {
        if (stopped || attempt >= maxAttempts) { warn(`alerts: cannot claim notification ${p.transition_id} (${(err as Error).message.split('\n')[0]}); not sent`); return }
        await sleep(Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1)))
      }
    }
    if (!won) { m.sent.inc({ outcome: 'claimed_elsewhere' }); return }
    info(`alert ${p.state}: [${p.severity}] ${p.message} (rule ${p.rule_id}, transition ${p.transition_id})`)
    if (n.webhook === null) { m.sent.inc({ outcome: 'logged' }); return }
    const body = JSON.stringify(p)
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const r = await post(n.webhook, body)
      m.attempts.inc({ result: r.result })
      const last = r.ok || attempt === maxAttempts || stopped
      const status = r.ok ? 'delivered' : last ? 'failed' : 'retrying'
      await opts.store.recordDelivery({ transition_id: p.transition_id, rule_id: p.rule_id, channel: 'webhook', target: n.webhook, owner, attempt, status, http_status: r.status, error: r.error })
        .catch(err => warn(`alerts: cannot record delivery of ${p.transition_id}: ${(err as Error).message.split('\n')[0]}`))
      if (r.ok) { m.sent.inc({ outcome: 'delivered' }); return }
      if (last) { m.sent.inc({ outcome: 'failed' }); warn(`alerts: webhook ${n.webhook} failed for ${p.transition_id} after ${attempt} attempts: ${r.error}`); return }
      await sleep(Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1)))
    }
  }

  // one notification in flight per (rule, group): a receiver never sees "resolved" overtake
  // the "firing" it resolves, even with several senders
  const busy = new Set<string>()
  const orderKey = (n: Notification): string => `${n.payload.rule_id}\u0000${n.payload.service}\u0000${n.payload.host}\u0000${n.payload.pid}`

  function pump (): void {
    while (!stopped && active < concurrency) {
      const i = queue.findIndex(n => !busy.has(orderKey(n)))
      if (i === -1) return
      const n = queue.splice(i, 1)[0]
      const key = orderKey(n)
      busy.add(key)
      active++
      m.depth.set(queue.length)
      void send(n).catch(err => warn(`alerts: notification ${n.payload.transition_id}: ${(err as Error).message}`)).finally(() => {
        busy.delete(key)
        active--
        pump()
        settleIdle()
      })
    }
  }

  let dropWarned = 0
  return {
    owner,
    enqueue (n) {
      if (stopped) return false
      if (queue.length >= capacity) {
        m.dropped.inc()
        // one warning per 10 s: a dead receiver must not turn into a log flood
        if (Date.now() - dropWarned > 10_000) { dropWarned = Date.now(); warn(`alerts: notification queue full (${capacity}); dropping ${n.payload.transition_id} (see sluice_alert_notifications_dropped_total)`) }
        return false
      }
      queue.push(n)
      m.depth.set(queue.length)
      pump()
      return true
    },
    depth: () => queue.length + active,
    idle: async () => { if (queue.length === 0 && active === 0) return; await new Promise<void>(resolve => idleWaiters.push(resolve)) },
    async stop () {
      if (stopped) return
      stopped = true
      stopController.abort()
      queue.length = 0
      m.depth.set(0)
      const deadline = Date.now() + 5000
      while (active > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
      settleIdle()
    }
  }
}
