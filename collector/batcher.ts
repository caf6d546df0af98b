// Open batches: the parsed rows of each partition that are not a range yet (nothing committed
// for them; a crash or rebalance simply fetches them again), and the rules that seal one into a
// range. A trickle is sealed at once; under a backlog the rows gather while ClickHouse is busy,
// so inserts grow towards maxBatchRows (small inserts cost ClickHouse far more per row, in
// merging the small parts and rebuilding their ngram indexes: docs/design/2026-12-01-collector-inserts.md).
import { addMessage } from './rows.js'
import { emptyRows, rowCount, type Meta, type Rows } from './row-types.js'

/** P is the fetch the batch's last rows came from (kept for heartbeats and the high watermark) */
export interface OpenBatch<P> { payload: P, gen: number, epoch: number, rows: Rows, bytes: number, from: bigint, to: bigint, since: number, caughtUp: boolean }

export interface BatcherOptions {
  maxBatchRows: number
  maxBatchBytes: number
  /** the fetch wait of the consumer: a batch this old (× 2) is ready */
  maxWaitMs: number
  now?: () => number
}

export type Batcher<P> = ReturnType<typeof createBatcher<P>>

export function createBatcher<P> (o: BatcherOptions) {
  const now = o.now ?? Date.now
  // open batches together stay under this; past it the one being filled is sealed
  const openBytesLimit = 2 * o.maxBatchBytes
  const lingerMs = 2 * o.maxWaitMs
  const open = new Map<string, OpenBatch<P>>() // partition key → its open batch
  let openBytes = 0

  /** may be sealed while ClickHouse is idle: its partition was caught up at the last fetch, it
   *  holds a quarter of a full batch (ClickHouse idle while a backlog's first batches fill costs
   *  more than a quarter-size insert), or it has waited lingerMs */
  const ready = (ob: OpenBatch<P>): boolean => ob.caughtUp || rowCount(ob.rows) >= o.maxBatchRows / 4 || now() - ob.since >= lingerMs
  function take (key: string): OpenBatch<P> | undefined {
    const ob = open.get(key)
    if (ob !== undefined) { open.delete(key); openBytes -= ob.bytes }
    return ob
  }

  return {
    ready,
    get openBytes (): number { return openBytes },

    /** appends one Kafka message to `ob`, opening a batch when there is none */
    add (ob: OpenBatch<P> | undefined, payload: P, gen: number, epoch: number, offset: bigint, value: Buffer | null, meta: Meta): OpenBatch<P> {
      ob ??= { payload, gen, epoch, rows: emptyRows(), bytes: 0, from: offset, to: offset, since: now(), caughtUp: false }
      addMessage(ob.rows, value, meta)
      ob.bytes += value?.length ?? 0
      ob.to = offset
      ob.payload = payload
      return ob
    },

    /** a full batch is sealed at once, whatever ClickHouse is doing */
    isFull: (ob: OpenBatch<P>): boolean => rowCount(ob.rows) >= o.maxBatchRows || ob.bytes >= o.maxBatchBytes,

    /** at the end of a fetch: seal now (ClickHouse idle and the batch ready, or the open batches
     *  would exceed their bound), else the batch waits open */
    sealsAtFetchEnd: (ob: OpenBatch<P>, clickHouseIdle: boolean): boolean => (clickHouseIdle && ready(ob)) || openBytes + ob.bytes > openBytesLimit,

    /** takes a partition's open batch out of the map (while it is filled or sealed) */
    take,

    park (key: string, ob: OpenBatch<P>): void { open.set(key, ob); openBytes += ob.bytes },

    /** the oldest ready batch among the current ones, taken out; stale ones are dropped on the way */
    takeOldestReady (isCurrent: (key: string, ob: OpenBatch<P>) => boolean): { key: string, ob: OpenBatch<P> } | null {
      let oldest: string | null = null
      for (const [key, ob] of open) {
        if (!isCurrent(key, ob)) { take(key); continue }
        if (!ready(ob)) continue
        if (oldest === null || ob.since < open.get(oldest)!.since) oldest = key
      }
      if (oldest === null) return null
      return { key: oldest, ob: take(oldest)! }
    },

    clear (): void { open.clear(); openBytes = 0 }
  }
}
