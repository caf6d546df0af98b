// One scan of a tailer: expand the globs, tell each file apart by its fingerprint (new file,
// same file renamed, copytruncate's copy, truncated in place, compressed rotation), find
// rotations that happened between scans, and close detached files once drained.
import fs from 'node:fs'
import path from 'node:path'
import { expandGlob } from './glob.js'
import { compressionOf, fingerprintHead, isRotatedName, readHead } from './moved-file.js'
import { discover, recover } from './tailer-recovery.js'
import { addSource, closeSource, hasUnreadLine, relocate, stillSame, type Source, type TailerState } from './tailer-state.js'

export function scan (t: TailerState): void {
  const scanStart = Date.now()
  const seenPaths = new Set<string>()
  for (const g of t.opts.globs) for (const p of expandGlob(g)) seenPaths.add(p)
  if (t.firstScan) recover(t, seenPaths)
  const stillAt = new Set<Source>()
  /** directories where a file appeared at a tailed path or left one: rotation happened */
  const rotatedDirs = new Set<string>()
  const skippedNow = new Set<string>()
  const finishedNow = new Map<string, number>()
  for (const p of seenPaths) {
    let st: fs.Stats
    try { st = fs.statSync(p) } catch { continue }
    // fast path: same inode as a live source and not shrunk → same file, maybe renamed
    let known: Source | undefined
    for (const s of t.byFp.values()) if (s.dev === st.dev && s.ino === st.ino) { known = s; break }
    // an inode match alone is not identity: copytruncate (or a truncation in place) followed
    // by fast writes can regrow the file past readPos before we look, so the first line
    // must still be the one we fingerprinted
    if (known !== undefined && st.size >= known.readPos && stillSame(t, known)) {
      known.path = p; known.size = st.size; known.detached = false; stillAt.add(known)
      continue
    }
    const id = `${st.dev}:${st.ino}`
    if (t.skipped.has(id)) { skippedNow.add(id); continue }
    if (t.finished.get(id) === st.size) { finishedNow.set(id, st.size); continue }
    let fd: number
    try { fd = fs.openSync(p, 'r') } catch { continue }
    let fp: string | null
    let format: string | null
    try {
      const head = st.size === 0 ? Buffer.alloc(0) : readHead(fd, st.size)
      format = compressionOf(p, head)
      fp = format === null ? fingerprintHead(head, t.opts.host) : null
    } catch { fs.closeSync(fd); continue }
    if (format !== null) {
      // a compressed rotation the glob also matches: its lines were (or could not be) shipped
      // from the plain file; its bytes would be binary garbage
      fs.closeSync(fd); skippedNow.add(id)
      t.opts.onSkip?.('compressed', p, format)
      continue
    }
    if (fp === null) { fs.closeSync(fd); continue }
    const same = t.byFp.get(fp)
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
    const cp = t.opts.checkpoints.get(fp)
    // finished (its unterminated tail, if any, dropped) and still matched by a glob: nothing to
    // read while it has not grown; if it grew, read on from the end of what was accounted for
    const finishedAt = cp?.done === true ? cp.size : undefined
    if (finishedAt !== undefined && st.size <= finishedAt) { fs.closeSync(fd); finishedNow.set(id, st.size); continue }
    // a checkpoint beyond the end: this is a shorter copy of content already shipped up to
    // there (copytruncate), so there is nothing left in it to ship
    const start = cp === undefined ? 0 : finishedAt ?? Math.min(cp.offset, st.size)
    const s = addSource(t, fp, p, fd, st, start, false)
    stillAt.add(s)
    rotatedDirs.add(path.dirname(p))
    if (known !== undefined && known !== s) known.detached = true // truncated in place: old content is gone
  }
  t.skipped = skippedNow
  t.finished = finishedNow
  // a checkpointed file recover(t, ) left to this scan may have been rotated away in between
  if (t.firstScan) recover(t, seenPaths)
  for (const s of t.byFp.values()) {
    if (!stillAt.has(s) && !s.detached) { s.detached = true; rotatedDirs.add(path.dirname(s.path)) }
  }
  // rotated siblings that no scan saw: on start, since the last listing before the shipper
  // stopped; later, since the previous scan (a file can be born and rotated between two)
  const tailedDirs = new Set([...seenPaths, ...t.literalPaths].map(p => path.dirname(p)))
  const dirs = t.firstScan ? tailedDirs : rotatedDirs
  for (const dir of dirs) {
    const since = t.firstScan ? t.opts.checkpoints.scannedAt(dir) : t.dirScanAt.get(dir)
    if (since === undefined) continue // never listed before: what is there is history, not rotation
    const lives = new Set([...seenPaths, ...t.literalPaths].filter(p => path.dirname(p) === dir).map(p => path.basename(p)))
    discover(t, dir, lives, since, seenPaths)
  }
  for (const dir of tailedDirs) { t.dirScanAt.set(dir, scanStart); t.opts.checkpoints.setScannedAt(dir, scanStart) }
  t.firstScan = false
  closeDrained(t)
}

/** an older generation still at a path the globs match: its name is a rotated name of another
 *  file tailed in its directory (app.log.1 beside app.log), whose content differs from its first
 *  line on, so the live file was truncated or re-created after it */
function olderGeneration (t: TailerState, s: Source): boolean {
  const dir = path.dirname(s.path)
  const name = path.basename(s.path)
  for (const o of t.byFp.values()) {
    if (o !== s && !o.detached && path.dirname(o.path) === dir && isRotatedName(name, path.basename(o.path))) return true
  }
  return false
}

/** an older generation ending mid-line whose size has not changed for rotatedSettleMs: no
 *  writer is finishing that line (copytruncate's copy ended inside it) */
function settled (t: TailerState, s: Source, size: number, now: number): boolean {
  if (size <= s.readPos) { s.settle = undefined; return false } // ends with a newline: left open as before
  if (s.settle?.size !== size) { s.settle = { size, since: now }; return false }
  return now - s.settle.since >= t.rotatedSettleMs
}

/** a detached file whose lines were all handed out and acknowledged, idle for detachedIdleMs,
 *  or an older generation still matched by a glob and settled mid-line, is closed and its
 *  checkpoint marked finished */
function closeDrained (t: TailerState): void {
  const now = Date.now()
  for (const s of [...t.byFp.values()]) {
    if (!s.detached && !olderGeneration(t, s)) continue
    // its file no longer holds its content (copytruncate with a glob that misses the copy):
    // the unread rest may live on in another file of the directory
    if (s.detached && !stillSame(t, s)) relocate(t, s)
    let size = s.size
    try { size = fs.fstatSync(s.fd).size } catch {}
    // drained = everything handed out was acked and what is left is no complete line (a
    // deleted file ending mid-line must still be closed, or its fd and disk space leak)
    const drained = s.ackedOffset === s.endOffset && !s.skipping && !hasUnreadLine(t, s, size)
    const idle = s.detached ? now - s.lastDataAt > t.detachedIdleMs : settled(t, s, size, now)
    if (drained && idle) {
      if (s.readPos < size) {
        t.warn(`${s.path}: closed with ${size - s.readPos} unread bytes (partial last line${s.detached ? '' : `; a rotated file unchanged for ${t.rotatedSettleMs} ms`})`)
        t.drop('partial_last_line', size - s.readPos, { fp: s.fp, path: s.path, offset: s.readPos })
      }
      closeSource(t, s)
      // finished: kept (so it is never shipped again) until it is gone from its directory
      const cp = t.opts.checkpoints.get(s.fp)
      if (cp !== undefined) t.opts.checkpoints.set(s.fp, { ...cp, offset: s.ackedOffset, size, done: true, updatedAt: now })
    }
  }
}
