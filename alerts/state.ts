// The per-(rule, service, host, pid) state machine, pure and driven by data time:
//
//   inactive/resolved ──breach──▶ pending ──breach held for `for`──▶ firing
//        ▲                          │ clear                            │ clear (past resolve_threshold,
//        └──────────────────────────┘                                  ▼  held for keep_firing_for)
//                                                                   resolved
//   no_data: (any) ──no sample for `for`──▶ firing ──a sample arrives──▶ resolved
//   threshold, increase: pending/firing ──no sample for `stale_after`──▶ inactive/resolved (reason stale)
//   increase: value = this sample − the last sample at or before (its time − window)
//
// Every transition happens at the timestamp of the sample that caused it (or, for no-data,
// at last sample + `for`), never at wall-clock evaluation time. That makes a transition's id
// a pure function of the data — sha256(rule, group, to-state, ts) — so every evaluator (a
// restarted one, or a second query-api process) derives the same id for the same event,
// which is what the notification claim is keyed on.
import crypto from 'node:crypto'
import type { Op, Rule } from './rules.js'

export type AlertState = 'inactive' | 'pending' | 'firing' | 'resolved'

export interface Group { service: string, host: string, pid: number }

export interface GroupState extends Group {
  ruleId: string
  key: string
  state: AlertState
  /** when the current episode began: pending start (threshold) or last sample (no-data) */
  since: number
  /** data time of the last sample applied; older samples are ignored */
  lastTs: number
  value: number
  /** first sample of the current run of "clear" samples while firing (keep_firing_for) */
  clearSince: number | null
  transitionId: string | null
  /** gap rules: the lost range this state stands for (memory only; the key names it too) */
  gap?: GapRef
  /** data time of the last transition */
  changedAt: number
  /** increase rules: recent [time, value] samples in time order (memory only; refilled from
   *  the stats table by a restarted evaluator's look-back) */
  recent?: Array<[number, number]>
}

export interface Transition extends Group {
  id: string
  ruleId: string
  key: string
  from: AlertState
  to: AlertState
  ts: number
  since: number
  value: number
  threshold: number
  /** why, when not the value itself: 'stale' = the group stopped reporting */
  reason?: 'stale' | null
  /** gap rules: the lost byte range */
  gap?: GapRef
}

/** a lost byte range of a source (gap rules) */
export interface GapRef { source: string, path: string, from: number, to: number | null }

export function groupKey (g: Group): string {
  return `${g.service}\u0000${g.host}\u0000${g.pid}`
}

export function transitionId (ruleId: string, key: string, to: AlertState, ts: number): string {
  return crypto.createHash('sha256').update(`${ruleId}\n${key}\n${to}\n${ts}`).digest('hex').slice(0, 32)
}

export function newGroupState (ruleId: string, g: Group): GroupState {
  return { ...g, ruleId, key: groupKey(g), state: 'inactive', since: 0, lastTs: 0, value: 0, clearSince: null, transitionId: null, changedAt: 0 }
}

function cmp (op: Op, v: number, t: number): boolean {
  switch (op) {
    case '>': return v > t
    case '>=': return v >= t
    case '<': return v < t
    case '<=': return v <= t
  }
}

function move (s: GroupState, to: AlertState, ts: number, threshold: number, reason: 'stale' | null = null): Transition {
  const t: Transition = { id: transitionId(s.ruleId, s.key, to, ts), ruleId: s.ruleId, key: s.key, service: s.service, host: s.host, pid: s.pid, from: s.state, to, ts, since: s.since, value: s.value, threshold, reason }
  s.state = to
  s.transitionId = t.id
  s.changedAt = ts
  return t
}

/** Applies one sample of a threshold or log-rate rule; returns the transition it causes, if any. */
export function applySample (rule: Rule, s: GroupState, ts: number, value: number): Transition | null {
  if (ts <= s.lastTs) return null
  s.lastTs = ts
  s.value = value
  const breach = cmp(rule.op, value, rule.threshold)
  switch (s.state) {
    case 'inactive':
    case 'resolved':
      if (!breach) return null
      s.since = ts
      s.clearSince = null
      return move(s, rule.forMs === 0 ? 'firing' : 'pending', ts, rule.threshold)
    case 'pending':
      if (!breach) return move(s, 'inactive', ts, rule.threshold)
      return ts - s.since >= rule.forMs ? move(s, 'firing', ts, rule.threshold) : null
    case 'firing': {
      // hysteresis: with resolve_threshold the alert clears only once the value is past it,
      // so a value wobbling around `threshold` keeps one alert firing instead of flapping
      const clear = rule.resolveThreshold !== null ? !cmp(rule.op, value, rule.resolveThreshold) : !breach
      if (!clear) { s.clearSince = null; return null }
      s.clearSince ??= ts
      if (ts - s.clearSince < rule.keepFiringForMs) return null
      s.clearSince = null
      return move(s, 'resolved', ts, rule.resolveThreshold ?? rule.threshold)
    }
  }
}

/** No-data rule: a sample arrived (resolves a firing no-data alert). */
export function applyPresence (rule: Rule, s: GroupState, ts: number): Transition | null {
  if (ts <= s.lastTs) return null
  const wasFiring = s.state === 'firing'
  s.lastTs = ts
  s.since = ts
  s.value = 0
  return wasFiring ? move(s, 'resolved', ts, rule.forMs / 1000) : null
}

/** No-data rule: checked on every tick against the wall clock. */
export function checkSilence (rule: Rule, s: GroupState, now: number): Transition | null {
  if (s.state === 'firing' || s.lastTs === 0 || now - s.lastTs < rule.forMs) return null
  s.value = rule.forMs / 1000
  // placed at last sample + for, not at `now`, so every evaluator names it the same
  return move(s, 'firing', s.lastTs + rule.forMs, rule.forMs / 1000)
}

/** samples kept per increase window at most: beyond one per window/1000 ms, the last sample of
 *  each such slot is kept (the base sample is then at most one slot early) */
export const increaseSlots = 1000

/** Increase rule: records a sample and returns its value — `value` minus the last sample at or
 *  before `ts − window` — or null while the window is not covered yet (or for a sample older
 *  than the newest, which the state machine would ignore anyway). */
export function recordIncrease (rule: Rule, s: GroupState, ts: number, value: number): number | null {
  const buf = s.recent ??= []
  let i = buf.length
  while (i > 0 && buf[i - 1][0] > ts) i--
  if (i > 0 && buf[i - 1][0] === ts) return null
  const newest = i === buf.length
  const slotMs = Math.max(1, Math.floor(rule.windowMs / increaseSlots))
  // one sample per slot: a newer sample of the newest's slot replaces it
  if (newest && buf.length > 0 && Math.floor(buf[buf.length - 1][0] / slotMs) === Math.floor(ts / slotMs)) buf.pop()
  buf.splice(newest ? buf.length : i, 0, [ts, value])
  const latest = buf[buf.length - 1][0]
  // drop everything older than the base of the newest sample
  let base = -1
  for (let j = buf.length - 1; j >= 0; j--) if (buf[j][0] <= latest - rule.windowMs) { base = j; break }
  if (base > 0) buf.splice(0, base)
  if (buf.length > 2 * increaseSlots + 2) buf.splice(0, buf.length - (2 * increaseSlots + 2))
  if (!newest || base < 0) return null
  return value - buf[0][1]
}

/** Threshold and increase rules: checked on every tick against the wall clock. A pending or
 *  firing group without a sample for `stale_after` ends: placed at last sample + stale_after
 *  (like no-data), so every evaluator names it the same. */
export function checkStale (rule: Rule, s: GroupState, now: number): Transition | null {
  if ((s.state !== 'pending' && s.state !== 'firing') || s.lastTs === 0 || now - s.lastTs < rule.staleAfterMs) return null
  s.clearSince = null
  const ts = s.lastTs + rule.staleAfterMs
  return s.state === 'pending' ? move(s, 'inactive', ts, rule.threshold, 'stale') : move(s, 'resolved', ts, rule.resolveThreshold ?? rule.threshold, 'stale')
}

export function renderMessage (template: string, rule: Rule, t: Transition): string {
  const vars: Record<string, string> = {
    rule: rule.name, state: t.to, host: t.host, service: t.service, pid: String(t.pid),
    value: formatNumber(t.value), threshold: formatNumber(t.threshold), severity: rule.severity, reason: t.reason ?? '',
    source: t.gap?.source ?? '', path: t.gap?.path ?? '', range: t.gap === undefined ? '' : `${t.gap.from}-${t.gap.to ?? '?'}`
  }
  return template.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (m, k: string) => vars[k] ?? m)
}

function formatNumber (v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)))
}
