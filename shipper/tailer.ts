// Tails files matched by globs, identifying each by a content fingerprint (hash of its first
// line), not by inode or path alone, so rotation by rename, copytruncate, truncation in place,
// deletion while open and inode reuse are all told apart:
//   scan (globs → fingerprint → source) ──▶ read (whole lines only, from readPos) ──▶ batch
// A source's `ackedOffset` (what the checkpoint stores) always points at a line start and
// only moves when the caller reports that Kafka acknowledged the lines before it.
// A file started and then rotated is finished, even across a restart: on start the checkpoint's
// files are looked for in their directory under any name (moved-file.ts), and rotated siblings
// that appeared while nobody watched are read from their start.
import fs from 'node:fs'
import path from 'node:path'
import { expandGlob } from './glob.js'
import type { CheckpointStore } from './checkpoint.js'
import { compressionOf, fingerprintHead, fingerprintOf as fingerprintFile, indexDirectory, isRotatedName, readHead, type DirIndex } from './moved-file.js'

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
  onDrop?: (reason: string, bytes: number, at?: { fp: string, path: string, offset: number }) => void
  /** a started file that can no longer be finished: compressed or deleted before its end was
   *  read. bytes: size at last sight (or uncompressed size) − offset, null when unknown */
  onLoss?: (loss: RotatedLoss) => void
  /** a file the globs match that is not shipped (compressed: never ship binary), once per file */
  onSkip?: (reason: 'compressed', path: string, format: string) => void
  onInfo?: (msg: string) => void
}

export interface RotatedLoss { reason: 'compressed' | 'deleted', path: string, fp: string, offset: number, bytes: number | null }

/** a rotated sibling modified this long before the last listing of its directory still counts
 *  as possibly unseen (clock granularity, a write racing the listing) */
const siblingMarginMs = 2000

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
  const note = opts.onInfo ?? (() => {})
  let firstScan = true
  /** when each tailed directory was last listed (start of that scan) */
  const dirScanAt = new Map<string, number>()
  /** dev:ino of compressed files the globs match, counted once each */
  let skipped = new Set<string>()
  /** tailed paths named without a wildcard: their rotations are looked for even while the
   *  path itself is missing (between logrotate's rename and its create) */
  const literalPaths = opts.globs.filter(g => !/[*?]/.test(path.basename(g))).map(g => path.resolve(g))

  /** fingerprint of the file's first line (or first 4 KiB); null while no full line exists */
  function fingerprintOf (fd: number, size: number): string | null {
    return fingerprintFile(fd, size, opts.host)
  }

  /** a source from `start`; its checkpoint entry exists from first sight, so a file seen once
   *  is known after a crash even if none of its lines was acknowledged */
  function addSource (fp: string, p: string, fd: number, st: { dev: number, ino: number, size: number }, start: number, detached: boolean): Source {
    const s: Source = { fp, path: p, fd, dev: st.dev, ino: st.ino, readPos: start, endOffset: start, ackedOffset: start, skipping: false, detached, lastDataAt: Date.now(), size: st.size }
    byFp.set(fp, s)
    const cp = opts.checkpoints.get(fp)
    opts.checkpoints.set(fp, { ...cp, offset: cp === undefined ? start : cp.offset, path: p, dev: st.dev, ino: st.ino, size: st.size, updatedAt: Date.now(), detached, done: false })
    return s
  }

  /** On start: every checkpointed file not at a tailed path is looked for in its directory.
   *  Found with unread bytes: finished (read to its end as a detached source). Compressed or
   *  deleted first: the loss is reported. Finished and gone: forgotten. */
  function recover (seenPaths: Set<string>): void {
    const indexes = new Map<string, DirIndex>()
    const indexOf = (dir: string, fresh: boolean): DirIndex => {
      let x = fresh ? undefined : indexes.get(dir)
      if (x === undefined) { x = indexDirectory(dir, opts.host); indexes.set(dir, x) }
      return x
    }
    let legacy = 0
    for (const [fp, cp] of opts.checkpoints.entries()) {
      if (byFp.has(fp)) continue
      const dir = path.dirname(cp.path)
      const known = { fp, path: cp.path, dev: cp.dev, ino: cp.ino }
      let at = indexOf(dir, false).locate(known)
      if (at.kind === 'gone') at = indexOf(dir, true).locate(known) // moved while we looked
      if (at.kind === 'found') {
        const found = at
        if (seenPaths.has(found.path)) { fs.closeSync(found.fd); continue } // scan() resumes it
        if (found.path === cp.path && cp.detached !== true && cp.done !== true) {
          // still at the path where it was tailed, but no glob matches it any more: not ours to read
          fs.closeSync(found.fd); opts.checkpoints.delete(fp); continue
        }
        if (cp.offset >= found.size) {
          fs.closeSync(found.fd)
          opts.checkpoints.set(fp, { ...cp, path: found.path, dev: found.dev, ino: found.ino, size: found.size, done: true })
          continue
        }
        addSource(fp, found.path, found.fd, found, cp.offset, true)
        note(`${found.path}: finishing a rotated file from byte ${cp.offset} (${found.size - cp.offset} bytes unread; last tailed as ${cp.path})`)
        continue
      }
      opts.checkpoints.delete(fp)
      if (cp.done === true) continue // finished before it went
      if (cp.ino === undefined) { legacy++; continue }
      let bytes: number | null
      if (at.kind === 'compressed' && at.size !== null && at.size >= cp.offset) bytes = at.size - cp.offset
      else bytes = cp.size !== undefined && cp.size > cp.offset ? cp.size - cp.offset : null
      if (bytes === 0) continue
      opts.onLoss?.({ reason: at.kind === 'compressed' ? 'compressed' : 'deleted', path: at.kind === 'compressed' ? at.path : cp.path, fp, offset: cp.offset, bytes })
    }
    if (legacy > 0) note(`forgot ${legacy} checkpoint entries (from before files were tracked by inode) whose files are no longer in their directory`)
  }

  /** Rotated siblings of tailed files (app.log.1, app.log-20261205, app.1.log) that changed since
   *  the directory was last listed and that no checkpoint knows: born and rotated while nobody
   *  looked (shipper down, or between two scans). Read from their start. Also forgets finished
   *  files that are gone from the directory. */
  function discover (dir: string, lives: Set<string>, since: number, seenPaths: Set<string>): void {
    const idx = indexDirectory(dir, opts.host)
    const present = new Set(idx.files.map(e => `${e.dev}:${e.ino}`))
    for (const [fp, cp] of opts.checkpoints.entries()) {
      if (cp.done === true && !byFp.has(fp) && path.dirname(cp.path) === dir && !present.has(`${cp.dev}:${cp.ino}`)) opts.checkpoints.delete(fp)
    }
    const open = new Set([...byFp.values()].map(s => `${s.dev}:${s.ino}`))
    for (const e of idx.files) {
      if (seenPaths.has(e.path) || e.mtimeMs < since - siblingMarginMs || open.has(`${e.dev}:${e.ino}`)) continue
      const name = path.basename(e.path)
      if (![...lives].some(l => isRotatedName(name, l))) continue
      let fd: number
      try { fd = fs.openSync(e.path, 'r') } catch { continue }
      let fp: string | null = null
      let st: fs.Stats | null = null
      try {
        st = fs.fstatSync(fd)
        const head = readHead(fd, st.size)
        if (compressionOf(name, head) === null) fp = fingerprintHead(head, opts.host)
      } catch {}
      if (st === null || fp === null || byFp.has(fp)) { fs.closeSync(fd); continue }
      // known but not open: it moved between a listing and its opening (a restart racing
      // logrotate), or was written to after it was finished
      const cp = opts.checkpoints.get(fp)
      const from = cp === undefined ? 0 : Math.min(cp.offset, st.size)
      if (cp !== undefined && from >= st.size) { fs.closeSync(fd); continue }
      addSource(fp, e.path, fd, st, from, true)
      note(`${e.path}: reading a rotated file ${cp === undefined ? 'that appeared while the shipper was not watching' : `from byte ${from}`} (${st.size} bytes)`)
    }
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

  function relocate (s: Source): void {
    const at = indexDirectory(path.dirname(s.path), opts.host).locate({ fp: s.fp, path: s.path })
    if (at.kind !== 'found') return
    try { fs.closeSync(s.fd) } catch {}
    s.fd = at.fd; s.dev = at.dev; s.ino = at.ino; s.path = at.path; s.size = at.size
  }

  function scan (): void {
    const scanStart = Date.now()
    const seenPaths = new Set<string>()
    for (const g of opts.globs) for (const p of expandGlob(g)) seenPaths.add(p)
    if (firstScan) recover(seenPaths)
    const stillAt = new Set<Source>()
    /** directories where a file appeared at a tailed path or left one: rotation happened */
    const rotatedDirs = new Set<string>()
    const skippedNow = new Set<string>()
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
      const id = `${st.dev}:${st.ino}`
      if (skipped.has(id)) { skippedNow.add(id); continue }
      let fd: number
      try { fd = fs.openSync(p, 'r') } catch { continue }
      let fp: string | null
      let format: string | null
      try {
        const head = st.size === 0 ? Buffer.alloc(0) : readHead(fd, st.size)
        format = compressionOf(p, head)
        fp = format === null ? fingerprintHead(head, opts.host) : null
      } catch { fs.closeSync(fd); continue }
      if (format !== null) {
        // a compressed rotation the glob also matches: its lines were (or could not be) shipped
        // from the plain file; its bytes would be binary garbage
        fs.closeSync(fd); skippedNow.add(id)
        opts.onSkip?.('compressed', p, format)
        continue
      }
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
      const s = addSource(fp, p, fd, st, start, false)
      stillAt.add(s)
      rotatedDirs.add(path.dirname(p))
      if (known !== undefined && known !== s) known.detached = true // truncated in place: old content is gone
    }
    skipped = skippedNow
    // a checkpointed file recover() left to this scan may have been rotated away in between
    if (firstScan) recover(seenPaths)
    for (const s of byFp.values()) {
      if (!stillAt.has(s) && !s.detached) { s.detached = true; rotatedDirs.add(path.dirname(s.path)) }
    }
    // rotated siblings that no scan saw: on start, since the last listing before the shipper
    // stopped; later, since the previous scan (a file can be born and rotated between two)
    const tailedDirs = new Set([...seenPaths, ...literalPaths].map(p => path.dirname(p)))
    const dirs = firstScan ? tailedDirs : rotatedDirs
    for (const dir of dirs) {
      const since = firstScan ? opts.checkpoints.scannedAt(dir) : dirScanAt.get(dir)
      if (since === undefined) continue // never listed before: what is there is history, not rotation
      const lives = new Set([...seenPaths, ...literalPaths].filter(p => path.dirname(p) === dir).map(p => path.basename(p)))
      discover(dir, lives, since, seenPaths)
    }
    for (const dir of tailedDirs) { dirScanAt.set(dir, scanStart); opts.checkpoints.setScannedAt(dir, scanStart) }
    firstScan = false
    const now = Date.now()
    for (const s of [...byFp.values()]) {
      if (!s.detached) continue
      // its file no longer holds its content (copytruncate with a glob that misses the copy):
      // the unread rest may live on in another file of the directory
      if (!stillSame(s)) relocate(s)
      let size = s.size
      try { size = fs.fstatSync(s.fd).size } catch {}
      // drained = everything handed out was acked and what is left is no complete line (a
      // deleted file ending mid-line must still be closed, or its fd and disk space leak)
      const drained = s.ackedOffset === s.endOffset && !s.skipping && !hasUnreadLine(s, size)
      if (drained && now - s.lastDataAt > detachedIdleMs) {
        if (s.readPos < size) {
          warn(`${s.path}: closed with ${size - s.readPos} unread bytes (partial last line)`)
          drop('partial_last_line', size - s.readPos, { fp: s.fp, path: s.path, offset: s.readPos })
        }
        closeSource(s)
        // finished: kept (so it is never shipped again) until it is gone from its directory
        const cp = opts.checkpoints.get(s.fp)
        if (cp !== undefined) opts.checkpoints.set(s.fp, { ...cp, offset: s.ackedOffset, size, done: true, updatedAt: now })
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
      opts.checkpoints.set(s.fp, { offset, path: s.path, dev: s.dev, ino: s.ino, size: Math.max(s.size, offset), updatedAt: Date.now(), detached: s.detached })
    },
    rewind () {
      for (const s of byFp.values()) { s.readPos = s.ackedOffset; s.endOffset = s.ackedOffset; s.skipping = false }
    },
    sources: () => [...byFp.values()],
    refreshSizes () {
      for (const s of byFp.values()) { try { s.size = fs.fstatSync(s.fd).size } catch {} }
    },
    close () {
      for (const s of [...byFp.values()]) {
        // a rotated file read to its end and acknowledged is finished: no loss to report if it
        // is deleted before the next start
        if (s.detached && s.ackedOffset === s.endOffset && !s.skipping && !hasUnreadLine(s, s.size)) {
          const cp = opts.checkpoints.get(s.fp)
          if (cp !== undefined && cp.offset >= s.size) opts.checkpoints.set(s.fp, { ...cp, done: true })
        }
        closeSource(s)
      }
    }
  }
}
