// What a tailer knows between calls (its open sources by fingerprint, what it scanned when) and
// the small operations on one source that scanning, recovery and reading share.
import fs from 'node:fs'
import path from 'node:path'
import type { CheckpointStore } from './checkpoint.js'
import { fingerprintOf, indexDirectory } from './moved-file.js'

/** One whole line: bytes [start, end) of a read chunk (without its newline), at byte offset
 *  `off` of its file. Ranges rather than a Buffer per line: a Buffer view per line was a
 *  measurable part of the shipper's allocation and GC; `buf` makes one when asked. */
export class TailedLine {
  constructor (readonly chunk: Buffer, readonly start: number, readonly end: number, readonly off: number, readonly truncated: boolean) {}
  get buf (): Buffer { return this.chunk.subarray(this.start, this.end) }
  get length (): number { return this.end - this.start }
}

/** a line held in its own buffer (tests, callers outside the tailer) */
export function tailedLine (buf: Buffer, off: number, truncated = false): TailedLine {
  return new TailedLine(buf, 0, buf.length, off, truncated)
}

export interface Source {
  fp: string
  path: string
  fd: number
  dev: number
  ino: number
  readPos: number
  /** offset after the last line handed out (a line start) */
  endOffset: number
  ackedOffset: number
  skipping: boolean
  /** path no longer leads to this file (rotated or deleted): drain it, then close */
  detached: boolean
  lastDataAt: number
  size: number
  /** a rotated generation with an unterminated tail: its size and since when it has not changed */
  settle?: { size: number, since: number }
}

export interface TailerOptions {
  globs: string[]
  checkpoints: CheckpointStore
  /** identity of this shipper's host: part of the fingerprint so two hosts never collide */
  host: string
  /** lines longer than this are truncated and flagged (bytes, default 256 KiB) */
  maxLineBytes?: number
  /** bytes read per file per call (default 1 MiB) */
  readChunkBytes?: number
  /** close a detached file after it has been idle at EOF this long (ms, default 5000) */
  detachedIdleMs?: number
  /** a file at a rotated name of a tailed file (app.log.1 beside app.log), ending mid-line and
   *  unchanged in size this long, is finished: its unterminated tail is dropped (ms, default 60,000) */
  rotatedSettleMs?: number
  onWarning?: (msg: string) => void
  /** bytes that can never be shipped (a detached file closed with a partial last line) */
  onDrop?: (reason: string, bytes: number, at?: { fp: string, path: string, offset: number }) => void
  /** a started file that can no longer be finished: compressed or deleted before its end was
   *  read. bytes: size at last sight (or uncompressed size) − offset, null when unknown */
  onLoss?: (loss: RotatedLoss) => void
  /** a file the globs match that is not shipped (compressed: never ship binary), once per file */
  onSkip?: (reason: 'compressed', path: string, format: string) => void
  onInfo?: (msg: string) => void
}

export interface RotatedLoss { reason: 'compressed' | 'deleted', path: string, fp: string, offset: number, bytes: number | null }

export interface TailerState {
  readonly opts: TailerOptions
  /** longest line handed out whole; longer ones are cut and flagged truncated (bytes) */
  readonly maxLine: number
  /** bytes read per file per call */
  readonly chunk: number
  readonly detachedIdleMs: number
  readonly rotatedSettleMs: number
  readonly byFp: Map<string, Source>
  readonly warn: (msg: string) => void
  readonly drop: (reason: string, bytes: number, at?: { fp: string, path: string, offset: number }) => void
  readonly note: (msg: string) => void
  firstScan: boolean
  /** when each tailed directory was last listed (start of that scan) */
  readonly dirScanAt: Map<string, number>
  /** dev:ino of compressed files the globs match, counted once each */
  skipped: Set<string>
  /** dev:ino → size of finished files the globs still match (not reopened while that size) */
  finished: Map<string, number>
  /** tailed paths named without a wildcard: their rotations are looked for even while the
   *  path itself is missing (between logrotate's rename and its create) */
  readonly literalPaths: string[]
}

export function createTailerState (opts: TailerOptions): TailerState {
  const maxLine = opts.maxLineBytes ?? 256 * 1024
  return {
    opts,
    maxLine,
    chunk: Math.max(opts.readChunkBytes ?? 1024 * 1024, maxLine + 1),
    detachedIdleMs: opts.detachedIdleMs ?? 5000,
    rotatedSettleMs: opts.rotatedSettleMs ?? 60_000,
    byFp: new Map(),
    warn: opts.onWarning ?? (() => {}),
    drop: opts.onDrop ?? (() => {}),
    note: opts.onInfo ?? (() => {}),
    firstScan: true,
    dirScanAt: new Map(),
    skipped: new Set(),
    finished: new Map(),
    literalPaths: opts.globs.filter(g => !/[*?]/.test(path.basename(g))).map(g => path.resolve(g))
  }
}

/** a source from `start`; its checkpoint entry exists from first sight, so a file seen once
 *  is known after a crash even if none of its lines was acknowledged */
export function addSource (t: TailerState, fp: string, p: string, fd: number, st: { dev: number, ino: number, size: number }, start: number, detached: boolean): Source {
  const s: Source = { fp, path: p, fd, dev: st.dev, ino: st.ino, readPos: start, endOffset: start, ackedOffset: start, skipping: false, detached, lastDataAt: Date.now(), size: st.size }
  t.byFp.set(fp, s)
  const cp = t.opts.checkpoints.get(fp)
  t.opts.checkpoints.set(fp, { ...cp, offset: cp === undefined ? start : cp.offset, path: p, dev: st.dev, ino: st.ino, size: st.size, updatedAt: Date.now(), detached, done: false })
  return s
}

/** the source's fd still holds the content it was fingerprinted by */
export function stillSame (t: TailerState, s: Source): boolean {
  try {
    const size = fs.fstatSync(s.fd).size
    return fingerprintOf(s.fd, size, t.opts.host) === s.fp
  } catch { return false }
}

/** a complete (or over-long) line waits between readPos and size: the file is not done */
export function hasUnreadLine (t: TailerState, s: Source, size: number): boolean {
  const rest = size - s.readPos
  if (rest <= 0) return false
  if (rest > t.maxLine) return true
  const buf = Buffer.allocUnsafe(rest)
  try { return fs.readSync(s.fd, buf, 0, rest, s.readPos) > 0 && buf.subarray(0, rest).includes(10) } catch { return false }
}

export function closeSource (t: TailerState, s: Source): void {
  try { fs.closeSync(s.fd) } catch {}
  t.byFp.delete(s.fp)
}

export function relocate (t: TailerState, s: Source): void {
  const at = indexDirectory(path.dirname(s.path), t.opts.host).locate({ fp: s.fp, path: s.path })
  if (at.kind !== 'found') return
  try { fs.closeSync(s.fd) } catch {}
  s.fd = at.fd; s.dev = at.dev; s.ino = at.ino; s.path = at.path; s.size = at.size
}
