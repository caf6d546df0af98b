// checkpointStore: source fingerprint -> byte offset of the next unshipped line.
// Saved only after Kafka acknowledged everything before that offset, crash-safely:
// write temp file, fsync, rename over the old one, fsync the directory.
import fs from 'node:fs'
import path from 'node:path'

export interface Checkpoint { offset: number, path: string, updatedAt: number }

export interface CheckpointStore {
  get (fp: string): Checkpoint | undefined
  set (fp: string, cp: Checkpoint): void
  save (): void
  oldestAgeMs (now: number): number
  readonly size: number
}

const retentionMs = 7 * 24 * 3600 * 1000

export function createCheckpointStore (file: string): CheckpointStore {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  let map = new Map<string, Checkpoint>()
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: number, sources: Record<string, Checkpoint> }
    map = new Map(Object.entries(parsed.sources))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`checkpoint file ${file} is unreadable (${(err as Error).message}); move it aside to re-ship from the start of every file`)
    }
  }
  let dirty = false
  return {
    get: fp => map.get(fp),
    set (fp, cp) { map.set(fp, cp); dirty = true },
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
      const tmp = `${file}.tmp`
      const fd = fs.openSync(tmp, 'w')
      try {
        fs.writeSync(fd, JSON.stringify({ version: 1, sources: Object.fromEntries(map) }))
        fs.fsyncSync(fd)
      } finally { fs.closeSync(fd) }
      fs.renameSync(tmp, file)
      const dfd = fs.openSync(path.dirname(file), 'r')
      try { fs.fsyncSync(dfd) } finally { fs.closeSync(dfd) }
      dirty = false
    }
  }
}
