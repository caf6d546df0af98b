// Configuration: env vars with flag equivalents, validated once at start; a bad value is a
// one-line error naming it. The result is frozen.
import path from 'node:path'
import { errors } from './errors.js'
import { defaultDataDir } from '../schemas/spool-layout.js'
import { defaultLogPartitions, defaultTopicPrefix, topicPrefixRe } from '../schemas/topics.js'

export interface Config {
  /** KAFKA_BROKERS / --brokers: host:port list; null = start a local broker (sluice up only) */
  kafkaBrokers: string[] | null
  /** CLICKHOUSE_URL / --clickhouse-url; null = embedded chDB under dataDir */
  clickhouseUrl: string | null
  clickhouseUser: string
  clickhousePassword: string
  /** CLICKHOUSE_DATABASE: database holding Sluice's tables (default sluice) */
  clickhouseDatabase: string
  /** SLUICE_DATA_DIR / --data-dir (default ./.sluice): spool, checkpoints, embedded ClickHouse, local Kafka */
  dataDir: string
  /** SLUICE_PORT / --port (default 7070) */
  port: number
  /** SLUICE_BIND / --bind (default 127.0.0.1) */
  bind: string
  /** SLUICE_TOKENS: comma-separated bearer tokens; empty = no auth (allowed only on loopback) */
  tokens: string[]
  /** SLUICE_RETENTION_DAYS / --retention-days: TTL of logs and stats (default 30 days) */
  retentionDays: number
  /** SLUICE_TOPIC_PREFIX: prefix of the Kafka topics and consumer groups (default "sluice.") */
  topicPrefix: string
  /** SLUICE_PARTITIONS: partitions of the logs topic when Sluice creates it (default 4) */
  partitions: number
  /** SLUICE_ALLOWED_HOSTS: Host header names accepted on a loopback bind besides 127.0.0.1, localhost, [::1] */
  allowedHosts: string[]
  /** SLUICE_REQUEST_TIMEOUT_MS: time a client has to send a whole request (default 30000 ms; SSE streams are not cut) */
  requestTimeoutMs: number
  /** SLUICE_MAX_QUERIES_PER_CLIENT: query slots one token (or address, without tokens) may hold (default 2 of 4) */
  maxQueriesPerClient: number | undefined
  /** SLUICE_MAX_TAILS_PER_CLIENT: live tails one token (or address) may hold (default 128 of 256) */
  maxTailsPerClient: number | undefined
  /** SLUICE_TAIL_MAX_RESUMES: tails reading back from Kafka at once (default 2; 16 more wait) */
  tailMaxResumes: number | undefined
  /** SLUICE_TAIL_RESUME_MAX_MESSAGES: how far behind the live tail (Kafka messages per partition) a resume may start (default 20000) */
  tailResumeMaxMessages: number | undefined
}

export type Flags = Partial<Record<'brokers' | 'clickhouse-url' | 'data-dir' | 'port' | 'bind' | 'retention-days', string>>

const hostPortRe = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/

function parseBrokers (raw: string, name: string): string[] {
  const list = raw.split(',').map(s => s.trim()).filter(s => s !== '')
  if (list.length === 0) throw errors.CONFIG_INVALID(name, raw, 'expected host:port[,host:port…], e.g. 127.0.0.1:9092')
  for (const b of list) {
    const m = hostPortRe.exec(b)
    if (m === null) throw errors.CONFIG_INVALID(name, raw, `'${b}' is not host:port, e.g. 127.0.0.1:9092`)
    const port = Number(m[3])
    if (port < 1 || port > 65535) throw errors.CONFIG_INVALID(name, raw, `port ${port} of '${b}' is outside 1-65535`)
  }
  return list
}

function parsePort (raw: string, name: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) throw errors.CONFIG_INVALID(name, raw, 'expected a port number 0-65535')
  return Number(raw)
}

export function isLoopback (bind: string): boolean {
  return bind === 'localhost' || bind === '::1' || /^127\./.test(bind)
}

export function loadConfig (env: NodeJS.ProcessEnv = process.env, flags: Flags = {}): Readonly<Config> {
  const pick = (flag: keyof Flags, envName: string): [string | undefined, string] =>
    flags[flag] !== undefined ? [flags[flag], `--${flag}`] : [env[envName] === '' ? undefined : env[envName], envName]

  const [brokersRaw, brokersName] = pick('brokers', 'KAFKA_BROKERS')
  const [chUrlRaw, chUrlName] = pick('clickhouse-url', 'CLICKHOUSE_URL')
  if (chUrlRaw !== undefined) {
    let u: URL
    try { u = new URL(chUrlRaw) } catch { throw errors.CONFIG_INVALID(chUrlName, chUrlRaw, 'expected an http(s) URL such as http://127.0.0.1:8123') }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw errors.CONFIG_INVALID(chUrlName, chUrlRaw, 'expected an http(s) URL such as http://127.0.0.1:8123')
  }
  const db = env.CLICKHOUSE_DATABASE ?? 'sluice'
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(db)) throw errors.CONFIG_INVALID('CLICKHOUSE_DATABASE', db, 'expected an identifier ([A-Za-z_][A-Za-z0-9_]*)')
  const [dataRaw] = pick('data-dir', 'SLUICE_DATA_DIR')
  const [portRaw, portName] = pick('port', 'SLUICE_PORT')
  const [bindRaw, bindName] = pick('bind', 'SLUICE_BIND')
  const bind = bindRaw ?? '127.0.0.1'
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(bind)) throw errors.CONFIG_INVALID(bindName, bind, 'expected an IP address or host name')
  const tokens = (env.SLUICE_TOKENS ?? '').split(',').map(s => s.trim()).filter(s => s !== '')
  if (tokens.length === 0 && !isLoopback(bind)) {
    throw errors.CONFIG_INVALID(bindName, bind, 'binding beyond loopback requires SLUICE_TOKENS (comma-separated bearer tokens)')
  }
  const [retRaw, retName] = pick('retention-days', 'SLUICE_RETENTION_DAYS')
  const retentionDays = retRaw === undefined ? 30 : Number(retRaw)
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 3650) throw errors.CONFIG_INVALID(retName, retRaw ?? '', 'expected whole days, 1-3650')
  const topicPrefix = env.SLUICE_TOPIC_PREFIX ?? defaultTopicPrefix
  if (!topicPrefixRe.test(topicPrefix)) throw errors.CONFIG_INVALID('SLUICE_TOPIC_PREFIX', topicPrefix, 'expected letters, digits, . _ - (at most 100)')
  const partRaw = env.SLUICE_PARTITIONS === '' ? undefined : env.SLUICE_PARTITIONS
  if (partRaw !== undefined && (!/^\d{1,4}$/.test(partRaw) || Number(partRaw) < 1 || Number(partRaw) > 1000)) throw errors.CONFIG_INVALID('SLUICE_PARTITIONS', partRaw, 'expected a number of partitions 1-1000')
  const whole = (name: string, min: number, max: number): number | undefined => {
    const raw = env[name]
    if (raw === undefined || raw === '') return undefined
    const n = Number(raw)
    if (!/^\d+$/.test(raw) || n < min || n > max) throw errors.CONFIG_INVALID(name, raw, `expected a whole number ${min}-${max}`)
    return n
  }
  const allowedHosts = (env.SLUICE_ALLOWED_HOSTS ?? '').split(',').map(s => s.trim().toLowerCase()).filter(s => s !== '')
  for (const h of allowedHosts) if (!/^[a-z0-9.[\]:-]{1,255}$/.test(h)) throw errors.CONFIG_INVALID('SLUICE_ALLOWED_HOSTS', env.SLUICE_ALLOWED_HOSTS ?? '', `'${h}' is not a host name (comma-separated names, without port)`)
  return Object.freeze({
    allowedHosts,
    requestTimeoutMs: whole('SLUICE_REQUEST_TIMEOUT_MS', 100, 3_600_000) ?? 30_000,
    maxQueriesPerClient: whole('SLUICE_MAX_QUERIES_PER_CLIENT', 1, 1000),
    maxTailsPerClient: whole('SLUICE_MAX_TAILS_PER_CLIENT', 1, 100_000),
    tailMaxResumes: whole('SLUICE_TAIL_MAX_RESUMES', 1, 1000),
    tailResumeMaxMessages: whole('SLUICE_TAIL_RESUME_MAX_MESSAGES', 1, 1_000_000_000),
    topicPrefix,
    partitions: partRaw === undefined ? defaultLogPartitions : Number(partRaw),
    kafkaBrokers: brokersRaw === undefined ? null : parseBrokers(brokersRaw, brokersName),
    clickhouseUrl: chUrlRaw ?? null,
    clickhouseUser: env.CLICKHOUSE_USER ?? 'default',
    clickhousePassword: env.CLICKHOUSE_PASSWORD ?? '',
    clickhouseDatabase: db,
    dataDir: path.resolve(dataRaw ?? defaultDataDir),
    port: portRaw === undefined ? 7070 : parsePort(portRaw, portName),
    bind,
    tokens,
    retentionDays
  })
}
