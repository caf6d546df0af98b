// GET /v1/facets — what the current filter and range hold: the top hosts, services and levels
// with exact counts, and the most frequent keys of `fields` (detected fields) in a bounded
// sample of the matching lines. Same filter parameters as /v1/logs; one ClickHouse statement
// (one scan for the counts, GROUPING SETS) with bound parameters only.
import fp from 'fastify-plugin'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { ClickHouseClient } from '@clickhouse/client'
import { LogsQuerystring, toLogQuery } from './logs-route.js'
import { buildWhere, checkRegex, unusedIndexes } from './search.js'
import { utf8QueryHook } from './utf8.js'
import { readSettings, type QuerySlots, type ReadLimits } from './query-slots.js'

export const FacetsQuerystring = Type.Composite([
  Type.Omit(LogsQuerystring, ['cursor', 'order', 'context', 'limit']),
  Type.Object({ top: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: 'values per facet (default 10)' })) })
], { additionalProperties: false })
export type FacetsQuerystring = Static<typeof FacetsQuerystring>

const FacetValue = Type.Object({ value: Type.String(), count: Type.Integer() })
export const FacetsResponse = Type.Object({
  total: Type.Integer({ description: 'lines matching the filter in the range' }),
  host: Type.Array(FacetValue),
  service: Type.Array(FacetValue),
  level: Type.Array(FacetValue),
  fields: Type.Array(FacetValue, { description: 'keys of fields, counted in a sample of the matching lines' }),
  sampled: Type.Integer({ description: 'lines the detected fields were counted in' })
})
export type FacetsResponse = Static<typeof FacetsResponse>

/** lines read for detected fields: key extraction parses JSON, so it is bounded */
export const fieldSampleLines = 50_000

export interface FacetsRouteOptions { clickhouse: ClickHouseClient, database: string, maxRangeDays: number, limits: ReadLimits, slots: QuerySlots }

export const facetsRoute = fp(async (app: FastifyInstance, opts: FacetsRouteOptions) => {
  app.get<{ Querystring: FacetsQuerystring }>('/v1/facets', {
    preValidation: utf8QueryHook,
    schema: { summary: 'Top hosts, services, levels and field keys for a filter', querystring: FacetsQuerystring, response: { 200: FacetsResponse } }
  }, async (req) => {
    const { top, ...filter } = req.query
    const q = toLogQuery(filter, opts.maxRangeDays)
    const params: Record<string, unknown> = { top: top ?? 10, sample: fieldSampleLines }
    const where = buildWhere(q, params).join(' AND ')
    const db = opts.database
    // one scan for the exact counts: grouping() has a bit set for each column NOT in the row's
    // grouping set (host 4, service 2, level 1), so host rows have 3, service 5, level 6, total 7
    const sql = `SELECT grouping(host, service, level) AS g, toString(host) AS h, toString(service) AS s, toString(level) AS l, count() AS n
FROM ${db}.logs WHERE ${where}
GROUP BY GROUPING SETS ((host), (service), (level), ())
UNION ALL
SELECT 8 AS g, key AS h, '' AS s, '' AS l, count() AS n
FROM (SELECT fields FROM ${db}.logs WHERE ${where} LIMIT {sample:UInt32}) ARRAY JOIN JSONExtractKeys(fields) AS key
GROUP BY key ORDER BY n DESC, key LIMIT {top:UInt32}`
    const ac = new AbortController()
    req.raw.once('close', () => { ac.abort() })
    const rows = await opts.slots.run(async () => {
      if (q.regex !== undefined && q.regex !== '') await checkRegex(opts.clickhouse, q.i ? `(?i)${q.regex}` : q.regex, opts.limits)
      const rs = await opts.clickhouse.query({ query: sql, query_params: params, format: 'JSONEachRow', abort_signal: ac.signal, clickhouse_settings: { ...readSettings(opts.limits), ignore_data_skipping_indices: unusedIndexes(q) } })
      return await rs.json<{ g: number | string, h: string, s: string, l: string, n: string | number }>()
    })
    const out: FacetsResponse = { total: 0, host: [], service: [], level: [], fields: [], sampled: 0 }
    for (const r of rows) {
      const n = Number(r.n)
      const g = Number(r.g)
      if (g === 3) out.host.push({ value: r.h, count: n })
      else if (g === 5) out.service.push({ value: r.s, count: n })
      else if (g === 6) out.level.push({ value: r.l, count: n })
      else if (g === 7) out.total = n
      else if (g === 8) out.fields.push({ value: r.h, count: n })
    }
    const limit = top ?? 10
    for (const k of ['host', 'service', 'level', 'fields'] as const) out[k] = out[k].sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1)).slice(0, limit)
    out.sampled = Math.min(out.total, fieldSampleLines)
    return out
  })
}, { name: 'sluice-facets' })
