// GET /v1/histogram — how many lines match per time bucket, split by level (or host, service),
// with the filters of /v1/logs. One ClickHouse query; empty buckets are filled in here.
import fp from 'fastify-plugin'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { ClickHouseClient } from '@clickhouse/client'
import { filterParams, parseLogFilter } from '../schemas/log-filter.js'
import { errors } from '../platform/errors.js'
import { parseDurationMs, timeParams, timeRange } from './time.js'
import { utf8QueryHook } from './utf8.js'
import { buildWhere, checkRegex, unusedIndexes, type LogQuery } from './search.js'
import { textParams } from './logs-route.js'
import { readSettings, type QuerySlots, type ReadLimits } from './query-slots.js'

export const maxBuckets = 1000
const dimensions = ['level', 'host', 'service'] as const
type Dimension = typeof dimensions[number]

export const HistogramQuerystring = Type.Object({
  ...textParams,
  ...filterParams,
  ...timeParams,
  buckets: Type.Optional(Type.Integer({ minimum: 1, maximum: maxBuckets, description: 'about how many buckets (default 100); the step is rounded up to a round duration' })),
  step: Type.Optional(Type.String({ maxLength: 16, description: 'bucket width instead of buckets, e.g. 1m, 5m, 1h (whole seconds)' })),
  by: Type.Optional(Type.Union(dimensions.map(d => Type.Literal(d)), { description: 'split counts by level (default), host or service' }))
}, { additionalProperties: false })
export type HistogramQuerystring = Static<typeof HistogramQuerystring>

/** Round bucket widths, in seconds: a step is the smallest of these giving at most the wanted buckets. */
const roundSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800]

/** The time buckets of a range: `step` (whole seconds) or about `buckets` of a round step;
 *  `first` is the start of the first bucket, `columns` how many there are. Shared with /v1/heatmap. */
export function timeBuckets (qs: { step?: string, buckets?: number }, since: number, until: number): { stepMs: number, first: number, columns: number } {
  if (qs.step !== undefined && qs.buckets !== undefined) throw errors.BAD_PARAM('step', 'give step or buckets, not both')
  let stepMs: number
  if (qs.step !== undefined) {
    const s = parseDurationMs(qs.step)
    if (s === null || s < 1000 || s % 1000 !== 0) throw errors.BAD_PARAM('step', `expected whole seconds of at least 1s, e.g. 30s, 5m, 1h; got ${JSON.stringify(qs.step)}`)
    stepMs = s
  } else stepMs = chooseStepMs(Math.max(1, until - since), qs.buckets ?? 100)
  const columns = Math.floor(until / stepMs) - Math.floor(since / stepMs) + 1
  if (columns > maxBuckets) throw errors.BAD_PARAM('step', `gives ${columns} buckets; at most ${maxBuckets} (use a larger step or a shorter range)`)
  return { stepMs, first: Math.floor(since / stepMs) * stepMs, columns }
}

export function chooseStepMs (rangeMs: number, buckets: number): number {
  const want = rangeMs / buckets / 1000
  const s = roundSteps.find(x => x >= want) ?? Math.ceil(want / 86400) * 86400
  return s * 1000
}

export interface HistogramRouteOptions { clickhouse: ClickHouseClient, database: string, maxRangeDays: number, limits: ReadLimits, slots: QuerySlots }

export const histogramRoute = fp(async (app: FastifyInstance, opts: HistogramRouteOptions) => {
  app.get<{ Querystring: HistogramQuerystring }>('/v1/histogram', {
    preValidation: utf8QueryHook,
    schema: {
      summary: 'Counts of matching lines per time bucket, by level, host or service',
      querystring: HistogramQuerystring,
      response: {
        200: Type.Object({
          since: Type.String(),
          until: Type.String(),
          step: Type.Integer({ description: 'bucket width in seconds' }),
          by: Type.String(),
          buckets: Type.Array(Type.Object({ t: Type.String({ description: 'bucket start' }), counts: Type.Record(Type.String(), Type.Integer()) })),
          total: Type.Integer()
        })
      }
    }
  }, async (req) => {
    const qs = req.query
    const { since, until } = timeRange(qs, { defaultSinceMs: 86_400_000, maxRangeDays: opts.maxRangeDays })
    const { stepMs, first, columns: n } = timeBuckets(qs, since, until)
    const by: Dimension = qs.by ?? 'level'
    const query: LogQuery = { q: qs.q, regex: qs.regex, i: qs.i === true, w: qs.w === true, filter: parseLogFilter(qs), since, until, limit: 0, order: 'asc' }
    const params: Record<string, unknown> = { stepMs }
    const where = buildWhere(query, params)
    // FINAL: a replayed copy of a line (same source and offset) is counted once. `by` comes
    // from the validated enum, never from input text
    const sql = `SELECT intDiv(toUnixTimestamp64Milli(ts), {stepMs:Int64}) * {stepMs:Int64} AS t, ${by} AS k, count() AS n
FROM ${opts.database}.logs FINAL
WHERE ${where.join('\n  AND ')}
GROUP BY t, k
ORDER BY t, k`
    const rows = await opts.slots.run(async () => {
      if (query.regex !== undefined && query.regex !== '') await checkRegex(opts.clickhouse, query.i ? `(?i)${query.regex}` : query.regex, opts.limits)
      const rs = await opts.clickhouse.query({ query: sql, query_params: params, format: 'JSONEachRow', clickhouse_settings: { ...readSettings(opts.limits), ignore_data_skipping_indices: unusedIndexes(query), do_not_merge_across_partitions_select_final: 1 } })
      return await rs.json<{ t: string | number, k: string, n: string | number }>()
    })
    const buckets = Array.from({ length: n }, (_, i) => ({ t: new Date(first + i * stepMs).toISOString(), counts: {} as Record<string, number> }))
    let total = 0
    for (const r of rows) {
      const b = buckets[Math.round((Number(r.t) - first) / stepMs)]
      if (b === undefined) continue
      b.counts[r.k] = Number(r.n)
      total += Number(r.n)
    }
    return { since: new Date(since).toISOString(), until: new Date(until).toISOString(), step: stepMs / 1000, by, buckets, total }
  })
}, { name: 'sluice-histogram' })
