// GET /v1/heatmap — how many matching lines fall in each (time bucket × value bucket) cell of a
// numeric field (`responseTime`), with the filters of /v1/logs. The value axis is log-linear:
// each decade split into equal linear steps. One ClickHouse query; lines below/above the value
// range and lines without a numeric value are counted, never dropped.
import fp from 'fastify-plugin'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { ClickHouseClient } from '@clickhouse/client'
import { filterParams, parseLogFilter, prefilterLiterals } from '../schemas/log-filter.js'
import { errors } from '../platform/errors.js'
import { timeParams, timeRange } from './time.js'
import { utf8QueryHook } from './utf8.js'
import { buildWhere, checkRegex, unusedIndexes, type LogQuery } from './search.js'
import { textParams } from './logs-route.js'
import { maxBuckets, timeBuckets } from './histogram-route.js'
import { clientKey } from './client-key.js'
import { readSettings, type QuerySlots, type ReadLimits } from './query-slots.js'

/** Value buckets per decade by default: bounds 1, 1.5, 2, … 9.5, 10, 15, … (two significant digits). */
export const defaultDecadeSteps = 18
export const defaultMin = 1
export const defaultMax = 100_000
export const maxValueBuckets = 400

export const HeatmapQuerystring = Type.Object({
  ...textParams,
  ...filterParams,
  field: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 21 })], { description: 'the numeric field to measure, a dotted path without an operator (responseTime); any value with an operator is a field filter, as in /v1/logs' })),
  ...timeParams,
  buckets: Type.Optional(Type.Integer({ minimum: 1, maximum: maxBuckets, description: 'about how many time buckets (default 100); the step is rounded up to a round duration' })),
  step: Type.Optional(Type.String({ maxLength: 16, description: 'time bucket width instead of buckets, e.g. 1m, 5m, 1h (whole seconds)' })),
  min: Type.Optional(Type.Number({ description: `lowest value of the y axis (default ${defaultMin}); must be > 0` })),
  max: Type.Optional(Type.Number({ description: `end of the y axis, exclusive (default ${defaultMax})` })),
  decade_steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 90, description: `equal linear buckets per decade (default ${defaultDecadeSteps})` })),
  by: Type.Optional(Type.Union([Type.Literal('host'), Type.Literal('service')], { description: 'with isolate: count the lines of one host or service separately in each cell' })),
  isolate: Type.Optional(Type.String({ maxLength: 255, description: 'the host (case-insensitive) or service (exact) whose lines get their own count' }))
}, { additionalProperties: false })
export type HeatmapQuerystring = Static<typeof HeatmapQuerystring>

const pathRe = /^[^=:!<>?\s]+$/
const quote = (s: string): string => `'${s.replace(/'/g, "\\'")}'`

/** Splits `field` values into the measured field (a bare path) and field filters (with an operator). */
export function splitMeasuredField (field: string | string[] | undefined): { path: string[], filters: string[] } {
  const all = field === undefined ? [] : Array.isArray(field) ? field : [field]
  const bare = all.filter(f => pathRe.test(f))
  const filters = all.filter(f => !pathRe.test(f))
  if (bare.length === 0) throw errors.BAD_PARAM('field', 'is required: the numeric field to measure, a dotted path without an operator (e.g. field=responseTime); field filters such as responseTime>=500 may be given besides it')
  if (bare.length > 1) throw errors.BAD_PARAM('field', `measures one field; got ${bare.map(quote).join(' and ')} (a field filter needs an operator, e.g. responseTime>=500)`)
  const path = bare[0].split('.')
  if (path.some(k => k === '')) throw errors.BAD_PARAM('field', `has an empty key in its dotted path (a.b.c); got ${quote(bare[0])}`)
  if (path.length > 10) throw errors.BAD_PARAM('field', `has a path deeper than 10 keys; got ${quote(bare[0])}`)
  return { path, filters }
}

const clean = (x: number): number => Number(x.toPrecision(12))

/**
 * Log-linear bucket bounds from min to max: in each decade [10^k, 10^(k+1)) the points
 * 10^k·(1 + 9j/steps), j = 0…steps−1, plus min and max themselves. n+1 bounds for n buckets.
 */
export function logLinearBounds (min: number, max: number, steps: number): number[] {
  const out = [min]
  for (let k = Math.floor(Math.log10(min)); ; k++) {
    const base = 10 ** k
    for (let j = 0; j < steps; j++) {
      const b = clean(base * (1 + 9 * j / steps))
      if (b >= max) { out.push(max); return out }
      if (b > min) out.push(b)
      if (out.length > maxValueBuckets) throw errors.BAD_PARAM('decade_steps', `gives more than ${maxValueBuckets} value buckets from min ${min} to max ${max}; use fewer decade_steps or a narrower min…max`)
    }
  }
}

/** Codes of the rows that fall in no value bucket (bounds are > 0, so no bucket index is negative). */
const NON_NUMERIC = -3
const BELOW = -2
const ABOVE = -1

export interface HeatmapPlan {
  sql: string
  params: Record<string, unknown>
  settings: Record<string, string | number>
  query: LogQuery
  field: string
  since: number
  until: number
  stepMs: number
  first: number
  columns: number
  bounds: number[]
  isolate?: { by: 'host' | 'service', value: string }
}

export function planHeatmap (qs: HeatmapQuerystring, o: { database: string, maxRangeDays: number, limits: ReadLimits, now?: number }): HeatmapPlan {
  const { path, filters } = splitMeasuredField(qs.field)
  const { since, until } = timeRange(qs, { defaultSinceMs: 86_400_000, maxRangeDays: o.maxRangeDays, now: o.now })
  const { stepMs, first, columns } = timeBuckets(qs, since, until)
  const min = qs.min ?? defaultMin
  const max = qs.max ?? defaultMax
  if (!(min > 0)) throw errors.BAD_PARAM('min', `must be greater than 0 (the value axis is logarithmic); got '${min}'`)
  if (!(min < max)) throw errors.BAD_PARAM('min', `must be less than max (${max}); got '${min}'`)
  const bounds = logLinearBounds(min, max, qs.decade_steps ?? defaultDecadeSteps)
  if ((qs.by === undefined) !== (qs.isolate === undefined)) {
    throw qs.by === undefined
      ? errors.BAD_PARAM('isolate', 'needs by=host or by=service')
      : errors.BAD_PARAM('by', 'needs isolate=VALUE (the host or service whose lines are counted separately)')
  }
  const isolate = qs.by !== undefined && qs.isolate !== undefined ? { by: qs.by, value: qs.isolate } : undefined

  const query: LogQuery = { q: qs.q, regex: qs.regex, i: qs.i === true, w: qs.w === true, filter: parseLogFilter({ ...qs, field: filters }), since, until, limit: 0, order: 'asc' }
  const params: Record<string, unknown> = { stepMs, hmBounds: bounds, hmMin: min, hmMax: max }
  const where = buildWhere(query, params)
  const keys = path.map((k, j) => { params[`hmk${j}`] = k; return `{hmk${j}:String}` }).join(', ')
  // JSON is parsed only where the path's keys appear (or an escape might hide them); the value is
  // read as the numeric field filters read it (only a JSON number is a number), so a cell's
  // click-through `field=P>=lo&field=P<hi` selects exactly its lines
  const lits = prefilterLiterals({ path, op: 'exists', value: '', text: '' })
  lits.forEach((l, j) => { params[`hmp${j}`] = l })
  const present = `(${lits.map((_, j) => `position(fields, {hmp${j}:String}) > 0`).join(' AND ')} OR position(fields, '\\\\') > 0)`
  let iso = ''
  if (isolate !== undefined) {
    params.hmIso = isolate.by === 'host' ? isolate.value.toLowerCase() : isolate.value
    // `by` comes from the validated enum, never from input text
    iso = `, countIf(${isolate.by === 'host' ? 'lower(host)' : 'service'} = {hmIso:String}) AS ni`
  }
  // FINAL: a replayed copy of a line (same source and offset) is counted once. The inner query
  // groups by the bucket's lower bound (roundDown over the sorted bounds); the outer
  // turns it into the bucket's index on the few grouped rows
  const sql = `SELECT t, if(y < 0, toInt32(y), toInt32(indexOf({hmBounds:Array(Float64)}, y)) - 1) AS yi, n${iso === '' ? '' : ', ni'}
FROM (
  WITH if(${present}, toFloat64OrNull(JSONExtractRaw(fields, ${keys})), NULL) AS v
  SELECT intDiv(toUnixTimestamp64Milli(ts), {stepMs:Int64}) * {stepMs:Int64} AS t,
    multiIf(v IS NULL, ${NON_NUMERIC}, v < {hmMin:Float64}, ${BELOW}, v >= {hmMax:Float64}, ${ABOVE}, roundDown(v, {hmBounds:Array(Float64)})) AS y,
    count() AS n${iso}
  FROM ${o.database}.logs FINAL
  WHERE ${where.join('\n    AND ')}
  GROUP BY t, y
)
ORDER BY t, yi`
  const settings = { ...readSettings(o.limits), ignore_data_skipping_indices: unusedIndexes(query), do_not_merge_across_partitions_select_final: 1 }
  return { sql, params, settings, query, field: path.join('.'), since, until, stepMs, first, columns, bounds, isolate }
}

export interface HeatmapRow { t: string | number, yi: string | number, n: string | number, ni?: string | number }
interface Tally { total: number, below: number, above: number, nonNumeric: number }

export function assembleHeatmap (p: HeatmapPlan, rows: HeatmapRow[]): Record<string, unknown> {
  const all: Tally = { total: 0, below: 0, above: 0, nonNumeric: 0 }
  const iso: Tally = { total: 0, below: 0, above: 0, nonNumeric: 0 }
  const cells: number[][] = []
  const add = (t: Tally, y: number, n: number): void => {
    t.total += n
    if (y === BELOW) t.below += n
    else if (y === ABOVE) t.above += n
    else if (y === NON_NUMERIC) t.nonNumeric += n
  }
  for (const r of rows) {
    const ti = Math.round((Number(r.t) - p.first) / p.stepMs)
    const y = Number(r.yi)
    const n = Number(r.n)
    const ni = Number(r.ni ?? 0)
    add(all, y, n)
    add(iso, y, ni)
    if (y >= 0 && ti >= 0 && ti < p.columns) cells.push(p.isolate === undefined ? [ti, y, n] : [ti, y, n, ni])
  }
  const y = p.bounds.slice(0, -1).map((lo, i) => ({ lo, hi: p.bounds[i + 1] }))
  return {
    field: p.field,
    since: new Date(p.since).toISOString(),
    until: new Date(p.until).toISOString(),
    step: p.stepMs / 1000,
    start: new Date(p.first).toISOString(),
    columns: p.columns,
    y,
    cells,
    ...all,
    ...(p.isolate !== undefined ? { isolate: { ...p.isolate, ...iso } } : {})
  }
}

const tallySchema = { total: Type.Integer(), below: Type.Integer({ description: 'lines whose value is < min' }), above: Type.Integer({ description: 'lines whose value is ≥ max' }), nonNumeric: Type.Integer({ description: 'lines without the field, or whose value is not a JSON number' }) }

export interface HeatmapRouteOptions { clickhouse: ClickHouseClient, database: string, maxRangeDays: number, limits: ReadLimits, slots: QuerySlots }

export const heatmapRoute = fp(async (app: FastifyInstance, opts: HeatmapRouteOptions) => {
  app.get<{ Querystring: HeatmapQuerystring }>('/v1/heatmap', {
    preValidation: utf8QueryHook,
    schema: {
      summary: 'Counts of matching lines per time bucket × log-linear bucket of a numeric field (a latency heatmap)',
      querystring: HeatmapQuerystring,
      response: {
        200: Type.Object({
          field: Type.String(),
          since: Type.String(),
          until: Type.String(),
          step: Type.Integer({ description: 'time bucket width in seconds' }),
          start: Type.String({ description: 'start of time bucket 0 (a multiple of step, UTC)' }),
          columns: Type.Integer({ description: 'number of time buckets' }),
          y: Type.Array(Type.Object({ lo: Type.Number(), hi: Type.Number() }), { description: 'value buckets, lowest first: lo ≤ value < hi' }),
          cells: Type.Array(Type.Array(Type.Integer()), { description: '[timeIndex, yIndex, count, isolatedCount?], non-empty cells only' }),
          ...tallySchema,
          isolate: Type.Optional(Type.Object({ by: Type.String(), value: Type.String(), ...tallySchema }))
        })
      }
    }
  }, async (req) => {
    const plan = planHeatmap(req.query, { database: opts.database, maxRangeDays: opts.maxRangeDays, limits: opts.limits })
    const q = plan.query
    const rows = await opts.slots.run(async () => {
      if (q.regex !== undefined && q.regex !== '') await checkRegex(opts.clickhouse, q.i ? `(?i)${q.regex}` : q.regex, opts.limits)
      const rs = await opts.clickhouse.query({ query: plan.sql, query_params: plan.params, format: 'JSONEachRow', clickhouse_settings: plan.settings })
      return await rs.json<HeatmapRow>()
    }, clientKey(req))
    return assembleHeatmap(plan, rows)
  })
}, { name: 'sluice-heatmap' })
