// log_rate rules: lines per minute per group, counted on a fixed 10 s grid once a short lag has
// passed, so every evaluator counts the same window and derives the same transition ids.
import type { Rule } from './rules.js'
import type { AlertStore } from './store.js'
import { applySample, type Transition } from './state.js'
import type { GroupTable } from './group-table.js'

export interface LogRateCounter {
  /** evaluate `rules` at every grid point up to `now` not yet evaluated */
  evaluate (rules: Rule[], now: number, out: Transition[]): Promise<void>
}

const stepMs = 10_000
const lagMs = 5_000
const windowMs = 60_000
/** log-rate rules counted by one query (one aggregate each) */
const rulesPerQuery = 200

export function createLogRateCounter (store: AlertStore, groups: GroupTable, maxGroupsPerRule: number): LogRateCounter {
  let lastGrid = 0

  /** apply one grid point's counts to a rule (column i of `counts`) */
  function applyCounts (rule: Rule, i: number, counts: Awaited<ReturnType<AlertStore['logCounts']>>, g: number, out: Transition[]): void {
    const seen = new Set<string>()
    for (const c of counts) {
      if (c.n[i] === 0) continue
      const s = groups.of(rule, c)
      if (s === null) continue
      seen.add(s.key)
      const t = applySample(rule, s, g, c.n[i])
      if (t !== null) out.push(t)
    }
    // a group that logged nothing in the window has a rate of 0: that matters to a pending
    // or firing alert, and to a "fewer than" rule; others are left to age out of memory
    const zeroMatters = rule.op === '<' || rule.op === '<='
    for (const s of groups.ofRule(rule.id)) {
      if (seen.has(s.key) || (!zeroMatters && (s.state === 'inactive' || s.state === 'resolved'))) continue
      const t = applySample(rule, s, g, 0)
      if (t !== null) out.push(t)
    }
  }

  return {
    async evaluate (rules, now, out) {
      if (rules.length === 0) return
      const grid = Math.floor((now - lagMs) / stepMs) * stepMs
      if (lastGrid === 0) lastGrid = grid - stepMs
      for (let g = lastGrid + stepMs; g <= grid; g += stepMs) {
        // one query per chunk of rules, not per rule: the window is scanned once
        for (let at = 0; at < rules.length; at += rulesPerQuery) {
          const chunk = rules.slice(at, at + rulesPerQuery)
          const counts = await store.logCounts(g - windowMs, g, chunk, maxGroupsPerRule)
          chunk.forEach((rule, i) => applyCounts(rule, i, counts, g, out))
        }
      }
      lastGrid = grid
    }
  }
}
