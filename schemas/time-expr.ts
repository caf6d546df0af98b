// Time as people type it, shared by the query API and the CLI: durations (`15m`, `1h30m`),
// times of day in UTC (`15:48`), `today`, `yesterday`, `now`, ISO-8601 and epoch ms, and a
// range given as since/until or as `around` ± `window`.
import { Type } from '@sinclair/typebox'
import { errors } from '../platform/errors.js'

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }
const dayMs = 86_400_000

/** `15m`, `1h30m`, `1.5h`, `500ms` → ms; null when the text is not a duration. */
export function parseDurationMs (text: string): number | null {
  const t = text.trim()
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/.test(t)) return null
  let ms = 0
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) ms += Number(m[1]) * units[m[2]]
  return Math.round(ms)
}

/** Returns epoch ms, or null when the text is none of the accepted forms. */
export function parseTime (text: string, now: number): number | null {
  const t = text.trim().toLowerCase()
  const midnight = now - (now % dayMs)
  if (t === 'now') return now
  if (t === 'today') return midnight
  if (t === 'yesterday') return midnight - dayMs
  const d = parseDurationMs(t)
  if (d !== null) return now - d
  if (/^\d{12,14}$/.test(t)) return Number(t)
  // a time of day is today's, in UTC (the timeline's zone)
  const tod = /^(\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?z?$/.exec(t)
  if (tod !== null) {
    const [h, m, s] = [Number(tod[1]), Number(tod[2]), Number(tod[3] ?? 0)]
    if (h > 23 || m > 59 || s > 59) return null
    return midnight + h * 3_600_000 + m * 60_000 + s * 1000 + Math.round(Number(tod[4] ?? 0) * 1000)
  }
  const iso = text.trim()
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i.test(iso)) {
    const withZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(iso) || iso.length === 10 ? iso : `${iso}Z`
    const ms = Date.parse(withZone.replace(' ', 'T'))
    return Number.isNaN(ms) ? null : ms
  }
  return null
}

export const timeForms = 'a duration ago (15m, 1h30m, 7d), a time of day in UTC (15:48, 15:48:30), today, yesterday, now, or an ISO-8601 time (2026-12-05T15:48:30Z)'

export interface TimeParams { since?: string, until?: string, around?: string, window?: string }
/** The wording of a range's 400s (the stats routes keep their own, see query-api/stats-params.ts). */
export interface RangeMessages {
  badTime: (name: keyof TimeParams, got: string) => string
  reversed: (since: number, until: number) => string
  tooLong: (maxRangeDays: number, spanMs: number) => string
}
export interface TimeRangeOptions { defaultSinceMs: number, maxRangeDays: number, now?: number, messages?: RangeMessages }

const iso = (ms: number): string => new Date(ms).toISOString()
const rangeMessages: RangeMessages = {
  badTime: (_, got) => `expected ${timeForms}; got ${JSON.stringify(got)}`,
  reversed: (since, until) => `is before since (${iso(until)} < ${iso(since)})`,
  tooLong: (max) => `time range exceeds the maximum of ${max} days`
}

/** The [since, until] a request names, or a 400 naming the parameter, what it got and what is accepted. */
export function timeRange (p: TimeParams, o: TimeRangeOptions): { since: number, until: number } {
  const now = o.now ?? Date.now()
  const say = o.messages ?? rangeMessages
  const at = (name: keyof TimeParams): number | undefined => {
    const v = p[name]
    if (v === undefined) return undefined
    const ms = parseTime(v, now)
    if (ms === null) throw errors.BAD_PARAM(name, say.badTime(name, v))
    return ms
  }
  let since: number
  let until: number
  if (p.around !== undefined) {
    if (p.since !== undefined || p.until !== undefined) throw errors.BAD_PARAM('around', 'cannot be combined with since or until (around T covers T - window to T + window)')
    const w = p.window === undefined ? 30_000 : parseDurationMs(p.window)
    if (w === null) throw errors.BAD_PARAM('window', `expected a duration like 30s, 5m or 1h30m; got ${JSON.stringify(p.window)}`)
    const t = at('around')!
    since = t - w
    until = t + w
  } else {
    if (p.window !== undefined) throw errors.BAD_PARAM('window', 'needs around (the time the window is centred on)')
    since = at('since') ?? now - o.defaultSinceMs
    until = at('until') ?? now
  }
  if (until < since) throw errors.BAD_PARAM('until', say.reversed(since, until))
  if (until - since > o.maxRangeDays * dayMs) throw errors.BAD_PARAM('since', say.tooLong(o.maxRangeDays, until - since))
  return { since, until }
}

/** The time range parameters /v1/logs and /v1/histogram share (TypeBox properties). */
export const timeParams = {
  since: Type.Optional(Type.String({ maxLength: 64, description: `start: ${timeForms}; default 24h ago` })),
  until: Type.Optional(Type.String({ maxLength: 64, description: 'end, in the same forms; default now' })),
  around: Type.Optional(Type.String({ maxLength: 64, description: 'a time to centre the range on (instead of since/until)' })),
  window: Type.Optional(Type.String({ maxLength: 16, description: 'half-width of the range around `around`, e.g. 30s (default 30s)' }))
}
