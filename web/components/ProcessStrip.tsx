// The Explorer's graph strip: heap used and event-loop delay p99 of the processes in the view's
// hosts/services, on the histogram's own axis (its range, its bucket width as the stats step,
// its pixels). A click on a graph lists that minute; a hovered log line's instant is a rule.
//   histogram axis ──▶ /v1/stats (step = bucket width, one metric at a time) ──▶ ProcessChart (compact)
import { useEffect, useMemo, useState } from 'preact/hooks'
import { getJson } from '../lib/api.js'
import { chartData, procKey, rankProcesses, type StatsBody, type StatsSeries } from '../lib/process-series.js'
import type { TimeAxis, TimeCursor } from '../lib/time-scale.js'
import type { ViewState } from '../lib/url-state.js'
import { isoOf } from '../lib/format.js'
import { ProcessChart, palette, type Mark } from './ProcessChart.js'
import { TimeRule } from './TimeMarks.js'

/** what to look at first when a Node process is in trouble: its heap, and whether its event loop stalls */
export const stripCharts = [
  { id: 'strip-heap', title: 'heap used', metric: 'heap_used', unit: 'bytes', agg: 'avg' },
  { id: 'strip-eld', title: 'event-loop delay p99', metric: 'eventloop_delay_p99_ms', unit: 'ms', agg: 'max' }
] as const
const topN = 5
const plotHeight = 42

interface Props {
  state: ViewState
  axis: TimeAxis | null
  cursor: TimeCursor
  /** alert transitions of these processes, drawn as lines on the graphs */
  marks: Mark[]
  /** a click on a graph: the instant of the nearest step (epoch ms) */
  onPick: (ms: number) => void
  onAuth: (err: unknown) => void
}

function storedOpen (): boolean {
  try { return localStorage.getItem('sluice.strip') !== '0' } catch { return true }
}

export function ProcessStrip ({ state, axis, cursor, marks, onPick, onAuth }: Props) {
  // open or closed is remembered in this browser (localStorage), not in the URL: it is a screen layout, not a view
  const [open, setOpen] = useState(storedOpen)
  const onToggle = (): void => {
    try { localStorage.setItem('sluice.strip', open ? '0' : '1') } catch {}
    setOpen(!open)
  }
  const [box, setBox] = useState<HTMLDivElement | null>(null)
  const [width, setWidth] = useState(0)
  const [series, setSeries] = useState<Map<string, StatsSeries[]> | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    if (box === null) return
    const ro = new ResizeObserver(() => setWidth(box.clientWidth))
    ro.observe(box)
    return () => ro.disconnect()
  }, [box])

  const key = axis === null ? '' : JSON.stringify([state.host, state.service, state.notHost, state.notService, axis])
  useEffect(() => {
    if (!open || axis === null) return
    const ac = new AbortController()
    void (async () => {
      const got = new Map<string, StatsSeries[]>()
      // one at a time: the histogram and facets may still hold the client's query slots
      for (const c of stripCharts) {
        const p = new URLSearchParams({ metric: c.metric, since: isoOf(axis.start), until: isoOf(axis.end - 1), step: `${axis.stepMs / 1000}s`, agg: c.agg })
        for (const h of state.host) p.append('host', h)
        for (const s of state.service) p.append('service', s)
        const body = await getJson<StatsBody>('/v1/stats', p, ac.signal)
        got.set(c.metric, body.series.filter(s => !state.notHost.includes(s.host) && !state.notService.includes(s.service)))
      }
      return got
    })().then(got => { setSeries(got); setError(null) }, err => {
      if (ac.signal.aborted) return
      onAuth(err)
      setError((err as Error).message)
    })
    return () => ac.abort()
  }, [key, open])

  const view = useMemo(() => {
    if (series === null) return null
    const ranked = rankProcesses(series.get('heap_used') ?? [])
    const every = new Set([...series.values()].flat().map(procKey))
    const top = new Set([...ranked, ...[...every].sort()].slice(0, topN))
    const colours = new Map([...top].map((k, i) => [k, palette[i % palette.length]]))
    const data = stripCharts.map(c => chartData(series.get(c.metric) ?? [], top))
    return { top: [...top], colours, data, total: every.size }
  }, [series])

  const shown = view === null ? [] : stripCharts.map((c, i) => ({ c, data: view.data[i] })).filter(x => x.data.lines.length > 0 || x.data.band !== null)
  return (
    <div class={`strip${open ? '' : ' closed'}`} aria-label="process graphs">
      <div class="strip-head">
        <button type="button" class="link strip-toggle" aria-expanded={open} onClick={onToggle} title="heap and event-loop delay of the processes in this view, on the histogram's time axis">{open ? '▾' : '▸'} process graphs</button>
        {!open && <span class="dim">heap used, event-loop delay p99</span>}
        {open && error !== null && <span class="dim">unavailable: {error}</span>}
        {open && error === null && view === null && <span class="dim">loading…</span>}
        {open && view !== null && view.total === 0 && <span class="dim">no process stats from these hosts/services in this range</span>}
        {open && view !== null && view.total > 0 && <>
          <span class="strip-legend" data-processes={view.total}>
            {view.top.map(k => <span key={k} class="proc" data-key={k}><i style={{ background: view.colours.get(k) }} />{k}</span>)}
            {view.total > view.top.length && <span class="dim">+ {view.total - view.top.length} more as a grey band</span>}
          </span>
          <span class="dim strip-hint">click a graph to list that minute</span>
        </>}
      </div>
      <div class="strip-charts" ref={setBox} data-step={axis === null ? '' : axis.stepMs / 1000}>
        {open && axis !== null && view !== null && width > 0 && shown.map(({ c, data }) => (
          <ProcessChart
            key={c.id} id={c.id} title={c.title} unit={c.unit} data={data} colours={view.colours}
            range={[axis.start / 1000, axis.end / 1000]} marks={marks} width={width} onPick={onPick}
            compact height={plotHeight} syncKey="sluice-strip" offset={axis.stepMs / 2000} onHover={cursor.set}
          />
        ))}
        {open && axis !== null && view !== null && shown.length > 0 && <TimeRule axis={axis} cursor={cursor} />}
      </div>
    </div>
  )
}
