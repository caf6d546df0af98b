// /v1/alerts — the alerting feature as one fastify plugin: it owns the evaluator (started when
// the server is ready, stopped on close) and serves
//   /v1/alerts/rules (CRUD) · GET /v1/alerts (current) · GET /v1/alerts/stream (SSE of
//   transitions) · GET /v1/alerts/history · GET /v1/alerts/notifications (delivery records)
import fp from 'fastify-plugin'
import { Type, type Static } from '@sinclair/typebox'
import { alertMetrics } from './metrics.js'
import type { FastifyInstance } from 'fastify'
import type { ClickHouseClient } from '@clickhouse/client'
import { errors } from '../platform/errors.js'
import { createAlertEvaluator, type AlertEvaluator, type EvaluatorOptions, type TransitionEvent } from './evaluator.js'
import { RuleBody, type Rule } from './rules.js'
import type { Written } from './ruleset.js'
import { parseTime } from '../schemas/time-expr.js'
import { redactUrl } from './destination.js'

export interface AlertsPluginOptions extends EvaluatorOptions {
  /** concurrent /v1/alerts/stream clients (default 100) */
  maxStreams?: number
  /** receives the evaluator once created (the CLI and tests use it) */
  onEvaluator?: (e: AlertEvaluator) => void
}

const IdParams = Type.Object({ id: Type.String({ pattern: '^[a-z0-9][a-z0-9_.-]{0,63}$' }) })
const Limit = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })), rule: Type.Optional(Type.String({ maxLength: 64 })), transition: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false })
const HistoryQuery = Type.Object({ ...Limit.properties, since: Type.Optional(Type.String({ maxLength: 64, description: 'transitions at or after: a duration ago (1h), an ISO time or epoch ms' })) }, { additionalProperties: false })
const StrictQuery = Type.Object({ strict: Type.Optional(Type.String({ description: 'true: a rule on a metric no process has reported (and sluice/stats does not emit) is a 400 instead of a warning' })) })

/** the route's validator is off (raw bodies): the query is checked here */
function strictOf (query: unknown): boolean {
  const q = (query ?? {}) as Record<string, unknown>
  for (const k of Object.keys(q)) if (k !== 'strict') throw errors.BAD_PARAM(k, 'is not a parameter of this route; accepted: strict')
  const v = q.strict
  if (v === undefined || v === 'false' || v === '0') return false
  if (v === 'true' || v === '1' || v === '') return true
  throw errors.BAD_PARAM('strict', `must be true or false, got ${JSON.stringify(v)}`)
}
const AlertsQuery = Type.Object({ all: Type.Optional(Type.Boolean({ description: 'include resolved alerts' })) }, { additionalProperties: false })

function view (r: Rule): Record<string, unknown> {
  const shown = { ...r.body, id: r.id, enabled: r.enabled, origin: r.origin }
  // credentials in a webhook URL are used for sending, never shown
  if (shown.webhook !== undefined) shown.webhook = redactUrl(shown.webhook)
  return shown
}

// per-client buffer limit of the SSE stream: a client that does not read loses events
// (counted), it never makes the server buffer without bound
const maxBufferedBytes = 256 * 1024

export const alertsPlugin = fp(async (app: FastifyInstance, opts: AlertsPluginOptions) => {
  const evaluator = createAlertEvaluator(opts)
  opts.onEvaluator?.(evaluator)
  const maxStreams = opts.maxStreams ?? 100
  const streamDrops = alertMetrics(opts.registry).streamDrops
  const open = new Set<() => void>()

  // after listen, not on ready: a server that fails to bind reports only that, and an API
  // driven through inject() alone (tests) runs no evaluation timer
  app.addHook('onListen', async () => { await evaluator.start() })
  app.addHook('onClose', async () => {
    for (const end of [...open]) end()
    await evaluator.stop()
  })

  const rulesTag = { tags: ['alerts'] }
  app.get('/v1/alerts/rules', { schema: { ...rulesTag, summary: 'List alert rules (API, rules file and built-in); waiting_for_data: enabled stats rules no sample has reached yet' } }, async () => ({ rules: evaluator.rules().map(view), waiting_for_data: evaluator.waitingForData() }))

  app.get<{ Params: Static<typeof IdParams> }>('/v1/alerts/rules/:id', { schema: { ...rulesTag, params: IdParams } }, async req => {
    const r = evaluator.rule(req.params.id)
    if (r === undefined) throw errors.RULE_NOT_FOUND(req.params.id)
    return { rule: view(r) }
  })

  // the schema documents the body; it is checked by checkRuleShape on the raw JSON: the
  // server's coercing validator would turn null into 0 and ["no_data"] into "no_data"
  const raw = { validatorCompiler: () => () => true }
  // `warnings` (only when there are some): metrics no process has reported, with suggestions
  const written = (w: Written): Record<string, unknown> => ({ rule: view(w.rule), ...(w.warnings.length > 0 ? { warnings: w.warnings } : {}) })
  app.post('/v1/alerts/rules', { ...raw, schema: { ...rulesTag, summary: 'Create an alert rule', body: RuleBody, querystring: StrictQuery } }, async (req, reply) => {
    const strict = strictOf(req.query)
    return reply.code(201).send(written(await evaluator.createRule(req.body, strict)))
  })

  app.put<{ Params: Static<typeof IdParams> }>('/v1/alerts/rules/:id', { ...raw, schema: { ...rulesTag, summary: 'Replace an alert rule', params: IdParams, body: RuleBody, querystring: StrictQuery } }, async req => {
    if (!/^[a-z0-9][a-z0-9_.-]{0,63}$/.test(req.params.id)) throw errors.RULE_NOT_FOUND(req.params.id)
    const strict = strictOf(req.query)
    return written(await evaluator.replaceRule(req.params.id, req.body, strict))
  })

  app.delete<{ Params: Static<typeof IdParams> }>('/v1/alerts/rules/:id', { schema: { ...rulesTag, params: IdParams } }, async (req, reply) => {
    await evaluator.deleteRule(req.params.id)
    return reply.code(204).send()
  })

  app.get<{ Querystring: Static<typeof AlertsQuery> }>('/v1/alerts', { schema: { ...rulesTag, summary: 'Current alerts (pending and firing; all=true adds resolved)', querystring: AlertsQuery } }, async req => ({ alerts: evaluator.alerts(req.query.all === true) }))

  app.get<{ Querystring: Static<typeof HistoryQuery> }>('/v1/alerts/history', { schema: { ...rulesTag, summary: 'Recorded transitions, newest first', querystring: HistoryQuery } }, async req => {
    let since: number | undefined
    if (req.query.since !== undefined) {
      const t = parseTime(req.query.since, Date.now())
      if (t === null) throw errors.BAD_PARAM('since', `must be a duration ago (30s, 15m, 1h, 7d), an ISO time or epoch ms, got ${JSON.stringify(req.query.since)}`)
      since = t
    }
    return { transitions: await evaluator.store.history(req.query.limit ?? 100, req.query.rule, since) }
  })

  app.get<{ Querystring: Static<typeof Limit> }>('/v1/alerts/notifications', { schema: { ...rulesTag, summary: 'Webhook delivery records (one per attempt), newest first', querystring: Limit } }, async req => ({
    // rows written before targets were stored redacted are redacted here too
    deliveries: (await evaluator.store.deliveries(req.query.limit ?? 100, req.query.transition)).map(d => ({ ...d, target: redactUrl(d.target) }))
  }))

  app.get('/v1/alerts/stream', { schema: { ...rulesTag, summary: 'Server-Sent Events: one `transition` event per alert state change', produces: ['text/event-stream'] } }, async (req, reply) => {
    if (open.size >= maxStreams) throw errors.TOO_MANY_STREAMS(maxStreams)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write(': sluice alert transitions\n\n')
    const send = (e: TransitionEvent): void => {
      if (res.writableLength > maxBufferedBytes) { streamDrops.inc(); return }
      res.write(`id: ${e.transition_id}\nevent: transition\ndata: ${JSON.stringify(e)}\n\n`)
    }
    const unsubscribe = evaluator.subscribe(send)
    const ping = setInterval(() => { if (res.writableLength <= maxBufferedBytes) res.write(': ping\n\n') }, 15_000)
    ping.unref()
    const done = (): void => {
      if (!open.delete(done)) return
      clearInterval(ping); unsubscribe(); res.end()
    }
    open.add(done)
    req.raw.once('close', done)
  })
}, { name: 'sluice-alerts' })

/** Alerting as a feature of a query API (its `plugins` option): the composer gives the
 *  evaluator's settings, the API its ClickHouse. */
export function alertsFeature (opts: Omit<AlertsPluginOptions, 'clickhouse' | 'database'>): (app: FastifyInstance, ctx: { clickhouse: ClickHouseClient, database: string }) => Promise<void> {
  return async (app, ctx) => { await app.register(alertsPlugin, { ...opts, clickhouse: ctx.clickhouse, database: ctx.database }) }
}
