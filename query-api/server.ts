// `sluice serve` — the query API.
//   HTTP ──auth──▶ under-pressure (503 + Retry-After) ──▶ route (TypeBox-validated) ──▶ ClickHouse
// Each feature is a fastify plugin; errors are SluiceErrors with codes and exact messages.
import Fastify, { type FastifyInstance, type FastifyError } from 'fastify'
import underPressure from '@fastify/under-pressure'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { ClickHouseClient } from '@clickhouse/client'
import { Registry } from 'prom-client'
import { SluiceError, errors } from '../platform/errors.js'
import type { Topics } from '../schemas/topics.js'
import { logsRoute } from './logs-route.js'
import { statsRoute } from './stats-route.js'
import { tailRoute, type TailRouteOptions } from './tail-route.js'
import { createTailHub, type TailHubOptions } from './tail-hub.js'
import { createQuerySlots } from './query-slots.js'
import { describeValidation } from './param-errors.js'
import { histogramRoute } from './histogram-route.js'
import { alertsPlugin, type AlertsPluginOptions } from './alerts/routes.js'
import { facetsRoute } from './facets-route.js'
import { webRoute } from './web-route.js'
import { isPublicWebPath, sessionAllows } from './web-session.js'

export interface QueryApiOptions {
  clickhouse: ClickHouseClient
  database: string
  /** bearer tokens; empty = open (only allowed on loopback) */
  tokens: string[]
  registries: Registry[]
  maxRangeDays?: number
  queryTimeoutSeconds?: number
  /** extra readiness probe (e.g. Kafka) */
  ready?: () => Promise<string | null>
  logger?: boolean
  /** live tail: the Kafka logs topic to read; without it /v1/tail answers 503 */
  tail?: { brokers: string[], topics: Topics } & Omit<TailRouteOptions, 'hub' | 'registry'> & Pick<TailHubOptions, 'ringLines' | 'ringBytes'>
  /** ClickHouse queries in flight at once (default 4); more get 503 + Retry-After */
  maxConcurrentQueries?: number
  /** rows one query may read (default 1e9) */
  maxRowsToRead?: number
  /** alert rules, evaluator and notifications (query-api/alerts); absent = off */
  alerts?: Omit<AlertsPluginOptions, 'clickhouse' | 'database'>
}

const clickhouseErrorStatus: Record<string, [number, string]> = {
  427: [400, 'invalid regular expression'],
  159: [503, 'query timed out'],
  158: [400, 'query reads too many rows; narrow the time range or add filters'],
  241: [503, 'query exceeded the memory limit'],
  202: [503, 'too many simultaneous queries']
}

export async function buildQueryApi (opts: QueryApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? false,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false, verbose: true } },
    return503OnClosing: true,
    forceCloseConnections: true
  })

  await app.register(swagger, { openapi: { info: { title: 'Sluice query API', version: '1' }, components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } } })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  await app.register(underPressure, {
    maxEventLoopDelay: 1000,
    maxEventLoopUtilization: 0.98,
    retryAfter: 5,
    exposeStatusRoute: false,
    pressureHandler: (_req, reply, type, value) => {
      reply.code(503).header('retry-after', '5').send({ error: 'SLUICE_ERR_OVERLOADED', message: errors.OVERLOADED(`${String(type)} ${String(value)}`).message })
    }
  })

  if (opts.tokens.length > 0) {
    const tokens = new Set(opts.tokens)
    app.addHook('onRequest', async (req) => {
      if (req.url === '/healthz' || req.url.startsWith('/docs')) return
      if (isPublicWebPath(req.method, req.url) || sessionAllows(req, tokens)) return
      const h = req.headers.authorization ?? ''
      const tok = h.startsWith('Bearer ') ? h.slice(7).trim() : ''
      if (!tokens.has(tok)) throw errors.UNAUTHORIZED()
    })
  }

  app.setErrorHandler((err: FastifyError | SluiceError, req, reply) => {
    if (err instanceof SluiceError) {
      if (err.statusCode === 503) reply.header('retry-after', '5')
      return reply.code(err.statusCode).send({ error: err.code, message: err.message })
    }
    if ((err as FastifyError).validation !== undefined) {
      const { name, why } = describeValidation((err as FastifyError).validation as Parameters<typeof describeValidation>[0])
      return reply.code(400).send({ error: 'SLUICE_ERR_BAD_PARAM', message: `invalid query parameter '${name}': ${why}` })
    }
    const chCode = (err as { code?: string }).code
    if (chCode !== undefined && clickhouseErrorStatus[chCode] !== undefined) {
      const [status, text] = clickhouseErrorStatus[chCode]
      if (status === 503) reply.header('retry-after', '5')
      return reply.code(status).send({ error: status === 400 ? 'SLUICE_ERR_BAD_PARAM' : 'SLUICE_ERR_OVERLOADED', message: `${text}: ${err.message.split('\n')[0].slice(0, 300)}` })
    }
    if ((err as FastifyError).statusCode !== undefined && (err as FastifyError).statusCode! < 500) {
      return reply.code((err as FastifyError).statusCode!).send({ error: (err as FastifyError).code ?? 'SLUICE_ERR_BAD_REQUEST', message: err.message })
    }
    req.log.error(err)
    process.stderr.write(`sluice: query error: ${err.message.split('\n')[0]}\n`)
    return reply.code(500).send({ error: 'SLUICE_ERR_INTERNAL', message: 'internal error; see the server log' })
  })

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }))
  const apiRegistry = new Registry()
  // read at scrape time: the routes below register their metrics after this point
  const registries = [...opts.registries, apiRegistry]
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    reply.type(apiRegistry.contentType)
    return (await Promise.all(registries.map(async r => await r.metrics()))).join('\n')
  })

  const limits = { maxExecutionSeconds: opts.queryTimeoutSeconds ?? 30, maxRowsToRead: opts.maxRowsToRead ?? 1_000_000_000 }
  const slots = createQuerySlots(opts.maxConcurrentQueries ?? 4, apiRegistry)
  const maxRangeDays = opts.maxRangeDays ?? 31
  await app.register(logsRoute, { clickhouse: opts.clickhouse, database: opts.database, maxRangeDays, limits, slots })
  await app.register(histogramRoute, { clickhouse: opts.clickhouse, database: opts.database, maxRangeDays, limits, slots })
  await app.register(facetsRoute, { clickhouse: opts.clickhouse, database: opts.database, maxRangeDays, limits, slots })
  await app.register(webRoute, { tokens: opts.tokens })
  await app.register(statsRoute, { clickhouse: opts.clickhouse, database: opts.database, maxRangeDays, limits, slots })
  const hub = opts.tail !== undefined ? createTailHub({ brokers: opts.tail.brokers, topic: opts.tail.topics.logs, groupPrefix: opts.tail.topics.prefix, ringLines: opts.tail.ringLines, ringBytes: opts.tail.ringBytes, registry: apiRegistry }) : null
  if (hub !== null) {
    await hub.start()
    app.addHook('onClose', async () => { await hub.stop() })
  }
  await app.register(tailRoute, { ...opts.tail, hub, registry: apiRegistry })
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const ping = await opts.clickhouse.ping()
    if (!ping.success) return reply.code(503).send({ status: 'not ready', reason: `clickhouse: ${ping.error.message}` })
    // the tail's consumer gave up (kafkajs crashed without restarting): /v1/tail answers 503
    if (hub !== null && !hub.ready) return reply.code(503).send({ status: 'not ready', reason: 'live tail: its Kafka consumer stopped (see the server log); restart the server' })
    const extra = opts.ready !== undefined ? await opts.ready() : null
    if (extra !== null) return reply.code(503).send({ status: 'not ready', reason: extra })
    return { status: 'ready' }
  })
  if (opts.alerts !== undefined) await app.register(alertsPlugin, { ...opts.alerts, clickhouse: opts.clickhouse, database: opts.database })
  return app
}
