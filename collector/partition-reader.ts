// One Kafka fetch of a partition → ranges: first the planned range persisted by the partition's
// previous owner (replayed with the same boundaries, hence the same dedup token), then the
// partition's open batch (batcher.ts), sealed into ranges by its rules. Holds what this member
// knows about each partition in the current group generation.
import type { Admin, EachBatchPayload, KafkaMessage } from 'kafkajs'
import { warn } from '../platform/log.js'
import type { Batcher, OpenBatch } from './batcher.js'
import type { CollectorMetrics } from './metrics.js'
import { loadStarts, type OffsetRange, type PartitionStart } from './plan.js'
import { addMessage } from './rows.js'
import { emptyRows, type Meta, type Rows } from './row-types.js'

export interface PartitionReaderOptions {
  admin: () => Admin
  groupId: string
  metrics: CollectorMetrics
  batcher: Batcher<EachBatchPayload>
  /** stored at the producer's timestamp when older (see CollectorOptions.retentionDays) */
  retentionDays: number | undefined
  epochOf: (key: string) => number
  /** the fetch still counts: same generation and epoch, not stopping */
  current: (gen: number, key: string, epoch: number) => boolean
  clickHouseIdle: () => boolean
  /** queues a range (returns once it holds a slot) */
  enqueue: (payload: EachBatchPayload, gen: number, epoch: number, key: string, rows: Rows, bytes: number, range: OffsetRange, replay: boolean) => Promise<void>
  seal: (key: string, ob: OpenBatch<EachBatchPayload>) => Promise<void>
}

export function metaOf (msg: KafkaMessage, topic: string, partition: number, retentionDays: number | undefined): Meta {
  const meta: Meta = { topic, partition, offset: msg.offset, key: msg.key?.toString('utf8') ?? '' }
  if (retentionDays === undefined) return meta
  // the producer's timestamp: the same on every replay of the message, so are its rows
  const t = Number(msg.timestamp)
  return { ...meta, receivedMs: Number.isFinite(t) && t > 0 ? t : Date.now(), retentionDays }
}

function rowsOf (messages: KafkaMessage[], topic: string, partition: number, retentionDays: number | undefined): { rows: Rows, bytes: number } {
  const rows = emptyRows()
  let bytes = 0
  for (const msg of messages) {
    addMessage(rows, msg.value, metaOf(msg, topic, partition, retentionDays))
    bytes += msg.value?.length ?? 0
  }
  return { rows, bytes }
}

export type PartitionReader = ReturnType<typeof createPartitionReader>

/** Ranges planned (and committed with their plan) before a restart or rewind, replayed with the
 *  same boundaries before anything else of their partition, so the insert token is the same. */
function createPlanReplays (o: PartitionReaderOptions) {
  const replays = new Map<string, { range: OffsetRange, messages: KafkaMessage[] }>()
  return {
    /** replays the persisted plan of `start`, if any; the messages after it, or null when the
     *  plan goes on in the next fetch */
    async replay (payload: EachBatchPayload, gen: number, epoch: number, key: string, start: PartitionStart | null | undefined, messages: KafkaMessage[]): Promise<KafkaMessage[] | null> {
      const { batch } = payload
      if (start?.plan != null && !replays.has(key)) {
        replays.set(key, { range: start.plan, messages: [] })
        start.plan = null
      }
      const replay = replays.get(key)
      if (replay === undefined) return messages
      const { range } = replay
      if (replay.messages.length === 0 && BigInt(messages[0].offset) > range.from) {
        // the start of the range left the log (retention) before it was replayed: the token cannot
        // be rebuilt; what remains is inserted with fresh boundaries (README: not guaranteed)
        warn(`collect: planned range ${batch.topic}[${batch.partition}] ${range.from}-${range.to} is no longer in the log; not replaying it`)
        replays.delete(key)
        return messages
      }
      let i = 0
      while (i < messages.length && BigInt(messages[i].offset) <= range.to) replay.messages.push(messages[i++])
      if (i === messages.length && BigInt(batch.lastOffset()) < range.to) {
        // the range goes on in the next fetch; it was at most one batch, so this stays bounded
        payload.resolveOffset(batch.lastOffset())
        return null
      }
      const { rows, bytes } = rowsOf(replay.messages, batch.topic, batch.partition, o.retentionDays)
      o.metrics.replays.inc()
      replays.delete(key)
      await o.enqueue(payload, gen, epoch, key, rows, bytes, range, true)
      payload.resolveOffset(range.to.toString())
      return messages.slice(i)
    },
    forget (key: string): void { replays.delete(key) },
    clear (): void { replays.clear() }
  }
}

export function createPartitionReader (o: PartitionReaderOptions) {
  const startsByTopic = new Map<string, Promise<Map<number, PartitionStart>>>()
  const checked = new Map<string, PartitionStart | null>() // partition key → its start in this generation
  const replays = createPlanReplays(o)
  const committedNext = new Map<string, bigint>() // partition key → the offset the group resumes at
  // partition key → last offset of a range whose insert was given up on: up to there, each
  // message is a range of its own, so the one ClickHouse rejects is found and skipped alone
  const isolateUntil = new Map<string, bigint>()

  async function startOf (topic: string, partition: number): Promise<PartitionStart | null> {
    let p = startsByTopic.get(topic)
    if (p === undefined) {
      p = loadStarts(o.admin(), o.groupId, topic)
      startsByTopic.set(topic, p)
      p.catch(() => startsByTopic.delete(topic))
    }
    return (await p).get(partition) ?? null
  }

  /** the fetch's messages at or past the committed offset (loaded once per generation) */
  async function abovePlanFloor (payload: EachBatchPayload, key: string): Promise<KafkaMessage[]> {
    const { batch } = payload
    if (!checked.has(key)) {
      const s = await startOf(batch.topic, batch.partition)
      checked.set(key, s)
      if (s !== null && BigInt(s.committed) >= 0n) committedNext.set(key, BigInt(s.committed))
    }
    // never cut a range below the committed offset: after a rewind, a range queued earlier may
    // have committed in the meantime, and re-cutting its offsets would insert them again
    const floor = committedNext.get(key)
    if (floor !== undefined && BigInt(batch.messages[0].offset) < floor) return batch.messages.filter(msg => BigInt(msg.offset) >= floor)
    return batch.messages
  }

  /** one fetch of one partition: replay, then rows into the open batch, sealed by its rules */
  async function consume (payload: EachBatchPayload, gen: number, key: string): Promise<void> {
    const { batch } = payload
    // fetched before a rewind took effect: these offsets come again from the committed one
    if (payload.isStale()) return
    const epoch = o.epochOf(key)
    let messages: KafkaMessage[] | null = await abovePlanFloor(payload, key)
    if (messages.length === 0) { payload.resolveOffset(batch.lastOffset()); return }
    messages = await replays.replay(payload, gen, epoch, key, checked.get(key), messages)
    if (messages === null) return
    // rows go into the partition's open batch (out of the map while it is being filled)
    let ob = o.batcher.take(key)
    if (ob !== undefined && (ob.gen !== gen || ob.epoch !== epoch)) ob = undefined
    for (const msg of messages) {
      if (!o.current(gen, key, epoch)) return
      const offset = BigInt(msg.offset)
      ob = o.batcher.add(ob, payload, gen, epoch, offset, msg.value, metaOf(msg, batch.topic, batch.partition, o.retentionDays))
      const until = isolateUntil.get(key)
      if (until !== undefined && offset >= until) isolateUntil.delete(key)
      if (o.batcher.isFull(ob) || (until !== undefined && offset <= until)) {
        await o.seal(key, ob)
        ob = undefined
      }
    }
    if (!o.current(gen, key, epoch)) return
    // the fetch position only: the commit follows the insert of each range
    payload.resolveOffset(batch.lastOffset())
    if (ob === undefined) return
    ob.caughtUp = BigInt(batch.lastOffset()) + 1n >= BigInt(batch.highWatermark)
    if (o.batcher.sealsAtFetchEnd(ob, o.clickHouseIdle())) await o.seal(key, ob)
    else o.batcher.park(key, ob)
  }

  return {
    consume,
    /** a new generation: fetch positions are back at the committed offsets */
    reset (): void {
      startsByTopic.clear(); checked.clear(); replays.clear(); committedNext.clear(); isolateUntil.clear()
    },
    /** a rewind: the partition's start is loaded again; returns the offset it resumes at */
    forget (topic: string, partition: number): bigint | undefined {
      const key = `${topic}:${partition}`
      checked.delete(key); replays.forget(key); startsByTopic.delete(topic)
      return committedNext.get(key)
    },
    noteCommitted (key: string, offset: bigint): void { committedNext.set(key, offset) },
    isolate (key: string, to: bigint): void { isolateUntil.set(key, to) }
  }
}
