// From /v1/stats answers to chart data: one line per process (host/service/pid), the top N by a
// ranking metric, the rest as a min–max band, and the restarts (a host/service whose pid changed).
export interface StatsSeries { host: string, service: string, pid: number, points: Array<[string, number]> }
/** with band=minmax: the processes not in series, [ISO step, lowest, highest] per step */
export interface StatsBand { count: number, points: Array<[string, number, number]> }
/** with top or keys: every matching process in rank order, with its first and last step */
export interface StatsProcess { host: string, service: string, pid: number, first: string, last: string }
export interface StatsBody { metric: string, unit: string, step: number, since: string, until: string, series: StatsSeries[], band?: StatsBand, processes?: StatsProcess[], hint?: string }

export const procKey = (s: { host: string, service: string, pid: number }): string => `${s.host}/${s.service}/${s.pid}`

/** Process keys ordered by the mean of the ranking metric, highest first. */
export function rankProcesses (series: StatsSeries[]): string[] {
  const mean = (s: StatsSeries): number => s.points.reduce((a, p) => a + p[1], 0) / Math.max(1, s.points.length)
  return [...series].sort((a, b) => mean(b) - mean(a) || procKey(a).localeCompare(procKey(b))).map(procKey)
}

export interface Restart { t: number, host: string, service: string, from: number, to: number }

/** Where a host/service's pid was replaced: a pid whose first sample comes after another pid of
 *  the same host/service stopped reporting (the latest such one, each replaced once). Pids that
 *  run side by side (cluster workers) are not restarts of each other. */
export function restartsOf (series: StatsSeries[]): Restart[] {
  const by = new Map<string, Map<number, { pid: number, first: number, last: number }>>()
  for (const s of series) {
    if (s.points.length === 0) continue
    const k = `${s.host}/${s.service}`
    const pids = by.get(k) ?? new Map<number, { pid: number, first: number, last: number }>()
    // the same process appears once per metric: keep its first and last sample over all of them
    const first = Date.parse(s.points[0][0])
    const last = Date.parse(s.points[s.points.length - 1][0])
    const known = pids.get(s.pid)
    if (known !== undefined) { known.first = Math.min(known.first, first); known.last = Math.max(known.last, last) } else pids.set(s.pid, { pid: s.pid, first, last })
    by.set(k, pids)
  }
  const out: Restart[] = []
  for (const [k, pids] of by) {
    const list = [...pids.values()].sort((a, b) => a.first - b.first)
    const replaced = new Set<number>()
    const [host, service] = k.split('/')
    for (const p of list) {
      let prev: { pid: number, last: number } | undefined
      for (const q of list) if (q.last < p.first && !replaced.has(q.pid) && (prev === undefined || q.last > prev.last)) prev = q
      if (prev === undefined) continue
      replaced.add(prev.pid)
      out.push({ t: p.first, host, service, from: prev.pid, to: p.pid })
    }
  }
  return out.sort((a, b) => a.t - b.t)
}

export interface ChartData {
  /** seconds */
  x: number[]
  lines: Array<{ key: string, values: Array<number | null>, dashed?: boolean }>
  band: { min: Array<number | null>, max: Array<number | null>, count: number } | null
  limit: Array<number | null> | null
}

/** The processes of a top/keys answer as series of their first and last step (for restartsOf). */
export const spansOf = (ps: StatsProcess[]): StatsSeries[] => ps.map(p => ({ host: p.host, service: p.service, pid: p.pid, points: [[p.first, 0], [p.last, 0]] }))

/** Aligns the series of one chart on the union of their timestamps. `others`: the server's band
 *  of the processes not in `main` (else the band is made of main's series not in `top`);
 *  `limitOthers`: the band of the limit metric's other processes (their highest value counts). */
export function chartData (main: StatsSeries[], top: Set<string>, opts: { second?: StatsSeries[], limit?: StatsSeries[], others?: StatsBand, limitOthers?: StatsBand } = {}): ChartData {
  const ts = new Set<number>()
  const all = [...main, ...(opts.second ?? []), ...(opts.limit ?? [])]
  for (const s of all) for (const p of s.points) ts.add(Date.parse(p[0]) / 1000)
  for (const b of [opts.others, opts.limitOthers]) for (const p of b?.points ?? []) ts.add(Date.parse(p[0]) / 1000)
  const x = [...ts].sort((a, b) => a - b)
  const at = new Map(x.map((t, i) => [t, i]))
  const valuesOf = (s: StatsSeries): Array<number | null> => {
    const v: Array<number | null> = new Array(x.length).fill(null)
    for (const p of s.points) v[at.get(Date.parse(p[0]) / 1000)!] = p[1]
    return v
  }
  const lines: ChartData['lines'] = []
  const rest: StatsSeries[] = []
  for (const s of main) { if (top.has(procKey(s))) lines.push({ key: procKey(s), values: valuesOf(s) }); else rest.push(s) }
  for (const s of opts.second ?? []) if (top.has(procKey(s))) lines.push({ key: procKey(s), values: valuesOf(s), dashed: true })
  // in the legend's order (top first), each process's dashed second metric after its lines
  const order = [...top]
  lines.sort((a, b) => Number(a.dashed === true) - Number(b.dashed === true) || order.indexOf(a.key) - order.indexOf(b.key))
  let band: ChartData['band'] = null
  if (opts.others !== undefined) {
    if (opts.others.count > 0) {
      const min: Array<number | null> = new Array(x.length).fill(null)
      const max: Array<number | null> = new Array(x.length).fill(null)
      for (const p of opts.others.points) { const i = at.get(Date.parse(p[0]) / 1000)!; min[i] = p[1]; max[i] = p[2] }
      band = { min, max, count: opts.others.count }
    }
  } else if (rest.length > 0) {
    const min: Array<number | null> = new Array(x.length).fill(null)
    const max: Array<number | null> = new Array(x.length).fill(null)
    for (const s of rest) {
      for (const p of s.points) {
        const i = at.get(Date.parse(p[0]) / 1000)!
        min[i] = min[i] === null ? p[1] : Math.min(min[i]!, p[1])
        max[i] = max[i] === null ? p[1] : Math.max(max[i]!, p[1])
      }
    }
    band = { min, max, count: rest.length }
  }
  let limit: Array<number | null> | null = null
  if ((opts.limit !== undefined && opts.limit.length > 0) || (opts.limitOthers?.points.length ?? 0) > 0) {
    limit = new Array(x.length).fill(null)
    const add = (t: string, v: number): void => { const i = at.get(Date.parse(t) / 1000)!; if (v > 0) limit![i] = Math.max(limit![i] ?? 0, v) }
    for (const s of opts.limit ?? []) for (const p of s.points) add(p[0], p[1])
    for (const p of opts.limitOthers?.points ?? []) add(p[0], p[2])
  }
  return { x, lines, band, limit }
}

export function formatValue (v: number | null | undefined, unit: string, short = false): string {
  if (v === null || v === undefined) return '–'
  if (unit === 'bytes') {
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
    let n = v; let i = 0
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++ }
    return `${n.toFixed(i === 0 || (short && Number.isInteger(n)) ? 0 : 1)} ${u[i]}`
  }
  if (unit === 'ms') return `${v.toFixed(v < 10 ? 2 : 1)} ms`
  if (unit === 'ratio') return v.toFixed(3)
  return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2)
}
