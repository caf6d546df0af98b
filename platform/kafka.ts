// kafkajs wiring shared by every role: one client factory (quiet logs routed to Sluice's
// own log), topic creation, and a reachability probe with a one-line error.
// Importing it registers Sluice's compression codecs (gzip level 1, zstd) with kafkajs.
import './kafka-codecs.js'
import { createRequire } from 'node:module'
import { Kafka, logLevel, type KafkaConfig, type Admin } from 'kafkajs'
import { partitionsFor, type Topics } from '../schemas/topics.js'
import { errors } from './errors.js'
import { warn } from './log.js'

// kafkajs' table of Kafka error codes (message → type, e.g. NOT_LEADER_FOR_PARTITION); it is not
// part of the typed API, so a kafkajs without it only loses the type names, never the counts
const protocolErrorTypes: Map<string, string> = (() => {
  try {
    const table = (createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes: Array<{ type: string, message: string }> }).errorCodes
    return new Map(table.map(e => [e.message, e.type]))
  } catch { return new Map() }
})()

/** Kafka request errors seen by a client, by type: a Kafka error code type for a request a
 *  broker answered with an error (a leader change shows as NOT_LEADER_FOR_PARTITION,
 *  LEADER_NOT_AVAILABLE or NOT_COORDINATOR), CONNECTION_ERROR / CONNECTION_TIMEOUT for a
 *  broker that did not answer (e.g. the old leader, killed). kafkajs retries all of these
 *  itself after refreshing its metadata; the count is what makes a leader change visible. */
export type KafkaRequestErrorHook = (type: string) => void

export function requestErrorType (namespace: string, message: string, error: unknown): string | null {
  if (namespace !== 'Connection') return null
  if (message.startsWith('Connection error')) return 'CONNECTION_ERROR'
  if (message.startsWith('Connection timeout')) return 'CONNECTION_TIMEOUT'
  if (!message.startsWith('Response ')) return null
  return protocolErrorTypes.get(String(error)) ?? 'OTHER'
}

export function createKafka (brokers: string[], clientId: string, extra: Partial<KafkaConfig> = {}, onRequestError?: KafkaRequestErrorHook): Kafka {
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.ERROR,
    logCreator: () => ({ namespace, log }) => {
      if (onRequestError !== undefined) {
        const type = requestErrorType(namespace, log.message, (log as { error?: unknown }).error)
        if (type !== null) onRequestError(type)
      }
      if (process.env.SLUICE_KAFKA_DEBUG === '1') warn(`kafkajs ${namespace}: ${log.message}`)
    },
    ...extra
  })
}

export interface PrepareOptions {
  /** partitions of the logs topic when it is created (SLUICE_PARTITIONS) */
  partitions?: number
}

/** Replication of the topics Sluice creates on a cluster of `brokers` brokers: three copies
 *  once there are three brokers, and a write (acks=all) needs two of them in sync, so one
 *  broker can be lost without losing an acknowledged line or refusing writes. */
export function replicationFor (brokers: number): { replicationFactor: number, minInsyncReplicas: number } {
  const replicationFactor = Math.max(1, Math.min(3, brokers))
  return { replicationFactor, minInsyncReplicas: replicationFactor >= 3 ? 2 : 1 }
}

/** Connects once (bounded time) and creates Sluice's topics if missing. */
export async function prepareKafka (brokers: string[], t: Topics, opts: PrepareOptions = {}): Promise<void> {
  const kafka = createKafka(brokers, 'sluice-admin', { retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 } })
  const admin: Admin = kafka.admin()
  try {
    await admin.connect()
    const existing = new Set(await admin.listTopics())
    const missing = Object.entries(partitionsFor(t, opts.partitions)).filter(([t]) => !existing.has(t))
    if (missing.length > 0) {
      const { replicationFactor, minInsyncReplicas } = replicationFor((await admin.describeCluster()).brokers.length)
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map(([topic, numPartitions]) => ({ topic, numPartitions, replicationFactor, configEntries: [{ name: 'min.insync.replicas', value: String(minInsyncReplicas) }] }))
      })
    }
  } catch (err) {
    throw errors.KAFKA_UNREACHABLE(brokers.join(','), (err as Error).message)
  } finally {
    await admin.disconnect().catch(() => {})
  }
}
