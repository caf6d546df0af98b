// The URL is the state: the view's query string uses the API's own parameter names, so a
// link pasted in chat opens the same view, and back/forward walk through past searches.
import type { Level } from './types.js'
import { timeOf } from './page-state.js'

export interface ViewState {
  q: string
  /** true: the text box is an RE2 pattern sent as `regex` */
  regex: boolean
  i: boolean
  w: boolean
  host: string[]
  service: string[]
  level: Level | ''
  /** exclusions: not_host, not_service, not_level */
  notHost: string[]
  notService: string[]
  notLevel: string[]
  /** field filters (`responseTime>=500`, `err?`, `!err?`) and text exclusions (grep -v) */
  field: string[]
  v: string[]
  since: string
  until: string
  tail: boolean
  /** the list's order: newest first (desc, default) or oldest first (asc) */
  order: 'desc' | 'asc'
  /** a minute the list starts at (ISO, a click on a process graph); the histogram, facets and
   *  graphs keep the whole range */
  at: string
}

export const defaultSince = '1h'
export const timePresets = ['5m', '15m', '1h', '6h', '24h', '7d'] as const

export function parseState (search: string): ViewState {
  const p = new URLSearchParams(search)
  const many = (k: string): string[] => p.getAll(k).flatMap(v => v.split(',')).filter(v => v !== '')
  const flag = (k: string): boolean => p.get(k) === '1' || p.get(k) === 'true'
  const re = p.get('regex')
  return {
    q: re ?? p.get('q') ?? '',
    regex: re !== null,
    i: flag('i'),
    w: flag('w'),
    host: many('host'),
    service: many('service'),
    level: (p.get('level') ?? '') as Level | '',
    notHost: many('not_host'),
    notService: many('not_service'),
    notLevel: many('not_level'),
    field: p.getAll('field').filter(v => v !== ''),
    v: p.getAll('v').filter(v => v !== ''),
    since: p.get('since') ?? defaultSince,
    until: p.get('until') ?? '',
    tail: flag('tail'),
    order: p.get('order') === 'asc' ? 'asc' : 'desc',
    at: p.get('at') ?? ''
  }
}

/** The API filter parameters of a view (what /v1/logs, /v1/facets, /v1/histogram and /v1/tail take). */
export function filterParams (s: ViewState, opts: { range?: boolean } = {}): URLSearchParams {
  const p = new URLSearchParams()
  if (s.q !== '') p.set(s.regex ? 'regex' : 'q', s.q)
  if (s.i) p.set('i', 'true')
  if (s.w && !s.regex) p.set('w', 'true')
  for (const h of s.host) p.append('host', h)
  for (const v of s.service) p.append('service', v)
  if (s.level !== '') p.set('level', s.level)
  for (const h of s.notHost) p.append('not_host', h)
  for (const v of s.notService) p.append('not_service', v)
  for (const l of s.notLevel) p.append('not_level', l)
  for (const f of s.field) p.append('field', f)
  for (const v of s.v) p.append('v', v)
  if (opts.range !== false) {
    p.set('since', s.since)
    if (s.until !== '') p.set('until', s.until)
  }
  return p
}

export function toSearch (s: ViewState): string {
  const p = filterParams(s)
  if (s.since === defaultSince && s.until === '') p.delete('since')
  if (s.order === 'asc') p.set('order', 'asc')
  if (s.tail) p.set('tail', '1')
  if (s.at !== '') p.set('at', s.at)
  const text = p.toString()
  return text === '' ? '/' : `/?${text}`
}

export function sameState (a: ViewState, b: ViewState): boolean {
  return toSearch(a) === toSearch(b)
}

/** The list's own parameters: the view's filter, and from `at` on (newest first: up to the end
 *  of that minute; oldest first: from its start) when the view has one within its range. */
export function listParams (s: ViewState, now = Date.now()): URLSearchParams {
  const p = filterParams(s)
  const at = Date.parse(s.at)
  if (s.at === '' || Number.isNaN(at)) return p
  const minute = Math.floor(at / 60_000) * 60_000
  const until = Date.parse(s.until)
  // a minute outside the range (e.g. a relative `since` moved past it) is ignored: the list keeps the range
  const since = timeOf(s.since, now)
  const end = s.until === '' ? now : timeOf(s.until, now)
  if ((since !== null && minute + 59_999 < since) || (end !== null && minute > end)) return p
  if (s.order === 'asc') p.set('since', new Date(minute).toISOString())
  else if (Number.isNaN(until) || until > minute + 59_999) p.set('until', new Date(minute + 59_999).toISOString())
  return p
}
