// Where the Explorer puts a missing range: as a row beside the stored line just after it (same
// source, offset = the range's end), by time when that line is not loaded, never past the lines
// loaded while more pages are to come; and the row's wording.
import { describe, expect, it } from 'vitest'
import { gapMarks, gapText, interleave, shownGaps, spanMs, type ShownGap } from '../../web/lib/gap-rows.js'
import type { Gaps, LogLine } from '../../web/lib/types.js'

const t0 = Date.parse('2026-12-05T10:00:00.000Z')
const iso = (s: number): string => new Date(t0 + s * 1000).toISOString()
const line = (source: string, offset: number, s: number): LogLine => ({ ts: iso(s), host: 'web-7', service: 'app', pid: 1, level: 'info', msg: `${source}@${offset}`, fields: {}, source, path: '/var/log/app.log', offset, flags: [] })

const answer = (ranges: Gaps['sources'][number]['ranges'], lineBytes: number | null = 165): Gaps => ({
  complete: false, lost: true, bytes: { lost: 0, in_flight: 0, dropped: 0, dead_lettered: 0 }, hosts: [],
  sources: [{ source: 'a', host: 'web-7', service: 'app', path: '/var/log/app.log', state: 'active', acked: 10_000, size: 10_000, line_bytes: lineBytes, ranges }]
})
const lost = { from: 200, to: 2510, bytes: 2310, class: 'lost' as const, before: iso(10), after: iso(20) }
const rows = (e: ReturnType<typeof interleave>): string[] => e.map(x => 'gap' in x ? `gap ${x.gap.from}` : x.line.msg)

describe('web gap rows', () => {
  it('words a lost range with bytes, the estimated lines and the file', () => {
    const [g] = shownGaps(answer([lost]), [], [])
    expect(gapText(g)).toBe('2,310 bytes (~14 lines) of web-7:/var/log/app.log missing here — lost')
    expect(gapText(shownGaps(answer([lost], null), [], [])[0])).toBe('2,310 bytes of web-7:/var/log/app.log missing here — lost')
    expect(gapText(shownGaps(answer([{ from: 900, to: null, bytes: null, class: 'dropped', reason: 'deleted', before: iso(30), after: null }]), [], [])[0])).toBe('everything after byte 900 of web-7:/var/log/app.log missing here — dropped by the shipper (deleted)')
    expect(shownGaps(answer([lost]), ['web-7'], [])).toEqual([])
  })

  it('puts the row on the older side of the line after the range, in either order', () => {
    const gaps = shownGaps(answer([lost]), [], [])
    const asc = [line('a', 0, 9), line('b', 0, 12), line('a', 100, 10), line('a', 2510, 20), line('a', 2600, 21)].sort((x, y) => x.ts < y.ts ? -1 : 1)
    expect(rows(interleave(asc, gaps, 'asc', false))).toEqual(['a@0', 'a@100', 'b@0', 'gap 200', 'a@2510', 'a@2600'])
    const desc = [...asc].reverse()
    expect(rows(interleave(desc, gaps, 'desc', false))).toEqual(['a@2600', 'a@2510', 'gap 200', 'b@0', 'a@100', 'a@0'])
  })

  it('without the line after it loaded, places the row by time, and waits while more pages may hold its place', () => {
    const gaps = shownGaps(answer([lost]), [], [])
    const desc = [line('b', 300, 25), line('b', 200, 15), line('b', 100, 5)]
    expect(rows(interleave(desc, gaps, 'desc', false))).toEqual(['b@300', 'gap 200', 'b@200', 'b@100'])
    const newer = [line('b', 300, 25), line('b', 200, 22)]
    expect(rows(interleave(newer, gaps, 'desc', true))).toEqual(['b@300', 'b@200'])
    expect(rows(interleave(newer, gaps, 'desc', false))).toEqual(['b@300', 'b@200', 'gap 200'])
  })

  it('marks the histogram from the line before to the line after; a missing end at the last line', () => {
    const gaps = shownGaps(answer([lost, { from: 9000, to: null, bytes: null, class: 'in_flight', reason: 'host_silent', before: iso(40), after: null }]), [], [])
    expect(gapMarks(gaps).map(m => [m.kind, m.t0, m.t1])).toEqual([['gap-lost', t0 + 10_000, t0 + 20_000], ['gap-in_flight', t0 + 40_000, t0 + 40_000]])
  })

  it('measures the view\'s range from durations and ISO times', () => {
    expect(spanMs('1h', '', t0)).toBe(3_600_000)
    expect(spanMs(iso(0), iso(90), t0)).toBe(90_000)
    expect(spanMs('yesterday', '', t0)).toBe(null)
  })
})
