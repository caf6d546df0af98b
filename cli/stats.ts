// `sluice stats` — a thin client of /v1/stats and /v1/stats/metrics (SLUICE_URL, like grep):
// one row per process with the latest value, min and max in human units and a sparkline of
// the series; without a metric, the metrics each service reports. Exit 0 data, 1 none, 2 error.
import { parseArgs } from 'node:util'
import { parseTime } from '../query-api/time.js'
import { baseUrl, jsonHeaders } from './http-client.js'

const help = `Usage: sluice stats [METRIC] [--host H] [--service S] [--pid P] [--since T] [--until T]
                    [--step S] [--divide-by M] [--agg A] [--json]

Without METRIC: the metrics each service reported (unit, processes, last sample; default since 24h).
With METRIC: one row per process (host service pid): the latest value, min and max of the
plotted points in human units (MB = 2^20 bytes, %, ms) and a sparkline of the series
(a blank is a step with no sample: the process was not reporting).
  --host H, --service S   repeatable
  --pid P                 one process
  --since T, --until T    relative (15m, 2h, 7d) or ISO-8601 (default: the last hour)
  --step S                bucket width, e.g. 60s, 5m (default: 1m, or wider to keep 60 buckets)
  --divide-by M           value = METRIC / M of the same sample, e.g. heap_used --divide-by heap_limit
  --agg A                 per step: avg (default) min max sum last p50 p95 p99, increase (last value
                          minus the previous step's last value) or rate (that increase per second)
  --json                  the API's JSON body
Environment: SLUICE_URL (default http://127.0.0.1:$SLUICE_PORT), SLUICE_TOKEN (bearer token)
Exit status: 0 if a series (or a metric) was found, 1 if none, 2 on error.`

interface Series { host: string, service: string, pid: number, points: Array<[string, number]> }
interface StatsBody { metric: string, divide_by?: string, unit: string, step: number, agg: string, since: string, until: string, series: Series[], hint?: string }
interface MetricsBody { since: string, until: string, services: Array<{ service: string, metrics: Array<{ metric: string, unit: string, description?: string, processes: number, last_seen: string }> }> }

async function getJson<T> (path: string): Promise<T> {
  const headers = jsonHeaders()
  let res: Response
  try { res = await fetch(`${baseUrl()}${path}`, { headers }) } catch (err) {
    const why = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message
    throw new Error(`cannot reach ${baseUrl()} (${why}); is 'sluice up' running? set SLUICE_URL`)
  }
  const text = await res.text()
  if (!res.ok) { let msg = `HTTP ${res.status}: ${text.slice(0, 200)}`; try { msg = (JSON.parse(text) as { message: string }).message } catch {} ; throw new Error(msg) }
  return JSON.parse(text) as T
}

/** a number with `digits` significant digits at most, without trailing zeros */
function num (v: number, digits = 3): string {
  if (v === 0) return '0'
  const a = Math.abs(v)
  const decimals = a >= 10 ** digits ? 0 : Math.max(0, digits - 1 - Math.floor(Math.log10(a)))
  return String(Number(v.toFixed(Math.min(decimals, 6))))
}

const byteUnits = ['B', 'KB', 'MB', 'GB', 'TB']

/** A value in its unit for people: bytes in KB/MB/GB (powers of 1024), ratio in %, ms or s. */
export function humanValue (v: number, unit: string): string {
  const perSecond = unit.endsWith('/s')
  const base = perSecond ? unit.slice(0, -2) : unit
  const suffix = perSecond ? '/s' : ''
  if (!Number.isFinite(v)) return String(v)
  switch (base) {
    case 'bytes': {
      let i = 0; let a = Math.abs(v)
      while (a >= 1024 && i < byteUnits.length - 1) { a /= 1024; i++ }
      return `${v < 0 ? '-' : ''}${i === 0 ? String(Math.round(a)) : a.toFixed(1)} ${byteUnits[i]}${suffix}`
    }
    case 'ratio': return `${(v * 100).toFixed(1)}%${suffix}`
    case 'ms': return Math.abs(v) >= 1000 ? `${num(v / 1000)} s${suffix}` : `${num(v)} ms${suffix}`
    case 'count': return `${Number.isInteger(v) ? String(v) : num(v)}${suffix}`
    default: return num(v, 4)
  }
}

const bars = '▁▂▃▄▅▆▇█'

/** One character per step from `start` to `end`: the value's height between min and max, a
 *  blank where the series has no point. */
export function sparkline (points: Array<[string, number]>, start: number, end: number, stepMs: number): string {
  const vals = points.map(p => p[1])
  const lo = Math.min(...vals); const hi = Math.max(...vals)
  const at = new Map(points.map(([t, v]) => [Date.parse(t), v]))
  let out = ''
  for (let t = start; t <= end; t += stepMs) {
    const v = at.get(t)
    out += v === undefined ? ' ' : hi === lo ? bars[3] : bars[Math.round((v - lo) / (hi - lo) * (bars.length - 1))]
  }
  return out
}

/** Columns padded to their widest cell; the last one is not padded (a sparkline keeps its trailing blanks). */
function table (rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)))
  return rows.map(r => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join('  ')).join('\n')
}

/** A step that keeps the sparkline at about 60 characters: whole minutes, at least 1m. */
function defaultStep (since: string, until: string | undefined): string | undefined {
  const now = Date.now()
  const a = parseTime(since, now); const b = until === undefined ? now : parseTime(until, now)
  if (a === null || b === null || b <= a) return undefined
  return `${Math.max(1, Math.ceil((b - a) / 60 / 60_000))}m`
}

export async function statsCommand (argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { host: { type: 'string', multiple: true }, service: { type: 'string', multiple: true }, pid: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, step: { type: 'string' }, 'divide-by': { type: 'string' }, agg: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true
    })
  } catch (err) { process.stderr.write(`sluice stats: ${(err as Error).message}; see sluice stats --help\n`); return 2 }
  const { values, positionals } = parsed
  if (values.help === true || positionals.length > 1) { console.log(help); return values.help === true ? 0 : 2 }
  const p = new URLSearchParams()
  for (const h of values.host ?? []) p.append('host', h)
  for (const s of values.service ?? []) p.append('service', s)
  if (values.until !== undefined) p.set('until', values.until)
  try {
    if (positionals.length === 0) {
      for (const [flag, v] of [['--pid', values.pid], ['--step', values.step], ['--divide-by', values['divide-by']], ['--agg', values.agg]] as const) {
        if (v !== undefined) { process.stderr.write(`sluice stats: ${flag} needs a METRIC (sluice stats METRIC ${flag} …)\n`); return 2 }
      }
      if (values.since !== undefined) p.set('since', values.since)
      const body = await getJson<MetricsBody>(`/v1/stats/metrics?${p.toString()}`)
      if (values.json === true) { console.log(JSON.stringify(body)); return body.services.length > 0 ? 0 : 1 }
      if (body.services.length === 0) { process.stderr.write(`sluice stats: no metrics reported between ${body.since} and ${body.until}\n`); return 1 }
      const rows = [['SERVICE', 'METRIC', 'UNIT', 'PROCESSES', 'LAST SEEN', 'DESCRIPTION']]
      for (const s of body.services) for (const m of s.metrics) rows.push([s.service, m.metric, m.unit, String(m.processes), m.last_seen, m.description ?? '-'])
      console.log(table(rows))
      return 0
    }
    const since = values.since ?? '1h'
    p.set('metric', positionals[0])
    p.set('since', since)
    if (values.pid !== undefined) p.set('pid', values.pid)
    const step = values.step ?? defaultStep(since, values.until)
    if (step !== undefined) p.set('step', step)
    if (values['divide-by'] !== undefined) p.set('divide_by', values['divide-by'])
    if (values.agg !== undefined) p.set('agg', values.agg)
    const body = await getJson<StatsBody>(`/v1/stats?${p.toString()}`)
    if (values.json === true) { console.log(JSON.stringify(body)); return body.series.length > 0 ? 0 : 1 }
    const what = `${body.metric}${body.divide_by !== undefined ? ' / ' + body.divide_by : ''}`
    if (body.series.length === 0) { process.stderr.write(`sluice stats: no series for ${what}: ${(body.hint ?? 'no data').replace('GET /v1/stats/metrics lists', "'sluice stats' lists")}\n`); return 1 }
    const stepMs = body.step * 1000
    const start = Math.floor(Date.parse(body.since) / stepMs) * stepMs
    const end = Math.floor(Date.parse(body.until) / stepMs) * stepMs
    console.log(`${what} (${body.unit}), ${body.agg} per ${body.step % 60 === 0 ? `${body.step / 60}m` : `${body.step}s`}, ${body.since} to ${body.until}`)
    const rows = [['HOST', 'SERVICE', 'PID', 'LAST', 'MIN', 'MAX', 'SERIES']]
    for (const s of body.series) {
      const vals = s.points.map(pt => pt[1])
      rows.push([s.host, s.service, String(s.pid), humanValue(vals[vals.length - 1], body.unit), humanValue(Math.min(...vals), body.unit), humanValue(Math.max(...vals), body.unit), sparkline(s.points, start, end, stepMs)])
    }
    console.log(table(rows))
    return 0
  } catch (err) {
    process.stderr.write(`sluice stats: ${(err as Error).message}\n`)
    return 2
  }
}
