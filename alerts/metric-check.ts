// A rule on a metric nothing reports can never fire: when a rule is written, each metric it
// names is looked up among the metrics `sluice/stats` emits and those the stats table holds.
// An unknown one is a warning in the answer (or, with ?strict=true, a 400), with the closest
// known names as suggestions.
import { metricUnits } from '../schemas/metric-units.js'
import type { Rule } from './rules.js'
import type { Problem } from './rule-check.js'
import { editDistance } from '../platform/edit-distance.js'

export interface RuleWarning { field: 'metric' | 'divide_by', message: string, suggestions: string[] }
interface Found extends RuleWarning { name: string, hint: string }

/** distinct reported metrics read at most (the names list is for suggestions, not a catalogue) */
const maxReported = 10_000


/** Up to 3 known names close to `name`: within an edit distance of max(2, a third of its
 *  length), or starting with it; nearest first. */
export function closestMetrics (name: string, known: Iterable<string>): string[] {
  const lower = name.toLowerCase()
  const limit = Math.max(2, Math.floor(name.length / 3))
  return [...new Set(known)]
    .map(k => ({ k, d: editDistance(lower, k.toLowerCase()) }))
    .filter(({ k, d }) => d <= limit || (lower.length >= 2 && k.toLowerCase().startsWith(lower)))
    .sort((a, b) => a.d - b.d || a.k.localeCompare(b.k))
    .slice(0, 3)
    .map(x => x.k)
}

function quoteList (xs: string[]): string {
  const q = xs.map(x => `'${x}'`)
  return q.length <= 1 ? q.join('') : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`
}

/** Warnings for the metrics of `rule` that no process has reported and sluice/stats does not emit. */
/** A warning reads `metric 'fd' has not been …`; the same under strict=true is a 400 naming the field. */
export async function metricWarnings (rule: Rule, reported: (limit: number) => Promise<string[]>): Promise<RuleWarning[]> {
  if (rule.kind === 'log_rate') return []
  const named = ([['metric', rule.metric], ['divide_by', rule.divideBy]] as const).filter((x): x is ['metric' | 'divide_by', string] => x[1] !== null)
  if (named.length === 0) return []
  const seen = new Set(await reported(maxReported))
  const known = new Set([...Object.keys(metricUnits), ...seen])
  const out: Found[] = []
  for (const [field, name] of named) {
    if (known.has(name)) continue
    const suggestions = closestMetrics(name, known)
    const hint = suggestions.length > 0 ? `; did you mean ${quoteList(suggestions)}?` : ''
    out.push({ field, name, message: `${field} '${name}' has not been reported by any process and is not a sluice/stats metric: the rule cannot fire until a process reports it${hint}`, hint, suggestions })
  }
  return out
}

/** The same findings as the problems of a refused rule (strict=true). */
export function asProblems (ws: RuleWarning[]): Problem[] {
  return (ws as Found[]).map(w => [w.field, `names '${w.name}', which no process has reported and sluice/stats does not emit (strict=true refuses it)${w.hint}`])
}

/** The warnings as the API shows them. */
export function shownWarnings (ws: RuleWarning[]): RuleWarning[] {
  return ws.map(w => ({ field: w.field, message: w.message, suggestions: w.suggestions }))
}
