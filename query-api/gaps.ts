// Gap detection (docs/gaps.md): the byte ranges of each source that ClickHouse does not hold,
// classified. A source's lines are contiguous byte ranges (offset, len), so:
//   holes     one pass over logs ∪ stats in (source, offset) order: a line starting beyond the
//             previous line's end (offset + len) leaves a hole — a fact, whatever the timing
//   tails     from the last stored line's end up to what the shipper's latest stored progress
//             record says it had acknowledged (acked) and seen (size)
// Each missing range is then cut by what explains it: dead letters with the line's identity
// (dead_lettered), ranges the shipper reported dropped (dropped, with the reason); the rest is
// lost when it lies below the stored progress record's acked offset (that record was stored
// after every line below it: they reached ClickHouse or were dead-lettered) or when no progress
// is known for the source, and in flight above it (still travelling, or not read yet). A file of a
// host whose progress reports stopped (silent) also has an open-ended in-flight range at its end.
import type { DroppedRange } from '../schemas/records.js'

export type GapClass = 'lost' | 'in_flight' | 'dropped' | 'dead_lettered'

export interface GapRange {
  from: number
  /** end (exclusive); null when the shipper could not know it (a lost file's size) */
  to: number | null
  bytes: number | null
  class: GapClass
  reason?: string
  /** ts of the stored line just before the range and just after it (null: none) */
  before: string | null
  after: string | null
}

export interface Hole { source: string, from: number, to: number, before: string, after: string }
export interface SourceSummary { source: string, host: string, service: string, path: string, end: number, last_len: number, last_ts: string }
export interface ProgressRow { host: string, source: string, service: string, path: string, size: number, acked: number, state: string, reason: string, dropped: string, ts: number }
export interface DeadRange { source: string, from: number, to: number, reason: string }

export interface SourceGaps {
  source: string
  host: string
  service: string
  path: string
  state: string | null
  acked: number | null
  size: number | null
  ranges: GapRange[]
}

interface Cover { from: number, to: number, class: GapClass, reason: string }

/** [from, to) cut by covers (sorted or not); uncovered parts get base(from, to) */
function cut (from: number, to: number, covers: Cover[], base: (a: number, b: number) => Array<{ from: number, to: number, class: GapClass }>, before: string | null, after: string | null): GapRange[] {
  const out: GapRange[] = []
  const cs = covers.filter(c => c.to > from && c.from < to).sort((a, b) => a.from - b.from)
  let at = from
  const plain = (a: number, b: number): void => {
    for (const p of base(a, b)) if (p.to > p.from) out.push({ from: p.from, to: p.to, bytes: p.to - p.from, class: p.class, before, after })
  }
  for (const c of cs) {
    const a = Math.max(at, c.from)
    const b = Math.min(to, c.to)
    if (b <= a) continue
    if (a > at) plain(at, a)
    const last = out[out.length - 1]
    if (last !== undefined && last.class === c.class && last.reason === c.reason && last.to === a) { last.to = b; last.bytes = b - last.from } else out.push({ from: a, to: b, bytes: b - a, class: c.class, reason: c.reason, before, after })
    at = b
  }
  if (at < to) plain(at, to)
  return out
}

/** classifies the missing ranges of every source (see the module comment) */
export function classifyGaps (holes: Hole[], summaries: SourceSummary[], progress: ProgressRow[], dead: DeadRange[], opts: { tails: boolean, silentHosts?: Set<string> }): SourceGaps[] {
  const bySource = new Map<string, SourceGaps>()
  const prog = new Map(progress.filter(p => p.source !== '').map(p => [p.source, p]))
  const summ = new Map(summaries.map(s => [s.source, s]))
  const deadBy = new Map<string, Cover[]>()
  for (const d of dead) {
    let l = deadBy.get(d.source)
    if (l === undefined) { l = []; deadBy.set(d.source, l) }
    l.push({ from: d.from, to: d.to, class: 'dead_lettered', reason: d.reason })
  }
  const droppedOf = (p: ProgressRow | undefined): DroppedRange[] => {
    if (p === undefined || p.dropped === '') return []
    try { return JSON.parse(p.dropped) as DroppedRange[] } catch { return [] }
  }
  const entry = (source: string): SourceGaps => {
    let g = bySource.get(source)
    if (g === undefined) {
      const s = summ.get(source)
      const p = prog.get(source)
      g = { source, host: s?.host ?? p?.host ?? '', service: s?.service ?? p?.service ?? '', path: p?.path ?? s?.path ?? '', state: p?.state ?? null, acked: p === undefined ? null : Number(p.acked), size: p === undefined ? null : Number(p.size), ranges: [] }
      bySource.set(source, g)
    }
    return g
  }
  const coversOf = (source: string): Cover[] => {
    const p = prog.get(source)
    const drops = droppedOf(p).map(d => ({ from: d.from, to: d.to ?? Number.MAX_SAFE_INTEGER, class: 'dropped' as const, reason: d.reason }))
    return [...(deadBy.get(source) ?? []), ...drops]
  }
  const baseOf = (source: string) => (a: number, b: number): Array<{ from: number, to: number, class: GapClass }> => {
    const p = prog.get(source)
    if (p === undefined) return [{ from: a, to: b, class: 'lost' }]
    const acked = Number(p.acked)
    return [{ from: a, to: Math.min(b, acked), class: 'lost' }, { from: Math.max(a, acked), to: b, class: 'in_flight' }]
  }
  for (const h of holes) entry(h.source).ranges.push(...cut(h.from, h.to, coversOf(h.source), baseOf(h.source), h.before, h.after))
  if (opts.tails) {
    const silent = opts.silentHosts ?? new Set<string>()
    for (const p of prog.values()) {
      const s = summ.get(p.source)
      // the last stored line's length unknown (an over-long line): its end is not known either
      if (s !== undefined && Number(s.last_len) === 0) continue
      const end = s === undefined ? 0 : Number(s.end)
      const drops = droppedOf(p)
      const before = s?.last_ts ?? null
      // a drop whose end the shipper could not know (a deleted file may have grown after it was
      // last seen; a compressed one of unknown size): one open range from where it starts
      const open = drops.filter(d => d.to === null)
      const openAt = open.length === 0 ? null : Math.max(end, Math.min(...open.map(d => d.from)))
      let top = Math.max(Number(p.acked), Number(p.size), ...drops.map(d => d.to ?? d.from))
      if (openAt !== null) top = Math.min(top, openAt)
      const ranges = top > end ? cut(end, top, coversOf(p.source), baseOf(p.source), before, null) : []
      if (openAt !== null) ranges.push({ from: openAt, to: null, bytes: null, class: 'dropped', reason: open.find(d => Math.max(end, d.from) === openAt)?.reason ?? open[0].reason, before, after: null })
      // a file still tailed by a host that stopped reporting: whatever it wrote since is not
      // here and may be on its way (in flight), of a size nobody knows
      else if (silent.has(p.host) && (p.state === 'active' || p.state === 'rotated')) ranges.push({ from: Math.max(end, top), to: null, bytes: null, class: 'in_flight', reason: 'host_silent', before, after: null })
      if (ranges.length > 0) entry(p.source).ranges.push(...ranges)
    }
  }
  return [...bySource.values()].filter(g => g.ranges.length > 0).sort((a, b) => a.host < b.host ? -1 : a.host > b.host ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : a.source < b.source ? -1 : 1)
}
