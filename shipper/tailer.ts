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
import { readSource } from './line-reader.js'
import { scan } from './tailer-scan.js'
import { closeSource, createTailerState, hasUnreadLine, type Source, type TailedLine, type TailerOptions } from './tailer-state.js'

export { TailedLine, tailedLine, type RotatedLoss, type Source, type TailerOptions } from './tailer-state.js'

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
  const t = createTailerState(opts)
  const { byFp } = t

  return {
    scan: () => scan(t),
    read (maxBytes, maxLines = Infinity) {
      const out: Array<{ source: Source, lines: TailedLine[], endOffset: number }> = []
      let budget = maxBytes
      let lineBudget = maxLines
      for (const s of byFp.values()) {
        if (budget <= 0 || lineBudget <= 0) break
        const before = s.readPos
        const lines = readSource(t, s, budget, lineBudget)
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
        if (s.detached && s.ackedOffset === s.endOffset && !s.skipping && !hasUnreadLine(t, s, s.size)) {
          const cp = opts.checkpoints.get(s.fp)
          if (cp !== undefined && cp.offset >= s.size) opts.checkpoints.set(s.fp, { ...cp, done: true })
        }
        closeSource(t, s)
      }
    }
  }
}
