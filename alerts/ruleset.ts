// The rules an evaluator runs: the built-in defaults and the rules file (fixed at start,
// read-only through the API) plus the API's rules, stored in ClickHouse `alert_rules` and
// re-read every few seconds so every query-api process converges on the same set.
import crypto from 'node:crypto'
import { errors } from '../platform/errors.js'
import { warn } from '../platform/log.js'
import { badRule, checkRuleShape, compileRule, type Rule, type RuleBody } from './rules.js'
import type { AlertStore } from './store.js'
import { checkDestination, denyAllPrivate, redactUrl, type DestinationPolicy } from './destination.js'
import { asProblems, metricWarnings, shownWarnings, type RuleWarning } from './metric-check.js'

/** A written rule and what may keep it from ever firing (an unreported metric). */
export interface Written { rule: Rule, warnings: RuleWarning[] }

export interface RuleSetOptions {
  /** rules evaluated at most, all origins together (default 100) */
  maxRules?: number
  /** where webhooks may go (checked when a rule is written) */
  policy?: DestinationPolicy
}

export interface RuleSet {
  /** re-read the API's rules; `onRemoved` hears ids that disappeared */
  reload (): Promise<void>
  /** when the set was last read (ms, local clock) */
  loadedAt (): number
  all (): Rule[]
  get (id: string): Rule | undefined
  map (): Map<string, Rule>
  /** strict: a warning refuses the rule (400) instead */
  create (body: unknown, strict?: boolean): Promise<Written>
  replace (id: string, body: unknown, strict?: boolean): Promise<Written>
  remove (id: string): Promise<void>
}

export function createRuleSet (store: AlertStore, fixed: Rule[], onRemoved: (id: string) => void, opts: RuleSetOptions = {}): RuleSet {
  const maxRules = opts.maxRules ?? 100
  const policy = opts.policy ?? denyAllPrivate
  if (fixed.length > maxRules) throw errors.CONFIG_INVALID('SLUICE_ALERT_MAX_RULES', String(maxRules), `the rules file and built-in rules alone are ${fixed.length}`)
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

  /** a webhook whose host resolves to a refused address is a 400 now (and refused at send
   *  time too); a host that does not resolve yet is accepted, the send re-checks it */
  async function checkWebhook (body: RuleBody): Promise<void> {
    if (body.webhook === undefined) return
    const v = await checkDestination(policy, new URL(body.webhook))
    if (!v.ok && v.unresolved !== true) throw errors.BAD_RULE('webhook', `is refused: ${v.reason}`)
  }

  /** warnings about the rule's metrics; under strict they are a 400 and nothing is written */
  async function checkMetrics (rule: Rule, strict: boolean): Promise<RuleWarning[]> {
    const ws = await metricWarnings(rule, async limit => await store.reportedMetrics(limit))
    if (strict && ws.length > 0) throw badRule(asProblems(ws))
    return shownWarnings(ws)
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
    async create (raw, strict = false) {
      const body = checkRuleShape(raw)
      const id = body.id ?? crypto.randomBytes(6).toString('hex')
      const rule = compileRule({ ...body, id }, 'api')
      await checkWebhook(body)
      const warnings = await checkMetrics(rule, strict)
      // another process may have created it since our last read
      await reload()
      if (rules.has(id)) throw errors.RULE_EXISTS(id)
      // across processes the cap is approximate: two creating at once may both pass it
      if (rules.size >= maxRules) throw errors.TOO_MANY_RULES(maxRules)
      await write(id, { ...body, id })
      return { rule: rules.get(id) ?? rule, warnings }
    },
    async replace (id, raw, strict = false) {
      const body = checkRuleShape(raw)
      if (body.id !== undefined && body.id !== id) throw errors.BAD_RULE('id', `must match the id in the URL ('${id}') or be omitted`)
      await reload()
      const existing = editable(id)
      // GET shows the webhook redacted: sending that form back keeps the stored credentials
      if (body.webhook !== undefined && existing.webhook !== null && body.webhook !== existing.webhook && body.webhook === redactUrl(existing.webhook)) body.webhook = existing.webhook
      const rule = compileRule({ ...body, id }, 'api')
      await checkWebhook(body)
      const warnings = await checkMetrics(rule, strict)
      await write(id, { ...body, id })
      return { rule: rules.get(id) ?? rule, warnings }
    },
    async remove (id) {
      await reload()
      editable(id)
      await write(id, null)
    }
  }
}
