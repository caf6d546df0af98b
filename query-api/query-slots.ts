// Bounded query concurrency. Embedded chDB runs one query at a time and a ClickHouse server
// has its own limits; queueing unboundedly in Node would only grow memory and latency, so a
// request beyond the cap is refused at once with 503 + Retry-After (the error handler adds it).
// One client (token, or address without tokens) holds at most `perClient` slots (429), so it
// cannot starve the others.
import { Counter, Gauge, type Registry } from 'prom-client'
import { errors } from '../platform/errors.js'
import { createClientCounts } from './client-key.js'

export interface QuerySlots {
  /** `client`: see clientKey(); undefined = not counted per client (internal callers) */
  run<T> (fn: () => Promise<T>, client?: string): Promise<T>
  readonly inUse: number
}

/** default per-client share of a global cap: half of it, at least one */
export function halfOf (max: number): number { return Math.max(1, Math.ceil(max / 2)) }

export function createQuerySlots (max: number, registry?: Registry, perClient = halfOf(max)): QuerySlots {
  let inUse = 0
  const byClient = createClientCounts()
  const regs = registry !== undefined ? [registry] : []
  const gauge = new Gauge({ name: 'sluice_query_in_flight', help: 'ClickHouse queries the query API is running now', registers: regs })
  const refused = new Counter({ name: 'sluice_query_client_limit_refused_total', help: 'Queries refused because their client already held its per-client share of the query slots', registers: regs })
  return {
    get inUse () { return inUse },
    async run<T> (fn: () => Promise<T>, client?: string): Promise<T> {
      if (inUse >= max) throw errors.OVERLOADED(`too many concurrent queries (limit ${max})`)
      if (client !== undefined && byClient.held(client) >= perClient) { refused.inc(); throw errors.CLIENT_LIMIT('concurrent queries', perClient) }
      inUse++
      if (client !== undefined) byClient.take(client)
      gauge.set(inUse)
      try { return await fn() } finally { inUse--; if (client !== undefined) byClient.give(client); gauge.set(inUse) }
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
