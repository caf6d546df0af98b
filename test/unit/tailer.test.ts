// The tailer's file-identity rules on real files (no Kafka): each case is a way a log file
// changes under a shipper, and the assertion is exactly which lines are handed out, with
// which (source, offset) identity.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { createCheckpointStore, type CheckpointStore } from '../../shipper/checkpoint.js'
import { createTailer, type Tailer } from '../../shipper/tailer.js'
import { tempDir } from '../helpers/env.js'

function setup (opts: { maxLineBytes?: number, rotatedSettleMs?: number } = {}): { dir: string, file: string, tailer: Tailer, drops: Array<[string, number]>, dropsAt: string[], checkpoints: CheckpointStore } {
  const dir = tempDir('tailer')
  const drops: Array<[string, number]> = []
  const dropsAt: string[] = []
  const checkpoints = createCheckpointStore(path.join(dir, 'cp', 'checkpoints.json'))
  const tailer = createTailer({ globs: [path.join(dir, '*.log*')], checkpoints, host: 'h', detachedIdleMs: 0, onDrop: (r, n, at) => { drops.push([r, n]); dropsAt.push(`${path.basename(at?.path ?? '')}@${at?.offset ?? -1}`) }, ...opts })
  return { dir, file: path.join(dir, 'app.log'), tailer, drops, dropsAt, checkpoints }
}

/** scan + read everything, ack it, and return "src-index:offset:text" per line */
function drain (t: Tailer, srcIds: Map<string, number>): string[] {
  t.scan()
  const out: string[] = []
  for (const { source, lines, endOffset } of t.read(1 << 20)) {
    if (!srcIds.has(source.fp)) srcIds.set(source.fp, srcIds.size)
    for (const l of lines) out.push(`${srcIds.get(source.fp)}:${l.off}:${l.buf.toString()}${l.truncated ? ' [truncated]' : ''}`)
    t.ack(source, endOffset)
  }
  return out
}

describe('tailer', () => {
  it('a line cap ends a read at a line start, across files, over-long lines included, and the next read resumes there', () => {
    const { dir, file, tailer } = setup({ maxLineBytes: 8 })
    fs.writeFileSync(file, 'a1\na2\na3-is-over-long\na4\na5\n')
    fs.writeFileSync(path.join(dir, 'other.log'), 'b1\nb2\n')
    tailer.scan()
    const seen: string[] = []
    for (let k = 0; k < 10; k++) {
      const reads = tailer.read(1 << 20, 2)
      const n = reads.reduce((a, r) => a + r.lines.length, 0)
      expect(n).toBeLessThanOrEqual(2)
      for (const { source, lines, endOffset } of reads) {
        for (const l of lines) seen.push(`${path.basename(source.path)}:${l.off}:${l.buf.toString()}${l.truncated ? '~' : ''}`)
        // the checkpoint offset is a line start: the end of the last line handed out
        const last = lines.at(-1)
        if (last !== undefined) expect(endOffset).toBe(fs.readFileSync(source.path).indexOf(10, last.off) + 1)
        tailer.ack(source, endOffset)
      }
      if (n === 0) break
    }
    expect(seen.filter(l => l.startsWith('app.log'))).toEqual(['app.log:0:a1', 'app.log:3:a2', 'app.log:6:a3-is-ov~', 'app.log:22:a4', 'app.log:25:a5'])
    expect(seen.filter(l => l.startsWith('other.log'))).toEqual(['other.log:0:b1', 'other.log:3:b2'])
    tailer.close()
  })

  it('never hands out a partial last line and resumes it once complete', () => {
    const { file, tailer } = setup()
    const ids = new Map<string, number>()
    fs.writeFileSync(file, 'one\ntw')
    expect(drain(tailer, ids)).toEqual(['0:0:one'])
    expect(tailer.sources()[0].ackedOffset).toBe(4) // the checkpoint stays at a line start
    fs.appendFileSync(file, 'o\nthree\n')
    expect(drain(tailer, ids)).toEqual(['0:4:two', '0:8:three'])
    tailer.close()
  })

  it('truncation in place regrown past the read position between two reads: new content from offset 0 as a new source (regression: inode fast path shipped the new bytes as the old file continued)', () => {
    const { file, tailer } = setup()
    const ids = new Map<string, number>()
    fs.writeFileSync(file, 'old-1\nold-2\n')
    expect(drain(tailer, ids)).toEqual(['0:0:old-1', '0:6:old-2'])
    const fd = fs.openSync(file, 'r+')
    fs.ftruncateSync(fd, 0)
    fs.writeSync(fd, 'new-first-line\nnew-2\n', 0) // 21 bytes > old read position 12
    fs.closeSync(fd)
    expect(drain(tailer, ids)).toEqual(['1:0:new-first-line', '1:15:new-2'])
    tailer.close()
  })

  it('copytruncate: follows the copy for the unread rest, then ships the truncated file anew', () => {
    const { file, tailer } = setup()
    const ids = new Map<string, number>()
    fs.writeFileSync(file, 'a-1\na-2\n')
    expect(drain(tailer, ids)).toEqual(['0:0:a-1', '0:4:a-2'])
    fs.appendFileSync(file, 'a-3\n')
    fs.copyFileSync(file, `${file}.1`)
    fs.truncateSync(file, 0)
    fs.appendFileSync(file, 'b-1\n')
    expect(drain(tailer, ids).sort()).toEqual(['0:8:a-3', '1:0:b-1'])
    expect(drain(tailer, ids)).toEqual([])
    tailer.close()
  })

  it('copytruncate copy shorter than what was already read is never shipped again, not even after a restart (regression: re-shipped from offset 0)', () => {
    const { dir, file, tailer, checkpoints } = setup()
    const ids = new Map<string, number>()
    fs.writeFileSync(file, 'c-1\nc-2\n')
    expect(drain(tailer, ids)).toEqual(['0:0:c-1', '0:4:c-2'])
    fs.writeFileSync(`${file}.1`, 'c-1\n') // logrotate copied before c-2 was appended
    fs.truncateSync(file, 0)
    fs.appendFileSync(file, 'd-1\n')
    expect(drain(tailer, ids)).toEqual(['1:0:d-1'])
    expect(drain(tailer, ids)).toEqual([])
    checkpoints.save()
    tailer.close()
    const again = createTailer({ globs: [path.join(dir, '*.log*')], checkpoints: createCheckpointStore(path.join(dir, 'cp', 'checkpoints.json')), host: 'h' })
    expect(drain(again, ids)).toEqual([])
    again.close()
  })

  it('rename + create: drains the renamed file, then the new one', () => {
    const { file, tailer } = setup()
    const ids = new Map<string, number>()
    fs.writeFileSync(file, 'r-1\n')
    expect(drain(tailer, ids)).toEqual(['0:0:r-1'])
    fs.appendFileSync(file, 'r-2\n')
    fs.renameSync(file, `${file}.1`)
    fs.writeFileSync(file, 's-1\n')
    expect(drain(tailer, ids).sort()).toEqual(['0:4:r-2', '1:0:s-1'])
    tailer.close()
  })

  it('deletion while open: lines written before the unlink still ship; a partial tail is counted as dropped and the fd closed (regression: a deleted file ending mid-line was held open forever)', async () => {
    const { file, tailer, drops } = setup()
    const ids = new Map<string, number>()
    fs.writeFileSync(file, 'd-1\n')
    expect(drain(tailer, ids)).toEqual(['0:0:d-1'])
    fs.appendFileSync(file, 'd-2\nparti')
    fs.unlinkSync(file)
    expect(drain(tailer, ids)).toEqual(['0:4:d-2'])
    await new Promise(resolve => setTimeout(resolve, 20)) // idle longer than detachedIdleMs (0)
    drain(tailer, ids) // detached, drained, idle → closed
    expect(tailer.sources()).toEqual([])
    expect(drops).toEqual([['partial_last_line', 5]])
  })

  it('copytruncate copy ending mid-line, matched by the glob: dropped once its size settled, not while a writer still finishes the line (regression: the partial tail was never closed nor counted)', async () => {
    const { dir, file, tailer, drops, dropsAt, checkpoints } = setup({ rotatedSettleMs: 40 })
    const copy = path.join(dir, 'app.log.1')
    const ids = new Map<string, number>()
    fs.writeFileSync(file, 'c-1\nc-2\npar')
    expect(drain(tailer, ids)).toEqual(['0:0:c-1', '0:4:c-2'])
    fs.copyFileSync(file, copy) // logrotate copytruncate: copy, truncate, the writer goes on
    fs.truncateSync(file, 0)
    fs.appendFileSync(file, 'n-1\n')
    expect(drain(tailer, ids)).toEqual(['1:0:n-1'])
    // a writer slowly finishing the copy's last line: each scan sees it grown, so it stays open
    for (let k = 0; k < 3; k++) {
      await new Promise(resolve => setTimeout(resolve, 60))
      fs.appendFileSync(copy, 't')
      expect(drain(tailer, ids)).toEqual([])
    }
    fs.appendFileSync(copy, '\n')
    expect(drain(tailer, ids)).toEqual(['0:8:parttt'])
    expect(drops).toEqual([])
    // then a tail no one finishes: once unchanged for rotatedSettleMs it is a counted drop
    fs.appendFileSync(copy, 'tail')
    expect(drain(tailer, ids)).toEqual([])
    expect(tailer.sources()).toHaveLength(2)
    await new Promise(resolve => setTimeout(resolve, 60))
    expect(drain(tailer, ids)).toEqual([])
    expect(drops).toEqual([['partial_last_line', 4]])
    expect(dropsAt).toEqual(['app.log.1@15'])
    expect(tailer.sources().map(s => path.basename(s.path))).toEqual(['app.log'])
    const finished = checkpoints.entries().find(([, cp]) => path.basename(cp.path) === 'app.log.1')![1]
    expect({ offset: finished.offset, size: finished.size, done: finished.done }).toEqual({ offset: 15, size: 19, done: true })
    // finished: not reopened by later scans, nor by a new tailer on the same checkpoints
    await new Promise(resolve => setTimeout(resolve, 60))
    expect(drain(tailer, ids)).toEqual([])
    tailer.close()
    const again = createTailer({ globs: [path.join(dir, '*.log*')], checkpoints, host: 'h', detachedIdleMs: 0, rotatedSettleMs: 0, onDrop: (r, n) => drops.push([r, n]) })
    expect(drain(again, ids)).toEqual([])
    expect(drain(again, ids)).toEqual([])
    expect(again.sources().map(s => path.basename(s.path))).toEqual(['app.log'])
    expect(drops).toEqual([['partial_last_line', 4]])
    again.close()
  })

  it('inode reuse: a new file on a recycled inode with other content is a new source from 0', () => {
    const { file, tailer } = setup()
    const ids = new Map<string, number>()
    fs.writeFileSync(file, 'first-file-line\n')
    expect(drain(tailer, ids)).toEqual(['0:0:first-file-line'])
    fs.unlinkSync(file)
    drain(tailer, ids) // closes the deleted file, freeing its inode
    fs.writeFileSync(file, 'x\n')
    // ext4/tmpfs usually hand the freed inode straight back; identity is the content either way
    expect(drain(tailer, ids)).toEqual(['1:0:x'])
    tailer.close()
  })

  it('an over-long line is cut at a UTF-8 boundary, flagged, and its rest skipped', () => {
    const { file, tailer } = setup({ maxLineBytes: 1024 })
    const ids = new Map<string, number>()
    const long = 'é'.repeat(3000) // 6000 bytes after a 1-byte 'a': byte 1024 is the middle of an é
    fs.writeFileSync(file, `a${long}\nafter\n`)
    const out = drain(tailer, ids)
    expect(out).toHaveLength(2)
    expect(out[0]).toBe(`0:0:a${'é'.repeat(511)} [truncated]`) // 1 + 511×2 = 1023 bytes: the 1024th byte would split an é
    expect(out[1]).toBe(`0:${1 + 6000 + 1}:after`)
    tailer.close()
  })
})
