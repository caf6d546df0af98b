// Deterministic insert boundaries. Kafka hands the collector whatever a fetch returned, so
// batch edges differ from run to run; a retried insert must nevertheless carry the same
// insert_deduplication_token as the attempt that may already have landed. Before inserting
// offsets [from, to] of a partition, the collector commits offset `from` (unchanged) with
// metadata naming the range. The commit is atomic with the group's offsets and visible to
// whichever member owns the partition next (this process after a crash, or a peer after a
// rebalance); that owner replays exactly [from, to] first, so the token is rebuilt byte for
// byte and ClickHouse drops the second copy.
import type { Admin } from 'kafkajs'

export interface OffsetRange { from: bigint, to: bigint }

const tag = 'sluice-plan/1 '

export function encodePlan (r: OffsetRange): string {
  return `${tag}${r.from}-${r.to}`
}

/** The planned range, valid only while the group's committed offset still equals its start. */
export function decodePlan (metadata: string | null, committed: string): OffsetRange | null {
  if (metadata === null || !metadata.startsWith(tag)) return null
  const m = /^(\d+)-(\d+)$/.exec(metadata.slice(tag.length))
  if (m === null) return null
  const r = { from: BigInt(m[1]), to: BigInt(m[2]) }
  if (r.to < r.from || committed !== String(r.from)) return null
  return r
}

/** One token per (partition, range, table): identical whenever the same range is inserted again. */
export function dedupToken (topic: string, partition: number, r: OffsetRange, table: string): string {
  return `${topic}:${partition}:${r.from}-${r.to}:${table}`
}

export interface PartitionStart { committed: string, plan: OffsetRange | null }

/** Committed offset and planned range (if any) of every partition of `topic` in `groupId`. */
export async function loadStarts (admin: Admin, groupId: string, topic: string): Promise<Map<number, PartitionStart>> {
  const res = await admin.fetchOffsets({ groupId, topics: [topic] })
  const starts = new Map<number, PartitionStart>()
  for (const t of res) {
    for (const p of t.partitions) starts.set(p.partition, { committed: p.offset, plan: decodePlan(p.metadata, p.offset) })
  }
  return starts
}
