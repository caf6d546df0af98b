// Reading whole lines from one source, from its read position: a chunk at a time, lines as
// ranges of the chunk, over-long lines cut (at a UTF-8 boundary) and flagged, and nothing handed
// out if the file stopped being the one it was fingerprinted as while we read.
import fs from 'node:fs'
import { stillSame, TailedLine, type Source, type TailerState } from './tailer-state.js'

/** end of a truncated line that does not split a UTF-8 sequence (so a valid line never gets
 *  flagged invalid_utf8 just because it was cut) */
function utf8Cut (buf: Buffer, start: number, max: number): number {
  let end = start + max
  let back = 0
  while (back < 3 && end > start && (buf[end] & 0xc0) === 0x80) { end--; back++ }
  return end
}

export function readSource (t: TailerState, s: Source, budget: number, maxLines: number): TailedLine[] {
  const lines: TailedLine[] = []
  let size: number
  try { size = fs.fstatSync(s.fd).size } catch { return lines }
  s.size = size
  if (size < s.readPos) return lines // truncated; scan() will pick up the new content
  // re-check identity before and after reading: a file truncated and regrown between two
  // scans must never have its new bytes shipped as the old file's continuation
  if (!stillSame(t, s)) return lines
  const from = { readPos: s.readPos, endOffset: s.endOffset, skipping: s.skipping }
  while (budget > 0 && s.readPos < size && lines.length < maxLines) {
    const want = Math.min(t.chunk, size - s.readPos)
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
      else if (nl - i > t.maxLine) lines.push(new TailedLine(buf, i, utf8Cut(buf, i, t.maxLine), base + i, true))
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
    if (s.skipping) { s.readPos = base + n } else if (rest > t.maxLine) {
      lines.push(new TailedLine(buf, i, utf8Cut(buf, i, t.maxLine), base + i, true))
      s.skipping = true
      s.readPos = base + n
    } else s.readPos = base + i
    budget -= n
    if (lines.length > 0) s.lastDataAt = Date.now()
    if (i === 0 && !s.skipping && rest <= t.maxLine) break // only a partial line: wait for more
  }
  if (lines.length > 0 && !stillSame(t, s)) {
    s.readPos = from.readPos; s.endOffset = from.endOffset; s.skipping = from.skipping
    return []
  }
  return lines
}
