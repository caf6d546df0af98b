// `sluice alerts [list|add|rm|history]` — a thin client of /v1/alerts (SLUICE_URL, like grep and tail), and the
// one helper `sluice up` / `sluice serve` use to switch the evaluator on.
import fs from 'node:fs'
import { parseArgs } from 'node:util'
import { baseUrl, jsonHeaders } from './http-client.js'
import { Registry } from 'prom-client'
import { loadAlertsConfig } from '../alerts/config.js'
import { alertMetrics } from '../alerts/metrics.js'
import { alertsFeature } from '../alerts/routes.js'
import type { QueryApiOptions } from '../query-api/server.js'
import { findGaps } from '../query-api/gaps-route.js'
import type { GapFinder } from '../alerts/gap-rules.js'

/** gap rules read the same pass as GET /v1/gaps (all time, no silence check) */
const gapFinder: GapFinder = async ({ clickhouse, database }, f, now) => await findGaps(async <T>(sql: string, params: Record<string, unknown>) => {
  const rs = await clickhouse.query({ query: sql, query_params: params, format: 'JSONEachRow' })
  return await rs.json<T>()
}, database, { ...f, source: null, since: null, until: null, silentAfterMs: Number.MAX_SAFE_INTEGER }, now)

/** Query-API options enabling alerting from the environment (validated now), and its metrics registry. */
export function alertsFromEnv (env: NodeJS.ProcessEnv = process.env): { registry: Registry, api: Partial<QueryApiOptions> } {
  const registry = new Registry()
  const cfg = loadAlertsConfig(env)
  // before the query API merges registries for /metrics
  if (cfg !== null) alertMetrics(registry)
  return { registry, api: cfg === null ? {} : { plugins: [alertsFeature({ ...cfg, registry, findGaps: gapFinder })] } }
}


interface RuleView { id: string, name: string, kind: string, enabled: boolean, origin: string, metric?: string, divide_by?: string, window?: string, op?: string, threshold?: number, for?: string, severity?: string }
interface AlertView { rule_id: string, state: string, severity: string, service: string, host: string, pid: number, value: number, threshold: number, since: string }
interface HistoryView { ts: string, rule_id: string, severity: string, service: string, host: string, pid: number, from_state: string, to_state: string, value: number, threshold: number, reason: string | null }
interface Warning { field: string, message: string }

const num = (v: number): number => Number(v.toPrecision(4))

function describeRule (r: RuleView): string {
  const series = `${r.metric ?? ''}${r.divide_by !== undefined ? '/' + r.divide_by : ''}`
  const what = r.kind === 'no_data' ? `no data from ${r.metric ?? 'heap_used'} for ${r.for ?? '?'}`
    : r.kind === 'log_rate' ? `log lines/min ${r.op ?? ''} ${r.threshold ?? ''}`
      : r.kind === 'gap' ? 'a byte range lost (sluice gaps)'
      : `${r.kind === 'increase' ? `increase(${series}, ${r.window ?? '?'})` : series} ${r.op ?? ''} ${r.threshold ?? ''}${r.for !== undefined ? ' for ' + r.for : ''}`
  return `${r.id.padEnd(20)} ${(r.enabled ? 'on' : 'off').padEnd(4)} ${r.origin.padEnd(8)} ${(r.severity ?? 'warning').padEnd(9)} ${what}  (${r.name})`
}

/** An API refusal: its message is printed as the server wrote it. */
class ApiError extends Error {}

async function call<T> (method: string, p: string, body?: unknown): Promise<T> {
  const headers = jsonHeaders()
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try { res = await fetch(`${baseUrl()}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }) } catch (err) {
    throw new Error(`cannot reach ${baseUrl()} (${(err as Error).message}); is 'sluice up' running? set SLUICE_URL`)
  }
  const text = await res.text()
  if (!res.ok) { let msg = text; try { msg = (JSON.parse(text) as { message: string }).message } catch {} ; throw new ApiError(msg) }
  return (text === '' ? {} : JSON.parse(text)) as T
}

const env = 'Environment: SLUICE_URL (default http://127.0.0.1:$SLUICE_PORT), SLUICE_TOKEN (bearer token)'

const usage = {
  list: `Usage: sluice alerts [list|rules|states] [--all] [--json]
       sluice alerts add|rm|history ... (each has --help)

  list     rules, then current alerts (default)
  rules    alert rules (API, rules file, built-in); "no data yet" marks a rule no sample has reached
  states   current alerts: pending and firing (--all adds resolved)
  add      create a rule from flags or a JSON file
  rm       delete a rule
  history  recorded transitions
${env}`,
  add: `Usage: sluice alerts add FILE.json|- [--strict]
       sluice alerts add --id ID --kind KIND [--metric M] [--op OP --threshold N] [options] [--strict]

  --id ID                 rule id (a-z 0-9 _ . -); also the name unless --name
  --name TEXT             what the alert is about
  --kind KIND             threshold | increase | log_rate | no_data | gap (a lost byte range)
  --metric M              stats metric (threshold, increase, no_data)
  --divide-by M           threshold: value = metric / M
  --window D              increase: value = last sample − the sample D before (e.g. 5m)
  --op OP --threshold N   > >= < <=  and the value compared
  --for D                 how long the condition must hold before firing
  --resolve-threshold N   the value past which a firing alert clears
  --stale-after D         threshold, increase: a group silent this long resolves (default 5m)
  --level L --q TEXT      log_rate: minimum level, substring of msg
  --service S --host H    only these (repeatable)
  --severity S            info | warning | critical
  --webhook URL           receiver of firing/resolved transitions
  --strict                refuse a rule on a metric no process has reported
Prints the created rule; warnings (e.g. an unknown metric) go to stderr.
${env}`,
  rm: `Usage: sluice alerts rm ID
${env}`,
  history: `Usage: sluice alerts history [--since 1h] [--rule ID] [--limit N] [--json]

  --since T    transitions at or after T: a duration ago (30m, 1h, 7d), an ISO time or epoch ms
  --rule ID    of this rule only
  --limit N    at most N (default 100, newest first)
${env}`
} as const

function historyLine (h: HistoryView): string {
  return `${h.ts} ${h.to_state.toUpperCase().padEnd(9)} ${h.severity.padEnd(9)} ${h.rule_id.padEnd(20)} ${h.host} ${h.service} pid ${h.pid} value ${num(h.value)} threshold ${h.threshold}${h.reason !== null ? ` (${h.reason})` : ''}`
}

async function addCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      id: { type: 'string' }, name: { type: 'string' }, kind: { type: 'string' }, metric: { type: 'string' }, 'divide-by': { type: 'string' }, window: { type: 'string' },
      op: { type: 'string' }, threshold: { type: 'string' }, for: { type: 'string' }, 'resolve-threshold': { type: 'string' }, 'stale-after': { type: 'string' },
      level: { type: 'string' }, q: { type: 'string' }, service: { type: 'string', multiple: true }, host: { type: 'string', multiple: true },
      severity: { type: 'string' }, webhook: { type: 'string' }, strict: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }
    }
  })
  const flags = Object.keys(values).filter(k => k !== 'strict' && k !== 'help')
  if (values.help === true || positionals.length > 1 || (positionals.length === 1 && flags.length > 0) || (positionals.length === 0 && flags.length === 0)) {
    console.log(usage.add)
    return values.help === true ? 0 : 2
  }
  let body: unknown
  if (positionals.length === 1) {
    const file = positionals[0]
    let text: string
    try { text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8') } catch (err) { throw new Error(`cannot read ${file}: ${(err as Error).message}`) }
    try { body = JSON.parse(text) } catch (err) { throw new Error(`${file === '-' ? 'stdin' : file} is not JSON: ${(err as Error).message}`) }
  } else {
    // numbers that do not parse are sent as given: the API names the field and what it got
    const n = (v: string | undefined): number | string | undefined => v === undefined ? undefined : v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v
    const b: Record<string, unknown> = {
      id: values.id, name: values.name ?? values.id, kind: values.kind, metric: values.metric, divide_by: values['divide-by'], window: values.window,
      op: values.op, threshold: n(values.threshold), for: values.for, resolve_threshold: n(values['resolve-threshold']), stale_after: values['stale-after'],
      level: values.level, q: values.q, service: values.service, host: values.host, severity: values.severity, webhook: values.webhook
    }
    for (const k of Object.keys(b)) if (b[k] === undefined) delete b[k]
    body = b
  }
  const res = await call<{ rule: RuleView, warnings?: Warning[] }>('POST', `/v1/alerts/rules${values.strict === true ? '?strict=true' : ''}`, body)
  console.log(`created ${describeRule(res.rule)}`)
  for (const w of res.warnings ?? []) process.stderr.write(`sluice alerts add: warning: ${w.message}\n`)
  return 0
}

async function rmCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { help: { type: 'boolean', short: 'h' } } })
  if (values.help === true || positionals.length !== 1) { console.log(usage.rm); return values.help === true ? 0 : 2 }
  await call('DELETE', `/v1/alerts/rules/${encodeURIComponent(positionals[0])}`)
  console.log(`removed ${positionals[0]}`)
  return 0
}

async function historyCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { since: { type: 'string' }, rule: { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help === true || positionals.length > 0) { console.log(usage.history); return values.help === true ? 0 : 2 }
  const qs = new URLSearchParams()
  if (values.since !== undefined) qs.set('since', values.since)
  if (values.rule !== undefined) qs.set('rule', values.rule)
  if (values.limit !== undefined) qs.set('limit', values.limit)
  const q = qs.toString()
  const { transitions } = await call<{ transitions: HistoryView[] }>('GET', `/v1/alerts/history${q === '' ? '' : `?${q}`}`)
  if (values.json === true) { console.log(JSON.stringify({ transitions })); return 0 }
  console.log(`TRANSITIONS (${transitions.length}, newest first)`)
  for (const h of transitions) console.log(historyLine(h))
  return 0
}

async function listCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean' }, all: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true })
  const what = positionals[0] ?? 'list'
  if (values.help === true || !['list', 'rules', 'states'].includes(what) || positionals.length > 1) {
    console.log(usage.list)
    return values.help === true ? 0 : 2
  }
  const listed = what === 'states' ? null : await call<{ rules: RuleView[], waiting_for_data?: string[] }>('GET', '/v1/alerts/rules')
  const alerts = what === 'rules' ? null : (await call<{ alerts: AlertView[] }>('GET', `/v1/alerts${values.all === true ? '?all=true' : ''}`)).alerts
  if (values.json === true) { console.log(JSON.stringify({ ...(listed !== null ? listed : {}), ...(alerts !== null ? { alerts } : {}) })); return 0 }
  if (listed !== null) {
    const waiting = new Set(listed.waiting_for_data ?? [])
    console.log(`RULES (${listed.rules.length})`)
    for (const r of listed.rules) console.log(describeRule(r) + (waiting.has(r.id) ? '  no data yet' : ''))
  }
  if (alerts !== null) {
    console.log(`ALERTS (${alerts.length})`)
    for (const a of alerts) console.log(`${a.state.toUpperCase().padEnd(9)} ${a.severity.padEnd(9)} ${a.rule_id.padEnd(20)} ${a.host} ${a.service} pid ${a.pid} value ${num(a.value)} threshold ${a.threshold} since ${a.since}`)
  }
  return 0
}

export async function alertsCommand (argv: string[]): Promise<number> {
  const sub = argv[0]
  const run = sub === 'add' ? addCommand : sub === 'rm' ? rmCommand : sub === 'history' ? historyCommand : listCommand
  const name = sub === 'add' || sub === 'rm' || sub === 'history' ? `sluice alerts ${sub}` : 'sluice alerts'
  try {
    return await run(run === listCommand ? argv : argv.slice(1))
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n`)
    return 2
  }
}
