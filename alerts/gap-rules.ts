// Gap rules (`kind: "gap"`): one state per lost byte range (service, host, source, start), fired
// once when the range appears, resolved when it is no longer lost (its lines arrived after all).
// The gaps come from a finder the composer passes in (cli/ wires the query API's /v1/gaps pass):
// this stage never imports another.
import type { ClickHouseClient } from '@clickhouse/client'
import type { Rule } from './rules.js'
import { applySample, groupKey, type GapRef, type Group, type Transition } from './state.js'
import type { GroupTable } from './group-table.js'

/** what a gap rule reads of /v1/gaps */
export interface GapsView {
  sources: Array<{ service: string, host: string, source: string, path: string, ranges: Array<{ class: string, from: number, to: number | null, bytes: number | null }> }>
}
export type GapFinder = (ch: { clickhouse: ClickHouseClient, database: string }, filter: { hosts: string[], services: string[] }, now: number) => Promise<GapsView>

/** how often the gaps are computed (one pass over every stored line's identity, for all gap rules) */
const gapEveryMs = 10_000

/** the range a persisted gap state stands for, from its key (service, host, source, start) */
function gapOfKey (key: string): GapRef {
  const p = key.split('\u0000')
  return { source: p[3] ?? '', path: '', from: Number(p[4] ?? 0), to: null }
}

/** an empty list matches everything */
const matches = (list: string[], v: string): boolean => list.length === 0 || list.includes(v)

/** the filter one pass needs to serve every rule: empty (all) as soon as one rule is unfiltered */
export function unionFilter (rules: Array<Pick<Rule, 'hosts' | 'services'>>): { hosts: string[], services: string[] } {
  const union = (lists: string[][]): string[] => lists.some(l => l.length === 0) ? [] : [...new Set(lists.flat())].sort()
  return { hosts: union(rules.map(r => r.hosts)), services: union(rules.map(r => r.services)) }
}

export function createGapRules (find: GapFinder | undefined, ch: { clickhouse: ClickHouseClient, database: string }, groups: GroupTable): { evaluate: (rules: Rule[], now: number, out: Transition[]) => Promise<void> } {
  let lastCheck = 0
  return {
    async evaluate (rules, now, out) {
      if (rules.length === 0 || now - lastCheck < gapEveryMs) return
      if (find === undefined) throw new Error('gap rules need a gap finder (the query API wires it in); they are not evaluated')
      lastCheck = now
      // one pass for every gap rule of the round: the union of their filters, each rule then
      // keeps its own hosts/services (so the cost does not grow with the number of rules)
      const body = await find(ch, unionFilter(rules), now)
      for (const rule of rules) {
        const seen = new Set<string>()
        for (const src of body.sources) {
          if (!matches(rule.hosts, src.host) || !matches(rule.services, src.service)) continue
          for (const r of src.ranges) {
            if (r.class !== 'lost') continue
            const g: Group = { service: src.service, host: src.host, pid: 0 }
            const s = groups.of(rule, g, `${groupKey(g)}\u0000${src.source}\u0000${r.from}`)
            if (s === null) continue
            s.gap = { source: src.source, path: src.path, from: r.from, to: r.to }
            seen.add(s.key)
            const t = applySample(rule, s, now, r.bytes ?? 0)
            if (t !== null) out.push({ ...t, gap: s.gap })
          }
        }
        for (const s of groups.ofRule(rule.id)) {
          if (seen.has(s.key) || s.state === 'inactive' || s.state === 'resolved') continue
          const t = applySample(rule, s, now, 0)
          if (t !== null) out.push({ ...t, gap: s.gap ?? gapOfKey(s.key) })
        }
      }
    }
  }
}
