// The shipper's memory bound while it catches up after an outage. Buffers (read chunks, message
// values, kafkajs' encoded copies) live across awaits, get promoted, and V8 frees them only at a
// full GC it starts on its own much later; collecting whenever a thread's Buffer memory passes a
// small bound keeps memory flat. Both threads use the same policy: a minor GC first (most of
// those Buffers died young), a major one only if that was not enough.
// Why and how it was chosen: docs/design/2026-12-02-memory-while-catching-up.md.
import v8 from 'node:v8'
import { gc } from '../platform/gc.js'

export type GcType = 'minor' | 'major'
export type GcCounts = Record<GcType, number>

/** The policy: above `limitBytes` (as `measure` reads it) a minor GC, then a major one if still
 *  above. Returns the GCs it ran, in order. A limit of 0 or less bounds nothing. */
export function collectIfOver (limitBytes: number, measure: () => number, collect: (type: GcType) => void): GcType[] {
  if (limitBytes <= 0 || measure() <= limitBytes) return []
  collect('minor')
  if (measure() <= limitBytes) return ['minor']
  collect('major')
  return ['minor', 'major']
}

// V8 grows the young generation when allocation speeds up (as it does while catching up) and
// keeps it grown; its growth factor is read whenever V8 considers growing, so a dedicated
// shipper lets new space grow to this size and not beyond.
const maxNewSpaceBytes = 16 * 1024 * 1024
let growthAllowed = true
function boundYoungGeneration (): void {
  const ns = v8.getHeapSpaceStatistics().find(s => s.space_name === 'new_space')
  if (ns === undefined) return
  const allow = ns.space_size < maxNewSpaceBytes
  if (allow === growthAllowed) return
  v8.setFlagsFromString(`--semi-space-growth-factor=${allow ? 2 : 1}`)
  growthAllowed = allow
}

/** V8 frees dead Buffers on a background thread, later; freeing them during the GC itself makes
 *  a forced GC take effect at once. Process-wide, so for a shipper with a process of its own;
 *  setting it twice changes nothing. */
function freeBuffersAtGc (): void {
  v8.setFlagsFromString('--no-concurrent-array-buffer-sweeping')
}

export interface MemoryBoundEvents {
  /** a GC the bound forced on either thread (`n` of that type since the last report) */
  onForcedGc: (type: GcType, n: number) => void
  /** Buffer bytes of both threads, as of the last check */
  onBufferBytes: (bytes: number) => void
}

/** what the main thread's bound reads and does; replaced in tests */
export interface MemoryBoundRuntime {
  arrayBuffers: () => number
  gc: (type: GcType) => void
  boundYoungGeneration: () => void
  freeBuffersAtGc: () => void
}

const v8Runtime: MemoryBoundRuntime = {
  arrayBuffers: () => process.memoryUsage().arrayBuffers,
  gc,
  boundYoungGeneration,
  freeBuffersAtGc
}

export interface MemoryBound {
  /** on start: the process-wide V8 settings a dedicated shipper uses (none when unbounded) */
  activate: () => void
  /** after each batch read and each acknowledged batch: the main thread's `arrayBuffers` */
  check: () => void
  /** the Kafka thread's own Buffer bytes and cumulative forced GCs, from its last report */
  workerReport: (arrayBuffers: number, gcs: GcCounts) => void
}

/** The main thread's side of the bound (0 = unbounded: `sluice up` shares its process with
 *  roles that hold large buffers of their own). */
export function createMemoryBound (limitBytes: number, ev: MemoryBoundEvents, rt: MemoryBoundRuntime = v8Runtime): MemoryBound {
  let workerBytes = 0
  const workerGcs: GcCounts = { minor: 0, major: 0 }
  return {
    activate () {
      if (limitBytes > 0) rt.freeBuffersAtGc()
    },
    check () {
      if (limitBytes <= 0) return
      rt.boundYoungGeneration()
      const measure = (): number => {
        const ab = rt.arrayBuffers()
        ev.onBufferBytes(ab + workerBytes)
        return ab
      }
      collectIfOver(limitBytes, measure, type => { rt.gc(type); ev.onForcedGc(type, 1) })
    },
    workerReport (arrayBuffers, gcs) {
      workerBytes = arrayBuffers
      for (const type of ['minor', 'major'] as const) {
        if (gcs[type] > workerGcs[type]) ev.onForcedGc(type, gcs[type] - workerGcs[type])
        workerGcs[type] = gcs[type]
      }
    }
  }
}
