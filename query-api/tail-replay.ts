// The catch-up of a resumed /v1/tail: from the hub's ring in chunks (waiting for the socket),
// from Kafka when the resume point is older than the ring; the last small remainder is queued
// and the live subscription made in the same tick, so there is no gap and no duplicate.
import type { TailHub } from './tail-hub.js'
import type { TailPosition } from './tail-position.js'
import type { TailStream } from './tail-stream.js'

/** lines taken from the ring per replayed chunk */
export const replayChunk = 2000

/** A turn to read back from Kafka (hub.acquireResume), held at most once and given back once. */
export interface ResumeTurn {
  held: (() => void) | null
  /** this tail read back from Kafka (the hub then runs one GC after the last such tail ends) */
  readBack: boolean
  give (): void
}

export function resumeTurn (held: (() => void) | null = null): ResumeTurn {
  const turn: ResumeTurn = {
    held,
    readBack: false,
    give () { const g = turn.held; turn.held = null; g?.() }
  }
  return turn
}

/** Replays from `from` to the live position into `stream`, then follows the hub. The last
 *  remainder must fit half of the client's queue (`maxClientBytes`) to join in one tick. */
export async function replayThenFollow (hub: TailHub, from: TailPosition, stream: TailStream, turn: ResumeTurn, signal: AbortSignal, maxClientBytes: number): Promise<void> {
  let pos = from
  for (;;) {
    if (stream.closed) return
    const es = hub.after(pos, replayChunk)
    if (es === null) {
      // the ring moved past a slow reader: it waits for a turn like any resume (never refused here)
      turn.held ??= await hub.acquireResume(signal, false)
      turn.readBack = true
      pos = await hub.catchUp(pos, es2 => stream.writeCaughtUp(es2), signal)
      continue
    }
    turn.give()
    if (es.length < replayChunk && es.reduce((n, e) => n + e.frame.length, 0) <= maxClientBytes / 2) {
      for (const e of es) stream.sub.push(e)
      if (stream.closed) return
      stream.follow(hub)
      stream.flush()
      return
    }
    await stream.writeEntries(es)
    pos = new Map(pos)
    for (const e of es) pos.set(e.partition, e.next)
  }
}
