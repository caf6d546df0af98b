// Processes: small multiples of the process stats (sluice/stats) on one shared time axis.
//   URL (service, host, since, until, metric) ──▶ /v1/stats top=10&band=minmax of `metric` (ranks every
//   process) ──▶ one /v1/stats keys=<those 10>&band=minmax per chart metric, step from range and width
//   ──▶ the 10 as lines, the rest as the server's min–max band, restarts (pid changes) as markers
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { stepFor, timeOf, usePageParams } from '../lib/page-state.js'
import { chartData, procKey, restartsOf, spansOf, type StatsBody } from '../lib/process-series.js'
import { useProcessStats, type Transition } from '../lib/use-process-stats.js'
import { ProcessChart, palette, type Mark } from '../components/ProcessChart.js'
import { PageHeader } from '../components/PageHeader.js'
import { LoginForm } from '../components/LoginForm.js'

interface ChartSpec { id: string, title: string, metric: string, unit: string, second?: string, limit?: string, agg?: string }
const charts: ChartSpec[] = [
  { id: 'heap', title: 'heap used', metric: 'heap_used', limit: 'heap_limit', unit: 'bytes' },
  { id: 'heap_total', title: 'heap total', metric: 'heap_total', unit: 'bytes' },
  { id: 'rss', title: 'RSS', metric: 'rss', unit: 'bytes' },
  { id: 'external', title: 'external', metric: 'external', second: 'array_buffers', unit: 'bytes' },
  { id: 'connections', title: 'server connections', metric: 'connections', unit: 'count' },
  { id: 'fds', title: 'open fds', metric: 'fds', limit: 'fd_limit', unit: 'count' },
  { id: 'eld', title: 'event-loop delay p99', metric: 'eventloop_delay_p99_ms', unit: 'ms', agg: 'max' },
  { id: 'elu', title: 'event-loop utilization', metric: 'eventloop_utilization', unit: 'ratio' },
  { id: 'gc', title: 'GC time per step', metric: 'gc_ms', unit: 'ms', agg: 'sum' }
]
export const rankMetrics = ['heap_used', 'rss', 'heap_total', 'external', 'connections', 'fds', 'eventloop_delay_p99_ms', 'eventloop_utilization', 'gc_ms']
const topN = 10
/** restarts listed by name above the charts; all are drawn */
const maxListed = 8

/** what the page shows of the stats bodies: the chosen processes and their colours, every
 *  chart's data with the server's band, restarts and alert markers, the metrics nobody reported */
function viewOf (bodies: { keys: string[], map: Map<string, StatsBody> }, transitions: Transition[]) {
  const top = new Set(bodies.keys)
  const colours = new Map([...top].map((k, i) => [k, palette[i % palette.length]]))
  const every = new Set<string>()
  const all = [...bodies.map.values()]
  for (const b of all) for (const s of b.processes ?? []) every.add(procKey(s))
  const restarts = restartsOf(all.flatMap(b => spansOf(b.processes ?? [])))
  const data = charts.map(c => {
    const main = bodies.map.get(c.metric)
    const limit = c.limit === undefined ? undefined : bodies.map.get(c.limit)
    return chartData(main?.series ?? [], top, { second: c.second === undefined ? undefined : bodies.map.get(c.second)?.series, limit: limit?.series, others: main?.band, limitOthers: limit?.band })
  })
  const alerts = transitions.filter(t => every.has(procKey(t)))
  const marks: Mark[] = [
    ...restarts.map(r => ({ t: r.t, colour: '--warn', dashed: true })),
    ...alerts.map(a => ({ t: Date.parse(a.ts), colour: a.to_state === 'firing' ? '--error' : '--info', dashed: false }))
  ]
  const missing = charts.filter((_c, i) => data[i].lines.length === 0 && data[i].band === null).map(c => c.metric)
  return { top: [...top], colours, total: every.size, restarts, alerts, marks, data, missing }
}

export function ProcessesPage () {
  const [params, update] = usePageParams()
  const since = params.get('since') ?? '1h'
  const until = params.get('until') ?? ''
  const hosts = params.getAll('host')
  const services = params.getAll('service')
  const rankBy = params.get('metric') ?? 'heap_used'
  const gridRef = useRef<HTMLDivElement>(null)
  const [width, setWidth] = useState(0)
  const [query, setQuery] = useState('')

  useEffect(() => {
    const measure = (): void => {
      const w = (gridRef.current?.clientWidth ?? 0) - 24
      const n = w > 1100 ? 3 : w > 700 ? 2 : 1
      setWidth(Math.max(280, Math.floor((w - 12 * (n - 1)) / n) - 1))
    }
    measure()
    addEventListener('resize', measure)
    return () => removeEventListener('resize', measure)
  }, [])

  const now = useMemo(() => Date.now(), [params])
  const from = timeOf(since, now) ?? now - 3_600_000
  const to = until === '' ? now : timeOf(until, now) ?? now
  const step = stepFor(to - from, width)

  const { bodies, transitions, error, needLogin, setNeedLogin } = useProcessStats({ params, width, rankBy, hosts, services, from, to, step, query, charts, topN })

  const view = useMemo(() => bodies === null ? null : viewOf(bodies, transitions), [bodies, transitions])

  // a click on a graph opens the Explorer on the page's range and host/service filters, its list
  // at that minute (`at`): the lines around it stay a scroll away
  const openLogs = (ms: number): void => {
    const p = new URLSearchParams()
    for (const s of services) p.append('service', s)
    for (const h of hosts) p.append('host', h)
    p.set('since', since)
    if (until !== '') p.set('until', until)
    p.set('at', new Date(Math.floor(ms / 60_000) * 60_000).toISOString().replace('.000Z', 'Z'))
    location.href = `/?${p.toString()}`
  }

  if (needLogin) return <LoginForm onDone={() => { setNeedLogin(false); update({}, true) }} />
  const range: [number, number] = [from / 1000, to / 1000]
  return (
    <div class="app page">
      <PageHeader params={params} update={update}>
        <label class="dim">top {topN} by <select aria-label="rank by" value={rankBy} onChange={e => update({ metric: (e.target as HTMLSelectElement).value })}>{rankMetrics.map(m => <option key={m} value={m}>{m}</option>)}</select></label>
      </PageHeader>
      <div class="page-body" ref={gridRef}>
        {error !== null && <div class="field-error" data-param={error.param ?? ''}>{error.message}</div>}
        {view === null && error === null && <div class="dim pad">loading…</div>}
        {view !== null && view.total === 0 && <div class="no-match">No process stats in this range. Processes report them with <code>sluice/stats</code> (or run <code>sluice demo</code>).</div>}
        {view !== null && view.total > 0 && <>
          <div class="proc-legend" data-step={step} data-processes={view.total}>
            <span class="dim">{view.total} process{view.total === 1 ? '' : 'es'}{view.total > topN ? `: top ${topN} by ${rankBy}, the other ${view.total - view.top.length} as a grey min–max band` : ''} · {step}s steps</span>
            <input type="search" aria-label="pin a host" placeholder="pin host/service/pid…" value={query} onInput={e => setQuery((e.target as HTMLInputElement).value)} />
            {view.top.map(k => <span key={k} class="proc" data-key={k}><i style={{ background: view.colours.get(k) }} />{k}</span>)}
          </div>
          {(view.restarts.length > 0 || view.alerts.length > 0) && (
            <div class="restarts">
              {view.restarts.length > maxListed && <span class="restart-count">↻ {view.restarts.length} restarts (dashed orange lines); the last {maxListed}:</span>}
              {view.restarts.slice(-maxListed).map(r => <span key={`${r.host}/${r.service}/${r.to}`} class="restart" data-t={new Date(r.t).toISOString()}>↻ {r.host}/{r.service} restarted {new Date(r.t).toISOString().slice(11, 19)}Z: pid {r.from} → {r.to}</span>)}
              {view.alerts.map(a => <a key={`${a.rule_id}/${procKey(a)}/${a.ts}`} href="/alerts" class={`alert-mark ${a.to_state}`} data-t={a.ts} data-rule={a.rule_id}>{a.to_state === 'firing' ? '▲' : '▽'} {a.rule_name} {a.to_state} on {procKey(a)} at {a.ts.slice(11, 19)}Z</a>)}
            </div>
          )}
          {view.missing.length > 0 && <div class="dim not-reported">not reported by these processes: {view.missing.join(', ')}</div>}
          <div class="pcharts">
            {charts.map((c, i) => view.data[i].lines.length === 0 && view.data[i].band === null ? null : <ProcessChart key={c.id} id={c.id} title={`${c.title}${view.data[i].limit !== null ? ` (dashed red: ${c.limit!.replace('_', ' ')})` : ''}${c.second !== undefined && view.data[i].lines.some(l => l.dashed === true) ? ' (dashed: arrayBuffers)' : ''}`} unit={c.unit} data={view.data[i]} colours={view.colours} range={range} marks={view.marks} width={width} onPick={openLogs} />)}
          </div>
        </>}
      </div>
    </div>
  )
}
