// What the view is missing (GET /v1/gaps), between the histogram and the list: bytes per class in
// the colours of the histogram's marks, and each host that stopped reporting.
import { formatCount } from '../lib/format.js'
import type { ViewGaps } from '../lib/use-gaps.js'
import type { ShownGap } from '../lib/gap-rows.js'

const order: Array<ShownGap['cls']> = ['lost', 'dead_lettered', 'dropped', 'in_flight']
const named: Record<ShownGap['cls'], string> = { lost: 'lost', dead_lettered: 'dead-lettered', dropped: 'dropped by the shipper', in_flight: 'in flight' }

function age (s: number): string {
  const t = Math.round(s)
  return t < 60 ? `${t}s` : t < 3600 ? `${Math.floor(t / 60)}m ${t % 60}s` : `${Math.floor(t / 3600)}h ${Math.floor((t % 3600) / 60)}m`
}

export function GapNotice ({ gaps }: { gaps: ViewGaps }) {
  if (gaps.gaps.length === 0 && gaps.silent.length === 0 && gaps.skipped === '') return null
  return (
    <div class="gap-notice" aria-label="missing ranges">
      {gaps.gaps.length > 0 && <span class="dim">missing in this view:</span>}
      {order.map(cls => {
        const of = gaps.gaps.filter(g => g.cls === cls)
        if (of.length === 0) return null
        const bytes = of.reduce((n, g) => n + (g.bytes ?? 0), 0)
        const open = of.some(g => g.bytes === null)
        return (
          <span key={cls} class={`gap-sum gap-${cls}`} data-class={cls} data-bytes={bytes}>
            <i />{bytes > 0 ? `${formatCount(bytes)} bytes` : ''}{open ? `${bytes > 0 ? ' + ' : ''}an open end` : ''} {named[cls]} ({of.length} {of.length === 1 ? 'range' : 'ranges'})
          </span>
        )
      })}
      {gaps.gaps.length > 0 && <span class="dim">· marked on the histogram and as rows in the list</span>}
      {gaps.silent.map(h => (
        <span key={h.host} class="silent" data-host={h.host}>⚠ {h.host} has not reported for {age(h.age_seconds)}: its newest lines may not have arrived</span>
      ))}
      {gaps.skipped !== '' && <span class="dim">{gaps.skipped}</span>}
    </div>
  )
}
