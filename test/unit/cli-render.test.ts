// What the CLI prints from API answers: histogram bars, metric units, sparklines.
import { describe, expect, it } from 'vitest'
import { bar, renderHistogram } from '../../cli/histogram-chart.js'
import { sparkline } from '../../cli/stats.js'
import { formatMetric, metricUnit } from '../../schemas/metric-units.js'

describe('histogram chart', () => {
  it('bars scale to the busiest bucket in eighths; levels worst first; empty buckets have no bar', () => {
    expect([bar(0, 8, 4), bar(1, 8, 4), bar(8, 8, 4), bar(5, 8, 4)]).toEqual(['', '▌', '████', '██▌'])
    const h = { since: '2026-12-05T15:00:00.000Z', until: '2026-12-05T15:03:00.000Z', step: 60, by: 'level', total: 12, buckets: [
      { t: '2026-12-05T15:00:00.000Z', counts: { info: 6, error: 2 } }, { t: '2026-12-05T15:01:00.000Z', counts: {} }, { t: '2026-12-05T15:02:00.000Z', counts: { warn: 4 } }] }
    expect(renderHistogram(h, false, 8)).toBe([
      '12 lines from 2026-12-05T15:00:00.000Z to 2026-12-05T15:03:00.000Z (UTC), 1m per bar, by level',
      '2026-12-05T15:00Z ████████ 8  error=2 info=6',
      '2026-12-05T15:01Z          0',
      '2026-12-05T15:02Z ████     4  warn=4'
    ].join('\n') + '\n')
  })
})

describe('metric units', () => {
  const cases: Array<[string, number, string]> = [
    ['heap_used', 52_428_800, '50.0 MB'], ['rss', 1_610_612_736, '1.5 GB'], ['external', 512, '512 B'],
    ['eventloop_delay_p99_ms', 12.345, '12.35 ms'], ['gc_ms', 1500, '1.50 s'], ['eventloop_utilization', 0.425, '42.5%'],
    ['fds', 120, '120'], ['connections', 3.5, '3.50']
  ]
  for (const [name, v, want] of cases) it(`${name} ${v} → ${want}`, () => { expect(formatMetric(v, metricUnit(name))).toBe(want) })
  it('sparkline', () => { expect([sparkline([1, 1]), sparkline([0, 7]), sparkline([])]).toEqual(['▄▄', '▁█', '']) })
})
