// Builds the timeline query. Every user value is a bound query parameter ({name:Type});
// no SQL text is ever built from user input. Substring search also adds the complete
// tokens inside the needle as hasToken() conditions so the full-text index can skip
// granules; the exact match is always checked with position()/match().
import type { ClickHouseClient } from '@clickhouse/client'
import { filterSql, type LogFilter } from '../schemas/log-filter.js'
import { encodeCursor, type CursorKey } from './cursor.js'
import { noIndexIgnored, readSettings, type ReadLimits } from './query-slots.js'
import { errors } from '../platform/errors.js'

export interface LogQuery {
  q?: string
  regex?: string
  i: boolean
  /** q matches whole words only (grep -w) */
  w?: boolean
  /** host, service, level, field filters and exclusions (schemas/log-filter.ts) */
  filter: LogFilter
  since: number
  until: number
  limit: number
  order: 'asc' | 'desc'
  cursor?: CursorKey
}

export type { LogLine } from '../schemas/log-line.js'
import { toLogLine, type LogLine } from '../schemas/log-line.js'

export interface RawRow { host: string, service: string, pid: number, level: string, msg: string, fields: string, source: string, path: string, offset: number, flags: string[], tsms: number }

/** Whole tokens (split on non-alphanumerics, as the index does) that any match must contain. */
export function innerTokens (needle: string): string[] {
  const parts = needle.split(/[^A-Za-z0-9]+/)
  // the first and last pieces may be fragments of longer tokens unless bounded by a separator
  const inner = parts.slice(1, -1)
  return [...new Set(inner.filter(t => t.length >= 2))].slice(0, 8)
}

/**
 * Literal runs that every match of an RE2 pattern must contain, read from the pattern text
 * (never executed in Node). Conservative: any alternation or inline flag gives up, groups and
 * classes break a run, and a quantified last character is dropped.
 */
export function regexLiterals (re: string): string[] {
  if (re.includes('|') || re.includes('(?')) return []
  const out: string[] = []
  let run = ''
  const flush = (): void => { if (run.length >= 3) out.push(run); run = '' }
  for (let i = 0; i < re.length; i++) {
    const c = re[i]
    if (c === '\\') {
      const n = re[i + 1] ?? ''
      i++
      if (/[A-Za-z0-9]/.test(n) || n === '') { flush(); continue }
      run += n
    } else if (c === '(' || c === '[') {
      flush()
      let depth = 0
      for (; i < re.length; i++) {
        if (re[i] === '\\') { i++; continue }
        if (re[i] === c) depth++
        else if (re[i] === (c === '(' ? ')' : ']')) { depth--; if (depth === 0) break }
      }
    } else if (c === '?' || c === '*' || c === '{') {
      run = run.slice(0, -1)
      flush()
      if (c === '{') while (i < re.length && re[i] !== '}') i++
    } else if (c === '+') {
      flush()
    } else if ('.^$)]}'.includes(c)) {
      flush()
    } else {
      run += c
    }
  }
  flush()
  return [...new Set(out)].slice(0, 4)
}

/** Every alphanumeric piece of a whole-word needle is a complete token of any match. */
export function wordTokens (needle: string): string[] {
  return [...new Set(needle.split(/[^A-Za-z0-9]+/).filter(t => t.length >= 1))].slice(0, 8)
}

/** RE2 pattern for the needle bounded by non-alphanumerics; every other character is escaped. */
export function wordRegex (needle: string): string {
  const body = [...needle].map(c => /[A-Za-z0-9]/.test(c) ? c : `\\x{${c.codePointAt(0)!.toString(16)}}`).join('')
  return `(^|[^A-Za-z0-9])${body}([^A-Za-z0-9]|$)`
}

/** One slice of the query's time range; an open end excludes its bound (slices never overlap). */
export interface TimeWindow { since: number, until: number, openSince?: boolean, openUntil?: boolean }

export function buildWhere (q: LogQuery, params: Record<string, unknown>, w?: TimeWindow): string[] {
  const where: string[] = [`ts ${w?.openSince === true ? '>' : '>='} fromUnixTimestamp64Milli({since:Int64}, 'UTC')`, `ts ${w?.openUntil === true ? '<' : '<='} fromUnixTimestamp64Milli({until:Int64}, 'UTC')`]
  params.since = w?.since ?? q.since
  params.until = w?.until ?? q.until
  where.push(...filterSql(q.filter, params, q.i))
  if (q.q !== undefined && q.q !== '') {
    params.q = q.q
    if (q.i && q.w === true) {
      params.wre = `(?i)${wordRegex(q.q)}`
      where.push('(match(msg, {wre:String}) OR match(fields, {wre:String}))')
    } else if (q.i) {
      where.push('(positionCaseInsensitiveUTF8(msg, {q:String}) > 0 OR positionCaseInsensitiveUTF8(fields, {q:String}) > 0)')
    } else {
      // whole words (grep -w): every piece is a complete token; otherwise only inner pieces are
      const toks = q.w ? wordTokens(q.q) : innerTokens(q.q)
      toks.forEach((t, i) => { params[`tok${i}`] = t })
      const exact = (col: string): string => q.w ? `match(${col}, {wre:String})` : `position(${col}, {q:String}) > 0`
      if (q.w) params.wre = wordRegex(q.q)
      if (toks.length > 0) {
        // the text indexes on msg and fields skip granules lacking a token; the exact check follows
        const has = (col: string): string => toks.map((_, i) => `hasToken(${col}, {tok${i}:String})`).join(' AND ')
        where.push(`((${has('msg')} AND ${exact('msg')}) OR (${has('fields')} AND ${exact('fields')}))`)
      } else if (q.w) {
        where.push(`(${exact('msg')} OR ${exact('fields')})`)
      } else {
        params.qlike = `%${q.q.replace(/[\\%_]/g, m => `\\${m}`)}%`
        where.push('(msg LIKE {qlike:String} OR fields LIKE {qlike:String})')
      }
    }
  }
  if (q.regex !== undefined && q.regex !== '') {
    params.re = q.i ? `(?i)${q.regex}` : q.regex
    // literals every match must contain let the ngram indexes skip granules before RE2 runs
    if (!q.i) {
      regexLiterals(q.regex).forEach((lit, i) => {
        params[`rl${i}`] = `%${lit.replace(/[\\%_]/g, m => `\\${m}`)}%`
        where.push(`(msg LIKE {rl${i}:String} OR fields LIKE {rl${i}:String})`)
      })
    }
    where.push('(match(msg, {re:String}) OR match(fields, {re:String}))')
  }
  if (q.cursor !== undefined) {
    params.cts = q.cursor.ts
    params.csrc = q.cursor.source
    params.coff = q.cursor.offset
    where.push(`(ts, source, offset) ${q.order === 'desc' ? '<' : '>'} (fromUnixTimestamp64Milli({cts:Int64}, 'UTC'), {csrc:String}, {coff:UInt64})`)
  }
  return where
}

export const lineColumns = 'toUnixTimestamp64Milli(ts) AS tsms, host, service, pid, level, msg, fields, source, path, offset, flags'

export function toLine (r: RawRow): LogLine {
  let fields: Record<string, unknown> = {}
  try { fields = JSON.parse(r.fields) as Record<string, unknown> } catch { fields = { _raw: r.fields } }
  return toLogLine({ ...r, tsMs: Number(r.tsms), fields })
}


/** The skip indexes each kind of search can use; the others only cost analysis time. */
const textIndexes = ['idx_msg_tokens', 'idx_fields_tokens']
const ngramIndexes = ['idx_msg_ngrams', 'idx_fields_ngrams']

/**
 * Skip indexes ClickHouse should not even analyse for this query. An index that cannot skip
 * anything still costs reading and testing its granules (measured on 10M lines: the full-text
 * index asked about a LIKE pattern with no complete token ~1 s, the ngram bloom filters beside
 * a hasToken() condition ~300 ms), and ignoring an index never changes a result.
 */
export function unusedIndexes (q: LogQuery): string {
  let text = false
  let ngram = false
  if (q.q !== undefined && q.q !== '' && !q.i) {
    if ((q.w === true ? wordTokens(q.q) : innerTokens(q.q)).length > 0) text = true
    else if (q.w !== true) ngram = true
  }
  if (q.regex !== undefined && q.regex !== '' && !q.i && regexLiterals(q.regex).length > 0) ngram = true
  const ignored = [...(text ? [] : textIndexes), ...(ngram ? [] : ngramIndexes)]
  return ignored.length > 0 ? ignored.join(',') : noIndexIgnored
}

/** The first slice of a long range searched on its own, and the smallest. */
export const minWindowMs = 15 * 60_000
const maxWindows = 6

/**
 * The time slices a newest-first (or oldest-first) page is searched in, nearest first. The
 * first is 1/64 of the range (at least 15 min); each next one is sized from the matches found
 * so far to hold the rest of the page (×1.2), growing at most ×8, and the sixth takes all that
 * is left. A page of dense matches then reads only the recent part of a day instead of all of
 * it; a rare needle costs a few more (index-served) queries than one.
 */
export function nextWindow (q: Pick<LogQuery, 'order'>, lo: number, hi: number, step: number, covered: number, span: number): TimeWindow & { last: boolean } {
  const last = step >= maxWindows - 1 || covered + span >= hi - lo
  return q.order === 'desc'
    ? { since: last ? lo : hi - covered - span, until: hi - covered, openSince: !last, last }
    : { since: lo + covered, until: last ? hi : lo + covered + span, openUntil: !last, last }
}

export async function searchLogs (client: ClickHouseClient, db: string, q: LogQuery, limits: ReadLimits, signal?: AbortSignal): Promise<{ rows: RawRow[], nextCursor: string | null }> {
  const want = q.limit + 1
  const dir = q.order === 'desc' ? 'DESC' : 'ASC'
  const settings = { ...readSettings(limits), ignore_data_skipping_indices: unusedIndexes(q) }
  // one request, one time budget: each slice runs under the per-query limit (a constant, as
  // chDB keeps settings in its session), and no new slice starts once the budget is spent
  const budgetMs = limits.maxExecutionSeconds * 1000
  const started = performance.now()
  // the cursor narrows the range it points into; its exact (ts, source, offset) test stays in the WHERE
  let lo = q.since
  let hi = q.until
  if (q.cursor !== undefined) {
    if (q.order === 'desc') hi = Math.min(hi, q.cursor.ts)
    else lo = Math.max(lo, q.cursor.ts)
  }
  const rows: RawRow[] = []
  let span = Math.max(minWindowMs, Math.ceil((hi - lo) / 64))
  let covered = 0
  const key = (r: RawRow): string => `${r.tsms}\u0000${r.source}\u0000${r.offset}`
  let lastKey = ''
  for (let step = 0; lo <= hi && rows.length < want; step++) {
    if (budgetMs > 0 && step > 0 && performance.now() - started >= budgetMs) throw errors.OVERLOADED(`query timed out after ${limits.maxExecutionSeconds} s; narrow the time range or add filters`)
    const w = nextWindow(q, lo, hi, step, covered, span)
    // within a slice: read, drop replayed copies, and continue after the last row read while
    // copies left the page short (rare: only a shipper replay makes copies)
    let after = q.cursor
    for (;;) {
      const params: Record<string, unknown> = { limit: want - rows.length }
      const where = buildWhere({ ...q, cursor: after }, params, w)
      // no FINAL and no LIMIT BY: copies of a line (a shipper replay) are identical rows with
      // the same (ts, source, offset), adjacent in this order, and are dropped here. FINAL
      // merges every part of the range first and LIMIT BY defeats the top-N read (measured on
      // 10M lines: 2× and 6× the time of the search itself)
      const sql = `SELECT ${lineColumns}
FROM ${db}.logs
WHERE ${where.join('\n  AND ')}
ORDER BY ts ${dir}, source ${dir}, offset ${dir}
LIMIT {limit:UInt32}`
      const rs = await client.query({ query: sql, query_params: params, format: 'JSONEachRow', abort_signal: signal, clickhouse_settings: settings })
      const got = await rs.json<RawRow>()
      for (const r of got) {
        const k = key(r)
        if (k !== lastKey) rows.push(r)
        lastKey = k
      }
      const end = got[got.length - 1]
      if (end === undefined || got.length < (params.limit as number) || rows.length >= want) break
      after = { ts: Number(end.tsms), source: end.source, offset: Number(end.offset) }
    }
    if (w.last) break
    covered += span
    const next = rows.length > 0 ? Math.ceil((want - rows.length) * covered / rows.length * 1.2) : span * 8
    span = Math.min(span * 8, Math.max(span, next))
  }
  const more = rows.length > q.limit
  const page = more ? rows.slice(0, q.limit) : rows
  const last = page[page.length - 1]
  const nextCursor = more && last !== undefined ? encodeCursor({ ts: Number(last.tsms), source: last.source, offset: Number(last.offset) }) : null
  return { rows: await dropStaleCopies(client, db, page, limits, signal), nextCursor }
}

/**
 * A line without a timestamp of its own (flag no_ts) is stamped with the time the shipper read
 * it, so a replayed copy carries another ts and is not adjacent to the first one. Of such
 * lines on a page, only the copy ReplacingMergeTree keeps (the last inserted) is shown; the
 * other sorts elsewhere and is dropped there, so paging stays exact. One primary-key read,
 * only for pages holding no_ts lines.
 */
async function dropStaleCopies (client: ClickHouseClient, db: string, page: RawRow[], limits: ReadLimits, signal?: AbortSignal): Promise<RawRow[]> {
  const loose = page.filter(r => r.flags.includes('no_ts'))
  if (loose.length === 0) return page
  const rs = await client.query({
    query: `SELECT source, offset, toUnixTimestamp64Milli(argMax(ts, (ingested_at, ts))) AS keep
FROM ${db}.logs
WHERE source IN {srcs:Array(String)} AND offset IN {offs:Array(UInt64)}
GROUP BY source, offset
HAVING count() > 1`,
    query_params: { srcs: [...new Set(loose.map(r => r.source))], offs: [...new Set(loose.map(r => Number(r.offset)))] },
    format: 'JSONEachRow',
    abort_signal: signal,
    clickhouse_settings: readSettings(limits)
  })
  const keep = new Map<string, number>()
  for (const r of await rs.json<{ source: string, offset: string | number, keep: string | number }>()) keep.set(`${r.source}\u0000${Number(r.offset)}`, Number(r.keep))
  if (keep.size === 0) return page
  return page.filter(r => {
    const k = keep.get(`${r.source}\u0000${Number(r.offset)}`)
    return k === undefined || !r.flags.includes('no_ts') || k === Number(r.tsms)
  })
}

/**
 * Compiles the pattern once in ClickHouse (RE2) before searching: over an empty range a bad
 * pattern would otherwise pass unnoticed, and the user deserves the compiler's own reason.
 */
export async function checkRegex (client: ClickHouseClient, re: string, limits: ReadLimits): Promise<void> {
  try {
    const rs = await client.query({ query: "SELECT match('', {re:String}) AS m", query_params: { re }, format: 'JSONEachRow', clickhouse_settings: readSettings(limits) })
    await rs.json()
  } catch (err) {
    if ((err as { code?: string }).code !== '427') throw err
    const why = /error: (.*?)(\. Look at|$)/.exec((err as Error).message.split('\n')[0])?.[1] ?? 'cannot be compiled'
    throw errors.BAD_PARAM('regex', `is not a valid RE2 expression: ${why.slice(0, 200)}`)
  }
}
