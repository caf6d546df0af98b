// `sluice collect` — consumer group over the v1 topics, effectively exactly once into ClickHouse.
//
//   consumer-runner   Kafka fetch (≤ maxBytes, waits ≤ maxWaitMs for ≥ minFetchBytes)
//     ──▶ partition-reader   per partition: replay the persisted planned range first, if any;
//                            parse + validate v1 (invalid → dead letters) into the open batch
//     ──▶ batcher            seal the open batch into a range: full, ClickHouse idle and ready,
//                            or open batches over 2 × maxBatchBytes
//     ──▶ partition-queue    ranges of a partition in order; ≤ maxInsertsInFlight held at once
//     ──▶ range-writer       commit offset `from` + "plan from-to" (plan.ts: deterministic token)
//                            ──▶ insert logs / stats / dead_letters (insert.ts; retry + backoff,
//                            partitions paused while ClickHouse fails)
//                            ──▶ dead letters → dead-letter topic ──▶ commit offset to+1
//
// eachBatch returns once its ranges hold a slot, so the next Kafka fetch and its parsing overlap
// the insert in progress. Memory: at most one fetch response (maxFetchBytes), 2 × maxBatchBytes of
// open batches plus the one being filled, and maxInsertsInFlight parsed ranges (an open batch or
// range also keeps the kafkajs payload of its last fetch referenced, for heartbeats: at most one
// response per partition); while ClickHouse is down the slots stay taken, fetching stops and the
// backlog stays in Kafka. Offsets move only after ClickHouse acknowledged. A failed range rewinds
// its partition to the committed offset: ranges queued behind it drop (never commit past a gap).
import type { ClickHouseClient } from '@clickhouse/client'
import type { Admin, EachBatchPayload } from 'kafkajs'
import { Registry } from 'prom-client'
import { createKafka } from '../platform/kafka.js'
import { info, warn } from '../platform/log.js'
import { topicsFor, type Topics } from '../schemas/topics.js'
import { createBatcher, type OpenBatch } from './batcher.js'
import { createConsumerRunner, type ConsumerRunner } from './consumer-runner.js'
import { createDeadLetterTopic } from './dead-letter-topic.js'
import { faultsFromEnv, type Faults } from './faults.js'
import { insertFilesDirOf, removeStaleInsertFiles } from './insert.js'
import { createCollectorMetrics } from './metrics.js'
import { createPartitionQueue, Semaphore } from './partition-queue.js'
import { createPartitionReader, type PartitionReader } from './partition-reader.js'
import type { OffsetRange } from './plan.js'
import { createRangeWriter } from './range-writer.js'
import type { Rows } from './row-types.js'

export interface CollectorOptions {
  brokers: string[]
  topics?: Topics
  clickhouse: ClickHouseClient
  database: string
  /** consumer group (default `<prefix>collector`) */
  groupId?: string
  registry?: Registry
  /** rows per insert (default 100,000) */
  maxBatchRows?: number
  /** Kafka message bytes per insert (default 32 MiB: 100,000 v1 records of ~300 bytes) */
  maxBatchBytes?: number
  /** bytes per partition per fetch (default 8 MiB) */
  maxBytesPerPartition?: number
  /** bytes per fetch response, all partitions (default 16 MiB) */
  maxFetchBytes?: number
  /** the broker answers a fetch once this many bytes are ready… (default 1 MiB) */
  minFetchBytes?: number
  /** …or after this many ms: the time bound of a batch (default 500 ms) */
  maxWaitMs?: number
  /** parsed batches held at once, queued or inserting (default 2) */
  maxInsertsInFlight?: number
  /** ClickHouse inserts running at once, over all partitions (default 1) */
  maxConcurrentInserts?: number
  /** a member silent this long leaves the group (default 30 s; the broker's minimum is 6 s) */
  sessionTimeoutMs?: number
  /** ceiling of the retry backoff while ClickHouse fails (default 5 s) */
  maxBackoffMs?: number
  faults?: Faults
  /** retention of the logs table in days (the CLI passes SLUICE_RETENTION_DAYS): a line whose ts
   *  is older, or more than a day ahead of its Kafka timestamp, is stored at that timestamp with
   *  the flag ts_out_of_range. Unset: timestamps are not checked. */
  retentionDays?: number
  /** attempts of an insert ClickHouse keeps rejecting while it answers, before its range is
   *  skipped to the dead letters (default 10; outages are retried for as long as they last) */
  maxInsertAttempts?: number
  /** ceiling of the backoff between restarts of a consumer kafkajs gave up on (default 30 s) */
  maxRestartBackoffMs?: number
}

export interface Collector {
  start (): Promise<void>
  /** stops fetching, lets batches in flight finish and commit, leaves the group; safe twice */
  stop (): Promise<void>
  readonly registry: Registry
}

function positive (name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt
  if (!Number.isInteger(v) || v < 1) throw new Error(`collector option ${name} must be a whole number ≥ 1, got ${String(v)}`)
  return v
}

/** the options checked once, defaults applied */
function settingsOf (opts: CollectorOptions) {
  const topics = opts.topics ?? topicsFor()
  const groupId = opts.groupId ?? `${topics.prefix}collector`
  const maxBatchRows = positive('maxBatchRows', opts.maxBatchRows, 100_000)
  const maxBatchBytes = positive('maxBatchBytes', opts.maxBatchBytes, 32 * 1024 * 1024)
  const inFlightLimit = positive('maxInsertsInFlight', opts.maxInsertsInFlight, 2)
  const maxBackoffMs = positive('maxBackoffMs', opts.maxBackoffMs, 5000)
  const maxInsertAttempts = positive('maxInsertAttempts', opts.maxInsertAttempts, 10)
  const sessionTimeout = positive('sessionTimeoutMs', opts.sessionTimeoutMs, 30_000)
  return {
    topics,
    groupId,
    maxBatchRows,
    maxBatchBytes,
    inFlightLimit,
    maxBackoffMs,
    maxInsertAttempts,
    maxConcurrentInserts: positive('maxConcurrentInserts', opts.maxConcurrentInserts, 1),
    retentionDays: opts.retentionDays === undefined ? undefined : positive('retentionDays', opts.retentionDays, 30),
    maxRestartBackoffMs: positive('maxRestartBackoffMs', opts.maxRestartBackoffMs, 30_000),
    consumer: {
      groupId,
      maxBytesPerPartition: opts.maxBytesPerPartition ?? 8 * 1024 * 1024,
      maxBytes: opts.maxFetchBytes ?? 16 * 1024 * 1024,
      minBytes: opts.minFetchBytes ?? 1024 * 1024,
      maxWaitTimeInMs: opts.maxWaitMs ?? 500,
      sessionTimeout,
      heartbeatInterval: Math.max(1000, Math.floor(sessionTimeout / 6)),
      allowAutoTopicCreation: false
    }
  }
}

/** row files of a collector that died mid-insert (embedded mode; see insert.ts) */
function removeRowFilesOfDeadCollectors (clickhouse: ClickHouseClient): void {
  const filesDir = insertFilesDirOf(clickhouse)
  if (filesDir === null) return
  const n = removeStaleInsertFiles(filesDir)
  if (n > 0) info(`collect: removed ${n} row file${n === 1 ? '' : 's'} left by a collector that stopped mid-insert`)
}

/** a stop: no restarts, no new batches; those in flight (`busy`) get 30 s to finish their insert
 *  and commit (or give up if ClickHouse is failing — the range stays in Kafka with its plan) */
async function drainAndClose (runner: ConsumerRunner, busy: () => boolean, close: () => Promise<void>): Promise<void> {
  runner.halt()
  const deadline = Date.now() + 30_000
  while (busy() && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
  await runner.close()
  await close()
}

/** reads one kafkajs batch into its partition's open batch; when that fails, the partition goes
 *  back to its committed offset: the plan (if one was committed) is reloaded and replayed, so
 *  boundaries never drift */
async function readBatch (payload: EachBatchPayload, gen: number, reader: PartitionReader, rewind: (topic: string, partition: number, from: bigint) => void): Promise<void> {
  const { batch } = payload
  try {
    await reader.consume(payload, gen, `${batch.topic}:${batch.partition}`)
  } catch (err) {
    rewind(batch.topic, batch.partition, BigInt(batch.firstOffset() ?? '0'))
    throw err
  }
}

export function createCollector (opts: CollectorOptions): Collector {
  const registry = opts.registry ?? new Registry()
  const s = settingsOf(opts)
  const faults = opts.faults ?? faultsFromEnv(process.env)
  const m = createCollectorMetrics(registry)
  const kafka = createKafka(opts.brokers, 'sluice-collector', {}, type => m.kafkaErrors.inc({ type }))
  const deadLetterTopic = createDeadLetterTopic(kafka, s.topics.deadLetters)
  let admin: Admin | null = null
  let stopping = false
  let stopped: Promise<void> | null = null
  let activeBatches = 0
  let kickTimer: NodeJS.Timeout | null = null // seals a batch that became ready by age while no fetch came
  // bumped by each group generation: a rebalance resets fetch positions to the committed offsets,
  // so it also resets what this member knows about each partition
  let generation = 0
  /** a batch or range of this generation and of the partition's current epoch (not rewound since) */
  const live = (gen: number, key: string, epoch: number): boolean => gen === generation && queue.epochOf(key) === epoch
  const current = (gen: number, key: string, epoch: number): boolean => !stopping && live(gen, key, epoch)

  const batcher = createBatcher<EachBatchPayload>({ maxBatchRows: s.maxBatchRows, maxBatchBytes: s.maxBatchBytes, maxWaitMs: opts.maxWaitMs ?? 500 })
  const queue = createPartitionQueue({ maxInFlight: s.inFlightLimit, metrics: m, onSlotFreed: kick })
  const runner = createConsumerRunner({
    kafka, config: s.consumer, topics: [s.topics.logs, s.topics.stats], partitionsConsumedConcurrently: s.inFlightLimit, maxRestartBackoffMs: s.maxRestartBackoffMs, metrics: m, eachBatch,
    onNewGeneration () { generation++; reader.reset(); batcher.clear(); m.lag.reset() }
  })
  const reader = createPartitionReader({ admin: () => admin!, groupId: s.groupId, metrics: m, batcher, retentionDays: s.retentionDays, epochOf: queue.epochOf, current, clickHouseIdle: queue.idle, enqueue, seal })
  const writer = createRangeWriter({
    clickhouse: opts.clickhouse, database: opts.database, faults, metrics: m, deadLetterTopic, insertSlots: new Semaphore(s.maxConcurrentInserts),
    maxBackoffMs: s.maxBackoffMs, maxInsertAttempts: s.maxInsertAttempts, pauseAll: runner.pauseAll, resumeAll: runner.resumeAll, onInserted: kick,
    isolate: (topic, partition, to) => reader.isolate(`${topic}:${partition}`, to),
    async commit (topic, partition, offset, metadata) {
      await runner.commit(topic, partition, offset, metadata)
      reader.noteCommitted(`${topic}:${partition}`, offset)
    }
  })

  /** ClickHouse went idle: seal the oldest open batch that is ready */
  function kick (): void {
    // (no free slot: a batch sealed now would only wait for one, out of the open-bytes bound)
    if (!queue.idle() || stopping || !queue.hasFreeSlot()) return
    const oldest = batcher.takeOldestReady((key, ob) => live(ob.gen, key, ob.epoch))
    if (oldest === null) return
    seal(oldest.key, oldest.ob).catch(err => warn(`collect: ${oldest.key}: ${(err as Error).message}`))
  }

  async function seal (key: string, ob: OpenBatch<EachBatchPayload>): Promise<void> {
    if (!live(ob.gen, key, ob.epoch)) return
    await enqueue(ob.payload, ob.gen, ob.epoch, key, ob.rows, ob.bytes, { from: ob.from, to: ob.to }, false)
  }

  /** queues one range (partition-queue.ts); a range that fails rewinds its partition */
  async function enqueue (payload: EachBatchPayload, gen: number, epoch: number, key: string, rows: Rows, bytes: number, range: OffsetRange, replay: boolean): Promise<void> {
    const { topic, partition } = payload.batch
    await queue.enqueue(key, bytes, async slot => {
      if (!live(gen, key, epoch)) { slot.inserted(); slot.release(); return }
      let ok = false
      try {
        const ours = (): boolean => runner.isRunning() && !stopping && gen === generation && payload.isRunning()
        ok = await writer.write({ payload, rows, bytes, range, replay }, slot, ours, () => gen === generation)
      } catch (err) {
        warn(`collect: ${topic}[${partition}] ${range.from}-${range.to}: ${(err as Error).message.split('\n')[0]}; going back to the committed offset`)
      }
      if (!ok && gen === generation && !stopping) rewind(topic, partition, range.from)
    })
  }

  /** Drops what this member knew about a partition and fetches it again from the committed offset. */
  function rewind (topic: string, partition: number, failedFrom: bigint): void {
    const key = `${topic}:${partition}`
    queue.bumpEpoch(key)
    const back = reader.forget(topic, partition) ?? failedFrom
    batcher.take(key)
    runner.seek(topic, partition, back)
  }

  async function eachBatch (payload: EachBatchPayload): Promise<void> {
    if (payload.batch.messages.length === 0 || stopping) return
    const gen = generation
    activeBatches++
    try {
      await readBatch(payload, gen, reader, (topic, partition, from) => { if (gen === generation) rewind(topic, partition, from) })
    } finally {
      activeBatches--
    }
  }

  return {
    registry,
    async start () {
      if (runner.isRunning() || stopped !== null) return
      removeRowFilesOfDeadCollectors(opts.clickhouse)
      admin = kafka.admin()
      await admin.connect()
      kickTimer = setInterval(kick, 100)
      kickTimer.unref()
      await runner.start()
      info(`collect: consuming ${s.topics.logs}, ${s.topics.stats} (group ${s.groupId}) → ClickHouse ${opts.database}`)
    },
    stop () {
      stopped ??= (async () => {
        stopping = true
        if (kickTimer !== null) clearInterval(kickTimer)
        await drainAndClose(runner, () => activeBatches > 0 || queue.pending > 0, async () => {
          await admin?.disconnect().catch(() => {})
          await deadLetterTopic.close()
        })
      })()
      return stopped
    }
  }
}
