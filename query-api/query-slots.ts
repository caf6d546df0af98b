// Bounded query concurrency. Embedded chDB runs one query at a time and a ClickHouse server
// has its own limits; queueing unboundedly in Node would only grow memory and latency, so a
// request beyond the cap is refused at once with 503 + Retry-After (the error handler adds it).
import { Gauge, type Registry } from 'prom-client'
import { errors } from '../platform/errors.js'

export interface QuerySlots {
  run<T> (fn: () => Promise<T>): Promise<T>
  readonly inUse: number
}

export function createQuerySlots (max: number, registry?: Registry): QuerySlots {
  let inUse = 0
  const gauge = new Gauge({ name: 'sluice_query_in_flight', help: 'ClickHouse queries the query API is running now', registers: registry !== undefined ? [registry] : [] })
  return {
    get inUse () { return inUse },
    async run<T> (fn: () => Promise<T>): Promise<T> {
      if (inUse >= max) throw errors.OVERLOADED(`too many concurrent queries (limit ${max})`)
      inUse++
      gauge.set(inUse)
      try { return await fn() } finally { inUse--; gauge.set(inUse) }
    }
  }
}

/**
 * Settings every read query states in full: embedded chDB keeps per-query settings in its
 * session, so a limit left out here would silently be whatever the previous query set.
 */
export interface ReadLimits { maxExecutionSeconds: number, maxRowsToRead: number }

export const noIndexIgnored = 'sluice_none'

export function readSettings (l: ReadLimits): Record<string, string | number> {
  return {
    max_execution_time: l.maxExecutionSeconds,
    timeout_overflow_mode: 'throw',
    max_rows_to_read: l.maxRowsToRead,
    read_overflow_mode: 'throw',
    max_result_rows: 0,
    // the timeline search names the skip indexes its query cannot use; every other read resets
    // it (ClickHouse refuses an empty list, and a name no table has ignores nothing)
    ignore_data_skipping_indices: noIndexIgnored
  }
}
