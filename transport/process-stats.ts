// `sluice/stats` — monitorProcess(logger, { servers, intervalMs }): samples the process every
// interval and logs one `sluice_stats` record through the same logger, so stats travel the
// same never-lose path as logs (spool → ship → Kafka stats topic → stats table).
//   V8 heap (used/total/limit) · rss/external/arrayBuffers · server connections · open fds and
//   the fd limit · event-loop delay p50/p99/max and utilization · GC count and time
import fs from 'node:fs'
import v8 from 'node:v8'
import { monitorEventLoopDelay, performance, PerformanceObserver, type EventLoopUtilization } from 'node:perf_hooks'
import type { Server } from 'node:net'

export interface StatsLogger { info: (obj: object, msg?: string) => void }

export interface MonitorOptions {
  /** http/net servers whose open connections are counted */
  servers?: Server[]
  /** sampling interval, ms (default 60 000; at least 100) */
  intervalMs?: number
}

export interface ProcessMonitor {
  /** take and log one sample now (also what the timer does) */
  sample (): Promise<Record<string, number>>
  stop (): void
}

function openFds (): number {
  try { return fs.readdirSync('/proc/self/fd').length - 1 } catch { return -1 }
}

function fdLimit (): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))
    return m === null || m[1] === 'unlimited' ? -1 : Number(m[1])
  } catch { return -1 }
}

function connections (servers: Server[]): Promise<number> {
  return Promise.all(servers.map(s => new Promise<number>(resolve => {
    if (!s.listening) { resolve(0); return }
    s.getConnections((err, n) => resolve(err !== null && err !== undefined ? 0 : n))
  }))).then(ns => ns.reduce((a, b) => a + b, 0))
}

export function monitorProcess (logger: StatsLogger, opts: MonitorOptions = {}): ProcessMonitor {
  if (logger === null || typeof logger !== 'object' || typeof logger.info !== 'function') throw new TypeError('monitorProcess: logger must be a pino logger (an object with info())')
  const intervalMs = opts.intervalMs ?? 60_000
  if (!Number.isFinite(intervalMs) || intervalMs < 100) throw new RangeError(`monitorProcess: intervalMs must be ≥ 100, got ${String(opts.intervalMs)}`)
  const servers = opts.servers ?? []
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  let elu: EventLoopUtilization = performance.eventLoopUtilization()
  let gcCount = 0
  let gcMs = 0
  const gcObserver = new PerformanceObserver(list => {
    for (const e of list.getEntries()) { gcCount++; gcMs += e.duration }
  })
  gcObserver.observe({ entryTypes: ['gc'] })
  const limit = fdLimit()

  async function sample (): Promise<Record<string, number>> {
    const heap = v8.getHeapStatistics()
    const mem = process.memoryUsage()
    const now = performance.eventLoopUtilization()
    const util = performance.eventLoopUtilization(now, elu).utilization
    elu = now
    const metrics: Record<string, number> = {
      heap_used: heap.used_heap_size,
      heap_total: heap.total_heap_size,
      heap_limit: heap.heap_size_limit,
      rss: mem.rss,
      external: mem.external,
      array_buffers: mem.arrayBuffers,
      connections: await connections(servers),
      fds: openFds(),
      fd_limit: limit,
      eventloop_delay_p50_ms: delay.percentile(50) / 1e6,
      eventloop_delay_p99_ms: delay.percentile(99) / 1e6,
      eventloop_delay_max_ms: delay.max / 1e6,
      eventloop_utilization: util,
      gc_count: gcCount,
      gc_ms: gcMs,
      interval_ms: intervalMs
    }
    delay.reset()
    gcCount = 0
    gcMs = 0
    logger.info({ sluice_stats: metrics }, 'process stats')
    return metrics
  }

  // a sample that fails (a logger that throws) must not become an unhandled rejection in the app
  let warned = false
  const timer = setInterval(() => {
    sample().catch((err: Error) => {
      if (warned) return
      warned = true
      process.stderr.write(`sluice/stats: warning: cannot log process stats (${err.message}); skipping samples until it can. Further failures are not reported.\n`)
    })
  }, intervalMs)
  timer.unref()
  let stopped = false
  return {
    sample,
    stop () {
      if (stopped) return
      stopped = true
      clearInterval(timer)
      delay.disable()
      gcObserver.disconnect()
    }
  }
}
