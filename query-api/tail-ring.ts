// The tail hub's replay ring: the newest lines, bounded in lines and in frame bytes, with the
// first position it still holds per partition (`low`), so a client resuming from a position at
// or after `low` is replayed from memory with no gap and no duplicate.
import type { TailEntry } from './tail-message.js'
import { comparePos, type TailPosition } from './tail-position.js'

export interface TailRing {
  /** first position still in the ring, per partition */
  readonly low: TailPosition
  readonly size: number
  readonly bytes: number
  append (e: TailEntry): void
  /** ring entries at or after `from` in hub order; null when `from` is older than the ring */
  after (from: TailPosition, max: number): TailEntry[] | null
}

export function createTailRing (ringLines: number, ringBytes: number): TailRing {
  const low: TailPosition = new Map()
  const ring: Array<TailEntry | undefined> = new Array(ringLines)
  let head = 0 // index of the oldest entry
  let size = 0
  let bytes = 0

  function evictOne (): void {
    const e = ring[head]!
    ring[head] = undefined
    head = (head + 1) % ringLines
    size--
    bytes -= e.frame.length
    low.set(e.partition, e.next)
  }

  return {
    low,
    get size () { return size },
    get bytes () { return bytes },
    append (e) {
      while (size > 0 && (size >= ringLines || bytes + e.frame.length > ringBytes)) evictOne()
      ring[(head + size) % ringLines] = e
      size++
      bytes += e.frame.length
    },
    after (from, max) {
      for (const [p, l] of low) {
        const f = from.get(p)
        if (f === undefined || comparePos(f, l) < 0) return null
      }
      const out: TailEntry[] = []
      for (let k = 0; k < size && out.length < max; k++) {
        const e = ring[(head + k) % ringLines]!
        if (comparePos(e.pos, from.get(e.partition)!) >= 0) out.push(e)
      }
      return out
    }
  }
}
