// The Explorer's graph strip: heap used and event-loop delay p99 of the processes in the view's
// hosts/services, on the histogram's own axis (its range, its bucket width as the stats step,
// its pixels). A click on a graph lists that minute; a hovered log line's instant is a rule.
//   histogram axis ──▶ /v1/stats heap top=5&band=minmax, then the second metric keys=<those 5>&band=minmax
//   (step = bucket width, one request at a time) ──▶ ProcessChart (compact): 5 lines and one band each
import { useEffect, useMemo, useState } from 'preact/hooks'
import { getJson } from '../lib/api.js'
import { chartData, procKey, type StatsBody } from '../lib/process-series.js'
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
  const [bodies, setBodies] = useState<Map<string, StatsBody> | null>(null)
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
    const ask = async (c: typeof stripCharts[number], choose: Record<string, string>): Promise<StatsBody> => {
      const p = new URLSearchParams({ metric: c.metric, since: isoOf(axis.start), until: isoOf(axis.end - 1), step: `${axis.stepMs / 1000}s`, agg: c.agg, ...choose, band: 'minmax' })
      for (const [name, values] of [['host', state.host], ['service', state.service], ['not_host', state.notHost], ['not_service', state.notService]] as const) for (const v of values) p.append(name, v)
      return await getJson<StatsBody>('/v1/stats', p, ac.signal)
    }
    void (async () => {
      // one at a time: the histogram and facets may still hold the client's query slots. The server
      // ranks by heap and sends the top lines and one band; the second metric follows those lines
      const [first, second] = stripCharts
      const heap = await ask(first, { top: String(topN) })
      const keys = heap.series.map(procKey)
      const other = await ask(second, keys.length > 0 ? { keys: keys.join(',') } : { top: String(topN) })
      return new Map([[first.metric, heap], [second.metric, other]])
    })().then(got => { setBodies(got); setError(null) }, err => {
      if (ac.signal.aborted) return
      onAuth(err)
      setError((err as Error).message)
    })
    return () => ac.abort()
  }, [key, open])

  const view = useMemo(() => {
    if (bodies === null) return null
    // the lines are the heap's top processes (the second metric's own when no heap was reported)
    const lined = stripCharts.map(c => bodies.get(c.metric)?.series ?? []).find(s => s.length > 0) ?? []
    const top = new Set(lined.map(procKey))
    const every = new Set([...bodies.values()].flatMap(b => b.processes ?? []).map(procKey))
    const colours = new Map([...top].map((k, i) => [k, palette[i % palette.length]]))
    const data = stripCharts.map(c => { const b = bodies.get(c.metric); return chartData(b?.series ?? [], top, { others: b?.band }) })
    return { top: [...top], colours, data, total: every.size }
  }, [bodies])

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
