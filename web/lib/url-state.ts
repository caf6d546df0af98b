// The URL is the state: the view's query string uses the API's own parameter names, so a
// link pasted in chat opens the same view, and back/forward walk through past searches.
import type { Level } from './types.js'

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
    order: p.get('order') === 'asc' ? 'asc' : 'desc'
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
  const text = p.toString()
  return text === '' ? '/' : `/?${text}`
}

export function sameState (a: ViewState, b: ViewState): boolean {
  return toSearch(a) === toSearch(b)
}
