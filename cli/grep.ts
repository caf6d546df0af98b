// `sluice grep`: every matching line of the range, oldest first, paged through /v1/logs with
// its cursor and written as it comes (one page in memory, the pipe's pace). Counts (-c,
// --count-by) and the bar chart (--histogram) come from /v1/histogram.
// Exit status: 0 a line matched, 1 none, 2 error, 3 the server stopped the listing part-way.
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { baseUrl, jsonHeaders } from './http-client.js'
import { apiError, filterHelp, filterOptions, filterParams, renderLine, timeHelp, timeOptions, type Line } from './client.js'
import { renderHistogram, type Histogram } from './histogram-chart.js'

export const grepHelp = `Usage: sluice grep [PATTERN] [-E] [-i] [-w] [-v] [-C N] [-m N] [-c | --count-by D | --histogram] [filters]

Prints every matching line of the range from every host, oldest first (as /v1/logs orders by
default), like grep over one merged file. Without PATTERN, every line the filters select.
  -E          PATTERN is an RE2 regular expression (run by ClickHouse)
  -i          case-insensitive
  -w          PATTERN matches whole words only (fastest: served by the full-text indexes)
  -v          print the lines that do NOT contain PATTERN (plain text; combine with filters)
  -C N        N lines of context before and after each match, from the same source
  -m N        stop after N matches (default: no limit)
  -c          print only the number of matching lines
  --count-by D    matching lines per host, service or level (like uniq -c), most first
  --histogram     matching lines over time as a bar chart, by level (with --count-by D: by D)
  --buckets N     about N bars (default 30); or --step D, e.g. 1m, 5m
${timeHelp}
${filterHelp}
Exit status: 0 if a line matched, 1 if none, 2 on error, 3 if the server stopped the listing
part-way (the reason is on stderr; the lines printed are correct but not all of them).`

const out = async (text: string): Promise<void> => {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain')
}

type Fetched = { ok: true, body: unknown } | { ok: false, message: string }

/** A 503 (busy server) is retried as its Retry-After says, at most this many times. */
const maxRetries = 3

async function getJson (path: string, p: URLSearchParams): Promise<Fetched> {
  for (let attempt = 0; ; attempt++) {
    let res: Response
    try { res = await fetch(`${baseUrl()}${path}?${p.toString()}`, { headers: jsonHeaders() }) } catch (err) {
      const cause = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message
      return { ok: false, message: `cannot reach ${baseUrl()} (${cause}); is 'sluice up' running? set SLUICE_URL` }
    }
    if (res.status === 503 && attempt < maxRetries) {
      const wait = Math.min(5, Math.max(0.1, Number(res.headers.get('retry-after') ?? '1') || 1))
      await res.arrayBuffer()
      await new Promise(resolve => setTimeout(resolve, wait * 1000))
      continue
    }
    if (!res.ok) return { ok: false, message: `${await apiError(res)}${res.status === 503 ? ` (retried ${maxRetries} times)` : ''}` }
    return { ok: true, body: await res.json() }
  }
}

export async function grepCommand (argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...filterOptions,
      ...timeOptions,
      regex: { type: 'boolean', short: 'E' },
      'ignore-case': { type: 'boolean', short: 'i' },
      'word-regexp': { type: 'boolean', short: 'w' },
      'invert-match': { type: 'boolean', short: 'v' },
      context: { type: 'string', short: 'C' },
      limit: { type: 'string', short: 'm' },
      count: { type: 'boolean', short: 'c' },
      'count-by': { type: 'string' },
      histogram: { type: 'boolean' },
      buckets: { type: 'string' },
      step: { type: 'string' }
    },
    strict: true
  })
  if (values.help === true) { console.log(grepHelp); return 0 }
  // `sluice grep … | head`: the reader has seen enough; stop quietly, as grep does
  process.stdout.on('error', err => { if ((err as NodeJS.ErrnoException).code === 'EPIPE') process.exit(0); throw err })
  const fail = (msg: string): number => { process.stderr.write(`sluice grep: ${msg}\n`); return 2 }
  if (positionals.length > 1) return fail(`expected at most one PATTERN, got ${positionals.length} (${positionals.map(s => `'${s}'`).join(' ')}); quote a pattern or a time that holds spaces`)
  const pattern = positionals[0]
  // `--since 2026-12-05 15:48:30` unquoted: the time of day would silently become the PATTERN
  for (const k of ['since', 'until', 'around'] as const) {
    const v = values[k]
    if (pattern !== undefined && v !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(v) && /^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?Z?$/i.test(pattern)) return fail(`'${pattern}' looks like the time of --${k} ${v}; write --${k} ${v}T${pattern} or quote it ("${v} ${pattern}")`)
  }
  const p = filterParams(values)
  if (values['invert-match'] === true) {
    if (pattern === undefined || pattern === '') return fail('-v needs a PATTERN (the text the lines must not contain)')
    if (values.regex === true || values['word-regexp'] === true) return fail('-v takes a plain-text PATTERN (not with -E or -w)')
    p.set('v', pattern)
  } else if (pattern !== undefined && pattern !== '') p.set(values.regex === true ? 'regex' : 'q', pattern)
  if (values['ignore-case'] === true) p.set('i', 'true')
  if (values['word-regexp'] === true) p.set('w', 'true')
  const max = values.limit === undefined ? Infinity : Number(values.limit)
  if (values.limit !== undefined && (!Number.isInteger(max) || max < 1)) return fail(`-m expects a positive whole number; got '${values.limit}'`)
  // --histogram --count-by D: the bars split by D instead of by level
  const modes = [values.count === true, values['count-by'] !== undefined && values.histogram !== true, values.histogram === true].filter(Boolean).length
  if (modes > 1) return fail('choose one of -c, --count-by and --histogram (--count-by D may go with --histogram)')
  const by = values['count-by']
  if (by !== undefined && !['host', 'service', 'level'].includes(by)) return fail(`--count-by must be one of host, service, level; got '${by}'`)
  if (modes === 1) return await summary(values, p, max)
  if (values.buckets !== undefined || values.step !== undefined) return fail('--buckets and --step go with --histogram')
  if (values.context !== undefined) p.set('context', values.context)
  return await list(p, max, values.json === true, values.context !== undefined, values.host !== undefined || values.service !== undefined)
}

/** -c, --count-by and --histogram: one /v1/histogram request. */
async function summary (values: { count?: boolean, 'count-by'?: string, histogram?: boolean, buckets?: string, step?: string, json?: boolean }, p: URLSearchParams, max: number): Promise<number> {
  const q = new URLSearchParams(p)
  if (values.histogram === true) {
    if (values.step !== undefined) q.set('step', values.step)
    else q.set('buckets', values.buckets ?? '30')
  } else q.set('buckets', '1')
  if (values['count-by'] !== undefined) q.set('by', values['count-by'])
  const r = await getJson('/v1/histogram', q)
  if (!r.ok) { process.stderr.write(`sluice grep: ${r.message}\n`); return 2 }
  const h = r.body as Histogram
  if (values.json === true) await out(JSON.stringify(h) + '\n')
  else if (values.count === true) await out(`${Math.min(h.total, max)}\n`)
  else if (values['count-by'] !== undefined && values.histogram !== true) {
    const sums = new Map<string, number>()
    for (const b of h.buckets) for (const [k, n] of Object.entries(b.counts)) sums.set(k, (sums.get(k) ?? 0) + n)
    const rows = [...sums].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    const w = String(rows[0]?.[1] ?? 0).length
    await out(rows.map(([k, n]) => `${String(n).padStart(w)} ${k}\n`).join(''))
  } else await out(renderHistogram(h, process.stdout.isTTY === true))
  return h.total > 0 ? 0 : 1
}

/**
 * Every match, page after page. Context lines after a page's last match may also be the next
 * page's context or even its matches, and lines of other hosts on the next page may sort
 * before them: they are held back and merged with the next page (a match wins over the same
 * line as context). Lines that come again as context are printed once, by identity (the
 * last 100,000 are remembered, so memory stays bounded however long the listing).
 */
async function list (p: URLSearchParams, max: number, json: boolean, withContext: boolean, hostOrService: boolean): Promise<number> {
  const colour = process.stdout.isTTY && !json
  type Row = Line & { source: string, offset: number }
  const key = (l: Row): string => `${l.source}\u0000${l.offset}`
  const shown = new Map<string, true>()
  const maxShown = 100_000
  let held: Row[] = []
  let found = 0
  let cursor: string | null = null
  const print = async (rows: Row[]): Promise<void> => {
    const fresh = rows.filter(l => {
      const k = key(l)
      if (shown.has(k)) return false
      shown.set(k, true)
      if (shown.size > maxShown) shown.delete(shown.keys().next().value as string)
      return true
    })
    if (fresh.length > 0) await out(fresh.map(l => json ? JSON.stringify(l) : renderLine(l, colour)).join('\n') + '\n')
  }
  do {
    const q = new URLSearchParams(p)
    // the API caps pages with context at 200 matches (each costs two range reads)
    q.set('limit', String(Math.min(withContext ? 200 : 5000, max - found)))
    if (cursor !== null) q.set('cursor', cursor)
    const r = await getJson('/v1/logs', q)
    if (!r.ok) {
      if (cursor === null) { process.stderr.write(`sluice grep: ${r.message}\n`); return 2 }
      // never a silent partial answer: say where it stopped and exit 3
      await print(held)
      process.stderr.write(`sluice grep: stopped after ${found} matching lines, before the end of the range: ${r.message}\nsluice grep: the output is INCOMPLETE; narrow the range (--since/--until) or add filters and run again\n`)
      return 3
    }
    const body = r.body as { lines: Row[], nextCursor: string | null }
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
    await print(merged.slice(0, cut))
    held = merged.slice(cut)
  } while (cursor !== null && found < max)
  if (found === 0 && hostOrService) await hintKnown(p)
  return found > 0 ? 0 : 1
}

/** No line: when a host or service was named, say which ones the range does have. */
async function hintKnown (p: URLSearchParams): Promise<void> {
  const q = new URLSearchParams()
  for (const k of ['since', 'until', 'around', 'window']) { const v = p.get(k); if (v !== null) q.set(k, v) }
  q.set('buckets', '1')
  for (const by of ['host', 'service'] as const) {
    if (!p.has(by)) continue
    q.set('by', by)
    const r = await getJson('/v1/histogram', q)
    if (!r.ok) return
    const names = new Set<string>()
    for (const b of (r.body as Histogram).buckets) for (const k of Object.keys(b.counts)) names.add(k)
    const asked = p.getAll(by).flatMap(s => s.split(','))
    const lower = new Set([...names].map(n => by === 'host' ? n.toLowerCase() : n))
    const unknown = asked.filter(a => !lower.has(by === 'host' ? a.toLowerCase() : a))
    if (unknown.length > 0) process.stderr.write(`sluice grep: no ${by} ${unknown.map(u => `'${u}'`).join(', ')} in this range; ${by}s with lines: ${names.size > 0 ? [...names].sort().slice(0, 20).join(', ') : 'none'}\n`)
  }
}
