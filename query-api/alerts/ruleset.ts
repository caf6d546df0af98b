// The rules an evaluator runs: the built-in defaults and the rules file (fixed at start,
// read-only through the API) plus the API's rules, stored in ClickHouse `alert_rules` and
// re-read every few seconds so every query-api process converges on the same set.
import crypto from 'node:crypto'
import { errors } from '../../platform/errors.js'
import { warn } from '../../platform/log.js'
import { checkRuleShape, compileRule, type Rule, type RuleBody } from './rules.js'
import type { AlertStore } from './store.js'

export interface RuleSet {
  /** re-read the API's rules; `onRemoved` hears ids that disappeared */
  reload (): Promise<void>
  /** when the set was last read (ms, local clock) */
  loadedAt (): number
  all (): Rule[]
  get (id: string): Rule | undefined
  map (): Map<string, Rule>
  create (body: unknown): Promise<Rule>
  replace (id: string, body: unknown): Promise<Rule>
  remove (id: string): Promise<void>
}

export function createRuleSet (store: AlertStore, fixed: Rule[], onRemoved: (id: string) => void): RuleSet {
  let rules = new Map<string, Rule>(fixed.map(r => [r.id, r]))
  let loadedAt = 0
  const versions = new Map<string, number>()

  async function reload (): Promise<void> {
    const next = new Map<string, Rule>(fixed.map(r => [r.id, r]))
    for (const s of await store.listRules()) {
      if (next.has(s.id)) continue
      try { next.set(s.id, compileRule({ ...s.body, id: s.id }, 'api')) } catch (err) { warn(`alerts: stored rule ${s.id} is invalid (${(err as Error).message}); ignored`) }
    }
    for (const id of rules.keys()) if (!next.has(id)) onRemoved(id)
    rules = next
    loadedAt = Date.now()
  }

  async function write (id: string, body: RuleBody | null): Promise<void> {
    // versions are ms timestamps (the latest write wins); a same-ms rewrite still sorts later
    const version = Math.max(Date.now(), (versions.get(id) ?? 0) + 1)
    versions.set(id, version)
    await store.writeRule(id, body, version)
    await reload()
  }

  function editable (id: string): Rule {
    const existing = rules.get(id)
    if (existing === undefined) throw errors.RULE_NOT_FOUND(id)
    if (existing.origin !== 'api') throw errors.RULE_READONLY(id, existing.origin === 'file' ? 'the rules file (SLUICE_ALERT_RULES)' : 'the built-in defaults')
    return existing
  }

  return {
    reload,
    loadedAt: () => loadedAt,
    all: () => [...rules.values()],
    get: id => rules.get(id),
    map: () => rules,
    async create (raw) {
      const body = checkRuleShape(raw)
      const id = body.id ?? crypto.randomBytes(6).toString('hex')
      const rule = compileRule({ ...body, id }, 'api')
      // another process may have created it since our last read
      await reload()
      if (rules.has(id)) throw errors.RULE_EXISTS(id)
      await write(id, { ...body, id })
      return rules.get(id) ?? rule
    },
    async replace (id, raw) {
      const body = checkRuleShape(raw)
      if (body.id !== undefined && body.id !== id) throw errors.BAD_RULE('id', `must match the id in the URL ('${id}') or be omitted`)
      await reload()
      editable(id)
      const rule = compileRule({ ...body, id }, 'api')
      await write(id, { ...body, id })
      return rules.get(id) ?? rule
    },
    async remove (id) {
      await reload()
      editable(id)
      await write(id, null)
    }
  }
}
