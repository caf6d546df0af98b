// A tailer's first look after a restart, and rotations nobody watched: checkpointed files that
// moved are found under their new name and finished (or their loss reported), and rotated
// siblings born while the shipper was down or between two scans are read from their start.
import fs from 'node:fs'
import path from 'node:path'
import { compressionOf, fingerprintHead, indexDirectory, isRotatedName, readHead, type DirIndex } from './moved-file.js'
import { addSource, type TailerState } from './tailer-state.js'

/** a rotated sibling modified this long before the last listing of its directory still counts
 *  as possibly unseen (clock granularity, a write racing the listing) */
const siblingMarginMs = 2000

/** On start: every checkpointed file not at a tailed path is looked for in its directory.
 *  Found with unread bytes: finished (read to its end as a detached source). Compressed or
 *  deleted first: the loss is reported. Finished and gone: forgotten. */
export function recover (t: TailerState, seenPaths: Set<string>): void {
  const indexes = new Map<string, DirIndex>()
  const indexOf = (dir: string, fresh: boolean): DirIndex => {
    let x = fresh ? undefined : indexes.get(dir)
    if (x === undefined) { x = indexDirectory(dir, t.opts.host); indexes.set(dir, x) }
    return x
  }
  let legacy = 0
  for (const [fp, cp] of t.opts.checkpoints.entries()) {
    if (t.byFp.has(fp)) continue
    const dir = path.dirname(cp.path)
    const known = { fp, path: cp.path, dev: cp.dev, ino: cp.ino }
    let at = indexOf(dir, false).locate(known)
    if (at.kind === 'gone') at = indexOf(dir, true).locate(known) // moved while we looked
    if (at.kind === 'found') {
      const found = at
      if (seenPaths.has(found.path)) { fs.closeSync(found.fd); continue } // scan() resumes it
      if (found.path === cp.path && cp.detached !== true && cp.done !== true) {
        // still at the path where it was tailed, but no glob matches it any more: not ours to read
        fs.closeSync(found.fd); t.opts.checkpoints.delete(fp); continue
      }
      // read to its end, or finished with its unterminated tail dropped: nothing left to read
      if (cp.offset >= found.size || (cp.done === true && cp.size !== undefined && found.size <= cp.size)) {
        fs.closeSync(found.fd)
        t.opts.checkpoints.set(fp, { ...cp, path: found.path, dev: found.dev, ino: found.ino, size: found.size, done: true })
        continue
      }
      addSource(t, fp, found.path, found.fd, found, cp.offset, true)
      t.note(`${found.path}: finishing a rotated file from byte ${cp.offset} (${found.size - cp.offset} bytes unread; last tailed as ${cp.path})`)
      continue
    }
    t.opts.checkpoints.delete(fp)
    if (cp.done === true) continue // finished before it went
    if (cp.ino === undefined) { legacy++; continue }
    let bytes: number | null
    if (at.kind === 'compressed' && at.size !== null && at.size >= cp.offset) bytes = at.size - cp.offset
    else bytes = cp.size !== undefined && cp.size > cp.offset ? cp.size - cp.offset : null
    if (bytes === 0) continue
    t.opts.onLoss?.({ reason: at.kind === 'compressed' ? 'compressed' : 'deleted', path: at.kind === 'compressed' ? at.path : cp.path, fp, offset: cp.offset, bytes })
  }
  if (legacy > 0) t.note(`forgot ${legacy} checkpoint entries (from before files were tracked by inode) whose files are no longer in their directory`)
}

/** Rotated siblings of tailed files (app.log.1, app.log-20261205, app.1.log) that changed since
 *  the directory was last listed and that no checkpoint knows: born and rotated while nobody
 *  looked (shipper down, or between two scans). Read from their start. Also forgets finished
 *  files that are gone from the directory. */
export function discover (t: TailerState, dir: string, lives: Set<string>, since: number, seenPaths: Set<string>): void {
  const idx = indexDirectory(dir, t.opts.host)
  const present = new Set(idx.files.map(e => `${e.dev}:${e.ino}`))
  for (const [fp, cp] of t.opts.checkpoints.entries()) {
    if (cp.done === true && !t.byFp.has(fp) && path.dirname(cp.path) === dir && !present.has(`${cp.dev}:${cp.ino}`)) t.opts.checkpoints.delete(fp)
  }
  const open = new Set([...t.byFp.values()].map(s => `${s.dev}:${s.ino}`))
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
      if (compressionOf(name, head) === null) fp = fingerprintHead(head, t.opts.host)
    } catch {}
    if (st === null || fp === null || t.byFp.has(fp)) { fs.closeSync(fd); continue }
    // known but not open: it moved between a listing and its opening (a restart racing
    // logrotate), or was written to after it was finished
    const cp = t.opts.checkpoints.get(fp)
    const from = cp === undefined ? 0 : Math.min(cp.offset, st.size)
    if (cp !== undefined && from >= st.size) { fs.closeSync(fd); continue }
    addSource(t, fp, e.path, fd, st, from, true)
    t.note(`${e.path}: reading a rotated file ${cp === undefined ? 'that appeared while the shipper was not watching' : `from byte ${from}`} (${st.size} bytes)`)
  }
}
