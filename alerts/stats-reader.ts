// Stats rows read by ingest time (not event time), so late-arriving samples are seen: each round
// reads from the watermark minus a short overlap (inserts that became visible after a later
// one), in pages that keep one record's metrics together. Re-read rows are harmless: a group's
// state skips samples not newer than its last one.
import type { AlertStore, StatsRow } from './store.js'
import type { Group } from './state.js'

/** all metrics of one stats record */
export type Sample = Group & { t: number, metrics: Map<string, number> }

export interface StatsReader {
  /** ingest time (ms) read up to */
  readonly watermark: number
  /** rows ingested after the evaluator started have arrived (the pipeline flows) */
  readonly ingestFlowing: boolean
  /** start reading at `watermark`; rows ingested after `startIngest` mean the pipeline flows */
  rewind (watermark: number, startIngest: number): void
  /** the samples of `metrics` ingested since the watermark, page by page, in time order */
  read (metrics: string[], onSamples: (samples: Sample[]) => void): Promise<void>
}

export const overlapMs = 15_000
/** pages one round reads at most; a bigger backlog continues next round */
const pagesPerRound = 20

/** stats rows → one sample (all metrics of one record) per (service, host, pid, ts), by time */
export function samplesOf (rows: StatsRow[]): Sample[] {
  const byKey = new Map<string, Sample>()
  for (const r of rows) {
    const k = `${r.service}\u0000${r.host}\u0000${r.pid}\u0000${r.t}`
    let s = byKey.get(k)
    if (s === undefined) { s = { service: r.service, host: r.host, pid: r.pid, t: r.t, metrics: new Map() }; byKey.set(k, s) }
    s.metrics.set(r.metric, r.value)
  }
  return [...byKey.values()].sort((a, b) => a.t - b.t)
}

/** a full page without its last record's rows: a record cut by the page end starts the next page */
function wholeRecords (rows: StatsRow[]): StatsRow[] {
  const last = rows[rows.length - 1]
  let cut = rows.length - 1
  while (cut > 0 && rows[cut - 1].t === last.t && rows[cut - 1].pid === last.pid && rows[cut - 1].host === last.host && rows[cut - 1].service === last.service) cut--
  return cut > 0 ? rows.slice(0, cut) : rows
}

export function createStatsReader (store: AlertStore, pageRows: number): StatsReader {
  let watermark = 0
  let startIngest = 0
  let ingestFlowing = false
  return {
    get watermark () { return watermark },
    get ingestFlowing () { return ingestFlowing },
    rewind (from, start) { watermark = from; startIngest = start },
    async read (metrics, onSamples) {
      // pages of one round share `from`
      const from = watermark - overlapMs
      let offset = 0
      for (let page = 0; page < pagesPerRound; page++) {
        let rows = await store.statsSince(from, metrics, pageRows, offset)
        if (rows.length === 0) return
        const full = rows.length === pageRows
        // a ratio needs both metrics of one record: its rows are contiguous
        if (full) rows = wholeRecords(rows)
        offset += rows.length
        onSamples(samplesOf(rows))
        const maxIng = rows[rows.length - 1].ing
        if (maxIng > startIngest) ingestFlowing = true
        if (maxIng > watermark) watermark = maxIng
        if (!full) return
      }
    }
  }
}
