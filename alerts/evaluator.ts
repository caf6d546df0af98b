// The alert evaluator: one per query-api process.
//   every evalIntervalMs: stats rows ingested since the watermark (stats-reader.ts)
//     ──▶ samples per (service, host, pid, ts) ──▶ state machine per rule × group (state.ts, group-table.ts)
//   + log-rate rules on a fixed 10 s grid (log-rate.ts), + no-data and stale checks against the clock
//     ──▶ transitions ──persist (alert_history, alert_state)──▶ SSE subscribers   (transitions.ts)
//                                                           └──▶ notifier (firing / resolved)
import type { Registry } from 'prom-client'
import { alertMetrics } from './metrics.js'
import type { ClickHouseClient } from '@clickhouse/client'
import { info, warn } from '../platform/log.js'
import { builtinRules, loadRulesFile, type Rule } from './rules.js'
import { createRuleSet, type Written } from './ruleset.js'
import { applyPresence, applySample, checkSilence, checkStale, recordIncrease, type GroupState, type Transition } from './state.js'
import { createAlertStore, type AlertStore } from './store.js'
import { createNotifier, type Notifier, type NotifierOptions } from './notifier.js'
import { createGroupTable, matches, type AlertView, type GroupTable } from './group-table.js'
import { createStatsReader, overlapMs, type Sample, type StatsReader } from './stats-reader.js'
import { createLogRateCounter } from './log-rate.js'
import { createTransitionRecorder, type TransitionEvent } from './transitions.js'
import { createGapRules, type GapFinder } from './gap-rules.js'

export type { AlertView } from './group-table.js'
export type { TransitionEvent } from './transitions.js'

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
  /** where gap rules read /v1/gaps from (cli/ passes the query API's pass); without it gap rules report an error */
  findGaps?: GapFinder
}

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

const noDataArmMs = 60_000
/** the API's rules are re-read at least this often */
const rulesReloadMs = 5000

/** the transition (if any) one stats sample causes for one rule */
function sampleTransition (rule: Rule, sample: Sample, groups: GroupTable): Transition | null {
  if (!matches(rule, sample)) return null
  const v = sample.metrics.get(rule.metric!)
  if (v === undefined) return null
  let value = v
  if (rule.divideBy !== null) {
    const d = sample.metrics.get(rule.divideBy)
    // a ratio needs both halves of the same record and a real denominator (fd_limit is -1 when unlimited)
    if (d === undefined || d <= 0) return null
    value = v / d
  }
  const s = groups.of(rule, sample)
  if (s === null) return null
  if (rule.kind === 'increase') {
    const inc = recordIncrease(rule, s, sample.t, value)
    if (inc === null) return null
    value = inc
  }
  return rule.kind === 'no_data' ? applyPresence(rule, s, sample.t) : applySample(rule, s, sample.t, value)
}

/** silence (no_data) and staleness (threshold, increase) judged against the clock */
function clockTransitions (rules: Rule[], groups: GroupTable, now: number, runningMs: number, out: Transition[]): void {
  for (const rule of rules) {
    if (rule.kind !== 'no_data' || runningMs < rule.forMs) continue
    for (const s of groups.ofRule(rule.id)) {
      const t = checkSilence(rule, s, now)
      if (t !== null) out.push(t)
    }
  }
  // a group that stopped reporting ends its pending or firing alert (reason stale)
  for (const rule of rules) {
    if ((rule.kind !== 'threshold' && rule.kind !== 'increase') || runningMs < rule.staleAfterMs) continue
    for (const s of groups.ofRule(rule.id)) {
      const t = checkStale(rule, s, now)
      if (t !== null) out.push(t)
    }
  }
}

/** the transitions the new stats samples of `rules`' metrics make */
async function evaluateStats (stats: StatsReader, groups: GroupTable, rules: Rule[], out: Transition[]): Promise<void> {
  const metrics = [...new Set(rules.flatMap(r => [r.metric, r.divideBy]).filter((x): x is string => x !== null))]
  if (metrics.length === 0) return
  await stats.read(metrics, samples => {
    for (const sample of samples) {
      for (const rule of rules) {
        const t = sampleTransition(rule, sample, groups)
        if (t !== null) out.push(t)
      }
    }
  })
}

/** the enabled sample-driven rules none of whose groups has seen a sample yet */
function waitingForData (rules: Rule[], groups: GroupTable): string[] {
  return rules.filter(r => r.enabled && r.kind !== 'log_rate' && r.kind !== 'gap' && ![...groups.ofRule(r.id)].some((s: GroupState) => s.lastTs > 0 || (s.recent?.length ?? 0) > 0)).map(r => r.id)
}

/** a warning logged at most once a minute per distinct first line */
function createReporter (): (err: unknown) => void {
  let last = ''
  let lastAt = 0
  return err => {
    const msg = (err as Error).message.split('\n')[0]
    if (msg === last && Date.now() - lastAt < 60_000) return
    last = msg
    lastAt = Date.now()
    warn(`alerts: ${msg}`)
  }
}

export function createAlertEvaluator (opts: EvaluatorOptions): AlertEvaluator {
  const store = createAlertStore(opts.clickhouse, opts.database)
  const notifier = createNotifier({ ...opts.notifier, store, registry: opts.registry })
  const evalMs = opts.evalIntervalMs ?? 1000
  const maxGroups = opts.maxGroupsPerRule ?? 10_000
  const m = alertMetrics(opts.registry)
  const groups = createGroupTable(maxGroups, m.groupsDropped)
  const ruleSet = createRuleSet(store, [...(opts.builtins === true ? builtinRules() : []), ...(opts.rulesFile != null ? loadRulesFile(opts.rulesFile) : [])], id => groups.dropRule(id), { maxRules: opts.maxRules, policy: opts.notifier?.policy })
  const stats = createStatsReader(store, opts.statsPageRows ?? 50_000)
  const logRates = createLogRateCounter(store, groups, maxGroups)
  const gapRules = createGapRules(opts.findGaps, { clickhouse: opts.clickhouse, database: opts.database }, groups)
  const recorder = createTransitionRecorder({ store, notifier, ruleSet, groups, defaultWebhook: opts.defaultWebhook ?? null, transitions: m.transitions })
  const report = createReporter()
  let startedAt = 0
  let timer: NodeJS.Timeout | null = null
  let running: Promise<Transition[]> | null = null
  let started = false
  let stopped = false

  let prepared = false
  /** Start-up reads: clock, rules, persisted states, unclaimed transitions. Until they
   *  succeed nothing is evaluated (evaluating without the persisted states could fire again). */
  async function prepare (): Promise<void> {
    if (prepared) return
    const dbNow = await store.now()
    await ruleSet.reload()
    groups.load(await store.loadStates(), id => ruleSet.get(id) !== undefined)
    startedAt = Date.now()
    // an increase rule needs a window of samples before its first value: re-read the longest
    stats.rewind(dbNow - Math.max(opts.startLookbackMs ?? 15 * 60_000, ...ruleSet.all().filter(r => r.kind === 'increase').map(r => r.windowMs + overlapMs)), dbNow)
    prepared = true
    // a failed look-up must not keep alerting down: those transitions are only not re-sent
    await recorder.recoverUnclaimed(stats.watermark).catch(err => report(err))
    info(`alerts: evaluating ${ruleSet.all().filter(r => r.enabled).length} rule(s) every ${evalMs} ms (notifier ${notifier.owner})`)
  }

  async function round (): Promise<Transition[]> {
    const end = m.seconds.startTimer()
    const out: Transition[] = []
    try {
      await prepare()
      if (Date.now() - ruleSet.loadedAt() > rulesReloadMs) await ruleSet.reload()
      const enabled = ruleSet.all().filter(r => r.enabled)
      await evaluateStats(stats, groups, enabled.filter(r => r.kind !== 'log_rate' && r.kind !== 'gap'), out)
      const now = Date.now()
      await logRates.evaluate(enabled.filter(r => r.kind === 'log_rate'), now, out)
      // its own failure (a slow or failing pass over the lines) must not hold the other kinds
      await gapRules.evaluate(enabled.filter(r => r.kind === 'gap'), now, out).catch(err => report(err))
      // After a restart the pipeline itself was down: silence is only blamed on a process once
      // rows ingested after our start arrive (the shipper caught up), or after a minute of none.
      if (stats.ingestFlowing || now - startedAt > noDataArmMs) clockTransitions(enabled, groups, now, now - startedAt, out)
      groups.evictIdle(now)
      if (out.length > 0) await recorder.publish(out)
      m.rounds.inc({ result: 'ok' })
    } catch (err) {
      m.rounds.inc({ result: 'error' })
      report(err)
    } finally { end() }
    return out
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
      recorder.unsubscribeAll()
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
    alerts: all => groups.views(id => ruleSet.get(id), all),
    waitingForData: () => waitingForData(ruleSet.all(), groups),
    subscribe: fn => recorder.subscribe(fn)
  }
  return evaluator
}
