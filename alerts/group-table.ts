// The alert state of every rule × group (service, host, pid) an evaluator tracks, in memory:
// created on a group's first sample, bounded per rule (beyond it new groups are counted and
// ignored), evicted an hour after going quiet, replaced by the persisted states at start.
import type { Counter } from 'prom-client'
import type { Rule } from './rules.js'
import { groupKey, newGroupState, type Group, type GroupState } from './state.js'

export interface AlertView {
  rule_id: string, rule: string, kind: string, severity: string, state: string
  service: string, host: string, pid: number, value: number, threshold: number
  since: string, changed_at: string, last_sample: string, transition_id: string
}

export interface GroupTable {
  /** the state of `rule` for `g` (under `key`, by default the group's), created on first sight;
   *  null past the per-rule limit */
  of (rule: Rule, g: Group, key?: string): GroupState | null
  get (ruleId: string, key: string): GroupState | undefined
  /** the states of one rule */
  ofRule (ruleId: string): Iterable<GroupState>
  dropRule (ruleId: string): void
  /** replace every state by the persisted ones of rules that still exist */
  load (persisted: GroupState[], exists: (ruleId: string) => boolean): void
  /** forget inactive or resolved groups silent for longer than an hour */
  evictIdle (now: number): void
  /** pending and firing alerts (all: resolved too), in a stable order */
  views (rule: (id: string) => Rule | undefined, all: boolean): AlertView[]
}

const idleGroupMs = 3_600_000

/** a group matches a rule without service or host filters, or one that names it */
export function matches (rule: Rule, g: Group): boolean {
  return (rule.services.length === 0 || rule.services.includes(g.service)) && (rule.hosts.length === 0 || rule.hosts.includes(g.host))
}

export function createGroupTable (maxGroupsPerRule: number, groupsDropped: Counter): GroupTable {
  const states = new Map<string, Map<string, GroupState>>()
  const byGroupOf = (ruleId: string): Map<string, GroupState> => {
    let byGroup = states.get(ruleId)
    if (byGroup === undefined) { byGroup = new Map(); states.set(ruleId, byGroup) }
    return byGroup
  }

  return {
    of (rule, g, key = groupKey(g)) {
      const byGroup = byGroupOf(rule.id)
      let s = byGroup.get(key)
      if (s === undefined) {
        if (byGroup.size >= maxGroupsPerRule) { groupsDropped.inc(); return null }
        s = { ...newGroupState(rule.id, g), key }
        byGroup.set(key, s)
      }
      return s
    },
    get: (ruleId, key) => states.get(ruleId)?.get(key),
    ofRule: ruleId => states.get(ruleId)?.values() ?? [],
    dropRule: ruleId => { states.delete(ruleId) },
    load (persisted, exists) {
      states.clear()
      for (const s of persisted) if (exists(s.ruleId)) byGroupOf(s.ruleId).set(s.key, s)
    },
    evictIdle (now) {
      for (const byGroup of states.values()) {
        for (const [k, s] of byGroup) if ((s.state === 'inactive' || s.state === 'resolved') && s.lastTs !== 0 && now - s.lastTs > idleGroupMs) byGroup.delete(k)
      }
    },
    views (ruleOf, all) {
      const out: AlertView[] = []
      for (const [ruleId, byGroup] of states) {
        const rule = ruleOf(ruleId)
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
    }
  }
}
