// `sluice collect` — consumer group over the v1 topics, effectively exactly once into ClickHouse.
//
//   Kafka fetch (≤ maxBytes, waits ≤ maxWaitMs for ≥ minFetchBytes: the time bound of a batch)
//     ──▶ per partition: replay the persisted planned range first, if there is one
//     ──▶ cut into batches by rows / bytes ──▶ parse + validate v1 (invalid → dead letters)
//     ──▶ commit offset `from` + metadata "plan from-to"          (plan.ts: deterministic token)
//     ──▶ insert logs / stats / dead_letters, token = topic:partition:from-to:table (retry + backoff,
//         partitions paused while ClickHouse fails)
//     ──▶ dead letters → dead-letter topic ──▶ commit offset to+1
//
// Ranges of one partition are queued and inserted strictly in order; eachBatch returns once its
// ranges hold a slot, so the next Kafka fetch and its parsing overlap the insert in progress.
// While ClickHouse is busy, each partition's parsed rows gather in an open batch (not yet a
// range: nothing is committed for it, and a crash or rebalance simply fetches it again); it
// becomes a range when ClickHouse goes idle, when it is full, or when the open batches exceed
// 2 × maxBatchBytes. So a backlog is inserted in few large inserts, a trickle at once.
// Memory: at most one fetch response (maxFetchBytes), 2 × maxBatchBytes of open batches plus the
// one being filled, and maxInsertsInFlight parsed ranges (an open batch or range also keeps the
// kafkajs payload of its last fetch referenced, for heartbeats: at most one response per
// partition); while ClickHouse is down the slots stay taken, fetching stops and the backlog
// stays in Kafka.
// Offsets move only after ClickHouse acknowledged.
import type { ClickHouseClient } from '@clickhouse/client'
import type { Admin, Consumer, EachBatchPayload, KafkaMessage } from 'kafkajs'
import { Registry } from 'prom-client'
import { createKafka } from '../platform/kafka.js'
import { info, warn } from '../platform/log.js'
import { topicsFor, type Topics } from '../schemas/topics.js'
import { createDeadLetterTopic } from './dead-letter-topic.js'
import { faultsFromEnv, InjectedInsertFailure, onInsertAcknowledged, type Faults } from './faults.js'
import { insertBatch, insertFilesDirOf, isTransientInsertError, removeStaleInsertFiles, RetryAbandoned, RetryGaveUp, withRetry } from './insert.js'
import { createCollectorMetrics } from './metrics.js'
import { encodePlan, loadStarts, type OffsetRange, type PartitionStart } from './plan.js'
import { addMessage, emptyRows, rowCount, type Meta, type Rows } from './rows.js'

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

interface OpenBatch { payload: EachBatchPayload, gen: number, epoch: number, rows: Rows, bytes: number, from: bigint, to: bigint, since: number, caughtUp: boolean }

class Semaphore {
  private free: number
  private readonly waiting: Array<() => void> = []
  constructor (n: number) { this.free = n }
  async acquire (): Promise<void> {
    if (this.free > 0) { this.free--; return }
    await new Promise<void>(resolve => this.waiting.push(resolve))
  }

  hasFree (): boolean { return this.free > 0 }

  release (): void {
    const next = this.waiting.shift()
    if (next !== undefined) next(); else this.free++
  }
}

function positive (name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt
  if (!Number.isInteger(v) || v < 1) throw new Error(`collector option ${name} must be a whole number ≥ 1, got ${String(v)}`)
  return v
}

export function createCollector (opts: CollectorOptions): Collector {
  const registry = opts.registry ?? new Registry()
  const topics = opts.topics ?? topicsFor()
  const groupId = opts.groupId ?? `${topics.prefix}collector`
  const maxBatchRows = positive('maxBatchRows', opts.maxBatchRows, 100_000)
  const maxBatchBytes = positive('maxBatchBytes', opts.maxBatchBytes, 32 * 1024 * 1024)
  const inFlightLimit = positive('maxInsertsInFlight', opts.maxInsertsInFlight, 2)
  const maxBackoffMs = positive('maxBackoffMs', opts.maxBackoffMs, 5000)
  const maxInsertAttempts = positive('maxInsertAttempts', opts.maxInsertAttempts, 10)
  const sessionTimeout = positive('sessionTimeoutMs', opts.sessionTimeoutMs, 30_000)
  const faults = opts.faults ?? faultsFromEnv(process.env)
  const target = { client: opts.clickhouse, database: opts.database, faults }
  const m = createCollectorMetrics(registry)
  const inFlight = new Semaphore(inFlightLimit)
  const insertSlots = new Semaphore(positive('maxConcurrentInserts', opts.maxConcurrentInserts, 1))
  // Adaptive batch size: the rows of a partition gather in its open batch while ClickHouse is
  // busy and are sealed into a range when the batch is full, when the open batches together
  // hold more than openBytesLimit, or when ClickHouse is idle (nothing queued or inserting) and
  // the batch is ready: its partition was caught up at the last fetch, it holds a quarter of
  // maxBatchRows, or it has waited lingerMs. A trickle is inserted at once, as before; under a backlog inserts grow to
  // maxBatchRows. Small inserts cost ClickHouse far more per row, mostly in merging the small
  // parts and rebuilding their ngram indexes: 500,000 rows as 20,000-row inserts took 6.7 s of
  // its CPU, as 50,000-row inserts 4.4 s, as 100,000-row inserts 3.3 s. (Sealing whenever
  // ClickHouse went idle, as before, made ~38,000-row inserts out of a backlog once RowBinary
  // had made each insert quick.)
  const openBytesLimit = 2 * maxBatchBytes
  const lingerMs = 2 * (opts.maxWaitMs ?? 500)
  // a quarter of a full batch is ready too: ClickHouse idle while the first batches of a
  // backlog fill (1.2 s at the start of the bench) costs more than a 25,000-row insert
  const ready = (ob: OpenBatch): boolean => ob.caughtUp || rowCount(ob.rows) >= maxBatchRows / 4 || Date.now() - ob.since >= lingerMs
  // a batch that became ready by age while no fetch came for its partition
  let kickTimer: NodeJS.Timeout | null = null
  const open = new Map<string, OpenBatch>()
  // partition key → last offset of a range whose insert was given up on: up to there, each
  // message is a range of its own, so the one ClickHouse rejects is found and skipped alone
  const isolateUntil = new Map<string, bigint>()
  let openBytes = 0
  let outstanding = 0 // ranges queued whose insert has not finished yet (ClickHouse busy or about to be)

  const kafka = createKafka(opts.brokers, 'sluice-collector', {}, type => m.kafkaErrors.inc({ type }))
  let consumer: Consumer | null = null
  let admin: Admin | null = null
  const deadLetterTopic = createDeadLetterTopic(kafka, topics.deadLetters)
  let running = false
  let stopping = false
  let stopped: Promise<void> | null = null
  let activeBatches = 0
  let acknowledged = 0

  // Everything below is per group generation: a rebalance resets fetch positions to the
  // committed offsets, so it also resets what this member knows about each partition.
  let generation = 0
  let assignment: Array<{ topic: string, partitions: number[] }> = []
  const startsByTopic = new Map<string, Promise<Map<number, PartitionStart>>>()
  const checked = new Map<string, PartitionStart | null>() // partition key → its start in this generation
  const replays = new Map<string, { range: OffsetRange, messages: KafkaMessage[] }>()
  const committedNext = new Map<string, bigint>() // partition key → the offset the group resumes at
  // Across generations: the queued ranges of each partition, and a counter bumped by a rewind so
  // ranges queued before it are dropped.
  const chains = new Map<string, Promise<void>>()
  const epochs = new Map<string, number>()
  let pausedForFailure: Array<{ topic: string, partitions: number[] }> = []

  function resetGeneration (): void {
    generation++
    startsByTopic.clear()
    checked.clear()
    replays.clear()
    committedNext.clear()
    open.clear(); openBytes = 0
    isolateUntil.clear()
    m.lag.reset()
  }

  // pause/resume/seek throw while the consumer is between a crash and its restart (e.g. Kafka
  // down): then there is nothing to steer — the rejoined member fetches from the committed
  // offsets and GROUP_JOIN resets this member's state — so such a call is skipped, not thrown
  // (regression: a seek during a Kafka outage became an unhandled rejection)
  function steer (what: string, fn: () => void): void {
    try { fn() } catch (err) {
      if (!/not initialized|not running/i.test((err as Error).message)) warn(`collect: ${what} failed: ${(err as Error).message}`)
    }
  }

  function pauseAll (): void {
    if (pausedForFailure.length > 0 || consumer === null) return
    pausedForFailure = assignment.map(a => ({ topic: a.topic, partitions: [...a.partitions] }))
    if (pausedForFailure.length === 0) return
    const paused = pausedForFailure
    steer('pause', () => consumer?.pause(paused))
    m.paused.set(pausedForFailure.reduce((n, a) => n + a.partitions.length, 0))
  }

  function resumeAll (): void {
    if (pausedForFailure.length === 0 || consumer === null) return
    const paused = pausedForFailure
    steer('resume', () => consumer?.resume(paused))
    pausedForFailure = []
    m.paused.set(0)
  }

  async function startOf (topic: string, partition: number): Promise<PartitionStart | null> {
    let p = startsByTopic.get(topic)
    if (p === undefined) {
      p = loadStarts(admin!, groupId, topic)
      startsByTopic.set(topic, p)
      p.catch(() => startsByTopic.delete(topic))
    }
    return (await p).get(partition) ?? null
  }

  async function commit (topic: string, partition: number, offset: bigint, metadata: string | null): Promise<void> {
    try {
      await consumer!.commitOffsets([{ topic, partition, offset: offset.toString(), metadata }])
      committedNext.set(`${topic}:${partition}`, offset)
    } catch (err) {
      m.commitFailures.inc()
      throw err
    }
  }

  /**
   * Inserts one planned range; false when the partition is no longer ours (or we are stopping),
   * in which case its next owner replays the range with the same token.
   */
  async function flush (payload: EachBatchPayload, gen: number, rows: Rows, bytes: number, range: OffsetRange, replay: boolean, inserted: () => void): Promise<boolean> {
    const { topic, partition } = payload.batch
    const ours = (): boolean => running && !stopping && gen === generation && payload.isRunning()
    try {
      if (!ours()) return false
      // a replayed range is already the committed plan; a new one is persisted before it is inserted
      if (!replay) await commit(topic, partition, range.from, encodePlan(range))
      const t0 = process.hrtime.bigint()
      const retryHooks = {
        keepTrying: ours,
        maxBackoffMs,
        heartbeat: () => payload.heartbeat(),
        onFailure: (err: Error, attempt: number, delay: number) => {
          m.insertFailures.inc(); m.retries.inc()
          pauseAll()
          if (attempt === 1 || attempt % 10 === 0) warn(`collect: insert of ${topic}[${partition}] ${range.from}-${range.to} failed (${err.message.split('\n')[0]}); retry ${attempt} in ${delay} ms — offsets not committed, nothing is lost`)
        }
      }
      try {
        await insertSlots.acquire()
        try {
          try {
            await withRetry(() => insertBatch(target, rows, topic, partition, range), { ...retryHooks, giveUp: poisoned })
          } catch (err) {
            if (!(err instanceof RetryGaveUp)) throw err
            m.insertFailures.inc()
            const why = err.last.message.split('\n')[0]
            if (range.to > range.from) {
              // ClickHouse keeps rejecting the rows while it answers: find the message. The plan
              // is dropped and the range read again, one message per insert (consumeBatch).
              isolateUntil.set(`${topic}:${partition}`, range.to)
              warn(`collect: ${topic}[${partition}]: insert of Kafka offsets ${range.from}-${range.to} failed ${err.attempts} times while ClickHouse answered (${why}); inserting them again one message at a time`)
              await commit(topic, partition, range.from, null)
              resumeAll()
              return false
            }
            // one message ClickHouse keeps rejecting: skipped to the dead letters, never looped
            // on (the message stays in Kafka until its retention)
            const reason = `insert failed ${err.attempts} times while ClickHouse answered (${why}); Kafka offset ${range.from} skipped (${rows.logCount} log rows, ${rows.stats.length} stats rows, ${rows.dead.length} dead letters)`
            warn(`collect: ${topic}[${partition}]: ${reason}`)
            m.skippedMessages.inc()
            rows = { ...emptyRows(), dead: [{ stage: 'insert', reason, raw: '', topic, partition, kafka_offset: range.from.toString(), line_index: 0, host: '' }] }
            const skipped = rows
            await withRetry(() => insertBatch(target, skipped, topic, partition, range, true), retryHooks)
          }
        } finally {
          insertSlots.release()
          // ClickHouse is free: the next open batch is sealed while this range commits
          inserted()
        }
        m.insertSeconds.observe(Number(process.hrtime.bigint() - t0) / 1e9)
        if (!replay) { acknowledged++; onInsertAcknowledged(faults, acknowledged) }
        resumeAll()
        if (rows.dead.length > 0) await withRetry(() => deadLetterTopic.send(rows.dead), { ...retryHooks, onFailure: (err: Error) => warn(`collect: dead-letter topic: ${err.message}`) })
      } catch (err) {
        if (err instanceof RetryAbandoned) { resumeAll(); return false }
        throw err
      }
      const n = rows.logCount + rows.stats.length
      m.rows.inc({ table: 'logs' }, rows.logCount)
      m.rows.inc({ table: 'stats' }, rows.stats.length)
      m.noteRows(n)
      m.deadLetters.inc(rows.dead.length)
      m.batchRows.observe(n + rows.dead.length)
      m.batchBytes.observe(bytes)
      if (gen !== generation) return false
      await commit(topic, partition, range.to + 1n, null)
      m.lag.set({ topic, partition: String(partition) }, Math.max(0, Number(BigInt(payload.batch.highWatermark) - range.to - 1n)))
      await payload.heartbeat().catch(() => {})
      return true
    } finally {
      inserted()
      releaseSlot(bytes)
    }
  }

  /** true once an insert has failed maxInsertAttempts times for its rows: not an outage (the
   *  injected one, a transient ClickHouse error, or ClickHouse not answering a SELECT 1) */
  async function poisoned (err: Error, attempts: number): Promise<boolean> {
    if (attempts < maxInsertAttempts || err instanceof InjectedInsertFailure || isTransientInsertError(err)) return false
    try {
      await (await opts.clickhouse.query({ query: 'SELECT 1', format: 'JSONEachRow' })).json()
      return true
    } catch { return false }
  }

  function releaseSlot (bytes: number): void {
    m.inFlight.dec(); m.bufferedBytes.dec(bytes)
    inFlight.release()
    kick()
  }

  /** ClickHouse went idle: seal the oldest open batch that is ready */
  function kick (): void {
    // (no free slot: a batch sealed now would only wait for one, out of the open-bytes bound)
    if (outstanding > 0 || stopping || !inFlight.hasFree()) return
    let oldest: string | null = null
    for (const [key, ob] of open) {
      if (ob.gen !== generation || (epochs.get(key) ?? 0) !== ob.epoch) { takeOpen(key); continue }
      if (!ready(ob)) continue
      if (oldest === null || ob.since < open.get(oldest)!.since) oldest = key
    }
    if (oldest === null) return
    const ob = takeOpen(oldest)!
    seal(oldest, ob).catch(err => warn(`collect: ${oldest}: ${(err as Error).message}`))
  }

  function takeOpen (key: string): OpenBatch | undefined {
    const ob = open.get(key)
    if (ob !== undefined) { open.delete(key); openBytes -= ob.bytes }
    return ob
  }

  async function seal (key: string, ob: OpenBatch): Promise<void> {
    if (ob.gen !== generation || (epochs.get(key) ?? 0) !== ob.epoch) return
    await enqueue(ob.payload, ob.gen, ob.epoch, key, ob.rows, ob.bytes, { from: ob.from, to: ob.to }, false)
  }

  /**
   * Queues one range behind the partition's earlier ones and returns once it holds a slot, so
   * Kafka fetches and parsing overlap the insert before it. Ranges of a partition run strictly
   * in order; when one fails, the ones queued behind it are dropped (they must never commit
   * past a gap) and the partition goes back to its committed offset.
   */
  async function enqueue (payload: EachBatchPayload, gen: number, epoch: number, key: string, rows: Rows, bytes: number, range: OffsetRange, replay: boolean): Promise<void> {
    await inFlight.acquire()
    outstanding++
    let pending = true
    const inserted = (): void => { if (pending) { pending = false; outstanding-- } }
    m.inFlight.inc(); m.bufferedBytes.inc(bytes)
    const prev = chains.get(key) ?? Promise.resolve()
    const link = prev.then(async () => {
      if (gen !== generation || (epochs.get(key) ?? 0) !== epoch) {
        inserted()
        releaseSlot(bytes)
        return
      }
      let ok = false
      try {
        ok = await flush(payload, gen, rows, bytes, range, replay, () => { inserted(); kick() })
      } catch (err) {
        warn(`collect: ${payload.batch.topic}[${payload.batch.partition}] ${range.from}-${range.to}: ${(err as Error).message.split('\n')[0]}; going back to the committed offset`)
      }
      if (!ok && gen === generation && !stopping) rewind(payload.batch.topic, payload.batch.partition, range.from)
    })
    chains.set(key, link)
    void link.finally(() => { if (chains.get(key) === link) chains.delete(key) })
  }

  /** Drops what this member knew about a partition and fetches it again from the committed offset. */
  function rewind (topic: string, partition: number, failedFrom: bigint): void {
    const key = `${topic}:${partition}`
    epochs.set(key, (epochs.get(key) ?? 0) + 1)
    const back = committedNext.get(key) ?? failedFrom
    checked.delete(key); replays.delete(key); startsByTopic.delete(topic)
    takeOpen(key)
    steer('seek', () => consumer?.seek({ topic, partition, offset: back.toString() }))
  }

  const retentionDays = opts.retentionDays === undefined ? undefined : positive('retentionDays', opts.retentionDays, 30)
  function metaOf (msg: KafkaMessage, topic: string, partition: number): Meta {
    const meta: Meta = { topic, partition, offset: msg.offset, key: msg.key?.toString('utf8') ?? '' }
    if (retentionDays === undefined) return meta
    // the producer's timestamp: the same on every replay of the message, so are its rows
    const t = Number(msg.timestamp)
    return { ...meta, receivedMs: Number.isFinite(t) && t > 0 ? t : Date.now(), retentionDays }
  }

  function rowsOf (messages: KafkaMessage[], topic: string, partition: number): { rows: Rows, bytes: number } {
    const rows = emptyRows()
    let bytes = 0
    for (const msg of messages) {
      addMessage(rows, msg.value, metaOf(msg, topic, partition))
      bytes += msg.value?.length ?? 0
    }
    return { rows, bytes }
  }

  async function consumeBatch (payload: EachBatchPayload, gen: number, key: string): Promise<void> {
    const { batch } = payload
    let messages = batch.messages
    // fetched before a rewind took effect: these offsets come again from the committed one
    if (payload.isStale()) return
    const epoch = epochs.get(key) ?? 0
    if (!checked.has(key)) {
      const s = await startOf(batch.topic, batch.partition)
      checked.set(key, s)
      if (s !== null && BigInt(s.committed) >= 0n) committedNext.set(key, BigInt(s.committed))
    }
    // never cut a range below the committed offset: after a rewind, a range queued earlier may
    // have committed in the meantime, and re-cutting its offsets would insert them again
    const floor = committedNext.get(key)
    if (floor !== undefined && BigInt(messages[0].offset) < floor) {
      messages = messages.filter(msg => BigInt(msg.offset) >= floor)
      if (messages.length === 0) { payload.resolveOffset(batch.lastOffset()); return }
    }
    const start = checked.get(key)
    if (start?.plan != null && !replays.has(key)) {
      replays.set(key, { range: start.plan, messages: [] })
      start.plan = null
    }
    const replay = replays.get(key)
    if (replay !== undefined) {
      const { range } = replay
      if (replay.messages.length === 0 && BigInt(messages[0].offset) > range.from) {
        // the start of the range left the log (retention) before it was replayed: the token cannot
        // be rebuilt; what remains is inserted with fresh boundaries (README: not guaranteed)
        warn(`collect: planned range ${batch.topic}[${batch.partition}] ${range.from}-${range.to} is no longer in the log; not replaying it`)
        replays.delete(key)
      } else {
        let i = 0
        while (i < messages.length && BigInt(messages[i].offset) <= range.to) replay.messages.push(messages[i++])
        if (i === messages.length && BigInt(batch.lastOffset()) < range.to) {
          // the range goes on in the next fetch; it was at most one batch, so this stays bounded
          payload.resolveOffset(batch.lastOffset())
          return
        }
        const { rows, bytes } = rowsOf(replay.messages, batch.topic, batch.partition)
        m.replays.inc()
        replays.delete(key)
        await enqueue(payload, gen, epoch, key, rows, bytes, range, true)
        payload.resolveOffset(range.to.toString())
        messages = messages.slice(i)
      }
    }
    // rows go into the partition's open batch (out of the map while it is being filled)
    let ob = takeOpen(key)
    if (ob !== undefined && (ob.gen !== gen || ob.epoch !== epoch)) ob = undefined
    for (const msg of messages) {
      if (stopping || gen !== generation || (epochs.get(key) ?? 0) !== epoch) return
      const offset = BigInt(msg.offset)
      ob ??= { payload, gen, epoch, rows: emptyRows(), bytes: 0, from: offset, to: offset, since: Date.now(), caughtUp: false }
      addMessage(ob.rows, msg.value, metaOf(msg, batch.topic, batch.partition))
      ob.bytes += msg.value?.length ?? 0
      ob.to = offset
      ob.payload = payload
      const until = isolateUntil.get(key)
      if (until !== undefined && offset >= until) isolateUntil.delete(key)
      if (rowCount(ob.rows) >= maxBatchRows || ob.bytes >= maxBatchBytes || (until !== undefined && offset <= until)) {
        await seal(key, ob)
        ob = undefined
      }
    }
    if (gen !== generation || (epochs.get(key) ?? 0) !== epoch || stopping) return
    // the fetch position only: the commit follows the insert of each range
    payload.resolveOffset(batch.lastOffset())
    if (ob === undefined) return
    ob.caughtUp = BigInt(batch.lastOffset()) + 1n >= BigInt(batch.highWatermark)
    if ((outstanding === 0 && ready(ob)) || openBytes + ob.bytes > openBytesLimit) await seal(key, ob)
    else { open.set(key, ob); openBytes += ob.bytes }
  }

  async function eachBatch (payload: EachBatchPayload): Promise<void> {
    const { batch } = payload
    if (batch.messages.length === 0 || stopping) return
    const key = `${batch.topic}:${batch.partition}`
    const gen = generation
    activeBatches++
    try {
      await consumeBatch(payload, gen, key)
    } catch (err) {
      // Forget what we knew about the partition and go back to its committed offset: the plan
      // (if one was committed) is reloaded and replayed, so boundaries never drift.
      if (gen === generation) rewind(batch.topic, batch.partition, BigInt(batch.firstOffset() ?? '0'))
      throw err
    } finally {
      activeBatches--
    }
  }

  // A consumer kafkajs will not restart (a non-retriable error) is replaced by a new one after a
  // backoff, forever: the collector never stops consuming on its own (logged, counted in
  // sluice_collector_consumer_restarts_total). The backoff starts over once a consumer joins.
  const maxRestartBackoffMs = positive('maxRestartBackoffMs', opts.maxRestartBackoffMs, 30_000)
  let restartAttempt = 0
  let restartTimer: NodeJS.Timeout | null = null

  async function runConsumer (): Promise<void> {
    const c = kafka.consumer({
      groupId,
      maxBytesPerPartition: opts.maxBytesPerPartition ?? 8 * 1024 * 1024,
      maxBytes: opts.maxFetchBytes ?? 16 * 1024 * 1024,
      minBytes: opts.minFetchBytes ?? 1024 * 1024,
      maxWaitTimeInMs: opts.maxWaitMs ?? 500,
      sessionTimeout,
      heartbeatInterval: Math.max(1000, Math.floor(sessionTimeout / 6)),
      allowAutoTopicCreation: false
    })
    consumer = c
    c.on(c.events.GROUP_JOIN, e => {
      if (consumer !== c) return
      restartAttempt = 0
      resetGeneration()
      m.rebalances.inc()
      assignment = Object.entries(e.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions }))
      // a batch abandoned by the rebalance may have left partitions paused
      if (pausedForFailure.length > 0) { const paused = pausedForFailure; steer('resume', () => consumer?.resume(paused)); pausedForFailure = []; m.paused.set(0) }
    })
    c.on(c.events.CRASH, e => {
      if (consumer !== c) return
      if (e.payload.restart) warn(`collect: consumer error (${e.payload.error.message}); restarting from the committed offsets`)
      else restartConsumer(c, e.payload.error)
    })
    await c.connect()
    await c.subscribe({ topics: [topics.logs, topics.stats], fromBeginning: true })
    running = true
    await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: inFlightLimit, eachBatch })
  }

  function restartConsumer (old: Consumer, err: Error): void {
    if (stopping || restartTimer !== null) return
    const delay = Math.min(maxRestartBackoffMs, 1000 * 2 ** Math.min(restartAttempt++, 15))
    m.consumerRestarts.inc()
    warn(`collect: consumer error (${err.message}); kafkajs gave up on this consumer: starting a new one in ${delay} ms (from the committed offsets)`)
    restartTimer = setTimeout(() => {
      restartTimer = null
      void (async () => {
        await old.disconnect().catch(() => {})
        if (stopping) return
        assignment = []
        resetGeneration()
        try { await runConsumer() } catch (e) { restartConsumer(consumer ?? old, e as Error) }
      })()
    }, delay)
    restartTimer.unref()
  }

  return {
    registry,
    async start () {
      if (running || stopped !== null) return
      // row files of a collector that died mid-insert (embedded mode; see insert.ts)
      const filesDir = insertFilesDirOf(opts.clickhouse)
      if (filesDir !== null) {
        const n = removeStaleInsertFiles(filesDir)
        if (n > 0) info(`collect: removed ${n} row file${n === 1 ? '' : 's'} left by a collector that stopped mid-insert`)
      }
      admin = kafka.admin()
      await admin.connect()
      kickTimer = setInterval(kick, 100)
      kickTimer.unref()
      await runConsumer()
      info(`collect: consuming ${topics.logs}, ${topics.stats} (group ${groupId}) → ClickHouse ${opts.database}`)
    },
    stop () {
      stopped ??= (async () => {
        stopping = true
        if (kickTimer !== null) clearInterval(kickTimer)
        if (restartTimer !== null) { clearTimeout(restartTimer); restartTimer = null }
        // no new batches; those in flight finish their insert and commit (or give up if
        // ClickHouse is failing — the range stays in Kafka with its plan)
        if (consumer !== null && assignment.length > 0) steer('pause', () => consumer?.pause(assignment))
        const deadline = Date.now() + 30_000
        while ((activeBatches > 0 || chains.size > 0) && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
        running = false
        await consumer?.disconnect().catch(() => {})
        await admin?.disconnect().catch(() => {})
        await deadLetterTopic.close()
      })()
      return stopped
    }
  }
}
