// Missing byte ranges (GET /v1/gaps) as the Explorer shows them: a mark on the histogram at the
// time between the neighbouring lines, and a row in the list between those lines. Pure functions,
// so the placement is testable without a browser.
import { formatCount } from './format.js'
import type { GapClass, Gaps, LogLine } from './types.js'
import type { HistogramMark } from '../components/Histogram.js'

export interface ShownGap {
  key: string
  source: string
  host: string
  service: string
  path: string
  cls: GapClass
  reason: string | null
  from: number
  to: number | null
  bytes: number | null
  /** estimate from the source's average line length (null: unknown) */
  lines: number | null
  /** ts (ms) of the stored lines around the range; null: none on that side */
  before: number | null
  after: number | null
}

const ms = (t: string | null): number | null => t === null ? null : Date.parse(t)

/** every range of the answer, minus hosts and services the view excludes (the API has no not_ filters) */
export function shownGaps (g: Gaps, notHost: string[], notService: string[]): ShownGap[] {
  const out: ShownGap[] = []
  for (const s of g.sources) {
    if (notHost.includes(s.host) || notService.includes(s.service)) continue
    for (const r of s.ranges) {
      // dead letters are lines the collector refused, often for their size: the average says nothing of them
      const lines = r.bytes !== null && r.class !== 'dead_lettered' && s.line_bytes !== null && s.line_bytes > 0 ? Math.max(1, Math.round(r.bytes / s.line_bytes)) : null
      out.push({ key: `gap:${s.source}:${r.from}`, source: s.source, host: s.host, service: s.service, path: s.path, cls: r.class, reason: r.reason ?? null, from: r.from, to: r.to, bytes: r.bytes, lines, before: ms(r.before), after: ms(r.after) })
    }
  }
  return out
}

const why: Record<GapClass, (reason: string | null) => string> = {
  lost: () => 'lost',
  dead_lettered: r => `dead-lettered${r !== null ? `: ${r}` : ''}`,
  dropped: r => `dropped by the shipper${r !== null ? ` (${r.replace(/_/g, ' ')})` : ''}`,
  in_flight: r => r === 'host_silent' ? 'in flight: its host stopped reporting' : 'in flight: not stored yet'
}

/** "2,310 bytes (~14 lines) of web-7:/var/log/app.log missing here — lost" */
export function gapText (g: ShownGap): string {
  const where = `${g.host}:${g.path}`
  if (g.bytes === null) return `everything after byte ${formatCount(g.from)} of ${where} missing here — ${why[g.cls](g.reason)}`
  const lines = g.lines === null ? '' : ` (~${countWord(g.lines, 'line')})`
  return `${formatCount(g.bytes)} ${g.bytes === 1 ? 'byte' : 'bytes'}${lines} of ${where} missing here — ${why[g.cls](g.reason)}`
}

const countWord = (n: number, w: string): string => `${formatCount(n)} ${w}${n === 1 ? '' : 's'}`

/** one histogram mark per range: [t0, t1] spans the neighbouring lines; a range with no line after it
 *  (a missing end, of unknown length) is marked at the last stored line */

export function gapMarks (gaps: ShownGap[]): HistogramMark[] {
  const out: HistogramMark[] = []
  for (const g of gaps) {
    const t0 = g.before ?? g.after
    if (t0 === null) continue
    out.push({ t0, t1: g.after ?? t0, kind: `gap-${g.cls}`, label: gapText(g) })
  }
  return out
}

export type ListEntry = { line: LogLine, index: number } | { gap: ShownGap }

/** First index in [0, n) where pred turns true (pred is monotone over the list), n when never. */
function firstWhere (n: number, pred: (i: number) => boolean): number {
  let lo = 0
  let hi = n
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (pred(mid)) hi = mid; else lo = mid + 1
  }
  return lo
}

/** Where a gap goes in the list: beside the stored line just after it (same source, offset = the
 *  range's end) when loaded, else by time between its neighbours; null while that place is past
 *  the lines loaded so far (more pages to come) or outside them. */
export function gapPosition (lines: LogLine[], g: ShownGap, order: 'asc' | 'desc', more: boolean): number | null {
  const t = (i: number): number => Date.parse(lines[i].ts)
  let at: number
  if (g.after !== null) {
    const anchor = g.to === null ? -1 : lines.findIndex(l => l.source === g.source && l.offset === g.to)
    // the row sits on the older side of the line after the range
    if (anchor >= 0) at = order === 'desc' ? anchor + 1 : anchor
    else at = order === 'desc' ? firstWhere(lines.length, i => t(i) < g.after!) : firstWhere(lines.length, i => t(i) >= g.after!)
  } else if (g.before !== null) {
    // a missing end: on the newer side of the last stored line
    at = order === 'desc' ? firstWhere(lines.length, i => t(i) <= g.before!) : firstWhere(lines.length, i => t(i) > g.before!)
  } else return null
  if (at >= lines.length && more) return null
  return at
}

/** the list's rows: the lines, with each gap at its place */
export function interleave (lines: LogLine[], gaps: ShownGap[], order: 'asc' | 'desc', more: boolean): ListEntry[] {
  if (gaps.length === 0) return lines.map((line, index) => ({ line, index }))
  const at = new Map<number, ShownGap[]>()
  for (const g of gaps) {
    const p = gapPosition(lines, g, order, more)
    if (p === null) continue
    const l = at.get(p) ?? []
    l.push(g)
    at.set(p, l)
  }
  const out: ListEntry[] = []
  const place = (i: number): void => {
    const here = at.get(i)
    if (here === undefined) return
    const key = (g: ShownGap): number => g.after ?? g.before ?? 0
    here.sort((a, b) => order === 'desc' ? key(b) - key(a) : key(a) - key(b))
    for (const gap of here) out.push({ gap })
  }
  lines.forEach((line, index) => { place(index); out.push({ line, index }) })
  place(lines.length)
  return out
}

/** How long the view's range is, when its since/until are durations or ISO times (else null). */
export function spanMs (since: string, until: string, now: number): number | null {
  const at = (text: string): number | null => {
    if (text === '' || text === 'now') return now
    const d = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim())
    if (d !== null) return now - Number(d[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as Record<string, number>)[d[2]]
    const t = Date.parse(text)
    return Number.isNaN(t) ? null : t
  }
  const a = at(since)
  const b = at(until)
  return a === null || b === null ? null : b - a
}
