// Limits every reader of log lines applies the same way (shipper, collector, live tail), so one
// line can never take a reader down. README "Limits of a line" documents them.

/** Deepest nesting of objects/arrays a line may have (its own object is level 1). Deeper lines
 *  are not parsed into fields: JSON.stringify and the schema check recurse, and ~5,000 levels
 *  already exhaust the stack. Same idea as Elasticsearch's index.mapping.depth.limit. */
export const maxJsonDepth = 64

/** the dead-letter reason of a line nested deeper than maxJsonDepth */
export const tooDeepReason = `line nests objects/arrays deeper than ${maxJsonDepth} levels (limit maxJsonDepth)`

/** true when JSON text nests objects/arrays deeper than `limit` (brackets inside strings do not
 *  count); one iterative pass, so any depth is safe to check */
export function nestsDeeperThan (text: string, limit: number): boolean {
  let depth = 0
  const n = text.length
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 34 /* " */) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i)
        if (d === 92 /* \ */) i++
        else if (d === 34) break
      }
    } else if (c === 123 || c === 91 /* { [ */) {
      if (++depth > limit) return true
    } else if (c === 125 || c === 93 /* } ] */) depth--
  }
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
