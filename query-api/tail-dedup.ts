// Which lines the live tail has streamed already, by line identity (source, offset), over a
// window of the most recent lines. The shipper delivers at least once: after a restart it replays
// from its checkpoint, and a batch retried after a lost ack lands in Kafka twice — possibly after
// later batches, so a source's offsets are not monotonic in Kafka and a high-water mark would drop
// real lines. Exact within the window; memory is fixed by `capacity`.
export interface SeenLines {
  /** true the first time (source, offset) is offered within the window */
  firstSighting: (source: string, offset: number) => boolean
  readonly size: number
}

export function createSeenLines (capacity = 262_144): SeenLines {
  const ids = new Map<string, number>() // source → small id (dropped with its last line)
  const bySource = new Map<number, Set<number>>()
  const names: string[] = []
  const freeIds: number[] = []
  const ringSource = new Int32Array(capacity)
  const ringOffset = new Float64Array(capacity)
  let head = 0
  let count = 0

  function evictOldest (): void {
    const at = (head - count + capacity) % capacity
    const sid = ringSource[at]
    const set = bySource.get(sid)
    if (set !== undefined) {
      set.delete(ringOffset[at])
      if (set.size === 0) { bySource.delete(sid); ids.delete(names[sid]); freeIds.push(sid) }
    }
    count--
  }

  return {
    get size () { return count },
    firstSighting (source, offset) {
      let sid = ids.get(source)
      if (sid !== undefined && bySource.get(sid)?.has(offset) === true) return false
      if (count === capacity) evictOldest()
      if (sid === undefined || !bySource.has(sid)) {
        if (sid === undefined) {
          sid = freeIds.pop() ?? names.length
          names[sid] = source
          ids.set(source, sid)
        }
        bySource.set(sid, new Set())
      }
      bySource.get(sid)!.add(offset)
      ringSource[head] = sid
      ringOffset[head] = offset
      head = (head + 1) % capacity
      count++
      return true
    }
  }
}
