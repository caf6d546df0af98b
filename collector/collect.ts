// `sluice collect` — consumer group over the v1 topics.
//   Kafka (group sluice-collector) ──eachBatch──▶ parse + validate (v1) ──▶ rows
//     ──insert (dedup token = topic:partition:first-last)──▶ ClickHouse ──ack──▶ commit offsets
// Offsets are committed only after ClickHouse acknowledged the insert. One insert is in
// flight per consumer; when ClickHouse fails the batch is retried with backoff (the consumer
// keeps heartbeating) so the backlog stays in Kafka, not in memory.
import type { ClickHouseClient } from '@clickhouse/client'
import type { Consumer, EachBatchPayload } from 'kafkajs'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { createKafka } from '../platform/kafka.js'
import { topicsFor, type Topics } from '../schemas/topics.js'
import { addMessage, emptyRows, type Rows } from './rows.js'
import { info, warn } from '../platform/log.js'

export interface CollectorOptions {
  brokers: string[]
  topics?: Topics
  clickhouse: ClickHouseClient
  database: string
  groupId?: string
  registry?: Registry
  /** fetch tuning: bytes per partition per fetch (default 8 MiB) */
  maxBytesPerPartition?: number
}

export interface Collector {
  start (): Promise<void>
  stop (): Promise<void>
  readonly registry: Registry
}

export function createCollector (opts: CollectorOptions): Collector {
  const registry = opts.registry ?? new Registry()
  const db = opts.database
  const topics = opts.topics ?? topicsFor()
  const m = {
    rows: new Counter({ name: 'sluice_collector_rows_total', help: 'Rows inserted into ClickHouse, by table', labelNames: ['table'], registers: [registry] }),
    dead: new Counter({ name: 'sluice_collector_dead_letters_total', help: 'Records sent to the dead-letter table', registers: [registry] }),
    retries: new Counter({ name: 'sluice_collector_insert_retries_total', help: 'ClickHouse inserts retried after a failure', registers: [registry] }),
    insertSeconds: new Histogram({ name: 'sluice_collector_insert_seconds', help: 'ClickHouse insert latency (one Kafka batch)', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] }),
    batchRows: new Histogram({ name: 'sluice_collector_batch_rows', help: 'Rows per insert batch', buckets: [1, 10, 100, 1000, 10000, 100000], registers: [registry] }),
    lag: new Gauge({ name: 'sluice_collector_consumer_lag', help: 'Messages between the high watermark and the last processed offset', labelNames: ['topic', 'partition'], registers: [registry] })
  }
  let consumer: Consumer | null = null
  let running = false
  let stopped = false

  // embedded chDB keeps per-query settings in its session, so inserts state their own limits
  const insertSettings = { max_execution_time: 0 } as const

  async function insertWithRetry (rows: Rows, token: string, payload: EachBatchPayload): Promise<void> {
    let attempt = 0
    for (;;) {
      try {
        const t0 = process.hrtime.bigint()
        if (rows.logs.length > 0) await opts.clickhouse.insert({ table: `${db}.logs`, values: rows.logs, format: 'JSONEachRow', clickhouse_settings: { ...insertSettings, insert_deduplication_token: `${token}:logs` } })
        if (rows.stats.length > 0) await opts.clickhouse.insert({ table: `${db}.stats`, values: rows.stats, format: 'JSONEachRow', clickhouse_settings: { ...insertSettings, insert_deduplication_token: `${token}:stats` } })
        if (rows.dead.length > 0) await opts.clickhouse.insert({ table: `${db}.dead_letters`, values: rows.dead, format: 'JSONEachRow', clickhouse_settings: { ...insertSettings, insert_deduplication_token: `${token}:dead` } })
        m.insertSeconds.observe(Number(process.hrtime.bigint() - t0) / 1e9)
        return
      } catch (err) {
        if (!running || !payload.isRunning() || payload.isStale()) throw err
        attempt++
        m.retries.inc()
        const delay = Math.min(10_000, 200 * 2 ** Math.min(attempt, 6))
        if (attempt === 1 || attempt % 10 === 0) warn(`collect: insert failed (${(err as Error).message.split('\n')[0]}); retry ${attempt} in ${delay} ms — offsets not committed, nothing is lost`)
        const until = Date.now() + delay
        while (Date.now() < until && running) {
          await new Promise(resolve => setTimeout(resolve, Math.min(1000, until - Date.now())))
          await payload.heartbeat().catch(() => {})
        }
      }
    }
  }

  async function eachBatch (payload: EachBatchPayload): Promise<void> {
    const { batch } = payload
    if (batch.messages.length === 0) return
    const rows = emptyRows()
    for (const msg of batch.messages) addMessage(rows, msg.value, { topic: batch.topic, partition: batch.partition, offset: msg.offset, key: msg.key?.toString('utf8') ?? '' })
    const first = batch.firstOffset()!
    const last = batch.lastOffset()
    const token = `${batch.topic}:${batch.partition}:${first}-${last}`
    await insertWithRetry(rows, token, payload)
    m.rows.inc({ table: 'logs' }, rows.logs.length)
    m.rows.inc({ table: 'stats' }, rows.stats.length)
    m.dead.inc(rows.dead.length)
    m.batchRows.observe(rows.logs.length + rows.stats.length)
    payload.resolveOffset(last)
    await consumer!.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }])
    m.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - Number(last) - 1))
    await payload.heartbeat()
  }

  return {
    registry,
    async start () {
      if (running) return
      const kafka = createKafka(opts.brokers, 'sluice-collector')
      consumer = kafka.consumer({
        groupId: opts.groupId ?? `${topics.prefix}collector`,
        maxBytesPerPartition: opts.maxBytesPerPartition ?? 8 * 1024 * 1024,
        maxBytes: 32 * 1024 * 1024,
        minBytes: 1,
        maxWaitTimeInMs: 250,
        sessionTimeout: 30_000,
        heartbeatInterval: 3000,
        allowAutoTopicCreation: false
      })
      await consumer.connect()
      await consumer.subscribe({ topics: [topics.logs, topics.stats], fromBeginning: true })
      running = true
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch })
      info(`collect: consuming ${topics.logs}, ${topics.stats} → ClickHouse ${db}`)
    },
    async stop () {
      if (stopped) return
      stopped = true
      running = false
      await consumer?.disconnect().catch(() => {})
    }
  }
}
