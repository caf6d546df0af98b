// The structural check of a rule body, on the raw JSON (nothing coerced: `null` is not 0 and
// `["no_data"]` is not "no_data"). Every problem is reported at once, each naming the field,
// what it got and what is accepted.
import { levels } from '../schemas/records.js'

export type Problem = [field: string, why: string]

/** how a received value is quoted in a message (short: a message is not an echo service) */
export function shown (v: unknown): string {
  const text = v === undefined ? 'nothing' : JSON.stringify(v)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

const list = (xs: readonly string[]): string => xs.map(x => `'${x}'`).join(', ')
type Check = (v: unknown) => string | null

const oneOf = (xs: readonly string[]): Check => v => typeof v === 'string' && xs.includes(v) ? null : `must be one of ${list(xs)}, got ${shown(v)}`
const text = (min: number, max: number): Check => v => typeof v === 'string' && v.length >= min && v.length <= max ? null : `must be a string of ${min}-${max} characters, got ${shown(v)}`
const matching = (re: RegExp, what: string): Check => v => typeof v === 'string' && re.test(v) ? null : `must be ${what}, got ${shown(v)}`
const number: Check = v => typeof v === 'number' && Number.isFinite(v) ? null : `must be a number, got ${shown(v)}`
const durationRe = /^\d{1,9}(ms|s|m|h|d)$/
const duration: Check = v => typeof v === 'string' && durationRe.test(v) ? null : `must be a duration like 30s, 5m or 1h, got ${shown(v)}`
const names: Check = v => Array.isArray(v) && v.length <= 100 && v.every(x => typeof x === 'string' && x.length >= 1 && x.length <= 255) ? null : `must be an array of at most 100 names (strings of 1-255 characters), got ${shown(v)}`
const labelKeyRe = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/
const labels: Check = v => v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length <= 32 &&
  Object.entries(v).every(([k, x]) => labelKeyRe.test(k) && typeof x === 'string' && x.length <= 1024)
  ? null
  : `must be an object of at most 32 string values (keys [A-Za-z_][A-Za-z0-9_]*, values up to 1024 characters), got ${shown(v)}`
const webhook: Check = v => {
  // the value is not echoed: it may carry credentials
  if (typeof v !== 'string' || v.length > 2048) return `must be an http(s) URL of at most 2048 characters, got ${typeof v === 'string' ? `${v.length} characters` : shown(v)}`
  let u: URL | null = null
  try { u = new URL(v) } catch { /* reported below */ }
  return u !== null && (u.protocol === 'http:' || u.protocol === 'https:') ? null : 'must be an http(s) URL'
}
const metricName = matching(/^[A-Za-z_][A-Za-z0-9_.]{0,127}$/, 'a metric name ([A-Za-z_][A-Za-z0-9_.]*, at most 128 characters)')

export const kinds = ['threshold', 'increase', 'log_rate', 'no_data', 'gap'] as const
const fields: Record<string, { required?: true, check: Check }> = {
  id: { check: matching(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'an id of 1-64 characters a-z 0-9 _ . - starting with a letter or digit') },
  name: { required: true, check: text(1, 200) },
  enabled: { check: v => typeof v === 'boolean' ? null : `must be true or false, got ${shown(v)}` },
  kind: { required: true, check: oneOf(kinds) },
  metric: { check: metricName },
  divide_by: { check: metricName },
  level: { check: oneOf(levels) },
  q: { check: text(1, 256) },
  service: { check: names },
  host: { check: names },
  op: { check: oneOf(['>', '>=', '<', '<=']) },
  threshold: { check: number },
  for: { check: duration },
  resolve_threshold: { check: number },
  keep_firing_for: { check: duration },
  window: { check: duration },
  stale_after: { check: duration },
  severity: { check: oneOf(['info', 'warning', 'critical']) },
  labels: { check: labels },
  message: { check: text(0, 2048) },
  webhook: { check: webhook }
}

/** Every structural problem of a rule body, in field order; [] when it has the rule's shape. */
export function ruleProblems (body: unknown): Problem[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return [['(body)', `must be a JSON object, got ${shown(body)}`]]
  const b = body as Record<string, unknown>
  const out: Problem[] = []
  for (const [field, spec] of Object.entries(fields)) {
    const v = b[field]
    if (!(field in b)) {
      if (spec.required === true) out.push([field, field === 'kind' ? `is required: one of ${list(kinds)}` : 'is required'])
      continue
    }
    const why = spec.check(v)
    if (why !== null) out.push([field, why])
  }
  for (const k of Object.keys(b)) if (!(k in fields)) out.push([k, 'is not a rule field'])
  return out
}
