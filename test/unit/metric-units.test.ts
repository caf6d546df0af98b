// Every metric sluice/stats emits has a unit in schemas/metric-units.ts (what /v1/stats/metrics
// and `sluice stats` show), and the CLI renders each unit for people.
import { describe, expect, it } from 'vitest'
import { monitorProcess } from '../../transport/process-stats.js'
import { metricUnits, seriesUnit } from '../../schemas/metric-units.js'
import { humanValue, sparkline } from '../../cli/stats.js'

describe('metric units', () => {
  it('covers exactly the metrics monitorProcess samples', async () => {
    const m = monitorProcess({ info: () => {} }, { intervalMs: 60_000 })
    const sample = await m.sample()
    m.stop()
    expect(Object.keys(metricUnits).sort()).toEqual(Object.keys(sample).sort())
  })

  it('names the unit of a ratio and a rate', () => {
    expect([seriesUnit('heap_used', null, false), seriesUnit('heap_used', 'heap_limit', false), seriesUnit('fds', null, true), seriesUnit('gc_ms', 'interval_ms', false), seriesUnit('rss', 'fds', true), seriesUnit('queue_depth', null, true), seriesUnit('fds', 'queue_depth', false)])
      .toEqual(['bytes', 'ratio', 'count/s', 'ratio', 'bytes/count/s', 'unknown', 'unknown'])
  })

  it('renders values in human units', () => {
    const cases: Array<[number, string, string]> = [
      [512, 'bytes', '512 B'], [1536, 'bytes', '1.5 KB'], [34 * 1048576, 'bytes', '34.0 MB'], [3.5 * 2 ** 30, 'bytes', '3.5 GB'], [-2 * 1048576, 'bytes', '-2.0 MB'], [1048576 / 60, 'bytes/s', '17.1 KB/s'],
      [0.266, 'ratio', '26.6%'], [0.4567, 'ms', '0.457 ms'], [12.345, 'ms', '12.3 ms'], [1234, 'ms', '1.23 s'], [42, 'count', '42'], [2.5, 'count', '2.5'], [10 / 120, 'count/s', '0.0833/s'], [123456.7, 'unknown', '123457'], [0.000123456, 'unknown', '0.000123']
    ]
    expect(cases.map(([v, u]) => humanValue(v, u))).toEqual(cases.map(c => c[2]))
  })

  it('draws a sparkline per step between min and max, blank where a step has no point', () => {
    const t = (m: number): string => new Date(Date.UTC(2026, 10, 20, 10, m)).toISOString()
    const start = Date.parse(t(0))
    expect(sparkline([[t(0), 0], [t(1), 7], [t(3), 3.5], [t(4), 14]], start, Date.parse(t(5)), 60_000)).toBe('▁▅ ▃█ ')
    expect(sparkline([[t(1), 5], [t(2), 5]], start, Date.parse(t(2)), 60_000)).toBe(' ▄▄')
  })
})
