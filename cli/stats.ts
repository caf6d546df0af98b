// `sluice stats [METRIC]`: without METRIC the metric names per service (GET /v1/stats/metrics);
// with it one row per process: last, min and max in human units and a sparkline (GET /v1/stats).
import { parseArgs } from 'node:util'
import { apiError, baseUrl, headers } from './client.js'
import { formatMetric, metricUnit, type MetricUnit } from '../schemas/metric-units.js'

export const statsHelp = `Usage: sluice stats [METRIC] [--host H] [--service S] [--pid N] [--since T] [--until T] [--step D] [--agg A] [--json]

Without METRIC: the metrics each service reports, with units and how many processes report them.
With METRIC: one row per process (host service pid) with the last, min and max value in human
units (MB, ms, %) and a sparkline of the range.
  --host H, --service S   repeatable
  --pid N                 one process
  --since T, --until T    15m, 1h30m, 15:48 (UTC), yesterday, ISO-8601 (default 6h ago … now)
  --step D                bucket width, e.g. 1m (default), 5m
  --agg A                 avg (default), min, max, sum, last, p50, p95, p99
  --json                  the API's JSON
Environment: SLUICE_URL (default http://127.0.0.1:$SLUICE_PORT), SLUICE_TOKEN (bearer token)`

const sparks = '▁▂▃▄▅▆▇█'

export function sparkline (values: number[]): string {
  if (values.length === 0) return ''
  const lo = Math.min(...values)
  const hi = Math.max(...values)
  return values.map(v => sparks[hi === lo ? 3 : Math.round((v - lo) / (hi - lo) * (sparks.length - 1))]).join('')
}

interface Series { host: string, service: string, pid: number, points: Array<[string, number]> }

export function renderStats (body: { metric: string, unit?: string, series: Series[], hint?: string }, width = 60): string {
  const unit = (body.unit ?? metricUnit(body.metric)) as MetricUnit
  const rows = body.series.map(s => {
    const vs = s.points.map(p => p[1])
    // the sparkline shows at most `width` points: the last ones
    return [`${s.host}`, s.service, String(s.pid), formatMetric(vs[vs.length - 1], unit), formatMetric(Math.min(...vs), unit), formatMetric(Math.max(...vs), unit), sparkline(vs.slice(-width))]
  })
  const head = ['HOST', 'SERVICE', 'PID', 'LAST', 'MIN', 'MAX', '']
  const w = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)))
  const fmt = (r: string[]): string => r.map((c, i) => i === r.length - 1 ? c : i >= 3 && i <= 5 ? c.padStart(w[i]) : c.padEnd(w[i])).join('  ').trimEnd()
  return [`${body.metric} (${unit})`, fmt(head), ...rows.map(fmt)].join('\n') + '\n'
}

export async function statsCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { host: { type: 'string', multiple: true }, service: { type: 'string', multiple: true }, pid: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, step: { type: 'string' }, agg: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true
  })
  if (values.help === true) { console.log(statsHelp); return 0 }
  if (positionals.length > 1) { process.stderr.write(`sluice stats: expected at most one METRIC, got ${positionals.length}\n`); return 2 }
  const p = new URLSearchParams()
  for (const h of values.host ?? []) p.append('host', h)
  for (const s of values.service ?? []) p.append('service', s)
  for (const k of ['since', 'until'] as const) if (values[k] !== undefined) p.set(k, values[k])
  const metric = positionals[0]
  if (metric !== undefined) {
    p.set('metric', metric)
    for (const k of ['pid', 'step', 'agg'] as const) if (values[k] !== undefined) p.set(k, values[k])
  } else if (values.pid !== undefined || values.step !== undefined || values.agg !== undefined) {
    process.stderr.write('sluice stats: --pid, --step and --agg need a METRIC\n'); return 2
  }
  let res: Response
  try { res = await fetch(`${baseUrl()}/v1/stats${metric === undefined ? '/metrics' : ''}?${p.toString()}`, { headers: headers() }) } catch (err) {
    process.stderr.write(`sluice stats: cannot reach ${baseUrl()} (${(err as Error).message}); is 'sluice up' running? set SLUICE_URL\n`)
    return 2
  }
  if (!res.ok) { process.stderr.write(`sluice stats: ${await apiError(res)}\n`); return 2 }
  const body = await res.json() as { services?: Array<{ service: string, metrics: Array<{ name: string, unit: string, processes: number, last: string }> }>, metric?: string, series?: Series[], hint?: string, unit?: string }
  if (values.json === true) { process.stdout.write(JSON.stringify(body) + '\n'); return 0 }
  if (body.services !== undefined) {
    if (body.services.length === 0) { process.stderr.write('sluice stats: no process reported stats in this range\n'); return 1 }
    const out = body.services.flatMap(s => [s.service, ...s.metrics.map(m => `  ${m.name.padEnd(24)} ${m.unit.padEnd(6)} ${m.processes} process${m.processes === 1 ? '' : 'es'}, last ${m.last}`)])
    process.stdout.write(out.join('\n') + '\n')
    return 0
  }
  if ((body.series ?? []).length === 0) { process.stderr.write(`sluice stats: ${body.hint ?? 'no data'}\n`); return 1 }
  process.stdout.write(renderStats({ metric: body.metric ?? metric ?? '', unit: body.unit, series: body.series ?? [] }))
  return 0
}
