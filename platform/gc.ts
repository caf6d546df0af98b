// A GC on demand: the shipper's memory bound (memory-bound.ts, send-worker.ts) calls it on its
// own thread's heap when its Buffer memory passes the bound; the query API once after a resume
// storm (tail-resume.ts), so the Buffers it read back are freed while the server is idle.
import v8 from 'node:v8'
import vm from 'node:vm'

let gcFn: ((opts?: { type: 'minor' | 'major' }) => void) | null = null

export function gc (type: 'minor' | 'major'): void {
  if (gcFn === null) {
    const g = (globalThis as { gc?: () => void }).gc
    if (typeof g === 'function') gcFn = g
    else {
      // the documented way to reach gc() without --expose-gc on the command line
      v8.setFlagsFromString('--expose-gc')
      gcFn = vm.runInNewContext('gc') as (opts?: { type: 'minor' | 'major' }) => void
    }
  }
  gcFn({ type })
}
