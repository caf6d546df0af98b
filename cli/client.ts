// `sluice tail` and what the query API's CLI clients share (cli/grep.ts is `sluice grep`):
// SLUICE_URL (default the local one), the filter flags, line rendering. Colours only on a TTY.
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { escapeText, fieldsText, splitStacks, stackLines } from '../schemas/text-line.js'
import { baseUrl, jsonHeaders } from './http-client.js'

export const filterHelp = `Filters:
  --host H         repeatable or comma-separated; case-insensitive
  --service S      repeatable or comma-separated
  --level L        minimum level: trace debug info warn error fatal (case-insensitive)
  --not-host H, --not-service S, --not-level L   exclude these (repeatable)
  --field F        field filter on the line's JSON, repeatable (all must hold); quote it,
                   as < > ! ? mean something to the shell:
                   'responseTime>=500'  (also > <= <, numbers only)  err.code:ECONNRESET
                   err.code!:EPIPE  (differs or absent)  'trace?'  (exists)  '!trace?'  (absent)
  --json           NDJSON output (one line object per line)
Environment: SLUICE_URL (default http://127.0.0.1:$SLUICE_PORT), SLUICE_TOKEN (bearer token)`

export const timeHelp = `Time (UTC; the same forms the API takes):
  --since T        15m, 1h30m, 7d ago; 15:48 (today, UTC); today; yesterday; ISO-8601 (default 24h ago)
  --until T        the same forms (default now)
  --around T       T ± --window (default 30s), instead of --since/--until
  --window D       half-width of --around, e.g. 30s, 5m`

export const filterOptions = {
  host: { type: 'string', multiple: true },
  service: { type: 'string', multiple: true },
  level: { type: 'string' },
  'not-host': { type: 'string', multiple: true },
  'not-service': { type: 'string', multiple: true },
  'not-level': { type: 'string', multiple: true },
  field: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

export const timeOptions = {
  since: { type: 'string' },
  until: { type: 'string' },
  around: { type: 'string' },
  window: { type: 'string' }
} as const

export interface Line { ts: string, host: string, service: string, level: string, msg: string, fields: Record<string, unknown>, context?: boolean }


const levelColour: Record<string, string> = { trace: '90', debug: '36', info: '32', warn: '33', error: '31', fatal: '35' }

export function renderLine (l: Line, colour: boolean): string {
  const { fields, stacks } = splitStacks(l.fields)
  const kv = fieldsText(fields, false)
  const lvl = escapeText(l.level.toUpperCase().padEnd(5))
  const sep = l.context === true ? '-' : ' '
  const [ts, host, service, msg] = [escapeText(l.ts), escapeText(l.host), escapeText(l.service), escapeText(l.msg)]
  const under = stackLines(stacks)
  if (!colour) return [`${ts}${sep}${host} ${service} ${lvl} ${msg}${kv !== '' ? ' ' + kv : ''}`, ...under].join('\n')
  return [`\x1b[90m${ts}\x1b[0m${sep}\x1b[34m${host}\x1b[0m \x1b[36m${service}\x1b[0m \x1b[${levelColour[l.level] ?? '0'}m${lvl}\x1b[0m ${msg}${kv !== '' ? ' \x1b[90m' + kv + '\x1b[0m' : ''}`,
    ...under.map(s => `\x1b[90m${s}\x1b[0m`)].join('\n')
}

export interface FilterValues { since?: string, until?: string, around?: string, window?: string, host?: string[], service?: string[], level?: string, 'not-host'?: string[], 'not-service'?: string[], 'not-level'?: string[], field?: string[] }

/** The shared filter's query parameters (schemas/log-filter.ts) from the command's flags. */
export function filterParams (values: FilterValues): URLSearchParams {
  const p = new URLSearchParams()
  for (const k of ['since', 'until', 'around', 'window', 'level'] as const) if (values[k] !== undefined) p.set(k, values[k])
  const lists = [['host', 'host'], ['service', 'service'], ['not-host', 'not_host'], ['not-service', 'not_service'], ['not-level', 'not_level'], ['field', 'field']] as const
  for (const [flag, param] of lists) for (const v of values[flag] ?? []) p.append(param, v)
  return p
}

export async function apiError (res: Response): Promise<string> {
  const body = await res.text()
  try { return (JSON.parse(body) as { message: string }).message } catch { return `HTTP ${res.status}: ${body.slice(0, 200)}` }
}

export async function tailCommand (argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...filterOptions, q: { type: 'string' }, regexp: { type: 'string', short: 'e' }, 'ignore-case': { type: 'boolean', short: 'i' }, 'word-regexp': { type: 'boolean', short: 'w' } }, strict: true })
  if (values.help === true) { console.log(`Usage: sluice tail [--q TEXT] [-e RE2] [-i] [-w] [filters]\n\nFollows new lines from every host as they arrive (Server-Sent Events), from now until Ctrl-C\n(for past lines use sluice grep). A dropped or broken stream reconnects with Last-Event-ID:\nno line is lost or repeated.\n  --q TEXT    only lines containing TEXT\n  -e RE2      only lines matching the RE2 regular expression (as sluice grep -E)\n  -i          case-insensitive --q / -e\n  -w          --q matches whole words only\n${filterHelp}`); return 0 }
  const p = filterParams(values)
  if (values.q !== undefined) p.set('q', values.q)
  if (values.regexp !== undefined) p.set('regex', values.regexp)
  if (values['ignore-case'] === true) p.set('i', 'true')
  if (values['word-regexp'] === true) p.set('w', 'true')
  const colour = process.stdout.isTTY && values.json !== true
  const h = { ...jsonHeaders(), accept: 'text/event-stream' }
  let lastId: string | undefined
  for (;;) {
    let res: Response
    try { res = await fetch(`${baseUrl()}/v1/tail?${p.toString()}`, { headers: lastId !== undefined ? { ...h, 'last-event-id': lastId } : h }) } catch (err) {
      process.stderr.write(`sluice tail: cannot reach ${baseUrl()} (${(err as Error).message}); retrying in 2 s\n`)
      await new Promise(resolve => setTimeout(resolve, 2000))
      continue
    }
    if (res.status === 410 && lastId !== undefined) {
      // the resume point is further back than the server replays: go on from the oldest it offers
      const body = await res.json().catch(() => ({})) as { message?: string, oldest?: string }
      if (typeof body.oldest !== 'string') { process.stderr.write(`sluice tail: HTTP 410: ${body.message ?? ''}\n`); return 2 }
      process.stderr.write(`sluice tail: ${body.message ?? 'resume point too old'}; resuming from ${body.oldest}, lines before it are skipped (sluice grep finds them)\n`)
      lastId = body.oldest
      continue
    }
    if ((res.status === 503 || res.status === 429) && lastId !== undefined) {
      // busy while resuming (other tails are catching up): wait as told, keep the position
      const wait = Math.min(60, Math.max(1, Number(res.headers.get('retry-after') ?? '5') || 5))
      process.stderr.write(`sluice tail: ${await apiError(res)}; retrying in ${wait} s\n`)
      await new Promise(resolve => setTimeout(resolve, wait * 1000))
      continue
    }
    if (!res.ok || res.body === null) { process.stderr.write(`sluice tail: ${await apiError(res)}\n`); return 2 }
    const decoder = new TextDecoder()
    let buf = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true })
      let idx
      while ((idx = buf.indexOf('\n\n')) !== -1) {
        const ev = buf.slice(0, idx)
        buf = buf.slice(idx + 2)
        let event = 'message'; let data = ''; let id: string | undefined
        for (const line of ev.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7)
          else if (line.startsWith('data: ')) data += line.slice(6)
          else if (line.startsWith('id: ')) id = line.slice(4)
        }
        if (id !== undefined) lastId = id
        if (event === 'line') {
          const l = JSON.parse(data) as Line
          // a slow pipe downstream slows the reading of the stream instead of growing memory
          if (!process.stdout.write((values.json === true ? JSON.stringify(l) : renderLine(l, colour)) + '\n')) await once(process.stdout, 'drain')
        } else if (event === 'dropped') process.stderr.write(`sluice tail: reading too slowly, the server cut the stream after queueing ${(JSON.parse(data) as { count: number }).count} lines; resuming from the last line shown\n`)
      }
    }
    process.stderr.write('sluice tail: stream ended; reconnecting\n')
  }
}
