// The ranges waiting for ClickHouse: one chain per partition, so a partition's ranges are
// inserted strictly in order, and a bounded pool of slots (maxInsertsInFlight parsed ranges,
// queued or inserting) that enqueue() waits for, so the next Kafka fetch and its parsing overlap
// the insert in progress. A rewind bumps the partition's epoch: ranges queued before it drop.
import type { Gauge } from 'prom-client'

export class Semaphore {
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

/** a queued range's hold on the queue */
export interface Slot {
  /** its insert finished (ClickHouse is free of it); idempotent */
  inserted (): void
  /** its rows left memory: frees the slot; idempotent */
  release (): void
}

export interface PartitionQueueOptions {
  maxInFlight: number
  metrics: { inFlight: Gauge, bufferedBytes: Gauge }
  /** a slot came free: an open batch may be sealed */
  onSlotFreed: () => void
}

export type PartitionQueue = ReturnType<typeof createPartitionQueue>

export function createPartitionQueue (o: PartitionQueueOptions) {
  const slots = new Semaphore(o.maxInFlight)
  const chains = new Map<string, Promise<void>>() // partition key → its last queued range
  const epochs = new Map<string, number>()
  let outstanding = 0 // ranges queued whose insert has not finished yet (ClickHouse busy or about to be)

  return {
    epochOf: (key: string): number => epochs.get(key) ?? 0,
    bumpEpoch (key: string): void { epochs.set(key, (epochs.get(key) ?? 0) + 1) },
    /** nothing queued or inserting */
    idle: (): boolean => outstanding === 0,
    hasFreeSlot: (): boolean => slots.hasFree(),
    /** partitions with ranges still queued or inserting */
    get pending (): number { return chains.size },

    /**
     * Waits for a slot, then queues `run` behind the partition's earlier ranges; returns once
     * queued. `run` must release its slot.
     */
    async enqueue (key: string, bytes: number, run: (slot: Slot) => Promise<void>): Promise<void> {
      await slots.acquire()
      outstanding++
      let pending = true
      let held = true
      const slot: Slot = {
        inserted () { if (pending) { pending = false; outstanding-- } },
        release () {
          if (!held) return
          held = false
          o.metrics.inFlight.dec(); o.metrics.bufferedBytes.dec(bytes)
          slots.release()
          o.onSlotFreed()
        }
      }
      o.metrics.inFlight.inc(); o.metrics.bufferedBytes.inc(bytes)
      const prev = chains.get(key) ?? Promise.resolve()
      const link = prev.then(async () => await run(slot))
      chains.set(key, link)
      void link.finally(() => { if (chains.get(key) === link) chains.delete(key) })
    }
  }
}
