// Tails files matched by globs, identifying each by a content fingerprint (hash of its first
// line), not by inode or path alone, so rotation by rename, copytruncate, truncation in place,
// deletion while open and inode reuse are all told apart:
//   scan (globs → fingerprint → source) ──▶ read (whole lines only, from readPos) ──▶ batch
// A source's `ackedOffset` (what the checkpoint stores) always points at a line start and
// only moves when the caller reports that Kafka acknowledged the lines before it.
import fs from 'node:fs'
import crypto from 'node:crypto'
import { expandGlob } from './glob.js'
import type { CheckpointStore } from './checkpoint.js'

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
  onWarning?: (msg: string) => void
  /** bytes that can never be shipped (a detached file closed with a partial last line) */
  onDrop?: (reason: string, bytes: number) => void
}

const fingerprintBytes = 4096

/** end of a truncated line that does not split a UTF-8 sequence (so a valid line never gets
 *  flagged invalid_utf8 just because it was cut) */
function utf8Cut (buf: Buffer, start: number, max: number): number {
  let end = start + max
  let back = 0
  while (back < 3 && end > start && (buf[end] & 0xc0) === 0x80) { end--; back++ }
  return end
}

export interface Tailer {
  scan (): void
  /** whole lines from every source, at most about maxBytes of source and at most maxLines lines */
  read (maxBytes: number, maxLines?: number): Array<{ source: Source, lines: TailedLine[], endOffset: number }>
  ack (source: Source, offset: number): void
  /** forget what was read and not acknowledged: the next read starts again at each file's
   *  acknowledged offset (after a failed send, so no line is skipped) */
  rewind (): void
  sources (): Source[]
  /** re-read every open file's size (lag gauges), without reading or rescanning */
  refreshSizes (): void
  close (): void
}

export function createTailer (opts: TailerOptions): Tailer {
  const maxLine = opts.maxLineBytes ?? 256 * 1024
  const chunk = Math.max(opts.readChunkBytes ?? 1024 * 1024, maxLine + 1)
  const detachedIdleMs = opts.detachedIdleMs ?? 5000
  const byFp = new Map<string, Source>()
  const warn = opts.onWarning ?? (() => {})
  const drop = opts.onDrop ?? (() => {})

  /** fingerprint of the file's first line (or first 4 KiB); null while no full line exists */
  function fingerprintOf (fd: number, size: number): string | null {
    if (size === 0) return null
    const head = Buffer.allocUnsafe(Math.min(fingerprintBytes, size))
    const n = fs.readSync(fd, head, 0, head.length, 0)
    const nl = head.subarray(0, n).indexOf(10)
    if (nl === -1 && n < fingerprintBytes) return null
    const first = nl === -1 ? head.subarray(0, n) : head.subarray(0, nl + 1)
    return crypto.createHash('sha256').update(opts.host).update('\0').update(first).digest('hex').slice(0, 24)
  }

  /** the source's fd still holds the content it was fingerprinted by */
  function stillSame (s: Source): boolean {
    try {
      const size = fs.fstatSync(s.fd).size
      return fingerprintOf(s.fd, size) === s.fp
    } catch { return false }
  }

  /** a complete (or over-long) line waits between readPos and size: the file is not done */
  function hasUnreadLine (s: Source, size: number): boolean {
    const rest = size - s.readPos
    if (rest <= 0) return false
    if (rest > maxLine) return true
    const buf = Buffer.allocUnsafe(rest)
    try { return fs.readSync(s.fd, buf, 0, rest, s.readPos) > 0 && buf.subarray(0, rest).includes(10) } catch { return false }
  }

  function closeSource (s: Source): void {
    try { fs.closeSync(s.fd) } catch {}
    byFp.delete(s.fp)
  }

  function scan (): void {
    const seenPaths = new Set<string>()
    for (const g of opts.globs) for (const p of expandGlob(g)) seenPaths.add(p)
    const stillAt = new Set<Source>()
    for (const p of seenPaths) {
      let st: fs.Stats
      try { st = fs.statSync(p) } catch { continue }
      // fast path: same inode as a live source and not shrunk → same file, maybe renamed
      let known: Source | undefined
      for (const s of byFp.values()) if (s.dev === st.dev && s.ino === st.ino) { known = s; break }
      // an inode match alone is not identity: copytruncate (or a truncation in place) followed
      // by fast writes can regrow the file past readPos before we look, so the first line
      // must still be the one we fingerprinted
      if (known !== undefined && st.size >= known.readPos && stillSame(known)) {
        known.path = p; known.size = st.size; known.detached = false; stillAt.add(known)
        continue
      }
      let fd: number
      try { fd = fs.openSync(p, 'r') } catch { continue }
      let fp: string | null
      try { fp = fingerprintOf(fd, st.size) } catch { fs.closeSync(fd); continue }
      if (fp === null) { fs.closeSync(fd); continue }
      const same = byFp.get(fp)
      if (same !== undefined) {
        if (same.dev === st.dev && same.ino === st.ino) { fs.closeSync(fd); stillAt.add(same); continue }
        // the content we were reading now lives in another file (copytruncate's copy): follow
        // it there and keep our position. A copy shorter than our position holds nothing new
        // (we read past it from the live file between logrotate's copy and its truncate); it is
        // followed all the same, or once we let go of it it would look unseen and ship again
        try { fs.closeSync(same.fd) } catch {}
        same.fd = fd; same.dev = st.dev; same.ino = st.ino; same.path = p; same.size = st.size; same.detached = false
        stillAt.add(same)
        continue
      }
      const cp = opts.checkpoints.get(fp)
      // a checkpoint beyond the end: this is a shorter copy of content already shipped up to
      // there (copytruncate), so there is nothing left in it to ship
      const start = cp === undefined ? 0 : Math.min(cp.offset, st.size)
      const s: Source = { fp, path: p, fd, dev: st.dev, ino: st.ino, readPos: start, endOffset: start, ackedOffset: start, skipping: false, detached: false, lastDataAt: Date.now(), size: st.size }
      byFp.set(fp, s)
      stillAt.add(s)
      if (known !== undefined && known !== s) known.detached = true // truncated in place: old content is gone
    }
    for (const s of byFp.values()) if (!stillAt.has(s)) s.detached = true
    const now = Date.now()
    for (const s of [...byFp.values()]) {
      if (!s.detached) continue
      let size = s.size
      try { size = fs.fstatSync(s.fd).size } catch {}
      // drained = everything handed out was acked and what is left is no complete line (a
      // deleted file ending mid-line must still be closed, or its fd and disk space leak)
      const drained = s.ackedOffset === s.endOffset && !s.skipping && !hasUnreadLine(s, size)
      if (drained && now - s.lastDataAt > detachedIdleMs) {
        if (s.readPos < size) {
          warn(`${s.path}: closed with ${size - s.readPos} unread bytes (partial last line)`)
          drop('partial_last_line', size - s.readPos)
        }
        closeSource(s)
      }
    }
  }

  function readSource (s: Source, budget: number, maxLines: number): TailedLine[] {
    const lines: TailedLine[] = []
    let size: number
    try { size = fs.fstatSync(s.fd).size } catch { return lines }
    s.size = size
    if (size < s.readPos) return lines // truncated; scan() will pick up the new content
    // re-check identity before and after reading: a file truncated and regrown between two
    // scans must never have its new bytes shipped as the old file's continuation
    if (!stillSame(s)) return lines
    const from = { readPos: s.readPos, endOffset: s.endOffset, skipping: s.skipping }
    while (budget > 0 && s.readPos < size && lines.length < maxLines) {
      const want = Math.min(chunk, size - s.readPos)
      const buf = Buffer.allocUnsafe(want)
      const n = fs.readSync(s.fd, buf, 0, want, s.readPos)
      if (n <= 0) break
      const base = s.readPos
      let i = 0
      let full = false
      for (;;) {
        // the line cap bounds a batch's records whatever the line length (1 MiB of 2-byte
        // lines is half a million records); stopping here leaves readPos at a line start
        if (lines.length >= maxLines) { full = true; break }
        const nl = buf.indexOf(10, i)
        if (nl === -1 || nl >= n) break
        if (s.skipping) s.skipping = false // tail of an over-long line that was already handed out
        else if (nl - i > maxLine) lines.push(new TailedLine(buf, i, utf8Cut(buf, i, maxLine), base + i, true))
        else lines.push(new TailedLine(buf, i, nl, base + i, false))
        i = nl + 1
        s.endOffset = base + i
      }
      if (full) {
        s.readPos = base + i
        s.lastDataAt = Date.now()
        break
      }
      const rest = n - i
      if (s.skipping) { s.readPos = base + n } else if (rest > maxLine) {
        lines.push(new TailedLine(buf, i, utf8Cut(buf, i, maxLine), base + i, true))
        s.skipping = true
        s.readPos = base + n
      } else s.readPos = base + i
      budget -= n
      if (lines.length > 0) s.lastDataAt = Date.now()
      if (i === 0 && !s.skipping && rest <= maxLine) break // only a partial line: wait for more
    }
    if (lines.length > 0 && !stillSame(s)) {
      s.readPos = from.readPos; s.endOffset = from.endOffset; s.skipping = from.skipping
      return []
    }
    return lines
  }

  return {
    scan,
    read (maxBytes, maxLines = Infinity) {
      const out: Array<{ source: Source, lines: TailedLine[], endOffset: number }> = []
      let budget = maxBytes
      let lineBudget = maxLines
      for (const s of byFp.values()) {
        if (budget <= 0 || lineBudget <= 0) break
        const before = s.readPos
        const lines = readSource(s, budget, lineBudget)
        budget -= s.readPos - before
        lineBudget -= lines.length
        if (lines.length > 0 || s.endOffset !== s.ackedOffset) out.push({ source: s, lines, endOffset: s.endOffset })
      }
      return out
    },
    ack (s, offset) {
      s.ackedOffset = offset
      opts.checkpoints.set(s.fp, { offset, path: s.path, updatedAt: Date.now() })
    },
    rewind () {
      for (const s of byFp.values()) { s.readPos = s.ackedOffset; s.endOffset = s.ackedOffset; s.skipping = false }
    },
    sources: () => [...byFp.values()],
    refreshSizes () {
      for (const s of byFp.values()) { try { s.size = fs.fstatSync(s.fd).size } catch {} }
    },
    close () { for (const s of [...byFp.values()]) closeSource(s) }
  }
}
