// GET /v1/stats — one metric's series per (host, service, pid), bucketed by step; optionally a
// ratio of two metrics of the same record (divide_by) and rate/increase between buckets.
// The stats table is ordered by (service, host, pid, metric, ts), so a service filter is a
// primary-key range; the number of points is bounded before and after the query runs.
// GET /v1/stats/metrics (stats-metrics-route.ts) lists what can be asked for.
import fp from 'fastify-plugin'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { ClickHouseClient } from '@clickhouse/client'
import { errors } from '../platform/errors.js'
import { metricUnits, seriesUnit } from '../schemas/metric-units.js'
import { parseDurationMs, timeRange } from './time.js'
import { utf8QueryHook } from './utf8.js'
import { clientKey } from './client-key.js'
import { readSettings, type QuerySlots, type ReadLimits } from './query-slots.js'
import { closestNames, schemaError, statsRangeMessages } from './stats-params.js'
import { paramValues } from '../schemas/log-filter.js'
import { statsMetricsRoute } from './stats-metrics-route.js'
import { maxTop, topAnswer, TopFields, topSpec, topSql, type TopRow } from './stats-top.js'

// per-bucket aggregates of `x` (the metric, or the ratio); fixed SQL keyed by a checked name
const aggs = { avg: 'avg(x)', min: 'min(x)', max: 'max(x)', sum: 'sum(x)', last: 'argMax(x, ts)', p50: 'quantile(0.5)(x)', p95: 'quantile(0.95)(x)', p99: 'quantile(0.99)(x)', rate: 'argMax(x, ts)', increase: 'argMax(x, ts)' } as const
type Agg = keyof typeof aggs
const aggNames = Object.keys(aggs) as Agg[]

// repeatable or comma-separated; one value is coerced to a 1-item array
const Names = Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })
export const StatsQuerystring = Type.Object({
  metric: Type.String({ minLength: 1, maxLength: 200, description: 'metric name, e.g. heap_used (GET /v1/stats/metrics lists them)' }),
  divide_by: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'denominator metric of the same record: value = metric / divide_by (e.g. heap_used / heap_limit); records whose denominator is ≤ 0 are skipped' })),
  host: Type.Optional(Names),
  service: Type.Optional(Names),
  not_host: Type.Optional(Names),
  not_service: Type.Optional(Names),
  pid: Type.Optional(Type.String({ maxLength: 32, description: 'process id' })),
  since: Type.Optional(Type.String({ maxLength: 64, description: 'relative or ISO-8601; default 6h' })),
  until: Type.Optional(Type.String({ maxLength: 64, description: 'relative or ISO-8601; default now' })),
  step: Type.Optional(Type.String({ maxLength: 16, description: 'bucket width, e.g. 60s, 5m (default 1m, whole seconds)' })),
  agg: Type.Optional(Type.String({ maxLength: 16, description: `per bucket: ${aggNames.join(', ')} (default avg). increase = last value of the bucket − last value of the previous bucket with samples; rate = that increase per second between those two samples` })),
  top: Type.Optional(Type.String({ maxLength: 8, description: `1-${maxTop}: only the series of the N processes with the highest mean of their per-step values (ties by host, service, pid), highest first; the answer then lists every matching process in processes` })),
  keys: Type.Optional(Type.Array(Type.String({ maxLength: 600 }), { maxItems: maxTop, description: `host/service/pid, repeatable or comma-separated (at most ${maxTop}): only these processes' series, ranked as with top; not with top` })),
  band: Type.Optional(Type.String({ maxLength: 16, description: 'minmax (with top or keys): the processes not chosen as one band, the lowest and highest value per step' }))
}, { additionalProperties: false })
export type StatsQuerystring = Static<typeof StatsQuerystring>
const accepted = Object.keys(StatsQuerystring.properties)

// [iso time, value] pairs; a 2-item array of string|number, since OpenAPI 3.0 has no tuples
const Point = Type.Array(Type.Union([Type.String(), Type.Number()]), { minItems: 2, maxItems: 2, description: '[ISO-8601 bucket start, value]' })
const SeriesSchema = Type.Object({ host: Type.String(), service: Type.String(), pid: Type.Integer(), points: Type.Array(Point) })
const StatsResponse = Type.Object({
  metric: Type.String(),
  divide_by: Type.Optional(Type.String()),
  unit: Type.String({ description: 'bytes, count, ms, ratio, unknown; "/s" for rate' }),
  step: Type.Integer(),
  agg: Type.String(),
  since: Type.String(),
  until: Type.String(),
  series: Type.Array(SeriesSchema),
  ...TopFields,
  hint: Type.Optional(Type.String({ description: 'why series is empty, and the closest known metrics' }))
})

export interface StatsRouteOptions { clickhouse: ClickHouseClient, database: string, maxRangeDays: number, limits: ReadLimits, slots: QuerySlots, maxPoints?: number }

interface Row { host: string, service: string, pid: number, t: number, v: number, lt?: number }
type Series = { host: string, service: string, pid: number, points: Array<[string, number]> }

/** increase/rate per bucket from each bucket's last sample: the difference to the previous
 *  bucket with samples (per second of the time between the two samples for rate). Buckets
 *  before `firstBucket` only serve as the previous bucket of the first one. */
function differences (rows: Row[], agg: 'rate' | 'increase', firstBucket: number): Row[] {
  const out: Row[] = []
  for (let i = 1; i < rows.length; i++) {
    const a = rows[i - 1]; const b = rows[i]
    if (a.host !== b.host || a.service !== b.service || a.pid !== b.pid || b.t < firstBucket) continue
    const inc = b.v - a.v
    const secs = (Number(b.lt) - Number(a.lt)) / 1000
    out.push({ ...b, v: agg === 'increase' ? inc : secs > 0 ? inc / secs : 0 })
  }
  return out
}

/** The samples of the metric (or the ratio) as (host, service, pid, ts, x), filtered. */
function sourceSql (db: string, divideBy: string | null, f: { hosts: string[], services: string[], notHosts: string[], notServices: string[], pid?: number }, params: Record<string, unknown>): string {
  const where = ["ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')", "ts <= fromUnixTimestamp64Milli({until:Int64}, 'UTC')"]
  if (f.hosts.length > 0) { where.push('host IN {hosts:Array(String)}'); params.hosts = f.hosts }
  if (f.services.length > 0) { where.push('service IN {services:Array(String)}'); params.services = f.services }
  if (f.notHosts.length > 0) { where.push('host NOT IN {notHosts:Array(String)}'); params.notHosts = f.notHosts }
  if (f.notServices.length > 0) { where.push('service NOT IN {notServices:Array(String)}'); params.notServices = f.notServices }
  if (f.pid !== undefined) { where.push('pid = {pid:UInt32}'); params.pid = f.pid }
  if (divideBy === null) return `SELECT host, service, pid, ts, value AS x FROM ${db}.stats FINAL WHERE metric = {metric:String} AND ${where.join(' AND ')}`
  // both halves of one record (same process and ts), as the alert evaluator pairs them
  params.divideBy = divideBy
  return `SELECT host, service, pid, ts, anyIf(value, metric = {metric:String}) / anyIf(value, metric = {divideBy:String}) AS x
FROM ${db}.stats FINAL WHERE metric IN ({metric:String}, {divideBy:String}) AND ${where.join(' AND ')}
GROUP BY host, service, pid, ts
HAVING countIf(metric = {metric:String}) > 0 AND countIf(metric = {divideBy:String}) > 0 AND anyIf(value, metric = {divideBy:String}) > 0`
}

/** Why no process reported: a wrong metric name (with the closest known), or the filters. */
function emptyHint (metric: string, divideBy: string | null, seen: string[], filtered: boolean): string {
  const reported = new Set(seen)
  const missing = [metric, divideBy].find((m): m is string => m !== null && !reported.has(m))
  if (missing !== undefined) {
    const near = closestNames(missing, [...seen, ...Object.keys(metricUnits)])
    return `no metric '${missing}' was reported in this range; ${near.length > 0 ? `closest known: ${near.join(', ')}; ` : ''}GET /v1/stats/metrics lists the metrics reported`
  }
  if (filtered) return `'${metric}'${divideBy !== null ? ` and '${divideBy}' were` : ' was'} reported in this range, but not by a process matching the host/service/pid filters`
  return `no record in this range has both '${metric}' and '${divideBy ?? ''}' with '${divideBy ?? ''}' > 0`
}

export const statsRoute = fp(async (app: FastifyInstance, opts: StatsRouteOptions) => {
  const maxPoints = opts.maxPoints ?? 100_000
  const db = opts.database
  const query = async <T>(sql: string, params: Record<string, unknown>, client: string): Promise<T[]> => await opts.slots.run(async () => {
    const rs = await opts.clickhouse.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: readSettings(opts.limits) })
    return await rs.json<T>()
  }, client)

  app.get<{ Querystring: StatsQuerystring }>('/v1/stats', {
    preValidation: utf8QueryHook,
    attachValidation: true,
    schema: {
      summary: 'A metric series per host/service/pid',
      querystring: StatsQuerystring,
      response: { 200: StatsResponse }
    }
  }, async (req) => {
    const bad = schemaError(req, accepted, { metric: 'the metric to plot, e.g. heap_used; GET /v1/stats/metrics lists the metrics reported' })
    if (bad !== null) throw bad
    const qs = req.query
    const { since, until } = timeRange(qs, { defaultSinceMs: 6 * 3_600_000, maxRangeDays: opts.maxRangeDays, messages: statsRangeMessages })
    const stepMs = qs.step === undefined ? 60_000 : parseDurationMs(qs.step)
    if (stepMs === null || stepMs < 1000 || stepMs % 1000 !== 0) throw errors.BAD_PARAM('step', `must be whole seconds of at least 1s, e.g. 60s or 5m; got ${JSON.stringify(qs.step)}`)
    const buckets = Math.ceil((until - since) / stepMs)
    if (buckets > maxPoints) throw errors.BAD_PARAM('step', `gives ${buckets} points per series; at most ${maxPoints} (use a larger step or a shorter range)`)
    const agg = (qs.agg ?? 'avg').toLowerCase() as Agg
    if (!aggNames.includes(agg)) throw errors.BAD_PARAM('agg', `must be one of ${aggNames.join(', ')}; got ${JSON.stringify(qs.agg)}`)
    let pid: number | undefined
    if (qs.pid !== undefined) {
      pid = /^\d{1,10}$/.test(qs.pid) ? Number(qs.pid) : NaN
      if (!(pid <= 4294967295)) throw errors.BAD_PARAM('pid', `must be a process id (a whole number 0-4294967295); got ${JSON.stringify(qs.pid)}`)
    }
    const divideBy = qs.divide_by ?? null
    const top = topSpec(qs)
    const differenced = agg === 'rate' || agg === 'increase'
    // rate/increase read one more step back, so the first bucket has a previous one
    const from = differenced ? since - stepMs : since
    const firstBucket = Math.floor(since / stepMs) * stepMs
    const params: Record<string, unknown> = { metric: qs.metric, from, until, step: stepMs / 1000, maxRows: maxPoints + 1 }
    const hosts = paramValues(qs.host)
    const services = paramValues(qs.service)
    const notHosts = paramValues(qs.not_host)
    const notServices = paramValues(qs.not_service)
    const bucketed = `SELECT host, service, pid, toUnixTimestamp(toStartOfInterval(ts, toIntervalSecond({step:UInt32}))) * 1000 AS t, ${aggs[agg]} AS v${differenced ? ', toUnixTimestamp64Milli(max(ts)) AS lt' : ''}
FROM (${sourceSql(db, divideBy, { hosts, services, notHosts, notServices, pid }, params)})
GROUP BY host, service, pid, t`
    const tooMany = (): Error => errors.BAD_PARAM('step', `gives more than ${maxPoints} points over all series; use a larger step, a shorter range or host/service/pid filters`)
    const body: Static<typeof StatsResponse> = {
      metric: qs.metric,
      ...(divideBy !== null ? { divide_by: divideBy } : {}),
      unit: seriesUnit(qs.metric, divideBy, agg === 'rate'),
      step: stepMs / 1000,
      agg,
      since: new Date(since).toISOString(),
      until: new Date(until).toISOString(),
      series: []
    }
    let hadSamples: boolean
    if (top !== null) {
      const rows = await query<TopRow>(topSql(bucketed, top, agg, params, firstBucket), params, clientKey(req))
      if (rows.length > maxPoints) throw tooMany()
      Object.assign(body, topAnswer(rows, top))
      hadSamples = rows.length > 0
      if (body.processes!.length > 0) return body
    } else {
      let rows: Row[] = (await query<Row>(`${bucketed}\nORDER BY host, service, pid, t\nLIMIT {maxRows:UInt32}`, params, clientKey(req))).map(r => ({ ...r, pid: Number(r.pid), t: Number(r.t), v: Number(r.v), lt: r.lt === undefined ? undefined : Number(r.lt) }))
      if (rows.length > maxPoints) throw tooMany()
      hadSamples = rows.length > 0
      if (differenced) rows = differences(rows, agg as 'rate' | 'increase', firstBucket)
      const series = new Map<string, Series>()
      for (const r of rows) {
        const k = `${r.host}\u0000${r.service}\u0000${r.pid}`
        let s = series.get(k)
        if (s === undefined) { s = { host: r.host, service: r.service, pid: r.pid, points: [] }; series.set(k, s) }
        s.points.push([new Date(r.t).toISOString(), r.v])
      }
      body.series = [...series.values()]
      if (series.size > 0) return body
    }
    if (hadSamples) body.hint = `${agg} needs samples in at least two buckets of a process; use a smaller step or a longer range`
    else {
      // which metrics were reported in the range at all (any process): is the name wrong, or the filters?
      const seen = (await query<{ metric: string }>(`SELECT DISTINCT metric FROM ${db}.stats WHERE ts >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') AND ts <= fromUnixTimestamp64Milli({until:Int64}, 'UTC') ORDER BY metric LIMIT 10000`, { since: from, until }, clientKey(req))).map(r => r.metric)
      body.hint = emptyHint(qs.metric, divideBy, seen, hosts.length + services.length + notHosts.length + notServices.length > 0 || pid !== undefined)
    }
    return body
  })

  await app.register(statsMetricsRoute, opts)
}, { name: 'sluice-stats' })
