// What the Explorer draws on its time axis besides the bars: a rule at a hovered log line's
// instant, and glyphs for points in time (alert transitions, the minute the list starts at)
// with their tooltip. Positions come from time-scale.ts, as a percentage of the bars' width.
import { useEffect, useState } from 'preact/hooks'
import { formatTime } from '../lib/format.js'
import { groupMarks, onAxis, xOfTime, type TimeAxis, type TimeCursor, type TimeMark } from '../lib/time-scale.js'

const pct = (axis: TimeAxis, t: number): string => `${xOfTime(axis, t, 100).toFixed(4)}%`

/** A vertical rule at the cursor's instant, over the nearest positioned box (the bars, the strip). */
export function TimeRule ({ axis, cursor }: { axis: TimeAxis, cursor: TimeCursor }) {
  const [t, setT] = useState(cursor.get())
  useEffect(() => cursor.subscribe(setT), [cursor])
  if (t === null || !onAxis(axis, t)) return null
  return <div class="time-rule" style={{ left: pct(axis, t) }} data-t={new Date(t).toISOString()} aria-hidden="true" />
}

export const glyphs: Record<string, string> = { firing: '▲', resolved: '▽', at: '▼' }

/** Faint lines through the bars at each mark, so a spike lines up with its alert. */
export function MarkLines ({ axis, marks }: { axis: TimeAxis, marks: TimeMark[] }) {
  return <>{marks.filter(m => onAxis(axis, m.t)).map(m => <div key={`${m.kind}${m.t}`} class={`mark-line k-${m.kind}`} style={{ left: pct(axis, m.t) }} aria-hidden="true" />)}</>
}

/** A row of glyphs under the bars; marks a few pixels apart share one glyph and one tooltip. */
export function HistogramMarks ({ axis, marks, utc }: { axis: TimeAxis, marks: TimeMark[], utc: boolean }) {
  const [width, setWidth] = useState(1000)
  const [row, setRow] = useState<HTMLDivElement | null>(null)
  useEffect(() => {
    if (row === null) return
    const ro = new ResizeObserver(() => setWidth(row.clientWidth || 1000))
    ro.observe(row)
    return () => ro.disconnect()
  }, [row])
  const groups = groupMarks(axis, marks, width)
  return (
    <div class="hmarks" ref={setRow} aria-label="marks on the time axis">
      {groups.map(g => {
        const kinds = [...new Set(g.marks.map(m => m.kind))]
        // the worst news shows: firing over resolved over the rest
        const kind = ['firing', 'resolved', 'at'].find(k => kinds.includes(k)) ?? kinds[0]
        const label = g.marks.map(m => `${formatTime(new Date(m.t).toISOString(), utc).slice(11, 19)} ${m.label}`).join('\n')
        return (
          <span key={g.marks[0].t} class={`hmark k-${kind}${g.x > width * 0.7 ? ' tip-left' : ''}`} style={{ left: `${(100 * g.x / width).toFixed(4)}%` }} data-kind={kind} data-t={new Date(g.marks[0].t).toISOString()} data-label={label} aria-label={label} tabIndex={0}>
            {glyphs[kind] ?? '●'}{g.marks.length > 1 && <sup>{g.marks.length}</sup>}
            <span class="tip" role="tooltip">{g.marks.map((m, i) => <div key={i}><b>{formatTime(new Date(m.t).toISOString(), utc).slice(11, 19)}</b> {m.label}</div>)}</span>
          </span>
        )
      })}
    </div>
  )
}
