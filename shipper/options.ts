// Options of `createShipper`, their defaults (with units) and their one-time validation.
// Why the defaults are what they are: docs/design/2026-12-01-compression.md and
// docs/design/2026-12-02-memory-while-catching-up.md.
import os from 'node:os'
import { Registry } from 'prom-client'
import { topicsFor, type Topics } from '../schemas/topics.js'
import { compressionProblem, type Compression } from '../platform/kafka-codecs.js'

export interface ShipperOptions {
  brokers: string[]
  topics?: Topics
  globs: string[]
  dataDir: string
  /** service name for lines that carry none (default: the file's parent directory name) */
  service?: string
  host?: string
  maxLineBytes?: number
  /** source bytes read per batch (default 2 MiB; a segment's value is its source bytes plus a
   *  header, so this bounds the batch's memory) */
  maxBatchBytes?: number
  /** lines read per batch (default 8192): with short lines the records built from them cost
   *  several times their source bytes, which the byte cap alone would not bound */
  maxBatchLines?: number
  /** least time between two checkpoint writes while batches keep being acknowledged (default
   *  250 ms; caught up, stopping or idle, at once). Each write is two fsyncs on the main
   *  thread; a crash replays at most this much more, deduplicated downstream like any replay */
  checkpointIntervalMs?: number
  /** max NDJSON bytes per Kafka message (default 255 KiB: kafkajs sizes each record's buffer to
   *  the next power of two, so a value just under 256 KiB takes 256 KiB, not 512) */
  maxMessageBytes?: number
  /** ms between reads when caught up (default 100) */
  pollIntervalMs?: number
  /** ms between glob scans for new files (default 1000) */
  scanIntervalMs?: number
  /** bound on each thread's Buffer memory, checked after each batch: above it a minor GC, then a
   *  major one if needed (default 16 MiB; 0 = never, for a process shared with other roles).
   *  Above 0 the shipper assumes a process of its own (shipper/memory-bound.ts) */
  maxArrayBufferBytes?: number
  /** batches sent to Kafka and not yet acknowledged (default 2; one more is read and encoded
   *  meanwhile). More raise lines/s but not memory flat while catching up, which comes first */
  maxBatchesInFlight?: number
  /** ship braced lines ({…}) in valid UTF-8 raw, in log segments (schemas/segment.ts), leaving
   *  their normalisation to the collector (default true); false = every line a v1 record */
  segments?: boolean
  /** a rotated file still matched by a glob (app.log.1 beside app.log, under copytruncate) that
   *  ends mid-line and has not changed size this long is finished: its unterminated tail is
   *  counted and reported as dropped, partial_last_line (ms, default 60,000; longer than any
   *  writer takes to finish a line) */
  rotatedSettleMs?: number
  /** steady interval of progress records, per file tailed (ms, default 10,000; progress.ts) */
  progressIntervalMs?: number
  /** Kafka compression of the record batches (default gzip, level 1: zstd is faster and
   *  smaller but held more memory while catching up) */
  compression?: Compression
  registry?: Registry
}

/** every option with its default applied; validated, frozen */
export interface ResolvedShipperOptions {
  readonly brokers: string[]
  readonly globs: string[]
  readonly dataDir: string
  readonly service: string | undefined
  readonly host: string
  readonly topics: Topics
  readonly registry: Registry
  readonly maxLineBytes: number | undefined
  readonly maxBatchBytes: number
  readonly maxBatchLines: number
  readonly maxMessageBytes: number
  readonly maxInFlight: number
  readonly compression: Compression
  readonly checkpointMs: number
  readonly pollMs: number
  readonly scanMs: number
  readonly maxArrayBuffers: number
  readonly segments: boolean | undefined
  readonly progressIntervalMs: number | undefined
  readonly rotatedSettleMs: number
}

export function resolveShipperOptions (opts: ShipperOptions): ResolvedShipperOptions {
  if (opts.globs.length === 0) throw new TypeError('createShipper: at least one glob is required')
  const compression = opts.compression ?? 'gzip'
  const compressionWhy = compressionProblem(compression)
  if (compressionWhy !== null) throw new TypeError(`createShipper: compression ${JSON.stringify(compression)}: ${compressionWhy}`)
  const rotatedSettleMs = opts.rotatedSettleMs ?? 60_000
  if (!Number.isFinite(rotatedSettleMs) || rotatedSettleMs < 0) throw new TypeError(`createShipper: rotatedSettleMs must be a number of ms ≥ 0, got ${String(opts.rotatedSettleMs)}`)
  return Object.freeze({
    brokers: opts.brokers,
    globs: opts.globs,
    dataDir: opts.dataDir,
    service: opts.service,
    host: opts.host ?? os.hostname(),
    topics: opts.topics ?? topicsFor(),
    registry: opts.registry ?? new Registry(),
    maxLineBytes: opts.maxLineBytes,
    maxBatchBytes: opts.maxBatchBytes ?? 2 * 1024 * 1024,
    maxBatchLines: opts.maxBatchLines ?? 8192,
    maxMessageBytes: opts.maxMessageBytes ?? 255 * 1024,
    maxInFlight: Math.max(1, opts.maxBatchesInFlight ?? 2),
    compression,
    checkpointMs: opts.checkpointIntervalMs ?? 250,
    pollMs: opts.pollIntervalMs ?? 100,
    scanMs: opts.scanIntervalMs ?? 1000,
    maxArrayBuffers: opts.maxArrayBufferBytes ?? 16 * 1024 * 1024,
    segments: opts.segments,
    progressIntervalMs: opts.progressIntervalMs,
    rotatedSettleMs
  })
}
