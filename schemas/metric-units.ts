// Units of the process metrics sluice/stats reports (shipper/stats.ts names them), so the API
// can list them and the CLI print them as people read them (MB, ms, %).
export type MetricUnit = 'bytes' | 'ms' | 'ratio' | 'count'

const bytes = new Set(['heap_used', 'heap_total', 'heap_limit', 'rss', 'external', 'array_buffers'])

export function metricUnit (name: string): MetricUnit {
  if (bytes.has(name) || name.endsWith('_bytes')) return 'bytes'
  if (name.endsWith('_ms')) return 'ms'
  if (name.endsWith('_utilization') || name.endsWith('_ratio')) return 'ratio'
  return 'count'
}

/** 52428800 bytes → '50.0 MB', 0.42 ratio → '42.0%', 1500 ms → '1.50 s'. */
export function formatMetric (v: number, unit: MetricUnit): string {
  if (!Number.isFinite(v)) return String(v)
  switch (unit) {
    case 'bytes': {
      const units = ['B', 'KB', 'MB', 'GB', 'TB']
      let x = Math.abs(v)
      let i = 0
      while (x >= 1024 && i < units.length - 1) { x /= 1024; i++ }
      return `${v < 0 ? '-' : ''}${i === 0 ? x.toFixed(0) : x.toFixed(1)} ${units[i]}`
    }
    case 'ms': return Math.abs(v) >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Number(v.toFixed(2))} ms`
    case 'ratio': return `${(v * 100).toFixed(1)}%`
    default: return Number.isInteger(v) ? String(v) : v.toFixed(2)
  }
}
