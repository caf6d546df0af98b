// checkpointStore: source fingerprint -> byte offset of the next unshipped line.
// Saved only after Kafka acknowledged everything before that offset, crash-safely:
// write temp file, fsync, rename over the old one, fsync the directory.
// An entry lives from the first sight of its file until the file is finished (read to its end,
// acknowledged, and no longer at a tailed path) and gone from its directory: while it is still
// on disk, the finished entry keeps it from being shipped again.
import fs from 'node:fs'
import path from 'node:path'

export interface Checkpoint {
  offset: number
  /** where the file was last seen (a rotated file keeps its tailed path until found again) */
  path: string
  updatedAt: number
  /** identity on disk, to find the file again after a rename (absent in older checkpoints) */
  dev?: number
  ino?: number
  /** file size at last sight: the bytes known lost if it disappears before being read */
  size?: number
  /** no longer at a tailed path when last acknowledged (being finished) */
  detached?: boolean
  /** read to its end and acknowledged after it left its tailed path */
  done?: boolean
}

export interface CheckpointStore {
  get (fp: string): Checkpoint | undefined
  set (fp: string, cp: Checkpoint): void
  delete (fp: string): void
  entries (): Array<[string, Checkpoint]>
  /** when the shipper last listed a directory (ms), to tell files that appeared since */
  scannedAt (dir: string): number | undefined
  /** recorded with the next save (does not by itself make one) */
  setScannedAt (dir: string, ms: number): void
  save (): void
  oldestAgeMs (now: number): number
  readonly size: number
}

const retentionMs = 7 * 24 * 3600 * 1000

export function createCheckpointStore (file: string): CheckpointStore {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  let map = new Map<string, Checkpoint>()
  let dirs = new Map<string, number>()
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: number, sources: Record<string, Checkpoint>, dirs?: Record<string, number> }
    map = new Map(Object.entries(parsed.sources))
    dirs = new Map(Object.entries(parsed.dirs ?? {}))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`checkpoint file ${file} is unreadable (${(err as Error).message}); move it aside to re-ship from the start of every file`)
    }
  }
  let dirty = false
  return {
    get: fp => map.get(fp),
    set (fp, cp) { map.set(fp, cp); dirty = true },
    delete (fp) { if (map.delete(fp)) dirty = true },
    entries: () => [...map.entries()],
    scannedAt: dir => dirs.get(dir),
    setScannedAt (dir, ms) { dirs.set(dir, ms) },
    get size () { return map.size },
    oldestAgeMs (now) {
      let oldest = now
      for (const cp of map.values()) oldest = Math.min(oldest, cp.updatedAt)
      return now - oldest
    },
    save () {
      if (!dirty) return
      const now = Date.now()
      for (const [fp, cp] of map) if (now - cp.updatedAt > retentionMs) map.delete(fp)
      for (const [dir, at] of dirs) if (now - at > retentionMs) dirs.delete(dir)
      const tmp = `${file}.tmp`
      const fd = fs.openSync(tmp, 'w')
      try {
        fs.writeSync(fd, JSON.stringify({ version: 1, sources: Object.fromEntries(map), dirs: Object.fromEntries(dirs) }))
        fs.fsyncSync(fd)
      } finally { fs.closeSync(fd) }
      fs.renameSync(tmp, file)
      const dfd = fs.openSync(path.dirname(file), 'r')
      try { fs.fsyncSync(dfd) } finally { fs.closeSync(dfd) }
      dirty = false
    }
  }
}
