// Processes: small multiples of the process stats (sluice/stats) on one shared time axis.
//   URL (service, host, since, until, metric) ──▶ one /v1/stats per metric, step from range and width
//   ──▶ top 10 processes by `metric` as lines, the rest as a min–max band, restarts as markers
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { getJson, ApiError } from '../lib/api.js'
import { stepFor, timeOf, usePageParams } from '../lib/page-state.js'
import { chartData, procKey, rankProcesses, restartsOf, type StatsBody } from '../lib/process-series.js'
import { ProcessChart, palette, type Mark } from '../components/ProcessChart.js'
import { PageHeader } from '../components/PageHeader.js'
import { LoginForm } from '../components/LoginForm.js'

interface Transition { rule_id: string, rule_name: string, host: string, service: string, pid: number, to_state: string, ts: string }

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

/** Runs at most `n` requests at once (the API allows a client 2 queries in flight). */
async function limited<T> (jobs: Array<() => Promise<T>>, n: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, async () => {
    while (next < jobs.length) { const i = next++; out[i] = await jobs[i]() }
  }))
  return out
}

/** what the page shows of the stats bodies: the top processes (pinned first) and their colours,
 *  every chart's data, restarts and alert markers, the metrics nobody reported */
function viewOf (bodies: Map<string, StatsBody>, rankBy: string, query: string, transitions: Transition[]) {
  const ranked = rankProcesses(bodies.get(rankBy)?.series ?? bodies.get('heap_used')?.series ?? [])
  const pinned = query === '' ? [] : ranked.filter(k => k.toLowerCase().includes(query.toLowerCase()))
  const top = new Set([...pinned, ...ranked].slice(0, topN))
  const colours = new Map([...top].map((k, i) => [k, palette[i % palette.length]]))
  const every = new Set<string>()
  for (const b of bodies.values()) for (const s of b.series) every.add(procKey(s))
  const restarts = restartsOf([...bodies.values()].flatMap(b => b.series))
  const data = charts.map(c => chartData(bodies.get(c.metric)?.series ?? [], top, { second: c.second === undefined ? undefined : bodies.get(c.second)?.series, limit: c.limit === undefined ? undefined : bodies.get(c.limit)?.series }))
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
  const [bodies, setBodies] = useState<Map<string, StatsBody> | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const [needLogin, setNeedLogin] = useState(false)
  const [query, setQuery] = useState('')
  const [transitions, setTransitions] = useState<Transition[]>([])

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

  useEffect(() => {
    if (width === 0) return
    const ctl = new AbortController()
    const metrics = [...new Set(charts.flatMap(c => [c.metric, c.second, c.limit].filter((m): m is string => m !== undefined)).concat(rankBy))]
    const aggOf = new Map(charts.map(c => [c.metric, c.agg ?? 'avg']))
    const jobs = metrics.map(m => async (): Promise<[string, StatsBody]> => {
      const p = new URLSearchParams({ metric: m, since: new Date(from).toISOString(), until: new Date(to).toISOString(), step: `${step}s`, agg: aggOf.get(m) ?? (m.endsWith('_limit') ? 'max' : 'avg') })
      for (const h of hosts) p.append('host', h)
      for (const s of services) p.append('service', s)
      return [m, await getJson<StatsBody>('/v1/stats', p, ctl.signal)]
    })
    setError(null)
    // alert transitions (firing, resolved) of the range, for markers; none when alerting is off
    jobs.push(async () => {
      try {
        const h = await getJson<{ transitions: Transition[] }>('/v1/alerts/history', new URLSearchParams({ since: new Date(from).toISOString(), limit: '500' }), ctl.signal)
        setTransitions(h.transitions.filter(t => (t.to_state === 'firing' || t.to_state === 'resolved') && Date.parse(t.ts) <= to))
      } catch {}
      return ['', { metric: '', unit: '', step, since: '', until: '', series: [] }]
    })
    limited(jobs, 2).then(rs => setBodies(new Map(rs.filter(r => r[0] !== ''))), (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) setNeedLogin(true)
      else if (err instanceof ApiError) setError(err)
    })
    return () => ctl.abort()
  }, [params, width])

  const view = useMemo(() => bodies === null ? null : viewOf(bodies, rankBy, query, transitions), [bodies, rankBy, query, transitions])

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
