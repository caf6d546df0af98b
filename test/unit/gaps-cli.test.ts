// `sluice gaps`: --fail-on parsing, the exit status per class, and the summary lines that open the
// report (docs/design/2026-12-05-gap-classes.md).
import { describe, expect, it } from 'vitest'
import { formatGaps, gapsExitCode, parseFailOn, type Body, type Range } from '../../cli/gaps.js'

const range = (r: Partial<Range>): Range => ({ from: 100, to: 200, bytes: 100, class: 'lost', before: '2026-12-05T11:00:00.000Z', after: '2026-12-05T11:00:01.000Z', ...r })
const body = (ranges: Range[]): Body => ({
  complete: ranges.length === 0,
  lost: ranges.some(r => r.class === 'lost'),
  bytes: { lost: 0, in_flight: 0, dropped: 0, dead_lettered: 0 },
  sources: ranges.length === 0 ? [] : [{ source: 'abcdef0123456789', host: 'web-7', service: 'api', path: '/var/log/api/app.log', state: 'deleted', acked: 100, size: 100, ranges }],
  hosts: []
})
const deleted = range({ from: 100, to: null, bytes: null, class: 'dropped', reason: 'deleted', after: null })

describe('sluice gaps --fail-on', () => {
  it('parses a comma list of classes, hyphens or underscores, any case, and all; an unknown class or nothing is an error naming the valid ones', () => {
    expect(parseFailOn('lost')).toEqual(['lost'])
    expect(parseFailOn('in-flight, DROPPED,dead_lettered')).toEqual(['dropped', 'dead_lettered', 'in_flight'])
    expect(parseFailOn('all')).toEqual(['lost', 'dropped', 'dead_lettered', 'in_flight'])
    expect(parseFailOn('lost,gone')).toBe('--fail-on: unknown class "gone"; expected a comma list of lost, dropped, dead-lettered, in-flight, or all')
    expect(parseFailOn(' , ')).toBe('--fail-on: expected a comma list of lost, dropped, dead-lettered, in-flight, or all; got nothing')
  })

  it('exit 1 only when a range of a failing class is missing: a deleted file (dropped) passes by default and fails with --fail-on dropped', () => {
    expect(gapsExitCode(body([deleted]), ['lost'])).toBe(0)
    expect(gapsExitCode(body([deleted]), ['lost', 'dropped'])).toBe(1)
    expect(gapsExitCode(body([range({})]), ['lost'])).toBe(1)
    expect(gapsExitCode(body([range({ class: 'in_flight' })]), ['lost', 'dropped'])).toBe(0)
    expect(gapsExitCode(body([range({ class: 'in_flight' })]), ['in_flight'])).toBe(1)
    expect(gapsExitCode(body([]), ['lost', 'dropped', 'dead_lettered', 'in_flight'])).toBe(0)
  })
})

describe('sluice gaps report', () => {
  it('opens with one line per class present, gone-for-good first, LOST and DROPPED in capitals, then the table', () => {
    const out = formatGaps(body([range({ class: 'in_flight', from: 900, to: 1000, bytes: 100 }), range({ from: 100, to: 160, bytes: 60 }), range({ from: 200, to: 230, bytes: 30 }), range({ class: 'dead_lettered', from: 300, to: 340, bytes: 40, reason: 'line nests objects/arrays deeper than 64 levels' }), deleted])).split('\n')
    expect(out.slice(0, 5)).toEqual([
      'LOST: 2 ranges, 90 bytes — sent, yet absent from ClickHouse (below what the shipper had acknowledged, or between stored lines)',
      'DROPPED: 1 range, size unknown (deleted) — never sent by the shipper: not in Sluice and never will be',
      'dead_lettered: 1 range, 40 bytes — rejected by the collector: in the dead_letters table',
      'in_flight: 1 range, 100 bytes — not stored yet: still travelling or not read yet',
      ''
    ])
    expect(out[5]).toMatch(/^HOST +SERVICE +PATH +SOURCE +FROM +TO +BYTES +CLASS +BETWEEN$/)
  })

  it('a complete answer is one line', () => {
    expect(formatGaps(body([]))).toBe('complete: no byte range missing')
  })
})
