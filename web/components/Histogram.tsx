// Volume over the range, ~100 bars stacked by level (GET /v1/histogram). Click a bar to zoom
// into it, or drag across bars to zoom into that stretch. Marks (alert transitions, the list's
// minute) sit under the bars, a hovered log line's instant is a rule across them, and ranges
// (missing bytes) are tinted stretches over the bars with a flag on top that names them.
import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError, fetchHistogram } from '../lib/api.js'
import { countOf, formatCount, formatTime, isoOf } from '../lib/format.js'
import { filterParams, type ViewState } from '../lib/url-state.js'
import { levels, type Histogram as HistogramData } from '../lib/types.js'
import type { TimeAxis, TimeCursor, TimeMark } from '../lib/time-scale.js'
import { HistogramMarks, MarkLines, TimeRule } from './TimeMarks.js'
import '../time-axis.css'

/** something that happened over [t0, t1] (epoch ms; t1 = t0 for an instant, Infinity for "until now");
 *  `kind` picks the colour (class `hrange-<kind>`), `label` is its hover text */
export interface HistogramMark { t0: number, t1: number, kind: string, label: string }

interface Props {
  state: ViewState, ready: boolean, utc: boolean, onZoom: (since: string, until: string) => void, onAuth: (err: unknown) => void
  /** glyphs on the time axis, e.g. alert transitions */
  marks?: TimeMark[]
  /** the marks are complete (shown as data-marks-loaded, so a reader can tell none from not yet) */
  marksLoaded?: boolean
  /** stretches drawn over the bars, e.g. missing byte ranges */
  ranges?: HistogramMark[]
  /** an instant to draw as a rule across the bars (a hovered log line) */
  cursor?: TimeCursor
  /** the axis of the bars shown (null while there are none), for what is drawn on the same axis */
  onAxis?: (axis: TimeAxis | null) => void
}

export const bucketCount = 100

export function Histogram ({ state, ready, utc, onZoom, onAuth, marks, marksLoaded, ranges = [], cursor, onAxis }: Props) {
  const [data, setData] = useState<HistogramData | null | 'absent'>(null)
  const [error, setError] = useState<string | null>(null)
  const [drag, setDrag] = useState<[number, number] | null>(null)
  /** the filter the bars shown were counted for (they stay while the next ones load) */
  const [shownFor, setShownFor] = useState('')
  const dragging = useRef(false)
  const key = filterParams(state).toString()
  useEffect(() => {
    if (!ready) return
    const ac = new AbortController()
    const p = filterParams(state)
    p.set('buckets', String(bucketCount))
    fetchHistogram(p, ac.signal).then(d => { setData(d ?? 'absent'); setShownFor(key); setError(null) }, err => {
      if (ac.signal.aborted) return
      onAuth(err)
      // a 400 is the search's own mistake, shown once by the search bar
      setError(err instanceof ApiError ? (err.status === 400 ? '' : err.message) : String(err))
    })
    return () => ac.abort()
  }, [key, ready])
  const bars = data !== null && data !== 'absent' ? data.bars : []
  const axis: TimeAxis | null = bars.length === 0 ? null : { start: bars[0].start, end: bars[bars.length - 1].end, stepMs: bars[0].end - bars[0].start }
  useEffect(() => { onAxis?.(axis) }, [axis?.start, axis?.end, axis?.stepMs])
  if (data === 'absent') return null
  if (error !== null) return <div class="histogram empty dim">{error === '' ? '' : `histogram unavailable: ${error}`}</div>
  if (data === null) return <div class="histogram empty dim">loading histogram…</div>
  const max = data.bars.reduce((m, b) => Math.max(m, Object.values(b.counts).reduce((a, c) => a + c, 0)), 1)
  const finish = (): void => {
    if (drag !== null) {
      const [a, b] = drag[0] <= drag[1] ? drag : [drag[1], drag[0]]
      const from = data.bars[a]
      const to = data.bars[b]
      // until is inclusive in the API: stop 1 ms before the next bar
      if (from !== undefined && to !== undefined) onZoom(isoOf(from.start), isoOf(to.end - 1))
    }
    dragging.current = false
    setDrag(null)
  }
  const first = data.bars[0]
  const lastBar = data.bars[data.bars.length - 1]
  return (
    <div class="histogram" aria-label="volume histogram" data-total={data.total} data-for={shownFor} data-marks-loaded={marksLoaded === true ? '1' : '0'}>
      <div class="bars" data-start={axis?.start} data-end={axis?.end} onMouseLeave={() => { if (dragging.current) finish() }} onMouseUp={finish}>
        {data.bars.map((b, i) => {
          const total = Object.values(b.counts).reduce((a, c) => a + c, 0)
          const inDrag = drag !== null && i >= Math.min(...drag) && i <= Math.max(...drag)
          return (
            <div
              key={b.start} class={`hbar${inDrag ? ' brushed' : ''}`} data-count={total}
              title={`${formatTime(new Date(b.start).toISOString(), utc)} — ${countOf(total, 'line')}${total > 0 ? ': ' + levels.filter(l => (b.counts[l] ?? 0) > 0).map(l => `${l} ${formatCount(b.counts[l])}`).join(', ') : ''}\nclick to zoom, drag to zoom a stretch`}
              onMouseDown={e => { e.preventDefault(); dragging.current = true; setDrag([i, i]) }}
              onMouseEnter={() => { if (dragging.current) setDrag(d => d === null ? null : [d[0], i]) }}
            >
              <div class="stack" style={{ height: `${(100 * total / max).toFixed(2)}%` }}>
                {[...levels].reverse().map(l => (b.counts[l] ?? 0) > 0 && <div key={l} class={`seg lvl-${l}`} style={{ flexGrow: b.counts[l] }} />)}
              </div>
            </div>
          )
        })}
        {axis !== null && marks !== undefined && <MarkLines axis={axis} marks={marks} />}
        {axis !== null && cursor !== undefined && <TimeRule axis={axis} cursor={cursor} />}
        {ranges.length > 0 && <Marks marks={ranges} bars={data.bars} />}
      </div>
      {axis !== null && marks !== undefined && marks.length > 0 && <HistogramMarks axis={axis} marks={marks} utc={utc} />}
      <div class="axis dim">
        <span>{first !== undefined ? formatTime(new Date(first.start).toISOString(), utc).slice(0, 19) : ''}</span>
        <span class="legend">
          {levels.filter(l => data.bars.some(b => (b.counts[l] ?? 0) > 0)).map(l => <span key={l}><i class={`seg lvl-${l}`} />{l}</span>)}
          <span>{countOf(data.total, 'line')} · max {formatCount(max)} per bar · click or drag to zoom</span>
        </span>
        <span>{lastBar !== undefined ? formatTime(new Date(lastBar.end).toISOString(), utc).slice(0, 19) : ''}</span>
      </div>
    </div>
  )
}

/** the marks over the bars, each placed by time on the bars' axis; data-bucket: the bar it starts in */
function Marks ({ marks, bars }: { marks: HistogramMark[], bars: HistogramData['bars'] }) {
  const first = bars[0]
  const last = bars[bars.length - 1]
  if (first === undefined || last === undefined) return null
  const span = last.end - first.start
  const pct = (t: number): number => 100 * (Math.min(Math.max(t, first.start), last.end) - first.start) / span
  return (
    <div class="hranges">
      {marks.filter(m => m.t1 >= first.start && m.t0 <= last.end).map((m, i) => {
        const left = pct(m.t0)
        const bucket = Math.min(bars.length - 1, Math.floor(bars.length * (Math.max(m.t0, first.start) - first.start) / span))
        return (
          <div key={`${m.kind}:${m.t0}:${i}`} class={`hrange hrange-${m.kind}`} data-kind={m.kind} data-t0={m.t0} data-t1={Number.isFinite(m.t1) ? m.t1 : ''} data-bucket={bucket} style={{ left: `${left.toFixed(3)}%`, width: `${(pct(m.t1) - left).toFixed(3)}%` }}>
            <span class="hrange-flag" title={m.label} aria-label={m.label} />
          </div>
        )
      })}
    </div>
  )
}
