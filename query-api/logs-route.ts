// GET /v1/logs — the cross-machine timeline. JSON by default; NDJSON streamed or
// grep-friendly text lines by Accept header.
import fp from 'fastify-plugin'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { ClickHouseClient } from '@clickhouse/client'
import { filterParams, parseLogFilter } from '../schemas/log-filter.js'
import { errors } from '../platform/errors.js'
import { decodeCursor } from './cursor.js'
import { timeParams, timeRange } from './time.js'
import { utf8QueryHook } from './utf8.js'
import { checkRegex, searchLogs, toLine, type LogLine, type LogQuery } from './search.js'
import { withContext } from './context.js'
import type { QuerySlots, ReadLimits } from './query-slots.js'

/** grep -C bounds: each match costs two primary-key range reads of up to maxContext rows */
export const maxContext = 100
export const maxMatchesWithContext = 200

/** The text search parameters /v1/logs and /v1/histogram share. */
export const textParams = {
  q: Type.Optional(Type.String({ maxLength: 1024, description: 'substring to find in msg or fields' })),
  regex: Type.Optional(Type.String({ maxLength: 1024, description: 'RE2 regular expression (run by ClickHouse)' })),
  i: Type.Optional(Type.Boolean({ description: 'case-insensitive q / regex / v' })),
  w: Type.Optional(Type.Boolean({ description: 'q matches whole words only (like grep -w); served by the full-text indexes' }))
}

export const LogsQuerystring = Type.Object({
  ...textParams,
  ...filterParams,
  ...timeParams,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, description: 'lines per page (default 100, max 5000)' })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { description: 'asc (oldest first, default, as sluice grep prints) or desc (newest first)' })),
  context: Type.Optional(Type.Integer({ minimum: 0, maximum: maxContext, description: `lines before and after each match from the same source (grep -C), at most ${maxContext}; limit ≤ ${maxMatchesWithContext} with context` }))
}, { additionalProperties: false })
export type LogsQuerystring = Static<typeof LogsQuerystring>

export const LogLineSchema = Type.Object({
  ts: Type.String(), host: Type.String(), service: Type.String(), pid: Type.Integer(), level: Type.String(), msg: Type.String(),
  fields: Type.Record(Type.String(), Type.Unknown()), source: Type.String(), path: Type.String(), offset: Type.Integer(), flags: Type.Array(Type.String()),
  context: Type.Optional(Type.Boolean({ description: 'true on lines returned only as context around a match' }))
})

export interface LogsRouteOptions {
  clickhouse: ClickHouseClient
  database: string
  maxRangeDays: number
  limits: ReadLimits
  slots: QuerySlots
}


export function toLogQuery (qs: Omit<LogsQuerystring, 'context'>, maxRangeDays: number, now = Date.now()): LogQuery {
  const { since, until } = timeRange(qs, { defaultSinceMs: 86_400_000, maxRangeDays, now })
  return {
    q: qs.q,
    regex: qs.regex,
    i: qs.i === true,
    w: qs.w === true,
    filter: parseLogFilter(qs),
    since,
    until,
    limit: qs.limit ?? 100,
    order: qs.order ?? 'asc',
    cursor: qs.cursor === undefined ? undefined : decodeCursor(qs.cursor)
  }
}

export function formatText (l: LogLine): string {
  const kv = Object.entries(l.fields).map(([k, v]) => `${k}=${typeof v === 'string' ? (/[\s"=]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
  return `${l.ts} ${l.host} ${l.service} ${l.level.toUpperCase()} ${l.msg.replace(/\n/g, '\\n')}${kv.length > 0 ? ' ' + kv.join(' ') : ''}\n`
}

export const logsRoute = fp(async (app: FastifyInstance, opts: LogsRouteOptions) => {
  app.get<{ Querystring: LogsQuerystring }>('/v1/logs', {
    preValidation: utf8QueryHook,
    schema: {
      summary: 'Search the timeline across all hosts',
      querystring: LogsQuerystring,
      produces: ['application/json', 'application/x-ndjson', 'text/plain'],
      response: { 200: Type.Object({ lines: Type.Array(LogLineSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) }) }
    }
  }, async (req, reply) => {
    const query = toLogQuery(req.query, opts.maxRangeDays)
    const context = req.query.context ?? 0
    if (context > 0 && query.limit > maxMatchesWithContext) throw errors.BAD_PARAM('limit', `must be at most ${maxMatchesWithContext} when context is set`)
    const ac = new AbortController()
    req.raw.once('close', () => { if (!reply.sent) ac.abort() })
    const result = await opts.slots.run(async () => {
      if (query.regex !== undefined && query.regex !== '') await checkRegex(opts.clickhouse, query.i ? `(?i)${query.regex}` : query.regex, opts.limits)
      const found = await searchLogs(opts.clickhouse, opts.database, query, opts.limits, ac.signal)
      const lines = context > 0 ? await withContext(opts.clickhouse, opts.database, found.rows, context, query.order, opts.limits, ac.signal) : found.rows.map(toLine)
      return { lines, nextCursor: found.nextCursor }
    })
    const accept = req.headers.accept ?? ''
    if (result.nextCursor !== null) reply.header('x-next-cursor', result.nextCursor)
    if (accept.includes('application/x-ndjson')) {
      reply.type('application/x-ndjson')
      return reply.send(result.lines.map(l => JSON.stringify(l) + '\n').join(''))
    }
    if (accept.includes('text/plain') && !accept.includes('application/json')) {
      reply.type('text/plain; charset=utf-8')
      return reply.send(result.lines.map(formatText).join(''))
    }
    return result
  })
}, { name: 'sluice-logs' })
