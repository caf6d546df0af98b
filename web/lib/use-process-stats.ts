// The Processes page's data: the ranking metric with top=N&band=minmax (its N series, the band and
// every process in rank order), then each chart metric with keys=<the N, pins first>&band=minmax,
// so the server sends N series and one band per chart however many processes there are; and the
// alert transitions of the range for markers.
import { useEffect, useMemo, useState } from 'preact/hooks'
import { getJson, ApiError } from './api.js'
import { procKey, type StatsBody } from './process-series.js'

export interface Transition { rule_id: string, rule_name: string, host: string, service: string, pid: number, to_state: string, ts: string }
export interface ChartMetrics { metric: string, second?: string, limit?: string, agg?: string }

interface Options {
  /** the page's URL parameters: a change asks again */
  params: URLSearchParams
  width: number
  rankBy: string
  hosts: string[]
  services: string[]
  from: number
  to: number
  step: number
  /** the pin search: matching processes become lines before the highest ranked */
  query: string
  charts: ChartMetrics[]
  topN: number
}

/** Runs at most `n` requests at once (the API allows a client 2 queries in flight). */
async function limited<T> (jobs: Array<() => Promise<T>>, n: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, async () => {
    while (next < jobs.length) { const i = next++; out[i] = await jobs[i]() }
  }))
  return out
}

export function useProcessStats ({ params, width, rankBy, hosts, services, from, to, step, query, charts, topN }: Options) {
  const [rankBody, setRankBody] = useState<StatsBody | null>(null)
  const [bodies, setBodies] = useState<{ keys: string[], map: Map<string, StatsBody> } | null>(null)
  const [transitions, setTransitions] = useState<Transition[]>([])
  const [error, setError] = useState<ApiError | null>(null)
  const [needLogin, setNeedLogin] = useState(false)
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
      // a chart's second metric is drawn for its lines only
      if (!charts.some(c => c.second === m)) p.set('band', 'minmax')
      return [m, await getJson<StatsBody>('/v1/stats', p, ctl.signal)]
    })
    limited(jobs, 2).then(rs => setBodies({ keys: chosen, map: new Map(rs) }), failed)
    return () => ctl.abort()
  }, [rankBody, chosen.join('\n')])

  return { bodies, transitions, error, needLogin, setNeedLogin }
}
