// `sluice serve` — the query API.
//   HTTP ──Host check (loopback)──auth──▶ under-pressure (503 + Retry-After) ──▶ route (TypeBox-validated) ──▶ ClickHouse
// Each feature is a fastify plugin; errors are SluiceErrors with codes and exact messages.
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify'
import underPressure from '@fastify/under-pressure'
import compress from '@fastify/compress'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { ClickHouseClient } from '@clickhouse/client'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { errors } from '../platform/errors.js'
import type { Topics } from '../schemas/topics.js'
import { logsRoute } from './logs-route.js'
import { statsRoute } from './stats-route.js'
import { gapsRoute } from './gaps-route.js'
import { tailRoute, type TailRouteOptions } from './tail-route.js'
import { createTailHub, type TailHubOptions } from './tail-hub.js'
import { createQuerySlots, halfOf } from './query-slots.js'
import { bearerToken, hostAllowed, hostName } from '../platform/auth.js'
import { describeValidation } from './param-errors.js'
import { histogramRoute } from './histogram-route.js'
import { httpErrorHandler, rawClientErrorHandler } from './http-errors.js'
import { heatmapRoute } from './heatmap-route.js'
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
  tail?: { brokers: string[], topics: Topics } & Omit<TailRouteOptions, 'hub' | 'registry'> & Pick<TailHubOptions, 'ringLines' | 'ringBytes' | 'maxResumes' | 'maxResumeWaiters' | 'resumeMaxMessages'>
  /** ClickHouse queries in flight at once (default 4); more get 503 + Retry-After */
  maxConcurrentQueries?: number
  /** of those, what one client (token, or address without tokens) may hold (default half); more get 429 */
  maxQueriesPerClient?: number
  /** Host names accepted besides 127.0.0.1, localhost and [::1] (default none); null = no Host
   *  check (a bind beyond loopback, where tokens guard the API) */
  allowedHosts?: string[] | null
  /** time a client has to send a whole request, headers and body (default 30 s); a response
   *  (an SSE stream) is not limited by it */
  requestTimeoutMs?: number
  /** rows one query may read (default 1e9) */
  maxRowsToRead?: number
  /** features the composer adds (cli/ wires alerting in this way), registered last in this order */
  plugins?: QueryApiPlugin[]
  /** sees every route as it is registered (fastify's onRoute hook; the OpenAPI test lists them) */
  onRoute?: (route: RouteOptions) => void
}

/** A feature added to the API by its composer: it sits behind the same Host check, auth, error
 *  handler and OpenAPI document as the built-in routes, and reads the API's ClickHouse. */
export type QueryApiPlugin = (app: FastifyInstance, ctx: { clickhouse: ClickHouseClient, database: string }) => Promise<void>

/** text/* except SSE, JSON and NDJSON; other types as mime-db marks them (e.g. JavaScript) */
const compressibleTypes = /^text\/(?!event-stream)|^application\/(?:[\w.-]+\+)?json(?:;|$)|^application\/x-ndjson(?:;|$)/

export async function buildQueryApi (opts: QueryApiOptions): Promise<FastifyInstance> {
  const requestTimeout = opts.requestTimeoutMs ?? 30_000
  const app = Fastify({
    logger: opts.logger ?? false,
    // a client trickling its request is cut (Node answers 408); headers get the same bound at most.
    // Node checks these every connectionsCheckingInterval, so it follows a small timeout down
    requestTimeout,
    http: { headersTimeout: Math.min(60_000, requestTimeout), connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(requestTimeout / 4))) },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false, verbose: true } },
    clientErrorHandler: rawClientErrorHandler(requestTimeout),
    return503OnClosing: true,
    forceCloseConnections: true
  })

  if (opts.onRoute !== undefined) app.addHook('onRoute', opts.onRoute)
  // before any route: the plugin hooks each route as it is added. Whole answers of ≥ 1 KiB (JSON,
  // a /v1/logs page as NDJSON or text, the web assets) go out gzip/br when the client accepts it;
  // /v1/tail writes its SSE stream itself (hijacked) and is marked `compress: false` as well
  await app.register(compress, { threshold: 1024, encodings: ['br', 'gzip'], customTypes: compressibleTypes, globalDecompression: false })
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

  const allowedHosts = opts.allowedHosts === undefined ? [] : opts.allowedHosts
  if (allowedHosts !== null) {
    const names = allowedHosts.map(h => h.toLowerCase())
    app.addHook('onRequest', async (req) => {
      if (!hostAllowed(req.headers.host, names)) throw errors.HOST_NOT_ALLOWED(hostName(req.headers.host ?? '').slice(0, 255))
    })
  }
  if (opts.tokens.length > 0) {
    const tokens = new Set(opts.tokens)
    app.addHook('onRequest', async (req) => {
      if (req.url === '/healthz' || req.url.startsWith('/docs')) return
      if (isPublicWebPath(req.method, req.url) || sessionAllows(req, tokens)) return
      if (!tokens.has(bearerToken(req.headers.authorization) ?? '')) throw errors.UNAUTHORIZED()
    })
  }

  app.setErrorHandler(httpErrorHandler)

  app.get('/healthz', { schema: { summary: 'Liveness: the process answers' } }, async () => ({ status: 'ok' }))
  const apiRegistry = new Registry()
  // the process's own memory, heap, GC and event-loop figures (process_*, nodejs_*)
  collectDefaultMetrics({ register: apiRegistry })
  // read at scrape time: the routes below register their metrics after this point
  const registries = [...opts.registries, apiRegistry]
  app.get('/metrics', { schema: { summary: 'Prometheus text: queue depths, consumer lag, drops, query slots' } }, async (_req, reply) => {
    reply.type(apiRegistry.contentType)
    return (await Promise.all(registries.map(async r => await r.metrics()))).join('\n')
  })

  const limits = { maxExecutionSeconds: opts.queryTimeoutSeconds ?? 30, maxRowsToRead: opts.maxRowsToRead ?? 1_000_000_000 }
  const maxQueries = opts.maxConcurrentQueries ?? 4
  const slots = createQuerySlots(maxQueries, apiRegistry, opts.maxQueriesPerClient ?? halfOf(maxQueries))
  const maxRangeDays = opts.maxRangeDays ?? 31
  await app.register(logsRoute, { clickhouse: opts.clickhouse, database: opts.database, maxRangeDays, limits, slots })
  await app.register(histogramRoute, { clickhouse: opts.clickhouse, database: opts.database, maxRangeDays, limits, slots })
  await app.register(heatmapRoute, { clickhouse: opts.clickhouse, database: opts.database, maxRangeDays, limits, slots })
  await app.register(facetsRoute, { clickhouse: opts.clickhouse, database: opts.database, maxRangeDays, limits, slots })
  await app.register(webRoute, { tokens: opts.tokens })
  await app.register(statsRoute, { clickhouse: opts.clickhouse, database: opts.database, maxRangeDays, limits, slots })
  await app.register(gapsRoute, { clickhouse: opts.clickhouse, database: opts.database, limits, slots })
  const hub = opts.tail !== undefined ? createTailHub({ brokers: opts.tail.brokers, topic: opts.tail.topics.logs, groupPrefix: opts.tail.topics.prefix, ringLines: opts.tail.ringLines, ringBytes: opts.tail.ringBytes, maxResumes: opts.tail.maxResumes, maxResumeWaiters: opts.tail.maxResumeWaiters, resumeMaxMessages: opts.tail.resumeMaxMessages, registry: apiRegistry }) : null
  if (hub !== null) {
    await hub.start()
    app.addHook('onClose', async () => { await hub.stop() })
  }
  await app.register(tailRoute, { ...opts.tail, hub, registry: apiRegistry })
  app.get('/readyz', { schema: { summary: 'Readiness: ClickHouse answers and the live tail consumer runs (503 with the reason otherwise)' } }, async (_req, reply) => {
    const ping = await opts.clickhouse.ping()
    if (!ping.success) return reply.code(503).send({ status: 'not ready', reason: `clickhouse: ${ping.error.message}` })
    // the tail's consumer gave up (kafkajs crashed without restarting): /v1/tail answers 503
    if (hub !== null && !hub.ready) return reply.code(503).send({ status: 'not ready', reason: 'live tail: its Kafka consumer stopped (see the server log); restart the server' })
    const extra = opts.ready !== undefined ? await opts.ready() : null
    if (extra !== null) return reply.code(503).send({ status: 'not ready', reason: extra })
    return { status: 'ready' }
  })
  for (const add of opts.plugins ?? []) await add(app, { clickhouse: opts.clickhouse, database: opts.database })
  return app
}
