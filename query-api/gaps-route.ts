// GET /v1/gaps — per source, the byte ranges ClickHouse does not hold, classified (gaps.ts), and
// per host the age of its last progress record. One aggregation over logs ∪ stats in primary-key
// order finds the sources whose line lengths do not add up to their span; only those are read again
// with lagInFrame over (source, offset) to locate the holes (docs/gaps.md, "How it is computed").
import fp from 'fastify-plugin'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { ClickHouseClient } from '@clickhouse/client'
import { utf8QueryHook } from './utf8.js'
import { clientKey } from './client-key.js'
import { readSettings, type QuerySlots, type ReadLimits } from './query-slots.js'
import { schemaError, statsRangeMessages } from './stats-params.js'
import { paramValues } from '../schemas/log-filter.js'
import { parseDurationMs, parseTime } from './time.js'
import { errors } from '../platform/errors.js'
import { classifyGaps, type DeadRange, type Hole, type ProgressRow, type SourceSummary } from './gaps.js'

const Names = Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })
export const GapsQuerystring = Type.Object({
  host: Type.Optional(Names),
  service: Type.Optional(Names),
  source: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'one source (a file\'s fingerprint, the `source` of its lines)' })),
  since: Type.Optional(Type.String({ maxLength: 64, description: 'relative or ISO-8601: holes between lines from then on (default: all stored lines)' })),
  until: Type.Optional(Type.String({ maxLength: 64, description: 'relative or ISO-8601 (default now; given, the ranges after each source\'s last stored line are not looked at)' })),
  silent_after: Type.Optional(Type.String({ maxLength: 32, description: 'a host whose last progress record is older than this is silent (default 30s: three of the shipper\'s default report intervals)' }))
}, { additionalProperties: false })
export type GapsQuerystring = Static<typeof GapsQuerystring>
const accepted = Object.keys(GapsQuerystring.properties)

const Range = Type.Object({
  from: Type.Integer(),
  to: Type.Union([Type.Integer(), Type.Null()]),
  bytes: Type.Union([Type.Integer(), Type.Null()]),
  class: Type.String({ description: 'lost | in_flight | dropped | dead_lettered' }),
  reason: Type.Optional(Type.String()),
  before: Type.Union([Type.String(), Type.Null()], { description: 'ts of the stored line before the range' }),
  after: Type.Union([Type.String(), Type.Null()], { description: 'ts of the stored line after the range' })
})
const GapsResponse = Type.Object({
  complete: Type.Boolean({ description: 'no range is missing' }),
  lost: Type.Boolean({ description: 'some range is classed lost' }),
  bytes: Type.Object({ lost: Type.Integer(), in_flight: Type.Integer(), dropped: Type.Integer(), dead_lettered: Type.Integer() }),
  sources: Type.Array(Type.Object({ source: Type.String(), host: Type.String(), service: Type.String(), path: Type.String(), state: Type.Union([Type.String(), Type.Null()]), acked: Type.Union([Type.Integer(), Type.Null()]), size: Type.Union([Type.Integer(), Type.Null()]), line_bytes: Type.Union([Type.Integer(), Type.Null()], { description: 'average bytes per stored line of the source in the window (null: none of known length): turns a range\'s bytes into an estimate of lines' }), ranges: Type.Array(Range) })),
  hosts: Type.Array(Type.Object({ host: Type.String(), last_progress: Type.String(), age_seconds: Type.Number(), silent: Type.Boolean({ description: 'no progress record for longer than silent_after: its files have an open-ended in_flight range (reason host_silent)' }) }))
})
export type GapsResponse = Static<typeof GapsResponse>

/** three of the shipper's default progress intervals (10 s) */
const defaultSilentAfterMs = 30_000

export interface GapsRouteOptions { clickhouse: ClickHouseClient, database: string, limits: ReadLimits, slots: QuerySlots }

const iso = (ms: number | string): string => new Date(Number(ms)).toISOString()

export const gapsRoute = fp(async (app: FastifyInstance, opts: GapsRouteOptions) => {
  const db = opts.database
  const query = async <T>(sql: string, params: Record<string, unknown>, client: string): Promise<T[]> => await opts.slots.run(async () => {
    const rs = await opts.clickhouse.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: readSettings(opts.limits) })
    return await rs.json<T>()
  }, client)

  app.get<{ Querystring: GapsQuerystring }>('/v1/gaps', {
    preValidation: utf8QueryHook,
    attachValidation: true,
    schema: { summary: 'Missing byte ranges per source, classified (lost, in flight, dropped, dead-lettered)', querystring: GapsQuerystring, response: { 200: GapsResponse } }
  }, async (req) => {
    const bad = schemaError(req, accepted)
    if (bad !== null) throw bad
    const qs = req.query
    const now = Date.now()
    const since = qs.since === undefined ? null : parseTime(qs.since, now)
    if (since === null && qs.since !== undefined) throw errors.BAD_PARAM('since', statsRangeMessages.badTime('since', qs.since))
    const until = qs.until === undefined ? null : parseTime(qs.until, now)
    if (until === null && qs.until !== undefined) throw errors.BAD_PARAM('until', statsRangeMessages.badTime('until', qs.until))
    const silentAfter = qs.silent_after === undefined ? defaultSilentAfterMs : parseDurationMs(qs.silent_after)
    if (silentAfter === null || silentAfter <= 0) throw errors.BAD_PARAM('silent_after', `expected a duration like 30s, 2m, 1h; got ${JSON.stringify(qs.silent_after)}`)
    const key = clientKey(req)
    return await findGaps(async (sql, params) => await query(sql, params, key), db, { hosts: paramValues(qs.host), services: paramValues(qs.service), source: qs.source ?? null, since, until, silentAfterMs: silentAfter, lineBytes: true }, now)
  })
}, { name: 'sluice-gaps' })

export interface GapFilters {
  hosts: string[], services: string[], source: string | null, since: number | null, until: number | null, silentAfterMs: number
  /** also each gapped source's average line length (one more query; the alert rules skip it) */
  lineBytes?: boolean
}
export type GapQuery = <T>(sql: string, params: Record<string, unknown>) => Promise<T[]>

/** the /v1/gaps body for these filters (also what the gap alert rule evaluates) */
export async function findGaps (query: GapQuery, db: string, f: GapFilters, now: number): Promise<GapsResponse> {
  const params: Record<string, unknown> = {}
  const who: string[] = []
  const { hosts, services } = f
  if (hosts.length > 0) { who.push('host IN {hosts:Array(String)}'); params.hosts = hosts }
  if (services.length > 0) { who.push('service IN {services:Array(String)}'); params.services = services }
  if (f.source !== null) { who.push('source = {source:String}'); params.source = f.source }
  const when: string[] = []
  if (f.since !== null) { when.push("ts >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')"); params.since = f.since }
  if (f.until !== null) { when.push("ts <= fromUnixTimestamp64Milli({until:Int64}, 'UTC')"); params.until = f.until }
  const where = (c: string[]): string => c.length === 0 ? '' : `WHERE ${c.join(' AND ')}`
  const inWindow = when.length === 0 ? '1' : when.join(' AND ')
  // the ranges after the last stored line: only when the window reaches the present
  const tails = f.until === null
  // every stored line of a source: log rows, and stats lines (one row per metric: one line)
  const lines = (c: string[], final = ''): string => `SELECT source, offset, len, ts, host, service, path FROM ${db}.logs${final} ${where(c)}
UNION ALL SELECT source, offset, any(len), min(ts), any(host), any(service), '' FROM ${db}.stats ${where(c)} GROUP BY source, offset`
  // one pass in primary-key order, per source: do the lengths of the lines in the window add up to
  // the span from the first to the end of the last? Then it has no hole (lines never overlap; FINAL:
  // a replayed copy counted twice would make up for a hole of its size). With tails, the same pass
  // gives each source's last stored line, whatever its time.
  const summaries = (await query<SourceSummary & { covered: number, first_offset: number, reach: number, unknown: number, inside: number }>(`SELECT source, any(host) AS host, any(service) AS service, any(path) AS path,
  max(offset + len) AS end, argMax(len, offset) AS last_len, toUnixTimestamp64Milli(argMax(ts, offset)) AS last_ts,
  sumIf(len, ${inWindow}) AS covered, minIf(offset, ${inWindow}) AS first_offset, maxIf(offset + len, ${inWindow}) AS reach, countIf(${inWindow} AND len = 0) AS unknown, countIf(${inWindow}) AS inside
FROM (${lines(tails ? who : [...who, ...when], ' FINAL')}) GROUP BY source`, params)).map(s => ({ ...s, covered: Number(s.covered), first_offset: Number(s.first_offset), reach: Number(s.reach), unknown: Number(s.unknown), inside: Number(s.inside) }))
  // only the sources that fail that check are read again, in offset order, to find their holes
  const broken = summaries.filter(s => s.inside > 1 && (s.unknown > 0 || s.covered !== s.reach - s.first_offset)).map(s => s.source)
  const holes = broken.length === 0 ? [] : await query<Hole>(`SELECT source, prev_end AS from, offset AS to, toUnixTimestamp64Milli(prev_ts) AS before, toUnixTimestamp64Milli(ts) AS after
FROM (
  SELECT source, offset, ts, lagInFrame(offset + len) OVER w AS prev_end, lagInFrame(len) OVER w AS prev_len, lagInFrame(ts) OVER w AS prev_ts, row_number() OVER w AS n
  FROM (${lines([...who, ...when, 'source IN {broken:Array(String)}'])})
  WINDOW w AS (PARTITION BY source ORDER BY offset ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
)
WHERE n > 1 AND prev_len > 0 AND offset > prev_end
ORDER BY source, from`, { ...params, broken })
  const progress = await query<ProgressRow>(`SELECT host, source, service, path, size, acked, state, reason, dropped, toUnixTimestamp64Milli(ts) AS ts FROM ${db}.source_progress FINAL
${where([...(hosts.length > 0 ? ['host IN {hosts:Array(String)}'] : []), ...(services.length > 0 ? ["(service IN {services:Array(String)} OR source = '')"] : []), ...(f.source !== null ? ['source = {source:String}'] : [])])}`, params)
  const tailSources = progress.filter(p => p.source !== '').map(p => p.source)
  const tailSet = new Set(tailSources)
  const gapSources = [...new Set([...holes.map(h => h.source), ...tailSources])]
  const dead = gapSources.length === 0
    ? []
    : await query<DeadRange>(`SELECT source, offset AS from, offset + len AS to, any(reason) AS reason FROM ${db}.dead_letters WHERE source IN {gapSources:Array(String)} AND len > 0 GROUP BY source, offset, len`, { gapSources })
  const lastByHost = new Map<string, number>()
  for (const p of progress) lastByHost.set(p.host, Math.max(lastByHost.get(p.host) ?? 0, Number(p.ts)))
  const silentHosts = new Set([...lastByHost].filter(([, t]) => now - t > f.silentAfterMs).map(([h]) => h))
  // UInt64 and DateTime64 values come as strings in JSONEachRow
  const sources = classifyGaps(
    holes.map(h => ({ source: h.source, from: Number(h.from), to: Number(h.to), before: iso(h.before), after: iso(h.after) })),
    tails ? summaries.filter(s => tailSet.has(s.source)).map(s => ({ source: s.source, host: s.host, service: s.service, path: s.path, end: Number(s.end), last_len: Number(s.last_len), last_ts: iso(s.last_ts) })) : [],
    progress.map(p => ({ ...p, size: Number(p.size), acked: Number(p.acked), ts: Number(p.ts) })),
    dead.map(d => ({ ...d, from: Number(d.from), to: Number(d.to) })),
    { tails, silentHosts })
  // only when something is missing: the average line of each such source, to estimate lines
  const avg = sources.length === 0 || f.lineBytes !== true
    ? []
    : await query<{ source: string, line_bytes: number | string }>(`SELECT source, toUInt64(round(avg(len))) AS line_bytes FROM (${lines([...who, ...when, 'source IN {gapped:Array(String)}', 'len > 0'])}) GROUP BY source`, { ...params, gapped: sources.map(s => s.source) })
  const lineBytes = new Map(avg.map(a => [a.source, Number(a.line_bytes)]))
  const bytes = { lost: 0, in_flight: 0, dropped: 0, dead_lettered: 0 }
  for (const s of sources) for (const r of s.ranges) bytes[r.class] += r.bytes ?? 0
  const body: GapsResponse = {
    complete: sources.length === 0,
    lost: sources.some(s => s.ranges.some(r => r.class === 'lost')),
    bytes,
    sources: sources.map(s => ({ ...s, line_bytes: lineBytes.get(s.source) ?? null })),
    hosts: [...lastByHost].sort((a, b) => a[0] < b[0] ? -1 : 1).map(([host, t]) => ({ host, last_progress: iso(t), age_seconds: Math.max(0, Math.round((now - t) / 100) / 10), silent: silentHosts.has(host) }))
  }
  return body
}
