// Progress records: what the shipper knows of each file it tails, for gap detection (docs/gaps.md).
//   tailer sources + loss/drop events ──every intervalMs, and at once on rotate/finish/loss──▶
//   NDJSON of v1 `progress` records ──▶ logs topic, key = host (behind the lines they report)
// A record says: this file (source) was seen at `size` bytes, Kafka acknowledged it up to
// `acked`, it is active / rotated / finished / deleted / lost, and these ranges will never be
// sent (dropped by policy, with the reason). Sent on the logs topic with the host's key, it lands
// in the same partition after the lines it reports, so once the collector has stored it every
// line below `acked` has been stored or dead-lettered: a line missing below it is lost, not late.
// A host heartbeat (state "host", empty source) goes with every report: a silent host is a gap.
import { contentTypeHeader } from '../schemas/topics.js'
import type { DroppedRange, ProgressRecordV1, ProgressState } from '../schemas/records.js'
import type { RotatedLoss, Source } from './tailer.js'

export interface ProgressOptions {
  host: string
  /** the logs topic: progress records follow the lines they report in the host's partition */
  topic: string
  /** steady report interval (ms, default 10,000) */
  intervalMs?: number
  sources: () => Source[]
  serviceOf: (path: string) => string
  /** sends the values to `topic` with key `host`; resolves once Kafka acknowledged them */
  send: (topicMessages: Array<{ topic: string, messages: Array<{ key: string, value: Buffer, headers: Record<string, string> }> }>) => Promise<void>
  onError?: (err: Error) => void
}

export interface ProgressReporter {
  /** a file closed with bytes it will never ship (a partial last line) */
  dropped: (fp: string, path: string, from: number, to: number, reason: string) => void
  /** a started file compressed or deleted before its end was read (tailer onLoss) */
  lost: (loss: RotatedLoss) => void
  start: () => void
  /** one last report (what was acknowledged up to now), then no more */
  stop: () => Promise<void>
  /** the records a report made now would hold (tests) */
  records: (now?: number) => ProgressRecordV1[]
}

interface Known { path: string, size: number, acked: number, state: ProgressState, reason?: string, dropped: DroppedRange[] }

/** ranges kept per source: a record repeats them, since the latest record of a source wins */
const maxDroppedPerSource = 100
/** NDJSON bytes per Kafka message */
const maxMessageBytes = 200 * 1024

/** What the reporter knows of each source: the live ones (from the tailer) and the ended ones,
 *  kept until one report of them was acknowledged. No timers, no I/O. */
interface ProgressLedger {
  /** brings the live sources up to date with the tailer; true when a source changed state */
  refresh: () => boolean
  /** the records of a report made at `now` (the host heartbeat first) */
  records: (now?: number) => ProgressRecordV1[]
  /** the ended sources a report made now would carry */
  ended: () => string[]
  /** forgets ended sources whose report was acknowledged */
  forget: (fps: string[]) => void
  dropped: ProgressReporter['dropped']
  lost: ProgressReporter['lost']
}

function createProgressLedger (o: Pick<ProgressOptions, 'host' | 'sources' | 'serviceOf'>): ProgressLedger {
  const known = new Map<string, Known>()
  /** sources that ended (finished, deleted, lost): reported once more, then forgotten */
  const ended = new Map<string, Known>()

  function addDrop (k: Known, r: DroppedRange): void {
    if (k.dropped.some(d => d.from === r.from && d.to === r.to && d.reason === r.reason)) return
    k.dropped.push(r)
    if (k.dropped.length > maxDroppedPerSource) k.dropped.shift()
  }

  function record (fp: string, k: Known, ts: string): ProgressRecordV1 {
    const r: ProgressRecordV1 = { v: 1, kind: 'progress', ts, host: o.host, service: o.serviceOf(k.path).slice(0, 255), src: fp, path: k.path, size: k.size, acked: k.acked, state: k.state, dropped: k.dropped }
    if (k.reason !== undefined) r.reason = k.reason
    return r
  }

  function refresh (): boolean {
    let changed = false
    const live = new Set<string>()
    for (const s of o.sources()) {
      live.add(s.fp)
      const state: ProgressState = s.detached ? 'rotated' : 'active'
      let k = known.get(s.fp)
      if (k === undefined) { k = { path: s.path, size: s.size, acked: s.ackedOffset, state, dropped: [] }; known.set(s.fp, k); changed = true }
      if (k.state !== state) changed = true
      k.path = s.path; k.size = Math.max(s.size, s.ackedOffset); k.acked = s.ackedOffset; k.state = state
    }
    for (const [fp, k] of known) {
      if (live.has(fp)) continue
      // closed by the tailer: read to its end and acknowledged (what it could not ship is a drop)
      known.delete(fp)
      if (!ended.has(fp)) ended.set(fp, { ...k, state: 'finished' })
      changed = true
    }
    return changed
  }

  return {
    refresh,
    records (now = Date.now()) {
      refresh()
      const ts = new Date(now).toISOString()
      const out: ProgressRecordV1[] = [{ v: 1, kind: 'progress', ts, host: o.host, service: '', src: '', path: '', size: 0, acked: 0, state: 'host', dropped: [] }]
      for (const [fp, k] of known) out.push(record(fp, k, ts))
      for (const [fp, k] of ended) out.push(record(fp, k, ts))
      return out
    },
    ended: () => [...ended.keys()],
    forget (fps) { for (const fp of fps) ended.delete(fp) },
    dropped (fp, path, from, to, reason) {
      let k = known.get(fp) ?? ended.get(fp)
      if (k === undefined) { k = { path, size: to, acked: from, state: 'finished', dropped: [] }; ended.set(fp, k) }
      addDrop(k, { from, to, reason })
    },
    lost (loss) {
      const k = known.get(loss.fp)
      known.delete(loss.fp)
      // a deleted file may have grown after it was last seen: its end is unknown (size keeps
      // what was seen); a compressed file's uncompressed size is its end
      const seen = loss.bytes === null ? null : loss.offset + loss.bytes
      const to = loss.reason === 'deleted' ? null : seen
      const e: Known = { path: loss.path, size: seen ?? k?.size ?? loss.offset, acked: loss.offset, state: loss.reason === 'deleted' ? 'deleted' : 'lost', reason: loss.reason, dropped: k?.dropped ?? [] }
      addDrop(e, { from: loss.offset, to, reason: loss.reason })
      ended.set(loss.fp, e)
    }
  }
}

/** records as NDJSON message values of at most maxMessageBytes each (one record may exceed it) */
function progressValues (recs: ProgressRecordV1[]): Buffer[] {
  const values: Buffer[] = []
  let parts: string[] = []
  let bytes = 0
  for (const r of recs) {
    const j = JSON.stringify(r)
    if (bytes + j.length + 1 > maxMessageBytes && parts.length > 0) { values.push(Buffer.from(parts.join('\n'))); parts = []; bytes = 0 }
    parts.push(j); bytes += j.length + 1
  }
  if (parts.length > 0) values.push(Buffer.from(parts.join('\n')))
  return values
}

export function createProgressReporter (o: ProgressOptions): ProgressReporter {
  const intervalMs = o.intervalMs ?? 10_000
  if (!Number.isInteger(intervalMs) || intervalMs < 100) throw new TypeError(`createProgressReporter: intervalMs must be a whole number of ms ≥ 100, got ${String(o.intervalMs)}`)
  const ledger = createProgressLedger(o)
  let timer: NodeJS.Timeout | null = null
  let watch: NodeJS.Timeout | null = null
  let soon: NodeJS.Immediate | null = null
  let sending: Promise<void> | null = null
  let again = false
  let stopped = false

  async function report (): Promise<void> {
    const recs = ledger.records()
    const reported = ledger.ended()
    await o.send([{ topic: o.topic, messages: progressValues(recs).map(value => ({ key: o.host, value, headers: { 'content-type': contentTypeHeader } })) }])
    // an ended source is reported until one report of it was acknowledged
    ledger.forget(reported)
  }

  /** one report at a time; a report asked for meanwhile runs right after */
  function kick (): void {
    if (stopped && sending === null) return
    if (sending !== null) { again = true; return }
    sending = report().catch(err => { o.onError?.(err as Error) }).finally(() => {
      sending = null
      if (again && !stopped) { again = false; kick() }
    })
  }

  function reportSoon (): void {
    if (stopped || soon !== null || timer === null) return
    soon = setImmediate(() => { soon = null; kick() })
  }

  return {
    dropped (fp, path, from, to, reason) {
      ledger.dropped(fp, path, from, to, reason)
      reportSoon()
    },
    lost (loss) {
      ledger.lost(loss)
      reportSoon()
    },
    start () {
      if (timer !== null || stopped) return
      timer = setInterval(kick, intervalMs)
      timer.unref()
      // state changes (a file rotated or finished) are reported within a second, not an interval
      watch = setInterval(() => { if (ledger.refresh()) kick() }, Math.min(1000, intervalMs))
      watch.unref()
      kick()
    },
    async stop () {
      if (stopped) return
      stopped = true
      if (timer !== null) clearInterval(timer)
      if (watch !== null) clearInterval(watch)
      if (soon !== null) clearImmediate(soon)
      if (sending !== null) await sending
      await report().catch(err => { o.onError?.(err as Error) })
    },
    records: (now?: number) => ledger.records(now)
  }
}
