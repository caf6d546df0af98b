// `sluice grep` / `sluice tail`: thin clients of the query API (SLUICE_URL, default the local
// one). grep's exit codes: 0 found, 1 none, 2 error. Colours only on a TTY.
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { escapeText, fieldsText } from '../schemas/text-line.js'

export const clientHelp = `Filters:
  --since T        relative (15m, 2h, 7d) or ISO-8601 (default 24h)
  --until T        relative or ISO-8601 (default now)
  --host H         repeatable
  --service S      repeatable
  --level L        minimum level: trace debug info warn error fatal
  --json           NDJSON output (one line object per line)
Environment: SLUICE_URL (default http://127.0.0.1:$SLUICE_PORT), SLUICE_TOKEN (bearer token)`

const filterOptions = {
  since: { type: 'string' },
  until: { type: 'string' },
  host: { type: 'string', multiple: true },
  service: { type: 'string', multiple: true },
  level: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' }
} as const

interface Line { ts: string, host: string, service: string, level: string, msg: string, fields: Record<string, unknown>, context?: boolean }

function baseUrl (): string {
  return (process.env.SLUICE_URL ?? `http://127.0.0.1:${process.env.SLUICE_PORT ?? '7070'}`).replace(/\/$/, '')
}

function headers (): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json' }
  if (process.env.SLUICE_TOKEN !== undefined) h.authorization = `Bearer ${process.env.SLUICE_TOKEN}`
  return h
}

const levelColour: Record<string, string> = { trace: '90', debug: '36', info: '32', warn: '33', error: '31', fatal: '35' }

export function renderLine (l: Line, colour: boolean): string {
  const kv = fieldsText(l.fields, false)
  const lvl = escapeText(l.level.toUpperCase().padEnd(5))
  const sep = l.context === true ? '-' : ' '
  const [ts, host, service, msg] = [escapeText(l.ts), escapeText(l.host), escapeText(l.service), escapeText(l.msg)]
  if (!colour) return `${ts}${sep}${host} ${service} ${lvl} ${msg}${kv !== '' ? ' ' + kv : ''}`
  return `\x1b[90m${ts}\x1b[0m${sep}\x1b[34m${host}\x1b[0m \x1b[36m${service}\x1b[0m \x1b[${levelColour[l.level] ?? '0'}m${lvl}\x1b[0m ${msg}${kv !== '' ? ' \x1b[90m' + kv + '\x1b[0m' : ''}`
}

function filterParams (values: { since?: string, until?: string, host?: string[], service?: string[], level?: string }): URLSearchParams {
  const p = new URLSearchParams()
  if (values.since !== undefined) p.set('since', values.since)
  if (values.until !== undefined) p.set('until', values.until)
  for (const h of values.host ?? []) p.append('host', h)
  for (const s of values.service ?? []) p.append('service', s)
  if (values.level !== undefined) p.set('level', values.level)
  return p
}

async function apiError (res: Response): Promise<string> {
  const body = await res.text()
  try { return (JSON.parse(body) as { message: string }).message } catch { return `HTTP ${res.status}: ${body.slice(0, 200)}` }
}

export async function grepCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...filterOptions, regex: { type: 'boolean', short: 'E' }, 'ignore-case': { type: 'boolean', short: 'i' }, 'word-regexp': { type: 'boolean', short: 'w' }, context: { type: 'string', short: 'C' }, limit: { type: 'string', short: 'm' } },
    strict: true
  })
  if (values.help === true || positionals.length !== 1) {
    console.log(`Usage: sluice grep PATTERN [-E] [-i] [-w] [-C N] [-m N] [filters]

Searches every host's lines, oldest first (like grep over one merged file).
  -E          PATTERN is an RE2 regular expression (run by ClickHouse)
  -i          case-insensitive
  -w          PATTERN matches whole words only (fastest: served by the full-text indexes)
  -C N        N lines of context before and after each match, from the same source
  -m N        stop after N matches (default 1000)
${clientHelp}
Exit status: 0 if a line matched, 1 if none, 2 on error.`)
    return values.help === true ? 0 : 2
  }
  const p = filterParams(values)
  p.set(values.regex === true ? 'regex' : 'q', positionals[0])
  if (values['ignore-case'] === true) p.set('i', 'true')
  if (values['word-regexp'] === true) p.set('w', 'true')
  if (values.context !== undefined) p.set('context', values.context)
  p.set('order', 'asc')
  const max = values.limit === undefined ? 1000 : Number(values.limit)
  if (!Number.isInteger(max) || max < 1) { process.stderr.write('sluice grep: -m expects a positive whole number\n'); return 2 }
  const colour = process.stdout.isTTY && values.json !== true
  let found = 0
  let cursor: string | null = null
  // Context lines after a page's last match may also be the next page's context or even its
  // matches, and lines of other hosts on the next page may sort before them: they are held
  // back and merged with the next page (a match wins over the same line as context). Lines
  // before the cursor that come again as context are printed once, by identity (the last
  // 100,000 are remembered).
  type Row = Line & { source: string, offset: number }
  const key = (l: Row): string => `${l.source}\u0000${l.offset}`
  const shown = new Map<string, true>()
  const maxShown = 100_000
  let held: Row[] = []
  const print = (rows: Row[]): void => {
    const fresh = rows.filter(l => {
      const k = key(l)
      if (shown.has(k)) return false
      shown.set(k, true)
      if (shown.size > maxShown) shown.delete(shown.keys().next().value as string)
      return true
    })
    const out = fresh.map(l => values.json === true ? JSON.stringify(l) : renderLine(l, colour)).join('\n')
    if (out !== '') process.stdout.write(out + '\n')
  }
  do {
    const q = new URLSearchParams(p)
    // the API caps pages with context at 200 matches (each costs two range reads)
    q.set('limit', String(Math.min(values.context !== undefined ? 200 : 1000, max - found)))
    if (cursor !== null) q.set('cursor', cursor)
    let res: Response
    try { res = await fetch(`${baseUrl()}/v1/logs?${q.toString()}`, { headers: headers() }) } catch (err) {
      process.stderr.write(`sluice grep: cannot reach ${baseUrl()} (${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}); is 'sluice up' running? set SLUICE_URL\n`)
      return 2
    }
    if (!res.ok) { process.stderr.write(`sluice grep: ${await apiError(res)}\n`); return 2 }
    const body = await res.json() as { lines: Row[], nextCursor: string | null }
    const byKey = new Map<string, Row>()
    for (const l of [...held, ...body.lines]) {
      const had = byKey.get(key(l))
      if (had === undefined || (had.context === true && l.context !== true)) byKey.set(key(l), l)
    }
    const merged = [...byKey.values()].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0) || (a.source < b.source ? -1 : a.source > b.source ? 1 : 0) || a.offset - b.offset)
    found += body.lines.filter(l => l.context !== true).length
    cursor = body.nextCursor
    let cut = merged.length
    if (cursor !== null && found < max) {
      // the lines after this page's last match wait for the next page
      cut = merged.length - [...merged].reverse().findIndex(l => l.context !== true)
      if (cut > merged.length) cut = 0
    }
    print(merged.slice(0, cut))
    held = merged.slice(cut)
  } while (cursor !== null && found < max)
  return found > 0 ? 0 : 1
}

export async function tailCommand (argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { ...filterOptions, q: { type: 'string' }, regexp: { type: 'string', short: 'e' }, 'ignore-case': { type: 'boolean', short: 'i' }, 'word-regexp': { type: 'boolean', short: 'w' } }, strict: true })
  if (values.help === true) { console.log(`Usage: sluice tail [--q TEXT] [-e RE2] [-i] [-w] [filters]\n\nFollows new lines from every host as they arrive (Server-Sent Events), until Ctrl-C.\nA dropped or broken stream reconnects with Last-Event-ID: no line is lost or repeated.\n  --q TEXT    only lines containing TEXT\n  -e RE2      only lines matching the RE2 regular expression (as sluice grep -E)\n  -i          case-insensitive --q / -e\n  -w          --q matches whole words only\n${clientHelp}`); return 0 }
  const p = filterParams(values)
  if (values.q !== undefined) p.set('q', values.q)
  if (values.regexp !== undefined) p.set('regex', values.regexp)
  if (values['ignore-case'] === true) p.set('i', 'true')
  if (values['word-regexp'] === true) p.set('w', 'true')
  const colour = process.stdout.isTTY && values.json !== true
  const h = { ...headers(), accept: 'text/event-stream' }
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
