// The unit of every metric `sluice/stats` (transport/process-stats.ts) emits, shared by the query API
// (/v1/stats, /v1/stats/metrics) and the CLI (human units). A metric not listed here (a custom
// stats record) has the unit 'unknown' and is shown as a plain number.
export type MetricUnit = 'bytes' | 'count' | 'ms' | 'ratio'

export interface MetricInfo { unit: MetricUnit, description: string }

export const metricUnits: Readonly<Record<string, MetricInfo>> = Object.freeze({
  heap_used: { unit: 'bytes', description: 'V8 heap in use' },
  heap_total: { unit: 'bytes', description: 'V8 heap allocated' },
  heap_limit: { unit: 'bytes', description: 'V8 heap size limit' },
  rss: { unit: 'bytes', description: 'resident set size of the process' },
  external: { unit: 'bytes', description: 'memory of C++ objects bound to JS objects' },
  array_buffers: { unit: 'bytes', description: 'memory of ArrayBuffers and Buffers' },
  connections: { unit: 'count', description: 'open connections of the monitored servers' },
  fds: { unit: 'count', description: 'open file descriptors' },
  fd_limit: { unit: 'count', description: 'open file descriptor limit (-1 = unlimited or unknown)' },
  eventloop_delay_p50_ms: { unit: 'ms', description: 'event-loop delay, median over the interval' },
  eventloop_delay_p99_ms: { unit: 'ms', description: 'event-loop delay, 99th percentile over the interval' },
  eventloop_delay_max_ms: { unit: 'ms', description: 'event-loop delay, maximum over the interval' },
  eventloop_utilization: { unit: 'ratio', description: 'event-loop utilization over the interval (0-1)' },
  gc_count: { unit: 'count', description: 'garbage collections during the interval' },
  gc_ms: { unit: 'ms', description: 'time spent in garbage collection during the interval' },
  interval_ms: { unit: 'ms', description: 'sampling interval' }
})

/** The unit of a metric, or 'unknown' for one sluice/stats does not emit. */
export function unitOf (metric: string): MetricUnit | 'unknown' {
  return Object.hasOwn(metricUnits, metric) ? metricUnits[metric].unit : 'unknown'
}

/** The unit of a series: a metric, optionally divided by another, optionally as a rate per second. */
export function seriesUnit (metric: string, divideBy: string | null, perSecond: boolean): string {
  const num = unitOf(metric)
  const den = divideBy === null ? null : unitOf(divideBy)
  if (num === 'unknown' || den === 'unknown') return 'unknown'
  const u = den === null ? num : num === den ? 'ratio' : `${num}/${den}`
  return perSecond ? `${u}/s` : u
}
