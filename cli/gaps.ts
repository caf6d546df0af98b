// `sluice gaps` — a thin client of GET /v1/gaps (SLUICE_URL, like grep): one row per missing
// byte range of a source, with its class, and each host's last progress report.
// Exit 0 when no range of a --fail-on class (default: lost) exists, 1 when one does, 2 on error.
// Why lost alone by default, and dropped printed first: docs/design/2026-12-05-gap-classes.md.
import { parseArgs } from 'node:util'
import { fail } from '../platform/log.js'
import { baseUrl, jsonHeaders } from './http-client.js'

const help = `Usage: sluice gaps [--host H] [--service S] [--source FP] [--since T] [--until T] [--silent-after D] [--fail-on CLASSES] [--json]

Missing byte ranges of every source (a tailed file), classified:
  lost           below what the shipper had acknowledged, or between stored lines, yet absent
  dropped        never sent, by policy or because the file went first (reason: deleted,
                 compressed, partial_last_line): those lines are not in Sluice and never will be
  dead_lettered  rejected by the collector: see the dead_letters table
  in_flight      not in ClickHouse yet, beyond what the shipper had acknowledged (lag)
Each class present gets a summary line first (lost and dropped in capitals).
  --host H, --service S   repeatable
  --source FP             one source (the \`source\` of its lines)
  --since T, --until T    relative (15m, 2h, 7d) or ISO-8601: holes between lines in that time
                          (default: every stored line; with --until, the tails are not looked at)
  --silent-after D        a host without a progress report for longer than D (default 30s) is
                          silent: its files get an open-ended in_flight range (host_silent)
  --fail-on CLASSES       comma list of lost, dropped, dead-lettered, in-flight, or all: the
                          classes that make the exit status 1 (default: lost)
  --json                  the API's JSON body
Environment: SLUICE_URL (default http://127.0.0.1:$SLUICE_PORT), SLUICE_TOKEN (bearer token)
Exit status: 0 if no range of a --fail-on class is missing, 1 if one is, 2 on error.`

export type GapClass = 'lost' | 'dropped' | 'dead_lettered' | 'in_flight'
/** in the order a reader should see them: what is gone for good first */
const classes: GapClass[] = ['lost', 'dropped', 'dead_lettered', 'in_flight']

/** --fail-on's value: the classes, or an error message naming the bad one */
export function parseFailOn (value: string): GapClass[] | string {
  const out = new Set<GapClass>()
  for (const raw of value.split(',').map(v => v.trim().toLowerCase()).filter(v => v !== '')) {
    if (raw === 'all') { for (const c of classes) out.add(c); continue }
    const c = raw.replace(/-/g, '_') as GapClass
    if (!classes.includes(c)) return `--fail-on: unknown class ${JSON.stringify(raw)}; expected a comma list of lost, dropped, dead-lettered, in-flight, or all`
    out.add(c)
  }
  if (out.size === 0) return '--fail-on: expected a comma list of lost, dropped, dead-lettered, in-flight, or all; got nothing'
  return classes.filter(c => out.has(c))
}

export interface Range { from: number, to: number | null, bytes: number | null, class: string, reason?: string, before: string | null, after: string | null }
export interface Body {
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

const meaning: Record<GapClass, string> = {
  lost: 'sent, yet absent from ClickHouse (below what the shipper had acknowledged, or between stored lines)',
  dropped: 'never sent by the shipper: not in Sluice and never will be',
  dead_lettered: 'rejected by the collector: in the dead_letters table',
  in_flight: 'not stored yet: still travelling or not read yet'
}

/** one line per class present: how many ranges, how many bytes (or that some size is unknown),
 *  the reasons, what it means; lost and dropped in capitals, since those lines are gone */
export function gapSummary (b: Body): string[] {
  const out: string[] = []
  for (const c of classes) {
    const rs = b.sources.flatMap(s => s.ranges.filter(r => r.class === c))
    if (rs.length === 0) continue
    const known = rs.reduce((a, r) => a + (r.bytes ?? 0), 0)
    const unknown = rs.some(r => r.bytes === null)
    const size = unknown ? (known > 0 ? `at least ${known} bytes` : 'size unknown') : `${known} bytes`
    const reasons = [...new Set(rs.map(r => r.reason).filter((r): r is string => r !== undefined))]
    const label = c === 'lost' || c === 'dropped' ? c.toUpperCase() : c
    out.push(`${label}: ${rs.length} range${rs.length === 1 ? '' : 's'}, ${size}${reasons.length > 0 && c !== 'dead_lettered' ? ` (${reasons.join(', ')})` : ''} — ${meaning[c]}`)
  }
  return out
}

/** the human-readable report of a /v1/gaps body */
export function formatGaps (b: Body): string {
  const out: string[] = []
  if (b.sources.length === 0) out.push('complete: no byte range missing')
  else {
    out.push(...gapSummary(b), '')
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

/** the exit status of a /v1/gaps body: 1 when some range is of a failing class */
export function gapsExitCode (b: Body, failOn: GapClass[]): 0 | 1 {
  return b.sources.some(s => s.ranges.some(r => failOn.includes(r.class as GapClass))) ? 1 : 0
}

export async function gapsCommand (argv: string[]): Promise<number> {
  let values
  try {
    values = parseArgs({ args: argv, options: { host: { type: 'string', multiple: true }, service: { type: 'string', multiple: true }, source: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, 'silent-after': { type: 'string' }, 'fail-on': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: false }).values
  } catch (err) { fail(`${(err as Error).message}\n\n${help}`); return 2 }
  if (values.help === true) { console.log(help); return 0 }
  const failOn = parseFailOn(values['fail-on'] ?? 'lost')
  if (typeof failOn === 'string') { fail(failOn); return 2 }
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
  return gapsExitCode(body, failOn)
}
