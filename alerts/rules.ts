// Alert rules: the TypeBox schema (route validation + TS type from one definition), the
// semantic checks TypeBox cannot express (each a specific 400), and compilation into the
// form the evaluator runs. Rules come from three places: the API (stored in ClickHouse), an
// optional rules file read at start, and the built-in Node defaults (off unless enabled).
import fs from 'node:fs'
import { Type, type Static } from '@sinclair/typebox'
import { levels, type Level } from '../schemas/records.js'
import { errors } from '../platform/errors.js'
import { ruleProblems, type Problem } from './rule-check.js'

const Name = Type.String({ minLength: 1, maxLength: 255 })
const Duration = Type.String({ maxLength: 32, description: 'e.g. 30s, 5m, 1h' })

export const RuleBody = Type.Object({
  id: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$', description: 'stable id (default: generated)' })),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  enabled: Type.Optional(Type.Boolean({ description: 'default true' })),
  kind: Type.Union([Type.Literal('threshold'), Type.Literal('increase'), Type.Literal('log_rate'), Type.Literal('no_data'), Type.Literal('gap')], { description: 'threshold: a stats metric (or ratio); increase: how much a metric grew over `window`; log_rate: matching lines per minute; no_data: a process that stops reporting; gap: a byte range of a source classed lost (GET /v1/gaps), once per range' }),
  metric: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.]{0,127}$', description: 'stats metric (threshold, increase, no_data)' })),
  divide_by: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.]{0,127}$', description: 'denominator metric: value = metric / divide_by (e.g. heap_used / heap_limit)' })),
  level: Type.Optional(Type.Union(levels.map(l => Type.Literal(l)), { description: 'log_rate: minimum level' })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'log_rate: substring of msg' })),
  service: Type.Optional(Type.Array(Name, { maxItems: 100 })),
  host: Type.Optional(Type.Array(Name, { maxItems: 100 })),
  op: Type.Optional(Type.Union([Type.Literal('>'), Type.Literal('>='), Type.Literal('<'), Type.Literal('<=')])),
  threshold: Type.Optional(Type.Number()),
  for: Type.Optional(Duration),
  resolve_threshold: Type.Optional(Type.Number({ description: 'hysteresis: the alert clears only past this value' })),
  keep_firing_for: Type.Optional(Duration),
  window: Type.Optional(Type.String({ maxLength: 32, description: 'increase: value = last sample − the last sample at or before (its time − window); 1s to 1d' })),
  stale_after: Type.Optional(Type.String({ maxLength: 32, description: 'threshold, increase: a pending or firing group with no sample for this long resolves with reason stale (default 5m)' })),
  severity: Type.Optional(Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')])),
  labels: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,63}$' }), Type.String({ maxLength: 1024 }), { maxProperties: 32 })),
  message: Type.Optional(Type.String({ maxLength: 2048, description: 'template: {{rule}} {{state}} {{host}} {{service}} {{pid}} {{value}} {{threshold}} {{severity}} {{reason}}; gap rules also {{source}} {{path}} {{range}}' })),
  webhook: Type.Optional(Type.String({ maxLength: 2048, description: 'http(s) URL receiving a JSON POST per firing/resolved transition' }))
}, { additionalProperties: false })
export type RuleBody = Static<typeof RuleBody>

export type Op = '>' | '>=' | '<' | '<='
export type Origin = 'api' | 'file' | 'builtin'

/** A validated rule in the form the evaluator runs; times in ms. */
export interface Rule {
  id: string
  name: string
  enabled: boolean
  kind: 'threshold' | 'increase' | 'log_rate' | 'no_data' | 'gap'
  metric: string | null
  divideBy: string | null
  level: Level | null
  q: string | null
  services: string[]
  hosts: string[]
  op: Op
  threshold: number
  forMs: number
  resolveThreshold: number | null
  keepFiringForMs: number
  /** increase: the look-back of the difference */
  windowMs: number
  /** threshold, increase: silence after which a pending/firing group ends (reason stale) */
  staleAfterMs: number
  severity: 'info' | 'warning' | 'critical'
  labels: Record<string, string>
  message: string
  webhook: string | null
  origin: Origin
  /** the body it was made from, returned by the API as-is */
  body: RuleBody
}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const maxDurationMs = 7 * 86_400_000

export function parseDuration (text: string): number | null {
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text)
  return m === null ? null : Number(m[1]) * units[m[2]]
}

/** The rule's problems as one 400 naming every field. */
export function badRule (problems: Problem[]): Error {
  return errors.BAD_RULE(problems[0][0], problems[0][1], problems.slice(1))
}

/** Structural check of the raw body (the route does not coerce it); throws BAD_RULE naming
 *  every wrong field. */
export function checkRuleShape (body: unknown): RuleBody {
  const problems = ruleProblems(body)
  if (problems.length > 0) throw badRule(problems)
  return body as RuleBody
}

const defaultMessage = '{{rule}} {{state}} on {{host}} {{service}} pid {{pid}}: value {{value}} (threshold {{threshold}})'
const defaultGapMessage = '{{rule}} {{state}}: {{value}} bytes of {{host}}:{{path}} lost (source {{source}}, bytes {{range}})'

export const defaultStaleAfterMs = 5 * 60_000
const maxWindowMs = 86_400_000

function duration (body: RuleBody, field: 'for' | 'keep_firing_for' | 'window' | 'stale_after', problems: Problem[]): number {
  const raw = body[field]
  if (raw === undefined) return 0
  const ms = parseDuration(raw)
  if (ms === null) { problems.push([field, `must be a duration like 30s, 5m or 1h, got ${JSON.stringify(raw)}`]); return 0 }
  if (ms > maxDurationMs) problems.push([field, 'must be at most 7d'])
  return ms
}

/** Semantic validation + compilation; every inconsistency is reported at once. `id` must
 *  already be set. */
export function compileRule (body: RuleBody & { id: string }, origin: Origin): Rule {
  const kind = body.kind
  const problems: Problem[] = []
  if ((kind === 'threshold' || kind === 'increase') && body.metric === undefined) problems.push(['metric', `is required when kind is '${kind}'`])
  if (kind !== 'threshold' && body.divide_by !== undefined) problems.push(['divide_by', "applies only to kind 'threshold'"])
  if (kind !== 'log_rate') for (const f of ['level', 'q'] as const) if (body[f] !== undefined) problems.push([f, "applies only to kind 'log_rate'"])
  if (kind === 'log_rate' && body.metric !== undefined) problems.push(['metric', "does not apply to kind 'log_rate' (it counts log lines)"])
  if (kind !== 'no_data' && kind !== 'gap') for (const f of ['op', 'threshold'] as const) if (body[f] === undefined) problems.push([f, `is required when kind is '${kind}'`])
  const forMs = duration(body, 'for', problems)
  const keepFiringForMs = duration(body, 'keep_firing_for', problems)
  const windowMs = duration(body, 'window', problems)
  const staleAfterMs = duration(body, 'stale_after', problems)
  if (kind === 'increase') {
    if (body.window === undefined) problems.push(['window', "is required when kind is 'increase' (e.g. 5m: value = last sample − the sample 5m before)"])
    else if (windowMs < 1000 || windowMs > maxWindowMs) problems.push(['window', 'must be between 1s and 1d'])
  } else if (body.window !== undefined) problems.push(['window', "applies only to kind 'increase'"])
  if (kind === 'log_rate' || kind === 'no_data' || kind === 'gap') {
    if (body.stale_after !== undefined) problems.push(['stale_after', "applies only to kinds 'threshold' and 'increase'"])
  } else if (body.stale_after !== undefined && staleAfterMs < 1000) problems.push(['stale_after', 'must be at least 1s'])
  if (kind === 'no_data') {
    for (const f of ['op', 'threshold', 'resolve_threshold', 'keep_firing_for'] as const) {
      if (body[f] !== undefined) problems.push([f, "does not apply to kind 'no_data' (it fires when no sample arrived for 'for')"])
    }
    if (forMs < 1000) problems.push(['for', "is required for kind 'no_data' and must be at least 1s"])
  }
  if (kind === 'gap') {
    for (const f of ['metric', 'op', 'threshold', 'resolve_threshold', 'keep_firing_for', 'for'] as const) {
      if (body[f] !== undefined) problems.push([f, "does not apply to kind 'gap' (it fires once when a byte range is classed lost)"])
    }
  }
  const op: Op = body.op ?? '>'
  const threshold = body.threshold ?? 0
  if (body.resolve_threshold !== undefined && body.threshold !== undefined) {
    const above = op === '>' || op === '>='
    if (above ? body.resolve_threshold > threshold : body.resolve_threshold < threshold) {
      problems.push(['resolve_threshold', `must be ${above ? '≤' : '≥'} threshold (${threshold}) for op '${op}': it is the level at which the alert clears`])
    }
  }
  if (body.webhook !== undefined) {
    let u: URL | null = null
    try { u = new URL(body.webhook) } catch { /* reported below */ }
    if (u === null || (u.protocol !== 'http:' && u.protocol !== 'https:')) problems.push(['webhook', 'must be an http(s) URL'])
  }
  if (problems.length > 0) throw badRule(problems)
  return {
    id: body.id,
    name: body.name,
    enabled: body.enabled ?? true,
    kind,
    metric: kind === 'log_rate' || kind === 'gap' ? null : (body.metric ?? 'heap_used'),
    divideBy: body.divide_by ?? null,
    level: body.level ?? null,
    q: body.q ?? null,
    services: body.service ?? [],
    hosts: body.host ?? [],
    op,
    threshold,
    forMs,
    resolveThreshold: body.resolve_threshold ?? null,
    keepFiringForMs,
    windowMs,
    staleAfterMs: body.stale_after !== undefined ? staleAfterMs : defaultStaleAfterMs,
    severity: body.severity ?? 'warning',
    labels: body.labels ?? {},
    message: body.message ?? (kind === 'gap' ? defaultGapMessage : defaultMessage),
    webhook: body.webhook ?? null,
    origin,
    body
  }
}

/** Built-in rules for Node processes (enabled with SLUICE_ALERT_DEFAULTS=1). */
export const builtinRuleBodies: Array<RuleBody & { id: string }> = [
  { id: 'builtin.heap', name: 'V8 heap above 90% of its limit', kind: 'threshold', metric: 'heap_used', divide_by: 'heap_limit', op: '>', threshold: 0.9, resolve_threshold: 0.85, for: '5m', severity: 'critical', message: 'heap of {{service}} pid {{pid}} on {{host}} at {{value}} of its limit (threshold {{threshold}}): the process is about to spend its life in GC' },
  { id: 'builtin.fds', name: 'open file descriptors above 80% of the limit', kind: 'threshold', metric: 'fds', divide_by: 'fd_limit', op: '>', threshold: 0.8, resolve_threshold: 0.75, for: '1m', severity: 'critical', message: '{{service}} pid {{pid}} on {{host}} uses {{value}} of its fd limit (threshold {{threshold}}): EMFILE is near' },
  { id: 'builtin.eventloop', name: 'event-loop delay p99 above 1 s', kind: 'threshold', metric: 'eventloop_delay_p99_ms', op: '>', threshold: 1000, resolve_threshold: 500, for: '1m', severity: 'warning' }
]

export function builtinRules (): Rule[] {
  return builtinRuleBodies.map(b => compileRule(b, 'builtin'))
}

/** Reads a JSON rules file: `[rule, …]` or `{ "rules": [rule, …] }`; every rule needs an id. */
export function loadRulesFile (file: string): Rule[] {
  let parsed: unknown
  try { parsed = JSON.parse(fs.readFileSync(file, 'utf8')) } catch (err) {
    throw errors.CONFIG_INVALID('SLUICE_ALERT_RULES', file, `cannot read a JSON rules file: ${(err as Error).message.split('\n')[0]}`)
  }
  const list = Array.isArray(parsed) ? parsed : (parsed as { rules?: unknown } | null)?.rules
  if (!Array.isArray(list)) throw errors.CONFIG_INVALID('SLUICE_ALERT_RULES', file, 'expected a JSON array of rules or { "rules": [...] }')
  const seen = new Set<string>()
  return list.map((raw, i) => {
    try {
      const body = checkRuleShape(raw)
      if (body.id === undefined) throw errors.BAD_RULE('id', 'is required in a rules file')
      if (seen.has(body.id)) throw errors.BAD_RULE('id', `'${body.id}' appears twice`)
      seen.add(body.id)
      return compileRule({ ...body, id: body.id }, 'file')
    } catch (err) {
      throw errors.CONFIG_INVALID('SLUICE_ALERT_RULES', file, `rule #${i + 1}: ${(err as Error).message}`)
    }
  })
}
