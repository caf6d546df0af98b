// Wiring of each role from a validated Config. Only the CLI knows all stages.
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { isLoopback, type Config } from '../platform/config.js'
import { createClickHouse, type ClickHouse } from '../platform/clickhouse.js'
import { errors } from '../platform/errors.js'
import { prepareKafka } from '../platform/kafka.js'
import { migrate } from '../schemas/migrations.js'
import { topicsFor } from '../schemas/topics.js'
import { info } from '../platform/log.js'
import { buildQueryApi, type QueryApiOptions } from '../query-api/server.js'

export async function openClickHouse (cfg: Config, doMigrate: boolean): Promise<ClickHouse> {
  const ch = await createClickHouse({ url: cfg.clickhouseUrl, user: cfg.clickhouseUser, password: cfg.clickhousePassword, database: cfg.clickhouseDatabase, dataDir: cfg.dataDir })
  if (doMigrate) {
    const r = await migrate(ch.client, ch.database, { retentionDays: cfg.retentionDays }, msg => info(`migrate: ${msg}`))
    if (r.applied.length > 0) info(`migrate: schema at version ${r.current} (${r.applied.length} applied)`)
  }
  return ch
}

export async function checkKafka (brokers: string[], cfg: Config): Promise<void> {
  await prepareKafka(brokers, topicsFor(cfg.topicPrefix), { partitions: cfg.partitions })
}

/** The query API's options from a validated Config: what `sluice serve` and `sluice up` build. */
export function queryApiOptions (cfg: Config, ch: ClickHouse, registries: Registry[], ready?: () => Promise<string | null>, extra: Partial<QueryApiOptions> = {}, tailBrokers?: string[] | null): QueryApiOptions {
  // the live tail reads the logs topic itself; without brokers /v1/tail answers 503
  const tail = tailBrokers !== undefined && tailBrokers !== null ? { brokers: tailBrokers, topics: topicsFor(cfg.topicPrefix), maxTailsPerClient: cfg.maxTailsPerClient, maxResumes: cfg.tailMaxResumes, resumeMaxMessages: cfg.tailResumeMaxMessages } : undefined
  return {
    clickhouse: ch.client,
    database: ch.database,
    tokens: cfg.tokens,
    registries,
    ready,
    tail,
    // beyond loopback the tokens guard the API; on loopback the Host header must name it
    allowedHosts: isLoopback(cfg.bind) ? cfg.allowedHosts : null,
    requestTimeoutMs: cfg.requestTimeoutMs,
    maxQueriesPerClient: cfg.maxQueriesPerClient,
    ...extra
  }
}

export async function listenQueryApi (cfg: Config, ch: ClickHouse, registries: Registry[], ready?: () => Promise<string | null>, extra: Partial<QueryApiOptions> = {}, tailBrokers?: string[] | null): Promise<FastifyInstance> {
  const app = await buildQueryApi(queryApiOptions(cfg, ch, registries, ready, extra, tailBrokers))
  try {
    await app.listen({ port: cfg.port, host: cfg.bind })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EADDRINUSE') throw errors.PORT_IN_USE(cfg.bind, cfg.port)
    if (code === 'EADDRNOTAVAIL') throw errors.CONFIG_INVALID('SLUICE_BIND', cfg.bind, 'no such address on this machine')
    if (code === 'EACCES') throw errors.CONFIG_INVALID('SLUICE_PORT', String(cfg.port), 'permission denied (ports below 1024 need privileges)')
    throw err
  }
  return app
}

export function urlOf (app: FastifyInstance, cfg: Config): string {
  const addr = app.server.address()
  const port = typeof addr === 'object' && addr !== null ? addr.port : cfg.port
  const host = cfg.bind.includes(':') ? `[${cfg.bind}]` : cfg.bind
  return `http://${host}:${port}`
}
