// Humane parameter errors for the stats routes: each 400 names the parameter, what it got and
// what is accepted (routes use `attachValidation`, so schema errors come here instead of the
// generic handler), and "did you mean" suggestions for metric names.
import type { FastifyRequest } from 'fastify'
import { errors, type SluiceError } from '../platform/errors.js'
import type { RangeMessages } from './time.js'
import { editDistance } from '../platform/edit-distance.js'

interface AjvError { keyword: string, instancePath: string, params: Record<string, unknown>, message?: string }

function got (v: unknown): string {
  return Array.isArray(v) ? `[${v.map(x => JSON.stringify(x)).join(', ')}]` : JSON.stringify(v)
}

/** The first schema error of a request as a BAD_PARAM naming the parameter; null when valid. */
export function schemaError (req: FastifyRequest, accepted: readonly string[], requiredWhy: Record<string, string> = {}): SluiceError | null {
  const err = req.validationError as (Error & { validation?: AjvError[] }) | undefined
  if (err === undefined) return null
  const v = err.validation?.[0]
  if (v === undefined) return errors.BAD_PARAM('?', err.message)
  const query = (req.query ?? {}) as Record<string, unknown>
  if (v.keyword === 'additionalProperties') {
    const name = String(v.params.additionalProperty)
    return errors.BAD_PARAM(name, `unknown parameter; accepted: ${accepted.join(', ')}`)
  }
  if (v.keyword === 'required') {
    const name = String(v.params.missingProperty)
    return errors.BAD_PARAM(name, `is required${requiredWhy[name] !== undefined ? ': ' + requiredWhy[name] : ''}`)
  }
  const name = v.instancePath.split('/')[1] ?? '?'
  const value = query[name]
  if (v.keyword === 'maxLength') return errors.BAD_PARAM(name, `must be at most ${String(v.params.limit)} characters; got ${String(value).length}`)
  if (v.keyword === 'minLength') return errors.BAD_PARAM(name, `must not be empty; got ${got(value)}`)
  if (v.keyword === 'maxItems') return errors.BAD_PARAM(name, `may be given at most ${String(v.params.limit)} times; got ${Array.isArray(value) ? value.length : 1}`)
  return errors.BAD_PARAM(name, `${v.message ?? 'is invalid'}; got ${got(value)}`)
}

/** The stats routes' wording of a bad since/until (the range itself is checked by timeRange in time.ts). */
export const statsRangeMessages: RangeMessages = {
  badTime: (_, got) => `expected a duration ago like 15m, 2h, 7d, an ISO-8601 time or epoch ms; got ${JSON.stringify(got)}`,
  reversed: (since, until) => `must not be before since; got until ${new Date(until).toISOString()} and since ${new Date(since).toISOString()}`,
  tooLong: (max, spanMs) => `the range may span at most ${max} days; got ${(spanMs / 86_400_000).toFixed(1)} days`
}


/** Up to `max` names closest to `wanted`: names containing it (or contained in it) first,
 *  shortest first, then those within a small edit distance. */
export function closestNames (wanted: string, names: Iterable<string>, max = 3): string[] {
  const w = wanted.toLowerCase()
  const scored: Array<[number, string]> = []
  for (const name of new Set(names)) {
    const n = name.toLowerCase()
    if (n === w) continue
    if (n.includes(w) || w.includes(n)) { scored.push([Math.abs(n.length - w.length) / 1000, name]); continue }
    const d = editDistance(w, n)
    if (d <= Math.max(2, Math.floor(w.length / 3))) scored.push([d, name])
  }
  return scored.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)).slice(0, max).map(s => s[1])
}
