// The alert evaluator: one per query-api process.
//   every evalIntervalMs: stats rows ingested since the watermark (ClickHouse `stats`)
//     ──▶ samples per (service, host, pid, ts) ──▶ state machine per rule × group (state.ts)
//   + log-rate rules on a fixed 10 s grid, + no-data checks against the clock
//     ──▶ transitions ──persist (alert_history, alert_state)──▶ SSE subscribers
//                                                           └──▶ notifier (firing / resolved)
// Reading by ingest time (not event time) sees late-arriving samples; re-reading a short
// overlap covers inserts that became visible after a later one; a per-group "last sample"
// time makes the overlap (and duplicate rows) harmless.
import type { Registry } from 'prom-client'
import { alertMetrics } from './metrics.js'
import type { ClickHouseClient } from '@clickhouse/client'
import { info, warn } from '../../platform/log.js'
import { builtinRules, loadRulesFile, type Rule } from './rules.js'
import { createRuleSet, type Written } from './ruleset.js'
import { applyPresence, applySample, checkSilence, checkStale, groupKey, recordIncrease, newGroupState, renderMessage, type GapRef, type Group, type GroupState, type Transition } from './state.js'
import { findGaps, type GapQuery } from '../gaps-route.js'
import { createAlertStore, type AlertStore, type StatsRow } from './store.js'
import { createNotifier, type Notifier, type NotifierOptions, type NotificationPayload } from './notifier.js'

export interface EvaluatorOptions {
  clickhouse: ClickHouseClient
  database: string
  registry: Registry
  /** JSON rules file (SLUICE_ALERT_RULES) */
  rulesFile?: string | null
  /** enable the built-in Node rules (SLUICE_ALERT_DEFAULTS=1) */
  builtins?: boolean
  /** webhook for rules without their own (SLUICE_ALERT_WEBHOOK) */
  defaultWebhook?: string | null
  /** evaluation period, ms (default 1000) */
  evalIntervalMs?: number
  /** rules evaluated at most, API, file and built-in together (default 100) */
  maxRules?: number
  /** how far back a starting evaluator re-reads stats, ms (default 15 min) */
  startLookbackMs?: number
  /** groups (service, host, pid) tracked per rule; beyond it new groups are ignored and counted (default 10 000) */
  maxGroupsPerRule?: number
  /** stats rows read per query (default 50 000) */
  statsPageRows?: number
  notifier?: Omit<NotifierOptions, 'store' | 'registry'>
}

export interface AlertView {
  rule_id: string, rule: string, kind: string, severity: string, state: string
  service: string, host: string, pid: number, value: number, threshold: number
  since: string, changed_at: string, last_sample: string, transition_id: string
}

export interface TransitionEvent extends NotificationPayload { recorded: boolean }

export interface AlertEvaluator {
  readonly store: AlertStore
  readonly notifier: Notifier
  start (): Promise<void>
  stop (): Promise<void>
  /** one evaluation round now (also what the timer runs); rounds never overlap */
  tick (): Promise<Transition[]>
  rules (): Rule[]
  rule (id: string): Rule | undefined
  createRule (body: unknown, strict?: boolean): Promise<Written>
  replaceRule (id: string, body: unknown, strict?: boolean): Promise<Written>
  deleteRule (id: string): Promise<void>
  alerts (all: boolean): AlertView[]
  /** enabled stats rules (threshold, increase, no_data) this evaluator has seen no sample for */
  waitingForData (): string[]
  subscribe (fn: (e: TransitionEvent) => void): () => void
}

const overlapMs = 15_000
const logRateStepMs = 10_000
const logRateLagMs = 5_000
/** log-rate rules counted by one query (one aggregate each) */
const logRateRulesPerQuery = 200
const idleGroupMs = 3_600_000
const noDataArmMs = 60_000
/** gap rules: how often the gaps are computed (a pass over every stored line's identity) */
const gapEveryMs = 10_000

/** the range a persisted gap state stands for, from its key (service, host, source, start) */
function gapOfKey (key: string): GapRef {
  const p = key.split('\u0000')
  return { source: p[3] ?? '', path: '', from: Number(p[4] ?? 0), to: null }
}

export function createAlertEvaluator (opts: EvaluatorOptions): AlertEvaluator {
  const store = createAlertStore(opts.clickhouse, opts.database)
  const notifier = createNotifier({ ...opts.notifier, store, registry: opts.registry })
  const evalMs = opts.evalIntervalMs ?? 1000
  const maxGroups = opts.maxGroupsPerRule ?? 10_000
  const statsBatchRows = opts.statsPageRows ?? 50_000
  const m = alertMetrics(opts.registry)
  const states = new Map<string, Map<string, GroupState>>()
  const ruleSet = createRuleSet(store, [...(opts.builtins === true ? builtinRules() : []), ...(opts.rulesFile != null ? loadRulesFile(opts.rulesFile) : [])], id => states.delete(id), { maxRules: opts.maxRules, policy: opts.notifier?.policy })
  const subscribers = new Set<(e: TransitionEvent) => void>()
  let watermark = 0
  let lastLogGrid = 0
  let startedAt = 0
  let startIngest = 0
  let ingestFlowing = false
  let timer: NodeJS.Timeout | null = null
  let running: Promise<Transition[]> | null = null
  let started = false
  let stopped = false

  function stateOf (rule: Rule, g: Group, key = groupKey(g)): GroupState | null {
    let byGroup = states.get(rule.id)
    if (byGroup === undefined) { byGroup = new Map(); states.set(rule.id, byGroup) }
    let s = byGroup.get(key)
    if (s === undefined) {
      if (byGroup.size >= maxGroups) { m.groupsDropped.inc(); return null }
      s = { ...newGroupState(rule.id, g), key }
      byGroup.set(key, s)
    }
    return s
  }

  function matches (rule: Rule, g: Group): boolean {
    return (rule.services.length === 0 || rule.services.includes(g.service)) && (rule.hosts.length === 0 || rule.hosts.includes(g.host))
  }

  /** stats rows → one sample (all metrics of one record) per (service, host, pid, ts), by time */
  function samplesOf (rows: StatsRow[]): Array<Group & { t: number, metrics: Map<string, number> }> {
    const byKey = new Map<string, Group & { t: number, metrics: Map<string, number> }>()
    for (const r of rows) {
      const k = `${r.service}\u0000${r.host}\u0000${r.pid}\u0000${r.t}`
      let s = byKey.get(k)
      if (s === undefined) { s = { service: r.service, host: r.host, pid: r.pid, t: r.t, metrics: new Map() }; byKey.set(k, s) }
      s.metrics.set(r.metric, r.value)
    }
    return [...byKey.values()].sort((a, b) => a.t - b.t)
  }

  async function evaluateStats (rules: Rule[], out: Transition[]): Promise<void> {
    const metrics = [...new Set(rules.flatMap(r => [r.metric, r.divideBy]).filter((x): x is string => x !== null))]
    if (metrics.length === 0) return
    const from = watermark - overlapMs
    // pages of one round share `from`; a bigger backlog continues next round (20 pages)
    let offset = 0
    for (let page = 0; page < 20; page++) {
      let rows = await store.statsSince(from, metrics, statsBatchRows, offset)
      if (rows.length === 0) return
      const full = rows.length === statsBatchRows
      if (full) {
        // keep one record's metrics together (a ratio needs both): its rows are contiguous,
        // so the record cut by the page end starts the next page
        const last = rows[rows.length - 1]
        let cut = rows.length - 1
        while (cut > 0 && rows[cut - 1].t === last.t && rows[cut - 1].pid === last.pid && rows[cut - 1].host === last.host && rows[cut - 1].service === last.service) cut--
        if (cut > 0) rows = rows.slice(0, cut)
      }
      offset += rows.length
      for (const sample of samplesOf(rows)) {
        for (const rule of rules) {
          if (!matches(rule, sample)) continue
          const v = sample.metrics.get(rule.metric!)
          if (v === undefined) continue
          let value = v
          if (rule.divideBy !== null) {
            const d = sample.metrics.get(rule.divideBy)
            // a ratio needs both halves of the same record and a real denominator (fd_limit is -1 when unlimited)
            if (d === undefined || d <= 0) continue
            value = v / d
          }
          const s = stateOf(rule, sample)
          if (s === null) continue
          if (rule.kind === 'increase') {
            const inc = recordIncrease(rule, s, sample.t, value)
            if (inc === null) continue
            value = inc
          }
          const t = rule.kind === 'no_data' ? applyPresence(rule, s, sample.t) : applySample(rule, s, sample.t, value)
          if (t !== null) out.push(t)
        }
      }
      const maxIng = rows[rows.length - 1].ing
      if (maxIng > startIngest) ingestFlowing = true
      if (maxIng > watermark) watermark = maxIng
      // the overlap re-reads a little each round; the per-group last sample time skips it
      if (!full) return
    }
  }

  async function evaluateLogRates (rules: Rule[], now: number, out: Transition[]): Promise<void> {
    if (rules.length === 0) return
    // fixed grid points, evaluated once the lag has passed, so every evaluator counts the same
    // window and derives the same transition ids
    const grid = Math.floor((now - logRateLagMs) / logRateStepMs) * logRateStepMs
    if (lastLogGrid === 0) lastLogGrid = grid - logRateStepMs
    for (let g = lastLogGrid + logRateStepMs; g <= grid; g += logRateStepMs) {
      // one query per chunk of rules, not per rule: the window is scanned once
      for (let at = 0; at < rules.length; at += logRateRulesPerQuery) {
        const chunk = rules.slice(at, at + logRateRulesPerQuery)
        const counts = await store.logCounts(g - 60_000, g, chunk, maxGroups)
        chunk.forEach((rule, i) => {
          const seen = new Set<string>()
          for (const c of counts) {
            if (c.n[i] === 0) continue
            const s = stateOf(rule, c)
            if (s === null) continue
            seen.add(s.key)
            const t = applySample(rule, s, g, c.n[i])
            if (t !== null) out.push(t)
          }
          // a group that logged nothing in the window has a rate of 0: that matters to a pending
          // or firing alert, and to a "fewer than" rule; others are left to age out of memory
          const zeroMatters = rule.op === '<' || rule.op === '<='
          for (const s of states.get(rule.id)?.values() ?? []) {
            if (seen.has(s.key) || (!zeroMatters && (s.state === 'inactive' || s.state === 'resolved'))) continue
            const t = applySample(rule, s, g, 0)
            if (t !== null) out.push(t)
          }
        })
      }
    }
    lastLogGrid = grid
  }

  /** gap rules: one state per lost range (key: service, host, source, start), fired once when
   *  the range appears, resolved when it is no longer lost (its lines arrived after all) */
  let lastGapCheck = 0
  async function evaluateGaps (rules: Rule[], now: number, out: Transition[]): Promise<void> {
    if (rules.length === 0 || now - lastGapCheck < gapEveryMs) return
    lastGapCheck = now
    const query: GapQuery = async <T>(sql: string, params: Record<string, unknown>): Promise<T[]> => {
      const rs = await opts.clickhouse.query({ query: sql, query_params: params, format: 'JSONEachRow' })
      return await rs.json<T>()
    }
    for (const rule of rules) {
      const body = await findGaps(query, opts.database, { hosts: rule.hosts, services: rule.services, source: null, since: null, until: null, silentAfterMs: Number.MAX_SAFE_INTEGER }, now)
      const seen = new Set<string>()
      for (const src of body.sources) {
        for (const r of src.ranges) {
          if (r.class !== 'lost') continue
          const g: Group = { service: src.service, host: src.host, pid: 0 }
          const s = stateOf(rule, g, `${groupKey(g)}\u0000${src.source}\u0000${r.from}`)
          if (s === null) continue
          s.gap = { source: src.source, path: src.path, from: r.from, to: r.to }
          seen.add(s.key)
          const t = applySample(rule, s, now, r.bytes ?? 0)
          if (t !== null) out.push({ ...t, gap: s.gap })
        }
      }
      for (const s of states.get(rule.id)?.values() ?? []) {
        if (seen.has(s.key) || s.state === 'inactive' || s.state === 'resolved') continue
        const t = applySample(rule, s, now, 0)
        if (t !== null) out.push({ ...t, gap: s.gap ?? gapOfKey(s.key) })
      }
    }
  }

  function evictIdle (now: number): void {
    for (const byGroup of states.values()) {
      for (const [k, s] of byGroup) if ((s.state === 'inactive' || s.state === 'resolved') && s.lastTs !== 0 && now - s.lastTs > idleGroupMs) byGroup.delete(k)
    }
  }

  function payloadOf (rule: Rule | undefined, t: Transition, message: string): NotificationPayload {
    return {
      transition_id: t.id, rule_id: t.ruleId, rule: rule?.name ?? t.ruleId, kind: rule?.kind ?? '', state: t.to, previous_state: t.from,
      severity: rule?.severity ?? 'warning', labels: rule?.labels ?? {}, service: t.service, host: t.host, pid: t.pid,
      value: t.value, threshold: t.threshold, metric: rule?.divideBy != null ? `${rule.metric}/${rule.divideBy}` : rule?.kind === 'increase' ? `increase(${rule.metric}, ${rule.body.window})` : (rule?.metric ?? null),
      since: new Date(t.since).toISOString(), ts: new Date(t.ts).toISOString(), for_ms: rule?.forMs ?? 0, message, reason: t.reason ?? null,
      ...(t.gap !== undefined ? { gap: t.gap } : {})
    }
  }

  let prepared = false
  /** Start-up reads: clock, rules, persisted states, unclaimed transitions. Until they
   *  succeed nothing is evaluated (evaluating without the persisted states could fire again). */
  async function prepare (): Promise<void> {
    if (prepared) return
    const dbNow = await store.now()
    await ruleSet.reload()
    states.clear()
    for (const s of await store.loadStates()) {
      if (ruleSet.get(s.ruleId) === undefined) continue
      let byGroup = states.get(s.ruleId)
      if (byGroup === undefined) { byGroup = new Map(); states.set(s.ruleId, byGroup) }
      byGroup.set(s.key, s)
    }
    startedAt = Date.now()
    startIngest = dbNow
    // an increase rule needs a window of samples before its first value: re-read the longest
    watermark = dbNow - Math.max(opts.startLookbackMs ?? 15 * 60_000, ...ruleSet.all().filter(r => r.kind === 'increase').map(r => r.windowMs + overlapMs))
    prepared = true
    // a failed look-up must not keep alerting down: those transitions are only not re-sent
    await recoverUnclaimed(watermark).catch(err => report(err))
    info(`alerts: evaluating ${ruleSet.all().filter(r => r.enabled).length} rule(s) every ${evalMs} ms (notifier ${notifier.owner})`)
  }

  let lastReport = ''
  let lastReportAt = 0
  function report (err: unknown): void {
    const msg = (err as Error).message.split('\n')[0]
    if (msg === lastReport && Date.now() - lastReportAt < 60_000) return
    lastReport = msg
    lastReportAt = Date.now()
    warn(`alerts: ${msg}`)
  }

  async function round (): Promise<Transition[]> {
    const end = m.seconds.startTimer()
    const out: Transition[] = []
    try {
      await prepare()
      if (Date.now() - ruleSet.loadedAt() > 5000) await ruleSet.reload()
      const enabled = ruleSet.all().filter(r => r.enabled)
      await evaluateStats(enabled.filter(r => r.kind !== 'log_rate' && r.kind !== 'gap'), out)
      const now = Date.now()
      await evaluateLogRates(enabled.filter(r => r.kind === 'log_rate'), now, out)
      // its own failure (a slow or failing pass over the lines) must not hold the other kinds
      await evaluateGaps(enabled.filter(r => r.kind === 'gap'), now, out).catch(err => report(err))
      // After a restart the pipeline itself was down: silence is only blamed on a process once
      // rows ingested after our start arrive (the shipper caught up), or after a minute of none.
      const silenceArmed = ingestFlowing || now - startedAt > noDataArmMs
      for (const rule of enabled) {
        if (rule.kind !== 'no_data' || !silenceArmed || now - startedAt < rule.forMs) continue
        for (const s of states.get(rule.id)?.values() ?? []) {
          const t = checkSilence(rule, s, now)
          if (t !== null) out.push(t)
        }
      }
      // a group that stopped reporting ends its pending or firing alert (reason stale), judged
      // like silence: only once the pipeline is known to flow
      for (const rule of enabled) {
        if ((rule.kind !== 'threshold' && rule.kind !== 'increase') || !silenceArmed || now - startedAt < rule.staleAfterMs) continue
        for (const s of states.get(rule.id)?.values() ?? []) {
          const t = checkStale(rule, s, now)
          if (t !== null) out.push(t)
        }
      }
      evictIdle(now)
      if (out.length > 0) await publish(out)
      m.rounds.inc({ result: 'ok' })
    } catch (err) {
      m.rounds.inc({ result: 'error' })
      report(err)
    } finally { end() }
    return out
  }

  async function publish (ts: Transition[]): Promise<void> {
    const messages = new Map<string, string>()
    for (const t of ts) {
      const rule = ruleSet.get(t.ruleId)
      messages.set(t.id, rule !== undefined ? renderMessage(rule.message, rule, t) : '')
      m.transitions.inc({ to: t.to })
    }
    const touched = new Map<string, GroupState>()
    for (const t of ts) { const s = states.get(t.ruleId)?.get(t.key); if (s !== undefined) touched.set(`${t.ruleId}\u0000${t.key}`, s) }
    // persisted before anyone is notified: a restarted evaluator must find the new state
    let recorded = true
    try { await store.recordTransitions(ts, [...touched.values()], ruleSet.map(), messages) } catch (err) {
      recorded = false
      warn(`alerts: cannot record ${ts.length} transition(s): ${(err as Error).message.split('\n')[0]}`)
    }
    for (const t of ts) {
      const rule = ruleSet.get(t.ruleId)
      const payload = payloadOf(rule, t, messages.get(t.id) ?? '')
      for (const fn of subscribers) fn({ ...payload, recorded })
      if (t.to === 'firing' || t.to === 'resolved') notifier.enqueue({ payload, webhook: rule?.webhook ?? opts.defaultWebhook ?? null })
    }
  }

  /** Transitions a previous evaluator persisted but died before claiming: notify them now. */
  async function recoverUnclaimed (sinceMs: number): Promise<void> {
    const rows = await store.unclaimedSince(sinceMs, 1000)
    for (const h of rows) {
      const rule = ruleSet.get(h.rule_id)
      const t: Transition = { id: h.transition_id, ruleId: h.rule_id, key: groupKey(h), service: h.service, host: h.host, pid: Number(h.pid), from: h.from_state as Transition['from'], to: h.to_state as Transition['to'], ts: Date.parse(h.ts), since: Date.parse(h.since), value: h.value, threshold: h.threshold, reason: h.reason === 'stale' ? 'stale' : null }
      notifier.enqueue({ payload: payloadOf(rule, t, h.message), webhook: rule?.webhook ?? opts.defaultWebhook ?? null })
    }
    if (rows.length > 0) info(`alerts: ${rows.length} recorded transition(s) had no notification claim; sending them now`)
  }

  function schedule (): void {
    if (stopped) return
    timer = setTimeout(() => { void evaluator.tick().finally(schedule) }, evalMs)
    timer.unref()
  }

  const evaluator: AlertEvaluator = {
    store,
    notifier,
    async start () {
      if (started) return
      started = true
      // never fails the server: a ClickHouse that is down or not yet migrated is retried by
      // every round (see prepare) and reported, at most once a minute
      await prepare().catch(err => report(err))
      schedule()
    },
    async stop () {
      if (stopped) return
      stopped = true
      if (timer !== null) clearTimeout(timer)
      await running?.catch(() => {})
      await notifier.stop()
      subscribers.clear()
    },
    async tick () {
      if (running !== null) return await running
      running = round().finally(() => { running = null })
      return await running
    },
    rules: () => ruleSet.all(),
    rule: id => ruleSet.get(id),
    createRule: async (body, strict) => await ruleSet.create(body, strict),
    replaceRule: async (id, body, strict) => await ruleSet.replace(id, body, strict),
    deleteRule: async id => { await ruleSet.remove(id) },
    alerts (all) {
      const out: AlertView[] = []
      for (const [ruleId, byGroup] of states) {
        const rule = ruleSet.get(ruleId)
        if (rule === undefined) continue
        for (const s of byGroup.values()) {
          if (s.state === 'inactive' || (!all && s.state === 'resolved')) continue
          out.push({
            rule_id: ruleId, rule: rule.name, kind: rule.kind, severity: rule.severity, state: s.state, service: s.service, host: s.host, pid: s.pid,
            value: s.value, threshold: rule.kind === 'no_data' ? rule.forMs / 1000 : rule.threshold, since: new Date(s.since).toISOString(),
            changed_at: new Date(s.changedAt).toISOString(), last_sample: new Date(s.lastTs).toISOString(), transition_id: s.transitionId ?? ''
          })
        }
      }
      return out.sort((a, b) => a.rule_id.localeCompare(b.rule_id) || a.service.localeCompare(b.service) || a.host.localeCompare(b.host) || a.pid - b.pid)
    },
    waitingForData () {
      return ruleSet.all().filter(r => r.enabled && r.kind !== 'log_rate' && r.kind !== 'gap' && ![...(states.get(r.id)?.values() ?? [])].some(s => s.lastTs > 0 || (s.recent?.length ?? 0) > 0)).map(r => r.id)
    },
    subscribe (fn) {
      subscribers.add(fn)
      return () => { subscribers.delete(fn) }
    }
  }
  return evaluator
}
