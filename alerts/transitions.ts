// Where a round's transitions go: persisted first (alert_history, alert_state), so a restarted
// evaluator finds the new state, then to SSE subscribers and, for firing and resolved, to the
// notifier. At start, transitions a previous evaluator persisted but never claimed are sent.
import type { Counter } from 'prom-client'
import { info, warn } from '../platform/log.js'
import type { Rule } from './rules.js'
import type { RuleSet } from './ruleset.js'
import { groupKey, renderMessage, type GroupState, type Transition } from './state.js'
import type { AlertStore } from './store.js'
import type { Notifier, NotificationPayload } from './notifier.js'
import type { GroupTable } from './group-table.js'

export interface TransitionEvent extends NotificationPayload { recorded: boolean }

export interface TransitionRecorder {
  publish (ts: Transition[]): Promise<void>
  /** notify transitions persisted since `sinceMs` that no notifier claimed */
  recoverUnclaimed (sinceMs: number): Promise<void>
  subscribe (fn: (e: TransitionEvent) => void): () => void
  unsubscribeAll (): void
}

export interface RecorderParts {
  store: AlertStore
  notifier: Notifier
  ruleSet: RuleSet
  groups: GroupTable
  /** webhook for rules without their own */
  defaultWebhook: string | null
  transitions: Counter<'to'>
}

export function payloadOf (rule: Rule | undefined, t: Transition, message: string): NotificationPayload {
  return {
    transition_id: t.id, rule_id: t.ruleId, rule: rule?.name ?? t.ruleId, kind: rule?.kind ?? '', state: t.to, previous_state: t.from,
    severity: rule?.severity ?? 'warning', labels: rule?.labels ?? {}, service: t.service, host: t.host, pid: t.pid,
    value: t.value, threshold: t.threshold, metric: rule?.divideBy != null ? `${rule.metric}/${rule.divideBy}` : rule?.kind === 'increase' ? `increase(${rule.metric}, ${rule.body.window})` : (rule?.metric ?? null),
    since: new Date(t.since).toISOString(), ts: new Date(t.ts).toISOString(), for_ms: rule?.forMs ?? 0, message, reason: t.reason ?? null,
      ...(t.gap !== undefined ? { gap: t.gap } : {})
  }
}

export function createTransitionRecorder ({ store, notifier, ruleSet, groups, defaultWebhook, transitions }: RecorderParts): TransitionRecorder {
  const subscribers = new Set<(e: TransitionEvent) => void>()
  return {
    async publish (ts) {
      const messages = new Map<string, string>()
      for (const t of ts) {
        const rule = ruleSet.get(t.ruleId)
        messages.set(t.id, rule !== undefined ? renderMessage(rule.message, rule, t) : '')
        transitions.inc({ to: t.to })
      }
      const touched = new Map<string, GroupState>()
      for (const t of ts) { const s = groups.get(t.ruleId, t.key); if (s !== undefined) touched.set(`${t.ruleId}\u0000${t.key}`, s) }
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
        if (t.to === 'firing' || t.to === 'resolved') notifier.enqueue({ payload, webhook: rule?.webhook ?? defaultWebhook })
      }
    },
    async recoverUnclaimed (sinceMs) {
      const rows = await store.unclaimedSince(sinceMs, 1000)
      for (const h of rows) {
        const rule = ruleSet.get(h.rule_id)
        const t: Transition = { id: h.transition_id, ruleId: h.rule_id, key: groupKey(h), service: h.service, host: h.host, pid: Number(h.pid), from: h.from_state as Transition['from'], to: h.to_state as Transition['to'], ts: Date.parse(h.ts), since: Date.parse(h.since), value: h.value, threshold: h.threshold, reason: h.reason === 'stale' ? 'stale' : null }
        notifier.enqueue({ payload: payloadOf(rule, t, h.message), webhook: rule?.webhook ?? defaultWebhook })
      }
      if (rows.length > 0) info(`alerts: ${rows.length} recorded transition(s) had no notification claim; sending them now`)
    },
    subscribe (fn) {
      subscribers.add(fn)
      return () => { subscribers.delete(fn) }
    },
    unsubscribeAll () { subscribers.clear() }
  }
}
