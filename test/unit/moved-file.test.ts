// Finding a started file again after rotation moved it while the shipper was down, on real
// files: by inode confirmed by fingerprint, by fingerprint alone, inside gzip, or not at all;
// and the tailer finishing such files (and unseen rotated siblings) on its first scan.
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { createCheckpointStore } from '../../shipper/checkpoint.js'
import { createTailer, type RotatedLoss, type Tailer } from '../../shipper/tailer.js'
import { compressionOf, fingerprintHead, indexDirectory, isRotatedName } from '../../shipper/moved-file.js'
import { tempDir } from '../helpers/env.js'

const host = 'h'
const fpOf = (text: string): string => fingerprintHead(Buffer.from(text), host)!

function known (file: string): { fp: string, path: string, dev: number, ino: number } {
  const st = fs.statSync(file)
  return { fp: fpOf(fs.readFileSync(file, 'utf8')), path: file, dev: st.dev, ino: st.ino }
}

describe('finding a moved file', () => {
  it('renamed twice while the shipper was down: found under its new name, by inode and fingerprint', () => {
    const dir = tempDir('moved')
    const file = path.join(dir, 'app.log')
    fs.writeFileSync(file, 'first\nsecond\n')
    const k = known(file)
    fs.renameSync(file, `${file}.1`)
    fs.writeFileSync(file, 'newer\n')
    fs.renameSync(`${file}.1`, `${file}.2`)
    fs.renameSync(file, `${file}.1`)
    fs.writeFileSync(file, 'newest\n')
    const at = indexDirectory(dir, host).locate(k)
    expect(at.kind === 'found' ? [at.path, at.size, at.ino] : at).toEqual([`${file}.2`, 13, k.ino])
    if (at.kind === 'found') fs.closeSync(at.fd)
    // a checkpoint from before inodes were recorded: found by fingerprint alone
    const byFp = indexDirectory(dir, host).locate({ fp: k.fp, path: file })
    expect(byFp.kind === 'found' ? byFp.path : byFp).toBe(`${file}.2`)
    if (byFp.kind === 'found') fs.closeSync(byFp.fd)
  })

  it('a different file with the same name (and maybe the same inode) is not it', () => {
    const dir = tempDir('moved')
    const file = path.join(dir, 'app.log')
    fs.writeFileSync(file, 'old-first\n')
    const k = known(file)
    fs.unlinkSync(file)
    fs.writeFileSync(file, 'new-first\n') // tmpfs/ext4 often reuse the freed inode at once
    expect(indexDirectory(dir, host).locate(k)).toEqual({ kind: 'gone' })
  })

  it('deleted: gone; gzipped: compressed, with its uncompressed size', () => {
    const dir = tempDir('moved')
    const file = path.join(dir, 'app.log')
    fs.writeFileSync(file, 'a-first\nline two\n')
    const deleted = known(file)
    fs.unlinkSync(file)
    expect(indexDirectory(dir, host).locate(deleted)).toEqual({ kind: 'gone' })
    const body = 'z-first\n' + 'x'.repeat(100_000) + '\n'
    fs.writeFileSync(file, body)
    const zipped = known(file)
    fs.writeFileSync(`${file}.1.gz`, zlib.gzipSync(body))
    fs.unlinkSync(file)
    expect(indexDirectory(dir, host).locate(zipped)).toEqual({ kind: 'compressed', path: `${file}.1.gz`, format: 'gzip', size: Buffer.byteLength(body) })
  })

  it('rotated names and compression are told by name and magic bytes', () => {
    expect(['app.log.1', 'app.log-20261205', 'app.1.log', 'app.log.12', 'app.log-2026-12-05', 'app.log.1.gz', 'app2.log', 'app.log.old', 'other.log.1', 'app.log']
      .map(n => isRotatedName(n, 'app.log'))).toEqual([true, true, true, true, true, false, false, false, false, false])
    expect(compressionOf('app.log.1', Buffer.from([0x1f, 0x8b, 8]))).toBe('gzip')
    expect(compressionOf('app.log.1', Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd')
    expect(compressionOf('app.log.1.xz', Buffer.from('{"a":1}\n'))).toBe('xz')
    expect(compressionOf('app.log.1', Buffer.from('{"a":1}\n'))).toBeNull()
  })

  it('regression (issue 21, lines lost in logrotate\'s .backup file): with `create`, a file the application recreated before logrotate could is moved aside as app.log-YYYYMMDDHH.backup: a rotated name', () => {
    expect(['app.log-2026120519.backup', 'app.log.1.backup', 'app.log.backup', 'app.log.1.gz.backup', 'other.log-2026120519.backup']
      .map(n => isRotatedName(n, 'app.log'))).toEqual([true, true, false, false, false])
  })
})

/** scan + read everything, ack it; "basename:offset:text" per line */
function drain (t: Tailer): string[] {
  const out: string[] = []
  for (let k = 0; k < 5; k++) {
    t.scan()
    for (const { source, lines, endOffset } of t.read(1 << 20)) {
      for (const l of lines) out.push(`${path.basename(source.path)}:${l.off}:${l.buf.toString()}`)
      t.ack(source, endOffset)
    }
  }
  return out
}

describe('tailer: finishing rotated files after a restart', () => {
  function setup (): { dir: string, file: string, cpFile: string, start: (globs?: string[]) => { tailer: Tailer, losses: RotatedLoss[], skips: string[] } } {
    const dir = tempDir('finish')
    const cpFile = path.join(dir, 'cp', 'checkpoints.json')
    fs.mkdirSync(path.join(dir, 'logs'))
    const file = path.join(dir, 'logs', 'app.log')
    return {
      dir,
      file,
      cpFile,
      start (globs = [file]) {
        const losses: RotatedLoss[] = []
        const skips: string[] = []
        const checkpoints = createCheckpointStore(cpFile)
        const tailer = createTailer({ globs, checkpoints, host, detachedIdleMs: 0, onLoss: l => losses.push(l), onSkip: (r, p) => skips.push(`${r}:${path.basename(p)}`) })
        const close = tailer.close.bind(tailer)
        tailer.close = () => { close(); checkpoints.save() } // as the shipper stops
        return { tailer, losses, skips }
      }
    }
  }

  it('regression (issue 16, lines lost on rotation + restart): the unacknowledged end of a file renamed twice while down, and rotated files born while down, are read; nothing twice', () => {
    const { file, start } = setup()
    fs.writeFileSync(file, 'a0\na1\n')
    const first = start()
    expect(drain(first.tailer)).toEqual(['app.log:0:a0', 'app.log:3:a1'])
    first.tailer.close() // a SIGKILL: the checkpoint holds what was acknowledged
    fs.appendFileSync(file, 'a2\n') // written before the rename, never read
    fs.renameSync(file, `${file}.1`)
    fs.writeFileSync(file, 'b0\nb1\n') // born and rotated while the shipper was down
    fs.renameSync(`${file}.1`, `${file}.2`)
    fs.renameSync(file, `${file}.1`)
    fs.writeFileSync(file, 'c0\n')
    const second = start()
    expect(drain(second.tailer).sort()).toEqual(['app.log.1:0:b0', 'app.log.1:3:b1', 'app.log.2:6:a2', 'app.log:0:c0'])
    expect(second.losses).toEqual([])
    second.tailer.close()
    // a third start ships nothing again; finished files stay known while they are on disk
    const third = start()
    expect(drain(third.tailer)).toEqual([])
    third.tailer.close()
    // once gone from the directory, finished files are forgotten (bounded bookkeeping)
    fs.unlinkSync(`${file}.1`); fs.unlinkSync(`${file}.2`)
    fs.appendFileSync(file, 'c1\n')
    const fourth = start()
    expect(drain(fourth.tailer)).toEqual(['app.log:3:c1'])
    fourth.tailer.close()
    const cp = JSON.parse(fs.readFileSync(setupCp(file), 'utf8')) as { sources: Record<string, { path: string }> }
    expect(Object.values(cp.sources).map(s => path.basename(s.path))).toEqual(['app.log'])
    expect(fourth.losses).toEqual([])
  })

  it('regression (issue 21, lines lost in logrotate\'s .backup file): logrotate `create` racing an application that recreated app.log between two scans: the file moved aside as app.log-YYYYMMDDHH.backup is read, once', () => {
    const { file, start } = setup()
    fs.writeFileSync(file, 'a0\n')
    const { tailer } = start()
    expect(drain(tailer)).toEqual(['app.log:0:a0'])
    fs.renameSync(file, `${file}.1`) // logrotate renames
    fs.writeFileSync(file, 'b0\nb1\n') // the application reopens first, creating app.log
    fs.renameSync(file, `${file}-2026120519.backup`) // logrotate finds it there and moves it aside
    fs.writeFileSync(file, 'c0\n') // logrotate's own app.log, then the application's next line
    expect(drain(tailer).sort()).toEqual(['app.log-2026120519.backup:0:b0', 'app.log-2026120519.backup:3:b1', 'app.log:0:c0'])
    tailer.close()
    expect(drain(start().tailer)).toEqual([])
  })

  it('killed again while finishing a rotated file: the next start resumes it where the last ack left it, under the same name', () => {
    const { file, start } = setup()
    fs.writeFileSync(file, 'a0\n')
    const first = start()
    expect(drain(first.tailer)).toEqual(['app.log:0:a0'])
    first.tailer.close()
    fs.appendFileSync(file, 'a1\na2\na3\n')
    fs.renameSync(file, `${file}.1`)
    fs.writeFileSync(file, 'b0\n')
    const second = start()
    second.tailer.scan()
    const partial = second.tailer.read(1 << 20, 1) // one line of the rotated file, then a SIGKILL
    expect(partial.map(r => [path.basename(r.source.path), r.lines.map(l => l.buf.toString())])).toEqual([['app.log.1', ['a1']]])
    second.tailer.ack(partial[0].source, partial[0].endOffset)
    second.tailer.close()
    const third = start()
    expect(drain(third.tailer).sort()).toEqual(['app.log.1:6:a2', 'app.log.1:9:a3', 'app.log:0:b0'])
    third.tailer.close()
  })

  it('copytruncate with a glob that misses the copy: the unread rest is read from the copy, then the truncated file anew', () => {
    const { file, start } = setup()
    fs.writeFileSync(file, 'a0\na1\n')
    const t = start()
    expect(drain(t.tailer)).toEqual(['app.log:0:a0', 'app.log:3:a1'])
    fs.appendFileSync(file, 'a2\n')
    fs.copyFileSync(file, `${file}.1`)
    fs.truncateSync(file, 0)
    fs.writeFileSync(file, 'b0\n')
    expect(drain(t.tailer).sort()).toEqual(['app.log.1:6:a2', 'app.log:0:b0'])
    t.tailer.close()
  })

  it('a started file gzipped (or deleted) before the restart: one loss each, with path, fingerprint, offset and bytes', () => {
    const { file, start } = setup()
    fs.writeFileSync(file, 'g0\ng1\n')
    const first = start()
    expect(drain(first.tailer)).toHaveLength(2)
    first.tailer.close()
    fs.appendFileSync(file, 'g2-never-read\n')
    fs.writeFileSync(`${file}.1.gz`, zlib.gzipSync(fs.readFileSync(file)))
    fs.unlinkSync(file)
    fs.writeFileSync(file, 'h0\n')
    const second = start([`${file}*`]) // the glob also matches the .gz: skipped, not shipped
    expect(drain(second.tailer)).toEqual(['app.log:0:h0'])
    expect(second.losses).toEqual([{ reason: 'compressed', path: `${file}.1.gz`, fp: fpOf('g0\n'), offset: 6, bytes: 14 }])
    expect(second.skips).toEqual(['compressed:app.log.1.gz'])
    fs.appendFileSync(file, 'h1\n')
    second.tailer.close()
    fs.unlinkSync(file)
    fs.writeFileSync(file, 'i0\n')
    const third = start()
    expect(drain(third.tailer)).toEqual(['app.log:0:i0'])
    // last seen at 3 bytes, all acknowledged: what was appended after is unknown
    expect(third.losses).toEqual([{ reason: 'deleted', path: file, fp: fpOf('h0\n'), offset: 3, bytes: null }])
    third.tailer.close()
  })
})

function setupCp (file: string): string { return path.join(path.dirname(path.dirname(file)), 'cp', 'checkpoints.json') }
