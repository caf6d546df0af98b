// `sluice alerts` — a thin client of /v1/alerts (SLUICE_URL, like grep and tail), and the
// one helper `sluice up` / `sluice serve` use to switch the evaluator on.
import { parseArgs } from 'node:util'
import { Registry } from 'prom-client'
import { loadAlertsConfig } from '../query-api/alerts/config.js'
import { alertMetrics } from '../query-api/alerts/metrics.js'
import type { QueryApiOptions } from '../query-api/server.js'

/** Query-API options enabling alerting from the environment (validated now), and its metrics registry. */
export function alertsFromEnv (env: NodeJS.ProcessEnv = process.env): { registry: Registry, api: Partial<QueryApiOptions> } {
  const registry = new Registry()
  const cfg = loadAlertsConfig(env)
  // before the query API merges registries for /metrics
  if (cfg !== null) alertMetrics(registry)
  return { registry, api: cfg === null ? {} : { alerts: { ...cfg, registry } } }
}

function baseUrl (): string {
  return (process.env.SLUICE_URL ?? `http://127.0.0.1:${process.env.SLUICE_PORT ?? '7070'}`).replace(/\/$/, '')
}

interface RuleView { id: string, name: string, kind: string, enabled: boolean, origin: string, metric?: string, divide_by?: string, op?: string, threshold?: number, for?: string, severity?: string }
interface AlertView { rule_id: string, state: string, severity: string, service: string, host: string, pid: number, value: number, threshold: number, since: string }

function describeRule (r: RuleView): string {
  const what = r.kind === 'no_data' ? `no data from ${r.metric ?? 'heap_used'} for ${r.for ?? '?'}`
    : r.kind === 'log_rate' ? `log lines/min ${r.op ?? ''} ${r.threshold ?? ''}`
      : `${r.metric ?? ''}${r.divide_by !== undefined ? '/' + r.divide_by : ''} ${r.op ?? ''} ${r.threshold ?? ''}${r.for !== undefined ? ' for ' + r.for : ''}`
  return `${r.id.padEnd(20)} ${(r.enabled ? 'on' : 'off').padEnd(4)} ${r.origin.padEnd(8)} ${(r.severity ?? 'warning').padEnd(9)} ${what}  (${r.name})`
}

export async function alertsCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, all: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true })
  const what = positionals[0] ?? 'list'
  if (values.help === true || !['list', 'rules', 'states'].includes(what) || positionals.length > 1) {
    console.log(`Usage: sluice alerts [list|rules|states] [--all] [--json]

  list     rules, then current alerts (default)
  rules    alert rules (API, rules file, built-in)
  states   current alerts: pending and firing (--all adds resolved)
Environment: SLUICE_URL (default http://127.0.0.1:$SLUICE_PORT), SLUICE_TOKEN (bearer token)`)
    return values.help === true ? 0 : 2
  }
  const headers: Record<string, string> = { accept: 'application/json' }
  if (process.env.SLUICE_TOKEN !== undefined) headers.authorization = `Bearer ${process.env.SLUICE_TOKEN}`
  const get = async <T>(p: string): Promise<T> => {
    let res: Response
    try { res = await fetch(`${baseUrl()}${p}`, { headers }) } catch (err) {
      throw new Error(`cannot reach ${baseUrl()} (${(err as Error).message}); is 'sluice up' running? set SLUICE_URL`)
    }
    const text = await res.text()
    if (!res.ok) { let msg = text; try { msg = (JSON.parse(text) as { message: string }).message } catch {} ; throw new Error(msg) }
    return JSON.parse(text) as T
  }
  try {
    const rules = what === 'states' ? null : (await get<{ rules: RuleView[] }>('/v1/alerts/rules')).rules
    const alerts = what === 'rules' ? null : (await get<{ alerts: AlertView[] }>(`/v1/alerts${values.all === true ? '?all=true' : ''}`)).alerts
    if (values.json === true) { console.log(JSON.stringify({ ...(rules !== null ? { rules } : {}), ...(alerts !== null ? { alerts } : {}) })); return 0 }
    if (rules !== null) {
      console.log(`RULES (${rules.length})`)
      for (const r of rules) console.log(describeRule(r))
    }
    if (alerts !== null) {
      console.log(`ALERTS (${alerts.length})`)
      for (const a of alerts) console.log(`${a.state.toUpperCase().padEnd(9)} ${a.severity.padEnd(9)} ${a.rule_id.padEnd(20)} ${a.host} ${a.service} pid ${a.pid} value ${Number(a.value.toPrecision(4))} threshold ${a.threshold} since ${a.since}`)
    }
    return 0
  } catch (err) {
    process.stderr.write(`sluice alerts: ${(err as Error).message}\n`)
    return 2
  }
}
