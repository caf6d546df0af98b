// /v1/histogram as a terminal bar chart: one row per bucket, the bar scaled to the busiest
// bucket (eighth-block precision), the total and the split (by level: worst first).

export interface Histogram { since: string, until: string, step: number, by: string, buckets: Array<{ t: string, counts: Record<string, number> }>, total: number }

const levelOrder = ['fatal', 'error', 'warn', 'info', 'debug', 'trace']
const eighths = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉']
const levelColour: Record<string, string> = { fatal: '35', error: '31', warn: '33', info: '32', debug: '36', trace: '90' }

export function bar (n: number, max: number, width: number): string {
  if (n <= 0 || max <= 0) return ''
  const units = Math.max(1, Math.round(n / max * width * 8))
  return '█'.repeat(Math.floor(units / 8)) + eighths[units % 8]
}

function stepText (s: number): string {
  if (s % 86400 === 0) return `${s / 86400}d`
  if (s % 3600 === 0) return `${s / 3600}h`
  if (s % 60 === 0) return `${s / 60}m`
  return `${s}s`
}

export function renderHistogram (h: Histogram, colour: boolean, width = 40): string {
  const totals = h.buckets.map(b => Object.values(b.counts).reduce((a, n) => a + n, 0))
  const max = Math.max(0, ...totals)
  const nw = String(max).length
  // a label as long as the step needs: dates for days, minutes for minutes, seconds below
  const label = (t: string): string => h.step % 86400 === 0 ? t.slice(0, 10) : h.step % 60 === 0 ? `${t.slice(0, 16)}Z` : `${t.slice(0, 19)}Z`
  const keys = (c: Record<string, number>): string[] => Object.keys(c).sort((a, b) => h.by === 'level' ? levelOrder.indexOf(a) - levelOrder.indexOf(b) : c[b] - c[a] || (a < b ? -1 : 1))
  const lines = [`${h.total} lines from ${h.since} to ${h.until} (UTC), ${stepText(h.step)} per bar, by ${h.by}`]
  h.buckets.forEach((b, i) => {
    const split = keys(b.counts).map(k => colour && h.by === 'level' ? `\x1b[${levelColour[k] ?? '0'}m${k}\x1b[0m=${b.counts[k]}` : `${k}=${b.counts[k]}`).join(' ')
    lines.push(`${label(b.t)} ${bar(totals[i], max, width).padEnd(width)} ${String(totals[i]).padStart(nw)}${split !== '' ? '  ' + split : ''}`.trimEnd())
  })
  return lines.join('\n') + '\n'
}
