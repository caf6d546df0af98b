// Limits every reader of log lines applies the same way (shipper, collector, live tail), so one
// line can never take a reader down. README "Limits of a line" documents them.

/** Deepest nesting of objects/arrays a line may have (its own object is level 1). Deeper lines
 *  are not parsed into fields: JSON.stringify and the schema check recurse, and ~5,000 levels
 *  already exhaust the stack. Same idea as Elasticsearch's index.mapping.depth.limit. */
export const maxJsonDepth = 64

/** the dead-letter reason of a line nested deeper than maxJsonDepth */
export const tooDeepReason = `line nests objects/arrays deeper than ${maxJsonDepth} levels (limit maxJsonDepth)`

/** true when a parsed JSON value nests objects/arrays deeper than `limit` (the value itself, when
 *  an object or array, is level 1). Recurses at most limit + 1 calls deep, so any input is safe
 *  (JSON.parse itself is iterative in V8; JSON.stringify and schema checks are not). Walking the
 *  parsed value costs far less than scanning the text for a typical line. */
export function nestsDeeperThan (v: unknown, limit: number): boolean {
  if (v === null || typeof v !== 'object') return false
  if (limit <= 0) return true
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (nestsDeeperThan(v[i], limit - 1)) return true
    return false
  }
  for (const k in v) if (nestsDeeperThan((v as Record<string, unknown>)[k], limit - 1)) return true
  return false
}

/** A line's timestamp is kept when it lies within [received - retention, received + maxFutureMs]:
 *  older rows would be removed by the table TTL as soon as they were inserted, and far-future
 *  ones would sit past every "last hour" query. Outside, the row gets the receive time, the
 *  flag `ts_out_of_range` and its original ts in fields.ts_original. */
export const maxFutureMs = 24 * 3600 * 1000

export const tsOutOfRangeFlag = 'ts_out_of_range'
export const tsOriginalField = 'ts_original'

export function tsInRange (tsMs: number, receivedMs: number, retentionDays: number): boolean {
  return tsMs >= receivedMs - retentionDays * 86_400_000 && tsMs <= receivedMs + maxFutureMs
}
