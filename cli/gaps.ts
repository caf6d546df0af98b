// `sluice gaps` — a thin client of GET /v1/gaps (SLUICE_URL, like grep): one row per missing
// byte range of a source, with its class, and each host's last progress report.
// Exit 0 when nothing is lost, 1 when some range is lost, 2 on error.
import { parseArgs } from 'node:util'
import { fail } from '../platform/log.js'
import { baseUrl, jsonHeaders } from './http-client.js'

const help = `Usage: sluice gaps [--host H] [--service S] [--source FP] [--since T] [--until T] [--silent-after D] [--json]

Missing byte ranges of every source (a tailed file), classified:
  lost           below what the shipper had acknowledged, or between stored lines, yet absent
  in_flight      not in ClickHouse yet, beyond what the shipper had acknowledged (lag)
  dropped        never sent, by policy (reason: partial_last_line, compressed, deleted)
  dead_lettered  rejected by the collector: see the dead_letters table
  --host H, --service S   repeatable
  --source FP             one source (the \`source\` of its lines)
  --since T, --until T    relative (15m, 2h, 7d) or ISO-8601: holes between lines in that time
                          (default: every stored line; with --until, the tails are not looked at)
  --silent-after D        a host without a progress report for longer than D (default 30s) is
                          silent: its files get an open-ended in_flight range (host_silent)
  --json                  the API's JSON body
Environment: SLUICE_URL (default http://127.0.0.1:$SLUICE_PORT), SLUICE_TOKEN (bearer token)
Exit status: 0 if nothing is lost, 1 if some range is lost, 2 on error.`

interface Range { from: number, to: number | null, bytes: number | null, class: string, reason?: string, before: string | null, after: string | null }
interface Body {
  complete: boolean
  lost: boolean
  bytes: Record<string, number>
  sources: Array<{ source: string, host: string, service: string, path: string, state: string | null, acked: number | null, size: number | null, ranges: Range[] }>
  hosts: Array<{ host: string, last_progress: string, age_seconds: number, silent?: boolean }>
}


const pad = (rows: string[][]): string[] => {
  const w = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)))
  return rows.map(r => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(w[i])).join('  ').trimEnd())
}

/** the human-readable report of a /v1/gaps body */
export function formatGaps (b: Body): string {
  const out: string[] = []
  if (b.sources.length === 0) out.push('complete: no byte range missing')
  else {
    const rows = [['HOST', 'SERVICE', 'PATH', 'SOURCE', 'FROM', 'TO', 'BYTES', 'CLASS', 'BETWEEN']]
    for (const s of b.sources) {
      for (const r of s.ranges) {
        rows.push([s.host, s.service, s.path, s.source.slice(0, 12), String(r.from), r.to === null ? '?' : String(r.to), r.bytes === null ? '?' : String(r.bytes), r.reason === undefined ? r.class : `${r.class} (${r.reason})`, `${r.before ?? '-'} .. ${r.after ?? '-'}`])
      }
    }
    out.push(...pad(rows))
    const parts = Object.entries(b.bytes).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`)
    out.push(`missing bytes: ${parts.length > 0 ? parts.join(', ') : 'unknown'}`)
  }
  if (b.hosts.length > 0) {
    out.push('')
    out.push(...pad([['HOST', 'LAST PROGRESS', 'AGE', 'STATUS'], ...b.hosts.map(h => [h.host, h.last_progress, `${h.age_seconds}s`, h.silent === true ? 'silent' : 'reporting'])]))
  }
  return out.join('\n')
}

export async function gapsCommand (argv: string[]): Promise<number> {
  let values
  try {
    values = parseArgs({ args: argv, options: { host: { type: 'string', multiple: true }, service: { type: 'string', multiple: true }, source: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, 'silent-after': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: false }).values
  } catch (err) { fail(`${(err as Error).message}\n\n${help}`); return 2 }
  if (values.help === true) { console.log(help); return 0 }
  const q = new URLSearchParams()
  for (const h of values.host ?? []) q.append('host', h)
  for (const s of values.service ?? []) q.append('service', s)
  for (const k of ['source', 'since', 'until'] as const) if (values[k] !== undefined) q.set(k, values[k] as string)
  if (values['silent-after'] !== undefined) q.set('silent_after', values['silent-after'])
  const headers = jsonHeaders()
  let body: Body
  try {
    const res = await fetch(`${baseUrl()}/v1/gaps${q.size > 0 ? `?${q.toString()}` : ''}`, { headers })
    const text = await res.text()
    if (!res.ok) { let msg = `HTTP ${res.status}: ${text.slice(0, 200)}`; try { msg = (JSON.parse(text) as { message: string }).message } catch {} ; fail(`gaps: ${msg}`); return 2 }
    body = JSON.parse(text) as Body
  } catch (err) {
    const e = err as Error
    fail(`gaps: cannot reach ${baseUrl()} (${e.cause instanceof Error ? e.cause.message : e.message}); is 'sluice up' running? set SLUICE_URL`)
    return 2
  }
  console.log(values.json === true ? JSON.stringify(body, null, 2) : formatGaps(body))
  return body.lost ? 1 : 0
}
