// One planned range into ClickHouse: commit the plan (offset `from` + "plan from-to"), insert
// with retry and backoff (partitions paused while it fails), send its dead letters to the
// dead-letter topic, commit `to + 1`. A range ClickHouse keeps rejecting while it answers is
// isolated message by message, and the one message it still rejects is skipped to the dead letters.
import type { ClickHouseClient } from '@clickhouse/client'
import type { EachBatchPayload } from 'kafkajs'
import { warn } from '../platform/log.js'
import type { createDeadLetterTopic } from './dead-letter-topic.js'
import { InjectedInsertFailure, onInsertAcknowledged, type Faults } from './faults.js'
import { insertBatch, isTransientInsertError, RetryAbandoned, RetryGaveUp, withRetry } from './insert.js'
import type { CollectorMetrics } from './metrics.js'
import type { Semaphore, Slot } from './partition-queue.js'
import { encodePlan, type OffsetRange } from './plan.js'
import { emptyRows, type Rows } from './row-types.js'

export interface RangeWriterOptions {
  clickhouse: ClickHouseClient
  database: string
  faults: Faults
  metrics: CollectorMetrics
  deadLetterTopic: ReturnType<typeof createDeadLetterTopic>
  /** ClickHouse inserts running at once, over all partitions */
  insertSlots: Semaphore
  maxBackoffMs: number
  maxInsertAttempts: number
  /** commits an offset of the group (and notes it as the partition's resume point) */
  commit: (topic: string, partition: number, offset: bigint, metadata: string | null) => Promise<void>
  pauseAll: () => void
  resumeAll: () => void
  /** ClickHouse is free of this range: the next open batch may be sealed while it commits */
  onInserted: () => void
  /** up to `to`, the partition is read again one message per range */
  isolate: (topic: string, partition: number, to: bigint) => void
}

export interface PlannedRange { payload: EachBatchPayload, rows: Rows, bytes: number, range: OffsetRange, replay: boolean }

export function createRangeWriter (o: RangeWriterOptions) {
  const target = { client: o.clickhouse, database: o.database, faults: o.faults }
  const m = o.metrics
  let acknowledged = 0

  /** true once an insert has failed maxInsertAttempts times for its rows: not an outage (the
   *  injected one, a transient ClickHouse error, or ClickHouse not answering a SELECT 1) */
  async function poisoned (err: Error, attempts: number): Promise<boolean> {
    if (attempts < o.maxInsertAttempts || err instanceof InjectedInsertFailure || isTransientInsertError(err)) return false
    try {
      await (await o.clickhouse.query({ query: 'SELECT 1', format: 'JSONEachRow' })).json()
      return true
    } catch { return false }
  }

  /** after maxInsertAttempts rejections: isolate the range (false), or skip its one message to
   *  the dead letters (the rows to count instead) */
  async function giveUp (err: RetryGaveUp, job: PlannedRange, retryHooks: Parameters<typeof withRetry>[1]): Promise<Rows | false> {
    const { topic, partition } = job.payload.batch
    const { range, rows } = job
    m.insertFailures.inc()
    const why = err.last.message.split('\n')[0]
    if (range.to > range.from) {
      // ClickHouse keeps rejecting the rows while it answers: find the message. The plan
      // is dropped and the range read again, one message per insert.
      o.isolate(topic, partition, range.to)
      warn(`collect: ${topic}[${partition}]: insert of Kafka offsets ${range.from}-${range.to} failed ${err.attempts} times while ClickHouse answered (${why}); inserting them again one message at a time`)
      await o.commit(topic, partition, range.from, null)
      o.resumeAll()
      return false
    }
    // one message ClickHouse keeps rejecting: skipped to the dead letters, never looped
    // on (the message stays in Kafka until its retention)
    const reason = `insert failed ${err.attempts} times while ClickHouse answered (${why}); Kafka offset ${range.from} skipped (${rows.logCount} log rows, ${rows.stats.length} stats rows, ${rows.dead.length} dead letters)`
    warn(`collect: ${topic}[${partition}]: ${reason}`)
    m.skippedMessages.inc()
    const skipped = { ...emptyRows(), dead: [{ stage: 'insert', reason, raw: '', topic, partition, kafka_offset: range.from.toString(), line_index: 0, host: '' }] }
    await withRetry(() => insertBatch(target, skipped, topic, partition, range, true), retryHooks)
    return skipped
  }

  /**
   * Inserts one planned range; false when the partition is no longer ours (or we are stopping),
   * in which case its next owner replays the range with the same token.
   */
  async function write (job: PlannedRange, slot: Slot, ours: () => boolean, sameGeneration: () => boolean): Promise<boolean> {
    const { payload, range, replay, bytes } = job
    const { topic, partition } = payload.batch
    let rows = job.rows
    try {
      if (!ours()) return false
      // a replayed range is already the committed plan; a new one is persisted before it is inserted
      if (!replay) await o.commit(topic, partition, range.from, encodePlan(range))
      const t0 = process.hrtime.bigint()
      const retryHooks = {
        keepTrying: ours,
        maxBackoffMs: o.maxBackoffMs,
        heartbeat: () => payload.heartbeat(),
        onFailure: (err: Error, attempt: number, delay: number) => {
          m.insertFailures.inc(); m.retries.inc()
          o.pauseAll()
          if (attempt === 1 || attempt % 10 === 0) warn(`collect: insert of ${topic}[${partition}] ${range.from}-${range.to} failed (${err.message.split('\n')[0]}); retry ${attempt} in ${delay} ms — offsets not committed, nothing is lost`)
        }
      }
      try {
        await o.insertSlots.acquire()
        try {
          try {
            await withRetry(() => insertBatch(target, rows, topic, partition, range), { ...retryHooks, giveUp: poisoned })
          } catch (err) {
            if (!(err instanceof RetryGaveUp)) throw err
            const skipped = await giveUp(err, job, retryHooks)
            if (skipped === false) return false
            rows = skipped
          }
        } finally {
          o.insertSlots.release()
          slot.inserted(); o.onInserted()
        }
        m.insertSeconds.observe(Number(process.hrtime.bigint() - t0) / 1e9)
        if (!replay) { acknowledged++; onInsertAcknowledged(o.faults, acknowledged) }
        o.resumeAll()
        if (rows.dead.length > 0) await withRetry(() => o.deadLetterTopic.send(rows.dead), { ...retryHooks, onFailure: (err: Error) => warn(`collect: dead-letter topic: ${err.message}`) })
      } catch (err) {
        if (err instanceof RetryAbandoned) { o.resumeAll(); return false }
        throw err
      }
      countRows(rows, bytes)
      if (!sameGeneration()) return false
      await o.commit(topic, partition, range.to + 1n, null)
      m.lag.set({ topic, partition: String(partition) }, Math.max(0, Number(BigInt(payload.batch.highWatermark) - range.to - 1n)))
      await payload.heartbeat().catch(() => {})
      return true
    } finally {
      slot.inserted()
      slot.release()
    }
  }

  function countRows (rows: Rows, bytes: number): void {
    const n = rows.logCount + rows.stats.length
    m.rows.inc({ table: 'logs' }, rows.logCount)
    m.rows.inc({ table: 'stats' }, rows.stats.length)
    m.noteRows(n)
    m.deadLetters.inc(rows.dead.length)
    m.batchRows.observe(n + rows.dead.length)
    m.batchBytes.observe(bytes)
  }

  return { write }
}
