// Processes: small multiples of the process stats (sluice/stats) on one shared time axis.
//   URL (service, host, since, until, metric) ──▶ /v1/stats top=10&band=minmax of `metric` (ranks every
//   process) ──▶ one /v1/stats keys=<those 10>&band=minmax per chart metric, step from range and width
//   ──▶ the 10 as lines, the rest as the server's min–max band, restarts (pid changes) as markers
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { getJson, ApiError } from '../lib/api.js'
import { stepFor, timeOf, usePageParams } from '../lib/page-state.js'
import { chartData, procKey, restartsOf, spansOf, type StatsBody } from '../lib/process-series.js'
import { ProcessChart, palette, type Mark } from '../components/ProcessChart.js'
import { PageNav } from '../components/PageNav.js'
import { ThemeToggle } from '../components/ThemeToggle.js'
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
const presets = ['15m', '1h', '6h', '24h', '7d']

/** Runs at most `n` requests at once (the API allows a client 2 queries in flight). */
async function limited<T> (jobs: Array<() => Promise<T>>, n: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, async () => {
    while (next < jobs.length) { const i = next++; out[i] = await jobs[i]() }
  }))
  return out
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

  // the ranking first (top N of rankBy, the rest as a band, every process listed), then each
  // chart's metric for the same processes: the server sends N series and a band, not every series
  const [rankBody, setRankBody] = useState<StatsBody | null>(null)
  const [bodies, setBodies] = useState<{ keys: string[], map: Map<string, StatsBody> } | null>(null)
  const [pin, setPin] = useState('')
  useEffect(() => { const t = setTimeout(() => setPin(query), 300); return () => clearTimeout(t) }, [query])
  const aggOf = (m: string): string => charts.find(c => c.metric === m)?.agg ?? (m.endsWith('_limit') ? 'max' : 'avg')
  const statsParams = (m: string): URLSearchParams => {
    const p = new URLSearchParams({ metric: m, since: new Date(from).toISOString(), until: new Date(to).toISOString(), step: `${step}s`, agg: aggOf(m) })
    for (const h of hosts) p.append('host', h)
    for (const s of services) p.append('service', s)
    return p
  }
  const failed = (err: unknown): void => {
    if (err instanceof ApiError && err.status === 401) setNeedLogin(true)
    else if (err instanceof ApiError) setError(err)
  }

  useEffect(() => {
    if (width === 0) return
    const ctl = new AbortController()
    setError(null)
    const jobs: Array<() => Promise<void>> = [async () => {
      const p = statsParams(rankBy)
      p.set('top', String(topN)); p.set('band', 'minmax')
      setRankBody(await getJson<StatsBody>('/v1/stats', p, ctl.signal))
    }, async () => {
      // alert transitions (firing, resolved) of the range, for markers; none when alerting is off
      try {
        const h = await getJson<{ transitions: Transition[] }>('/v1/alerts/history', new URLSearchParams({ since: new Date(from).toISOString(), limit: '500' }), ctl.signal)
        setTransitions(h.transitions.filter(t => (t.to_state === 'firing' || t.to_state === 'resolved') && Date.parse(t.ts) <= to))
      } catch {}
    }]
    limited(jobs, 2).catch(failed)
    return () => ctl.abort()
  }, [params, width])

  // the processes drawn as lines: those matching the pin search, then the highest ranked
  const chosen = useMemo(() => {
    const ranked = (rankBody?.processes ?? []).map(procKey)
    const pinned = pin === '' ? [] : ranked.filter(k => k.toLowerCase().includes(pin.toLowerCase()))
    return [...new Set([...pinned, ...ranked].slice(0, topN))]
  }, [rankBody, pin])

  useEffect(() => {
    if (rankBody === null) return
    const ctl = new AbortController()
    const metrics = [...new Set(charts.flatMap(c => [c.metric, c.second, c.limit].filter((m): m is string => m !== undefined)).concat(rankBy))]
    // the ranking answer already holds the chosen processes unless a pin brought in others
    const reuse = rankBody.series.length === chosen.length && rankBody.series.every(s => chosen.includes(procKey(s)))
    const jobs = metrics.map(m => async (): Promise<[string, StatsBody]> => {
      if (m === rankBy && reuse) return [m, rankBody]
      const p = statsParams(m)
      p.set('keys', chosen.join(','))
      if (!charts.some(c => c.second === m)) p.set('band', 'minmax')
      return [m, await getJson<StatsBody>('/v1/stats', p, ctl.signal)]
    })
    limited(jobs, 2).then(rs => setBodies({ keys: chosen, map: new Map(rs) }), failed)
    return () => ctl.abort()
  }, [rankBody, chosen.join('\n')])

  const view = useMemo(() => {
    if (bodies === null) return null
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
  }, [bodies, transitions])

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
  const list = (v: string): string[] => v.split(',').map(s => s.trim()).filter(s => s !== '')
  return (
    <div class="app page">
      <header class="top">
        <a class="brand" href="/">sluice</a>
        <PageNav />
        <div class="page-filters">
          <input aria-label="service" placeholder="service, …" value={services.join(',')} onChange={e => update({ service: list((e.target as HTMLInputElement).value) })} />
          <input aria-label="host" placeholder="host, …" value={hosts.join(',')} onChange={e => update({ host: list((e.target as HTMLInputElement).value) })} />
          <div class="time-range" role="group" aria-label="time range">
            {presets.map(p => <button type="button" key={p} class={`preset${until === '' && since === p ? ' on' : ''}`} onClick={() => update({ since: p, until: null })}>{p}</button>)}
          </div>
          <label class="dim">top {topN} by <select aria-label="rank by" value={rankBy} onChange={e => update({ metric: (e.target as HTMLSelectElement).value })}>{rankMetrics.map(m => <option key={m} value={m}>{m}</option>)}</select></label>
        </div>
        <div class="top-actions"><ThemeToggle /></div>
      </header>
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
