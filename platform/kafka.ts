// kafkajs wiring shared by every role: one client factory (quiet logs routed to Sluice's
// own log), topic creation, and a reachability probe with a one-line error.
// Importing it registers Sluice's compression codecs (gzip level 1, zstd) with kafkajs.
import './kafka-codecs.js'
import { Kafka, logLevel, type KafkaConfig, type Admin } from 'kafkajs'
import { partitionsFor, type Topics } from '../schemas/topics.js'
import { errors } from './errors.js'
import { warn } from './log.js'

export function createKafka (brokers: string[], clientId: string, extra: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId,
    brokers,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.ERROR,
    logCreator: () => ({ namespace, log }) => {
      if (process.env.SLUICE_KAFKA_DEBUG === '1') warn(`kafkajs ${namespace}: ${log.message}`)
    },
    ...extra
  })
}

/** Connects once (bounded time) and creates Sluice's topics if missing. */
export async function prepareKafka (brokers: string[], t: Topics): Promise<void> {
  const kafka = createKafka(brokers, 'sluice-admin', { retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 } })
  const admin: Admin = kafka.admin()
  try {
    await admin.connect()
    const existing = new Set(await admin.listTopics())
    const missing = Object.entries(partitionsFor(t)).filter(([t]) => !existing.has(t))
    if (missing.length > 0) {
      await admin.createTopics({ waitForLeaders: true, topics: missing.map(([topic, numPartitions]) => ({ topic, numPartitions, replicationFactor: -1 })) })
    }
  } catch (err) {
    throw errors.KAFKA_UNREACHABLE(brokers.join(','), (err as Error).message)
  } finally {
    await admin.disconnect().catch(() => {})
  }
}
