// One scan of a tailer: expand the globs, tell each file apart by its fingerprint (new file,
// same file renamed, copytruncate's copy, truncated in place, compressed rotation), find
// rotations that happened between scans, and close detached files once drained.
import fs from 'node:fs'
import path from 'node:path'
import { expandGlob } from './glob.js'
import { compressionOf, fingerprintHead, readHead } from './moved-file.js'
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
    // a checkpoint beyond the end: this is a shorter copy of content already shipped up to
    // there (copytruncate), so there is nothing left in it to ship
    const start = cp === undefined ? 0 : Math.min(cp.offset, st.size)
    const s = addSource(t, fp, p, fd, st, start, false)
    stillAt.add(s)
    rotatedDirs.add(path.dirname(p))
    if (known !== undefined && known !== s) known.detached = true // truncated in place: old content is gone
  }
  t.skipped = skippedNow
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

/** a detached file whose lines were all handed out and acknowledged, idle for detachedIdleMs,
 *  is closed and its checkpoint marked finished */
function closeDrained (t: TailerState): void {
  const now = Date.now()
  for (const s of [...t.byFp.values()]) {
    if (!s.detached) continue
    // its file no longer holds its content (copytruncate with a glob that misses the copy):
    // the unread rest may live on in another file of the directory
    if (!stillSame(t, s)) relocate(t, s)
    let size = s.size
    try { size = fs.fstatSync(s.fd).size } catch {}
    // drained = everything handed out was acked and what is left is no complete line (a
    // deleted file ending mid-line must still be closed, or its fd and disk space leak)
    const drained = s.ackedOffset === s.endOffset && !s.skipping && !hasUnreadLine(t, s, size)
    if (drained && now - s.lastDataAt > t.detachedIdleMs) {
      if (s.readPos < size) {
        t.warn(`${s.path}: closed with ${size - s.readPos} unread bytes (partial last line)`)
        t.drop('partial_last_line', size - s.readPos, { fp: s.fp, path: s.path, offset: s.readPos })
      }
      closeSource(t, s)
      // finished: kept (so it is never shipped again) until it is gone from its directory
      const cp = t.opts.checkpoints.get(s.fp)
      if (cp !== undefined) t.opts.checkpoints.set(s.fp, { ...cp, offset: s.ackedOffset, size, done: true, updatedAt: now })
    }
  }
}
