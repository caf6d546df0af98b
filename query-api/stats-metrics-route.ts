// GET /v1/stats/metrics — which metrics each service reports: name, unit (schemas/metric-units.ts),
// how many processes reported it and when it was last seen, in one grouped query.
import type { FastifyInstance } from 'fastify'
import type { ClickHouseClient } from '@clickhouse/client'
import { Type, type Static } from '@sinclair/typebox'
import { errors } from '../platform/errors.js'
import { metricUnits, unitOf } from '../schemas/metric-units.js'
import { clientKey } from './client-key.js'
import { readSettings, type QuerySlots, type ReadLimits } from './query-slots.js'
import { utf8QueryHook } from './utf8.js'
import { schemaError, statsRangeMessages } from './stats-params.js'
import { timeRange } from './time.js'
import { paramValues } from '../schemas/log-filter.js'

/** what the metrics route needs of the stats route's options */
export interface StatsMetricsOptions { clickhouse: ClickHouseClient, database: string, maxRangeDays: number, limits: ReadLimits, slots: QuerySlots }

// repeatable or comma-separated; one value is coerced to a 1-item array
const Names = Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })
export const MetricsQuerystring = Type.Object({
  host: Type.Optional(Names),
  service: Type.Optional(Names),
  since: Type.Optional(Type.String({ maxLength: 64, description: 'relative or ISO-8601; default 24h' })),
  until: Type.Optional(Type.String({ maxLength: 64, description: 'relative or ISO-8601; default now' }))
}, { additionalProperties: false })
type MetricsQuerystring = Static<typeof MetricsQuerystring>
const accepted = Object.keys(MetricsQuerystring.properties)

const MetricEntry = Type.Object({
  metric: Type.String(),
  unit: Type.String({ description: 'bytes, count, ms, ratio, or unknown (a metric sluice/stats does not emit)' }),
  description: Type.Optional(Type.String()),
  processes: Type.Integer({ description: 'distinct (host, pid) that reported it in the range' }),
  last_seen: Type.String({ description: 'time of the newest sample' })
})
const MetricsResponse = Type.Object({
  since: Type.String(),
  until: Type.String(),
  services: Type.Array(Type.Object({ service: Type.String(), metrics: Type.Array(MetricEntry) }))
})

const maxPairs = 10_000

export async function statsMetricsRoute (app: FastifyInstance, opts: StatsMetricsOptions): Promise<void> {
  app.get<{ Querystring: MetricsQuerystring }>('/v1/stats/metrics', {
    preValidation: utf8QueryHook,
    attachValidation: true,
    schema: { summary: 'The metrics each service reports, with units', querystring: MetricsQuerystring, response: { 200: MetricsResponse } }
  }, async (req) => {
    const bad = schemaError(req, accepted)
    if (bad !== null) throw bad
    const { since, until } = timeRange(req.query, { defaultSinceMs: 86_400_000, maxRangeDays: opts.maxRangeDays, messages: statsRangeMessages })
    const params: Record<string, unknown> = { since, until, maxRows: maxPairs + 1 }
    const where = ["ts >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')", "ts <= fromUnixTimestamp64Milli({until:Int64}, 'UTC')"]
    const hosts = paramValues(req.query.host)
    const services = paramValues(req.query.service)
    if (hosts.length > 0) { where.push('host IN {hosts:Array(String)}'); params.hosts = hosts }
    if (services.length > 0) { where.push('service IN {services:Array(String)}'); params.services = services }
    // duplicates (replays) change neither a distinct count nor a maximum: no FINAL needed
    const sql = `SELECT service, metric, uniqExact(host, pid) AS processes, toUnixTimestamp64Milli(max(ts)) AS last
FROM ${opts.database}.stats WHERE ${where.join(' AND ')}
GROUP BY service, metric ORDER BY service, metric LIMIT {maxRows:UInt32}`
    const rows = await opts.slots.run(async () => {
      const rs = await opts.clickhouse.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: readSettings(opts.limits) })
      return await rs.json<{ service: string, metric: string, processes: number, last: number }>()
    }, clientKey(req))
    if (rows.length > maxPairs) throw errors.BAD_PARAM('service', `the range holds more than ${maxPairs} (service, metric) pairs; filter by service or host, or shorten the range`)
    const out: Static<typeof MetricsResponse> = { since: new Date(since).toISOString(), until: new Date(until).toISOString(), services: [] }
    for (const r of rows) {
      let s = out.services[out.services.length - 1]
      if (s === undefined || s.service !== r.service) { s = { service: r.service, metrics: [] }; out.services.push(s) }
      const known = Object.hasOwn(metricUnits, r.metric) ? metricUnits[r.metric] : undefined
      s.metrics.push({ metric: r.metric, unit: unitOf(r.metric), ...(known !== undefined ? { description: known.description } : {}), processes: Number(r.processes), last_seen: new Date(Number(r.last)).toISOString() })
    }
    return out
  })
}
