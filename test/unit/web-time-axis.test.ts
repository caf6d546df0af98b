// The Explorer's time axis: one mapping of time to the histogram's pixels (shared by its marks,
// the graph strip and the hover rule), the list's minute (`at`), and alert transitions as marks.
import { describe, expect, it } from 'vitest'
import { groupMarks, timeOfX, xOfTime, type TimeAxis } from '../../web/lib/time-scale.js'
import { listParams, parseState, toSearch } from '../../web/lib/url-state.js'
import { concerns, markOf, type AlertTransition } from '../../web/lib/alert-marks.js'

const axis: TimeAxis = { start: Date.parse('2026-12-05T10:00:00Z'), end: Date.parse('2026-12-05T11:00:00Z'), stepMs: 60_000 }

describe('Explorer time axis', () => {
  it('maps the bars\' range linearly onto their width, both ways', () => {
    expect(xOfTime(axis, axis.start, 1200)).toBe(0)
    expect(xOfTime(axis, axis.end, 1200)).toBe(1200)
    expect(xOfTime(axis, axis.start + 15 * 60_000, 1200)).toBe(300)
    expect(timeOfX(axis, 300, 1200)).toBe(axis.start + 15 * 60_000)
  })

  it('groups marks a few pixels apart into one glyph and leaves out those off the axis', () => {
    const m = (min: number, kind = 'firing'): { t: number, kind: string, label: string } => ({ t: axis.start + min * 60_000, kind, label: `${kind} ${min}` })
    const groups = groupMarks(axis, [m(30, 'resolved'), m(10), m(10.2, 'resolved'), m(-5), m(61)], 1200)
    expect(groups.map(g => [g.x, g.marks.map(x => x.label)])).toEqual([[200, ['firing 10', 'resolved 10.2']], [600, ['resolved 30']]])
  })

  it('starts the list at the picked minute (newest first: up to its end; oldest first: from its start), in the URL as at', () => {
    const s = parseState('?service=api&since=1h&at=2026-12-05T10:20:00Z')
    expect(toSearch(s)).toBe('/?service=api&at=2026-12-05T10%3A20%3A00Z')
    const now = Date.parse('2026-12-05T10:50:00Z')
    expect(listParams(s, now).toString()).toBe('service=api&since=1h&until=2026-12-05T10%3A20%3A59.999Z')
    expect(listParams({ ...s, order: 'asc' }, now).toString()).toBe('service=api&since=2026-12-05T10%3A20%3A00.000Z')
    expect(listParams(parseState('?service=api'), now).toString()).toBe('service=api&since=1h')
    // a range ending inside the minute keeps its own end
    expect(listParams(parseState('?since=2026-12-05T10:00:00Z&until=2026-12-05T10:20:30Z&at=2026-12-05T10:20:00Z'), now).get('until')).toBe('2026-12-05T10:20:30Z')
    // a minute the range has moved past (since=1h, an hour and a half later) is ignored, both orders
    const later = Date.parse('2026-12-05T11:50:00Z')
    expect(listParams(s, later).toString()).toBe('service=api&since=1h')
    expect(listParams({ ...s, order: 'asc' }, later).toString()).toBe('service=api&since=1h')
    // and so is one after an absolute end
    expect(listParams(parseState('?since=2026-12-05T10:00:00Z&until=2026-12-05T10:10:00Z&at=2026-12-05T10:20:00Z'), now).toString()).toBe('since=2026-12-05T10%3A00%3A00Z&until=2026-12-05T10%3A10%3A00Z')
  })

  it('marks the transitions of the view\'s hosts/services, with rule, state, value and threshold', () => {
    const t: AlertTransition = { rule_id: 'grow', rule_name: 'heap above 100 MB', host: 'grow-1', service: 'grow', pid: 4242, to_state: 'firing', ts: '2026-12-05T10:30:00.000Z', value: 120_000_000, threshold: 100_000_000 }
    expect(markOf(t)).toEqual({ t: Date.parse(t.ts), kind: 'firing', label: 'heap above 100 MB firing on grow-1/grow pid 4242: value 120,000,000 (threshold 100,000,000)' })
    expect(markOf({ ...t, host: '', service: '', pid: 0, value: 0.912345, threshold: 0.9, to_state: 'resolved' }).label).toBe('heap above 100 MB resolved: value 0.9123 (threshold 0.9)')
    expect(concerns(parseState('?service=grow'), t)).toBe(true)
    expect(concerns(parseState(''), t)).toBe(true)
    expect(concerns(parseState('?service=api'), t)).toBe(false)
    expect(concerns(parseState('?not_host=grow-1'), t)).toBe(false)
    expect(concerns(parseState('?service=api'), { ...t, host: '', service: '' })).toBe(true)
  })
})
