// GET /v1/stats — one metric's series per (host, service, pid), bucketed by step.
// The stats table is ordered by (service, host, pid, metric, ts), so a service filter is a
// primary-key range; the number of points is bounded before the query runs.
import fp from 'fastify-plugin'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { ClickHouseClient } from '@clickhouse/client'
import { errors } from '../platform/errors.js'
import { parseDurationMs, timeParams, timeRange } from './time.js'
import { utf8QueryHook } from './utf8.js'
import { readSettings, type QuerySlots, type ReadLimits } from './query-slots.js'
import { metricUnit } from '../schemas/metric-units.js'

const aggs = { avg: 'avg(value)', min: 'min(value)', max: 'max(value)', sum: 'sum(value)', last: 'argMax(value, ts)', p50: 'quantile(0.5)(value)', p95: 'quantile(0.95)(value)', p99: 'quantile(0.99)(value)' } as const
type Agg = keyof typeof aggs

export const StatsQuerystring = Type.Object({
  metric: Type.String({ minLength: 1, maxLength: 200, description: 'metric name, e.g. heap_used' }),
  host: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })])),
  service: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })])),
  pid: Type.Optional(Type.Integer({ minimum: 0, maximum: 4294967295 })),
  since: Type.Optional(Type.String({ maxLength: 64, description: '15m, 1h30m, 15:48 (UTC), yesterday or ISO-8601; default 6h ago' })),
  until: Type.Optional(Type.String({ maxLength: 64, description: 'the same forms; default now' })),
  step: Type.Optional(Type.String({ maxLength: 16, description: 'bucket width, e.g. 60s, 5m (default 1m, at least 1s)' })),
  agg: Type.Optional(Type.Union(Object.keys(aggs).map(a => Type.Literal(a)), { description: 'aggregation per bucket (default avg)' }))
}, { additionalProperties: false })
export type StatsQuerystring = Static<typeof StatsQuerystring>

const SeriesSchema = Type.Object({ host: Type.String(), service: Type.String(), pid: Type.Integer(), points: Type.Array(Type.Tuple([Type.String(), Type.Number()])) })

export const MetricsQuerystring = Type.Object({
  host: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })])),
  service: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })])),
  ...timeParams
}, { additionalProperties: false })
export type MetricsQuerystring = Static<typeof MetricsQuerystring>

/** (service, metric) pairs with data in the range: processes reporting and the last report. */
async function metricNames (opts: StatsRouteOptions, since: number, until: number, hosts: string[], services: string[]): Promise<Array<{ service: string, metric: string, processes: string | number, last: string | number }>> {
  const params: Record<string, unknown> = { since, until }
  const where = ["ts >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')", "ts <= fromUnixTimestamp64Milli({until:Int64}, 'UTC')"]
  if (hosts.length > 0) { where.push('host IN {hosts:Array(String)}'); params.hosts = hosts }
  if (services.length > 0) { where.push('service IN {services:Array(String)}'); params.services = services }
  const rs = await opts.clickhouse.query({
    query: `SELECT service, metric, uniqExact(host, pid) AS processes, toUnixTimestamp64Milli(max(ts)) AS last
FROM ${opts.database}.stats
WHERE ${where.join(' AND ')}
GROUP BY service, metric
ORDER BY service, metric
LIMIT 10000`,
    query_params: params,
    format: 'JSONEachRow',
    clickhouse_settings: readSettings(opts.limits)
  })
  return await rs.json()
}

export interface StatsRouteOptions { clickhouse: ClickHouseClient, database: string, maxRangeDays: number, limits: ReadLimits, slots: QuerySlots, maxPoints?: number }

function list (v: string | string[] | undefined): string[] {
  if (v === undefined) return []
  return (Array.isArray(v) ? v : [v]).flatMap(s => s.split(',')).filter(s => s !== '')
}

export const statsRoute = fp(async (app: FastifyInstance, opts: StatsRouteOptions) => {
  const maxPoints = opts.maxPoints ?? 100_000
  app.get<{ Querystring: StatsQuerystring }>('/v1/stats', {
    preValidation: utf8QueryHook,
    schema: {
      summary: 'A metric series per host/service/pid',
      querystring: StatsQuerystring,
      response: { 200: Type.Object({ metric: Type.String(), unit: Type.String(), step: Type.Integer(), agg: Type.String(), series: Type.Array(SeriesSchema), hint: Type.Optional(Type.String({ description: 'why series is empty, with the metric names that have data' })) }) }
    }
  }, async (req) => {
    const qs = req.query
    const now = Date.now()
    const { since, until } = timeRange(qs, { defaultSinceMs: 6 * 3_600_000, maxRangeDays: opts.maxRangeDays, now })
    const stepMs = qs.step === undefined ? 60_000 : parseDurationMs(qs.step)
    if (stepMs === null || stepMs < 1000 || stepMs % 1000 !== 0) throw errors.BAD_PARAM('step', `expected whole seconds of at least 1s, e.g. 60s or 5m; got ${JSON.stringify(qs.step)}`)
    const buckets = Math.ceil((until - since) / stepMs)
    if (buckets > maxPoints) throw errors.BAD_PARAM('step', `gives ${buckets} points per series; at most ${maxPoints} (use a larger step or a shorter range)`)
    const agg = (qs.agg ?? 'avg') as Agg
    const params: Record<string, unknown> = { metric: qs.metric, since, until, step: stepMs / 1000, maxRows: maxPoints }
    const where = ['metric = {metric:String}', "ts >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')", "ts <= fromUnixTimestamp64Milli({until:Int64}, 'UTC')"]
    const hosts = list(qs.host)
    const services = list(qs.service)
    if (hosts.length > 0) { where.push('host IN {hosts:Array(String)}'); params.hosts = hosts }
    if (services.length > 0) { where.push('service IN {services:Array(String)}'); params.services = services }
    if (qs.pid !== undefined) { where.push('pid = {pid:UInt32}'); params.pid = qs.pid }
    // the aggregate expression comes from a fixed table keyed by the validated enum, never from input
    const sql = `SELECT host, service, pid, toUnixTimestamp(toStartOfInterval(ts, toIntervalSecond({step:UInt32}))) * 1000 AS t, ${aggs[agg]} AS v
FROM ${opts.database}.stats FINAL
WHERE ${where.join(' AND ')}
GROUP BY host, service, pid, t
ORDER BY host, service, pid, t
LIMIT {maxRows:UInt32}`
    const rows = await opts.slots.run(async () => {
      const rs = await opts.clickhouse.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: readSettings(opts.limits) })
      return await rs.json<{ host: string, service: string, pid: number, t: number, v: number }>()
    })
    const series = new Map<string, { host: string, service: string, pid: number, points: Array<[string, number]> }>()
    for (const r of rows) {
      const k = `${r.host}\u0000${r.service}\u0000${r.pid}`
      let s = series.get(k)
      if (s === undefined) { s = { host: r.host, service: r.service, pid: Number(r.pid), points: [] }; series.set(k, s) }
      s.points.push([new Date(Number(r.t)).toISOString(), Number(r.v)])
    }
    const out = { metric: qs.metric, unit: metricUnit(qs.metric), step: stepMs / 1000, agg, series: [...series.values()] }
    if (out.series.length > 0) return out
    // an empty answer says why: the names that do have data in the range
    const known = await opts.slots.run(async () => await metricNames(opts, since, until, hosts, services))
    const names = [...new Set(known.map(k => k.metric))].sort()
    return { ...out, hint: `no process reported metric '${qs.metric}' from ${new Date(since).toISOString()} to ${new Date(until).toISOString()}${hosts.length + services.length > 0 ? ' with these filters' : ''}; metrics with data: ${names.length > 0 ? names.join(', ') : 'none'}` }
  })

  app.get<{ Querystring: MetricsQuerystring }>('/v1/stats/metrics', {
    preValidation: utf8QueryHook,
    schema: {
      summary: 'The metric names reported per service, with units',
      querystring: MetricsQuerystring,
      response: { 200: Type.Object({ services: Type.Array(Type.Object({ service: Type.String(), metrics: Type.Array(Type.Object({ name: Type.String(), unit: Type.String(), processes: Type.Integer(), last: Type.String() })) })) }) }
    }
  }, async (req) => {
    const qs = req.query
    const { since, until } = timeRange(qs, { defaultSinceMs: 86_400_000, maxRangeDays: opts.maxRangeDays })
    const rows = await opts.slots.run(async () => await metricNames(opts, since, until, list(qs.host), list(qs.service)))
    const services = new Map<string, Array<{ name: string, unit: string, processes: number, last: string }>>()
    for (const r of rows) {
      let m = services.get(r.service)
      if (m === undefined) { m = []; services.set(r.service, m) }
      m.push({ name: r.metric, unit: metricUnit(r.metric), processes: Number(r.processes), last: new Date(Number(r.last)).toISOString() })
    }
    return { services: [...services].map(([service, metrics]) => ({ service, metrics })) }
  })
}, { name: 'sluice-stats' })
