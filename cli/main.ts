// `sluice` command line: the roles, separately or all in one (`sluice up`).
import { parseArgs } from 'node:util'
import path from 'node:path'
import fs from 'node:fs'
import { Registry } from 'prom-client'
import { loadConfig, type Flags } from '../platform/config.js'
import { SluiceError, errors } from '../platform/errors.js'
import { fail, info } from '../platform/log.js'
import { startLocalKafka } from '../platform/kafka-launcher.js'
import { createShipper } from '../shipper/ship.js'
import { compressionProblem, type Compression } from '../platform/kafka-codecs.js'
import { serveMetrics } from '../platform/metrics-http.js'
import { createCollector } from '../collector/collect.js'
import { migrate } from '../schemas/migrations.js'
import { topicsFor } from '../schemas/topics.js'
import { dataDirFromEnv, spoolGlobOf, spoolRootOf } from '../schemas/spool-layout.js'
import { checkKafka, listenQueryApi, openClickHouse, urlOf } from './roles.js'
import { tailCommand } from './client.js'
import { grepCommand } from './grep.js'
import { statsCommand } from './stats.js'
import { alertsCommand, alertsFromEnv } from './alerts.js'
import { gapsCommand } from './gaps.js'
import { demoCommand } from './demo.js'

const commonHelp = `Configuration (flag or environment variable):
  --brokers LIST        KAFKA_BROKERS        host:port[,host:port…]
  --clickhouse-url URL  CLICKHOUSE_URL       http(s) URL; unset = embedded chDB in the data dir
                        CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE (default sluice)
  --data-dir DIR        SLUICE_DATA_DIR      default ./.sluice
  --port N              SLUICE_PORT          query API port, default 7070
  --bind ADDR           SLUICE_BIND          default 127.0.0.1
                        SLUICE_TOKENS        bearer tokens, comma-separated (required off loopback)
  --retention-days N    SLUICE_RETENTION_DAYS  default 30
                        SLUICE_TOPIC_PREFIX  Kafka topic/group prefix, default "sluice."
                        SLUICE_PARTITIONS    partitions of the logs topic when created, default 4`

const help = `sluice — centralized logs and process stats for fleets of Node.js services

Usage: sluice <command> [options]

Commands:
  up        all in one: local Kafka (unless KAFKA_BROKERS), collector, query API and a
            shipper for this host, on embedded ClickHouse (unless CLICKHOUSE_URL)
  ship      tail spool files and JSON-lines logs into Kafka   [--path GLOB]… [--service NAME]
  collect   Kafka → ClickHouse
  serve     the query API (HTTP)
  migrate   create or upgrade the ClickHouse schema
  kafka     run a local KRaft Kafka broker or cluster in the foreground   [--brokers N] [--port N] [--data DIR]
  grep      search the timeline         sluice grep --help
  tail      follow new lines live       sluice tail --help
  alerts    alert rules and alerts; add, rm, history   sluice alerts --help
  stats     process metrics with sparklines   sluice stats --help
  gaps      missing byte ranges per source (exit 1 if any is lost)   sluice gaps --help
  demo      feed the running Sluice a simulated fleet (6 hosts × 3 services)   sluice demo --help

${commonHelp}

Set SLUICE_DEBUG=1 for stack traces.`

const configOptions = {
  brokers: { type: 'string' },
  'clickhouse-url': { type: 'string' },
  'data-dir': { type: 'string' },
  port: { type: 'string' },
  bind: { type: 'string' },
  'retention-days': { type: 'string' },
  help: { type: 'boolean', short: 'h' }
} as const

function waitForSignal (): Promise<string> {
  return new Promise(resolve => {
    const on = (sig: string): void => {
      process.removeListener('SIGINT', on); process.removeListener('SIGTERM', on)
      // a second Ctrl-C while stopping exits at once
      process.once('SIGINT', () => { fail('interrupted again: exiting without a clean stop'); process.exit(130) })
      resolve(sig)
    }
    process.on('SIGINT', on)
    process.on('SIGTERM', on)
  })
}

/** SLUICE_PROGRESS_INTERVAL_MS: how often the shipper reports each file's progress (default 10 s) */
function progressIntervalMs (): number | undefined {
  const v = process.env.SLUICE_PROGRESS_INTERVAL_MS
  if (v === undefined || v === '') return undefined
  if (!/^\d{3,9}$/.test(v) || Number(v) < 100) throw errors.CONFIG_INVALID('SLUICE_PROGRESS_INTERVAL_MS', v, 'must be whole milliseconds ≥ 100')
  return Number(v)
}

function flagsOf (values: Record<string, unknown>): Flags {
  const f: Flags = {}
  for (const k of ['brokers', 'clickhouse-url', 'data-dir', 'port', 'bind', 'retention-days'] as const) if (typeof values[k] === 'string') f[k] = values[k] as string
  return f
}

async function up (argv: string[]): Promise<number | undefined> {
  const { values } = parseArgs({ args: argv, options: { ...configOptions, path: { type: 'string', multiple: true }, service: { type: 'string' } }, strict: true })
  if (values.help === true) { console.log(`Usage: sluice up [--path GLOB]… [options]\n\nRuns everything in one process and prints the URL. Ctrl-C stops it cleanly.\n\n${commonHelp}`); return }
  const cfg = loadConfig(process.env, flagsOf(values))
  const alerts = alertsFromEnv()
  fs.mkdirSync(cfg.dataDir, { recursive: true })
  const t0 = Date.now()
  const stops: Array<() => Promise<void>> = []
  const stopAll = async (): Promise<void> => { for (const s of stops.reverse()) await s().catch(err => fail(`while stopping: ${(err as Error).message}`)) }
  process.once('exit', () => {})
  try {
    let brokers = cfg.kafkaBrokers
    if (brokers === null) {
      const k = await startLocalKafka({ dataDir: path.join(cfg.dataDir, 'kafka'), progress: msg => info(msg) })
      stops.push(() => k.stop())
      brokers = [k.brokers]
    }
    await checkKafka(brokers, cfg)
    const ch = await openClickHouse(cfg, true)
    stops.push(() => ch.close())
    const shipperReg = new Registry()
    const collectorReg = new Registry()
    const collector = createCollector({ brokers, topics: topicsFor(cfg.topicPrefix), clickhouse: ch.client, database: ch.database, registry: collectorReg, retentionDays: cfg.retentionDays })
    await collector.start()
    stops.push(() => collector.stop())
    const app = await listenQueryApi(cfg, ch, [shipperReg, collectorReg, alerts.registry], undefined, alerts.api, brokers)
    stops.push(() => app.close())
    const shipper = createShipper({ brokers, topics: topicsFor(cfg.topicPrefix), globs: [spoolGlobOf(cfg.dataDir), ...(values.path ?? [])], dataDir: cfg.dataDir, service: values.service, registry: shipperReg, maxArrayBufferBytes: 0, progressIntervalMs: progressIntervalMs() })
    await shipper.start()
    stops.push(() => shipper.stop())
    const url = urlOf(app, cfg)
    info(`ClickHouse: ${ch.embedded ? 'embedded chDB at ' : ''}${ch.location}; Kafka: ${brokers.join(',')}; spool: ${spoolRootOf(cfg.dataDir)}`)
    info(`up in ${((Date.now() - t0) / 1000).toFixed(1)} s — Ctrl-C to stop`)
    console.log(`Sluice is up: ${url}`)
  } catch (err) {
    await stopAll()
    throw err
  }
  // nothing stops the stack on its own (a collector consumer kafkajs gives up on is replaced)
  const signal = await waitForSignal()
  info(`${signal}: stopping (flushing shipper and collector)…`)
  await stopAll()
  info('stopped')
  return 0
}

async function ship (argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ...configOptions, path: { type: 'string', multiple: true }, service: { type: 'string' }, host: { type: 'string' }, 'max-line-bytes': { type: 'string' }, 'metrics-port': { type: 'string' }, 'no-segments': { type: 'boolean' }, compression: { type: 'string' } }, strict: true })
  if (values.help === true) {
    console.log(`Usage: sluice ship [--path GLOB]… [--service NAME] [--host NAME] [--max-line-bytes N] [--metrics-port N] [--no-segments] [--compression gzip|zstd|none]

Tails the spool directory ($SLUICE_DATA_DIR/spool/*/*.ndjson) and every --path glob into Kafka.
Checkpoints live in $SLUICE_DATA_DIR/shipper and advance only after Kafka acknowledged.
--service is the service of every line (default: the file's directory name; a line's own service key stays in its fields).
--metrics-port serves the shipper's Prometheus metrics at http://127.0.0.1:N/metrics (0 = any free port).
--no-segments sends every line as a normalised v1 record (default: JSON lines travel raw in log
  segments and the collector normalises them; see "Log segments" in the README).
--compression of the Kafka record batches (default gzip, level 1; zstd needs Kafka ≥ 2.1 and is faster,
  but holds more memory while catching up — see "Compression" in the README).

${commonHelp}`)
    return
  }
  const cfg = loadConfig(process.env, flagsOf(values))
  if (cfg.kafkaBrokers === null) throw errors.CONFIG_INVALID('KAFKA_BROKERS', '', 'sluice ship needs KAFKA_BROKERS or --brokers (sluice up starts a local broker for you)')
  const maxLine = values['max-line-bytes'] === undefined ? undefined : Number(values['max-line-bytes'])
  if (maxLine !== undefined && (!Number.isInteger(maxLine) || maxLine < 1024)) throw errors.CONFIG_INVALID('--max-line-bytes', values['max-line-bytes'] ?? '', 'expected whole bytes ≥ 1024')
  const metricsPort = values['metrics-port'] === undefined ? undefined : Number(values['metrics-port'])
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) throw errors.CONFIG_INVALID('--metrics-port', values['metrics-port'] ?? '', 'expected a port number 0-65535')
  const compression = values.compression ?? 'gzip'
  const compressionWhy = compressionProblem(compression)
  if (compressionWhy !== null) throw errors.CONFIG_INVALID('--compression', compression, compressionWhy)
  await checkKafka(cfg.kafkaBrokers, cfg)
  const shipper = createShipper({ brokers: cfg.kafkaBrokers, topics: topicsFor(cfg.topicPrefix), globs: [spoolGlobOf(cfg.dataDir), ...(values.path ?? [])], dataDir: cfg.dataDir, service: values.service, host: values.host, maxLineBytes: maxLine, segments: values['no-segments'] !== true, compression: compression as Compression, progressIntervalMs: progressIntervalMs() })
  const metrics = metricsPort === undefined ? null : await serveMetrics([shipper.registry], metricsPort)
  if (metrics !== null) info(`ship: metrics at ${metrics.url}`)
  await shipper.start()
  await waitForSignal()
  await shipper.stop()
  await metrics?.close()
}

async function collect (argv: string[]): Promise<number | undefined> {
  const { values } = parseArgs({ args: argv, options: { ...configOptions, 'group-id': { type: 'string' }, 'metrics-port': { type: 'string' }, 'batch-rows': { type: 'string' }, 'session-timeout-ms': { type: 'string' }, 'max-insert-attempts': { type: 'string' } }, strict: true })
  if (values.help === true) {
    console.log(`Usage: sluice collect [--group-id ID] [--metrics-port N] [--batch-rows N] [--session-timeout-ms N] [--max-insert-attempts N]

Consumes the v1 topics and inserts into ClickHouse; offsets are committed after the insert.
--metrics-port N        serve Prometheus text at http://$SLUICE_BIND:N/metrics (0 = any free port;
                        beyond loopback it asks for a bearer token from SLUICE_TOKENS, like the API)
--batch-rows N          rows per insert, default 100000
--session-timeout-ms N  how long a silent collector keeps its partitions, default 30000 (≥ 6000)
--max-insert-attempts N tries of an insert ClickHouse keeps rejecting (while it answers) before
                        its offset range is skipped to the dead letters, default 10
Fault drills (off by default): SLUICE_FAULT_INSERT_FAIL_FILE, SLUICE_FAULT_CRASH_AFTER_INSERT,
SLUICE_FAULT_INSERT_POISON_OFFSET (see collector/faults.ts).

${commonHelp}`)
    return
  }
  const cfg = loadConfig(process.env, flagsOf(values))
  if (cfg.kafkaBrokers === null) throw errors.CONFIG_INVALID('KAFKA_BROKERS', '', 'sluice collect needs KAFKA_BROKERS or --brokers')
  const whole = (flag: string, v: string | undefined, min: number, max: number): number | undefined => {
    if (v === undefined) return undefined
    const n = Number(v)
    if (!Number.isInteger(n) || n < min || n > max) throw errors.CONFIG_INVALID(flag, v, `expected a whole number ${min}-${max}`)
    return n
  }
  const metricsPort = whole('--metrics-port', values['metrics-port'], 0, 65535)
  const batchRows = whole('--batch-rows', values['batch-rows'], 1, 10_000_000)
  const maxInsertAttempts = whole('--max-insert-attempts', values['max-insert-attempts'], 1, 1_000_000)
  const sessionTimeoutMs = whole('--session-timeout-ms', values['session-timeout-ms'], 6000, 300_000)
  await checkKafka(cfg.kafkaBrokers, cfg)
  const ch = await openClickHouse(cfg, true)
  const registry = new Registry()
  const collector = createCollector({ brokers: cfg.kafkaBrokers, topics: topicsFor(cfg.topicPrefix), clickhouse: ch.client, database: ch.database, groupId: values['group-id'], registry, maxBatchRows: batchRows, sessionTimeoutMs, maxInsertAttempts, retentionDays: cfg.retentionDays })
  const metrics = metricsPort === undefined ? null : await serveMetrics([registry], metricsPort, cfg.bind, cfg.tokens)
  if (metrics !== null) info(`collect: metrics at ${metrics.url}`)
  await collector.start()
  await waitForSignal()
  await collector.stop()
  await metrics?.close()
  await ch.close()
  return 0
}

async function serve (argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: configOptions, strict: true })
  if (values.help === true) { console.log(`Usage: sluice serve\n\nServes /v1/logs, /v1/stats, /v1/tail (needs KAFKA_BROKERS), /healthz, /readyz, /metrics and OpenAPI at /docs.\n\n${commonHelp}`); return }
  const cfg = loadConfig(process.env, flagsOf(values))
  const alerts = alertsFromEnv()
  const ch = await openClickHouse(cfg, true)
  if (cfg.kafkaBrokers !== null) await checkKafka(cfg.kafkaBrokers, cfg)
  const app = await listenQueryApi(cfg, ch, [alerts.registry], undefined, alerts.api, cfg.kafkaBrokers)
  console.log(`Sluice query API: ${urlOf(app, cfg)}`)
  await waitForSignal()
  await app.close()
  await ch.close()
}

async function migrateCmd (argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: configOptions, strict: true })
  if (values.help === true) { console.log(`Usage: sluice migrate\n\nApplies pending schema migrations (idempotent).\n\n${commonHelp}`); return }
  const cfg = loadConfig(process.env, flagsOf(values))
  const ch = await openClickHouse(cfg, false)
  try {
    const r = await migrate(ch.client, ch.database, { retentionDays: cfg.retentionDays }, msg => info(`migrate: ${msg}`))
    console.log(r.applied.length === 0 ? `schema is up to date (version ${r.current})` : `applied ${r.applied.map(a => `${a.version} (${a.name})`).join(', ')}; schema at version ${r.current}`)
  } finally { await ch.close() }
}

async function kafka (argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, data: { type: 'string' }, brokers: { type: 'string' }, heap: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true })
  if (values.help === true) {
    console.log(`Usage: sluice kafka [--brokers N] [--port N] [--data DIR] [--heap SIZE]

Runs Apache Kafka in KRaft mode (jars from Maven Central, cached) on 127.0.0.1 until Ctrl-C.
--brokers N  brokers in one cluster, default 1. With 3 or more, nodes 1-3 are combined
             broker+controller nodes (a 3-voter quorum that survives the loss of one) and
             topics get replication factor 3 with min.insync.replicas=2; each broker has its
             own free port and data dir (DIR/node-<id>).
--port N     port of a single broker (default: a free port)
--heap SIZE  -Xmx of each broker JVM, default 512m
Defaults: data in $SLUICE_DATA_DIR/kafka.`)
    return
  }
  const port = values.port === undefined ? undefined : Number(values.port)
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) throw errors.CONFIG_INVALID('--port', values.port ?? '', 'expected a port number 1-65535')
  const n = values.brokers === undefined ? 1 : Number(values.brokers)
  if (!/^\d+$/.test(values.brokers ?? '1') || n < 1 || n > 9) throw errors.CONFIG_INVALID('--brokers', values.brokers ?? '', 'expected a number of brokers 1-9')
  if (n > 1 && port !== undefined) throw errors.CONFIG_INVALID('--port', values.port ?? '', 'applies to a single broker only; a cluster picks free ports')
  if (values.heap !== undefined && !/^\d+[mMgG]$/.test(values.heap)) throw errors.CONFIG_INVALID('--heap', values.heap, 'expected a JVM size such as 256m or 1g')
  const dataDir = values.data ?? path.join(dataDirFromEnv(), 'kafka')
  const k = await startLocalKafka({ brokers: n, port, dataDir, heap: values.heap, progress: msg => info(msg) })
  console.log(`Kafka is up: KAFKA_BROKERS=${k.brokers}`)
  await waitForSignal()
  await k.stop()
}

const commands: Record<string, (argv: string[]) => Promise<void | number>> = { up, ship, collect, serve, migrate: migrateCmd, kafka, grep: grepCommand, tail: tailCommand, alerts: alertsCommand, stats: statsCommand, gaps: gapsCommand, demo: demoCommand }

export async function main (argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') { console.log(help); return cmd === undefined ? 2 : 0 }
  if (cmd === '--version' || cmd === '-v') { console.log('sluice 0.1.0'); return 0 }
  const run = commands[cmd]
  if (run === undefined) { fail(`unknown command '${cmd}'; see sluice --help`); return 2 }
  try {
    const code = await run(rest)
    return typeof code === 'number' ? code : 0
  } catch (err) {
    if (process.env.SLUICE_DEBUG === '1') console.error(err)
    if (err instanceof SluiceError) fail(err.message)
    else if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) fail(`${(err as Error).message}; see sluice ${cmd} --help`)
    else fail(`${cmd}: ${(err as Error).message.split('\n')[0]} (SLUICE_DEBUG=1 for details)`)
    return cmd === 'grep' || cmd === 'stats' ? 2 : 1
  }
}
