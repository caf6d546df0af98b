// A missing byte range in the list, between the lines around it: a banded note with what is
// missing, of which file, and why — no time column, no level, so it never reads as a log line.
import { formatCount, formatTime } from '../lib/format.js'
import { gapText, type ShownGap } from '../lib/gap-rows.js'

export const gapBadge: Record<ShownGap['cls'], string> = { lost: 'lost', dead_lettered: 'dead letter', dropped: 'dropped', in_flight: 'in flight' }

export function GapRow ({ gap, utc }: { gap: ShownGap, utc: boolean }) {
  const at = (t: number | null): string => t === null ? '…' : formatTime(new Date(t).toISOString(), utc)
  const bytes = `bytes ${formatCount(gap.from)}–${gap.to === null ? '' : formatCount(gap.to)}`
  return (
    <div class={`gap-row gap-${gap.cls}`} role="note" data-class={gap.cls} data-source={gap.source} data-from={gap.from} data-bytes={gap.bytes ?? ''}>
      <span class="gap-kind">{gapBadge[gap.cls]}</span>
      <span class="gap-text">{gapText(gap)}</span>
      <span class="gap-where" title={`source ${gap.source}`}>{bytes} · after {at(gap.before)}{gap.after !== null ? ` · before ${at(gap.after)}` : ''}</span>
    </div>
  )
}
