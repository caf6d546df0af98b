// The transport's spool writer on real files: size rotation, the byte cap (oldest files
// deleted, counted, one warning, and a record in the next file saying so), and a writer whose
// current file another process deleted under the cap.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { createSpoolWriter, spoolDirFor } from '../../shipper/spool.js'
import { tempDir } from '../helpers/env.js'

const line = (i: number): string => `{"n":${i},"msg":"${'x'.repeat(83)}"}\n` // 100 bytes for i < 10

describe('spool writer', () => {
  it('rotates by size and caps the spool: oldest files dropped, counted, warned once, announced in the spool', () => {
    const dir = tempDir('spool')
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const w = createSpoolWriter({ dir, service: 'svc', maxFileBytes: 1000, maxSpoolBytes: 3000, flushIntervalMs: 60_000 })
    for (let i = 0; i < 60; i++) { w.write(line(i % 10)); w.flush() } // 6,000 bytes → 6 files of 1,000
    w.close()
    const warnings = stderr.mock.calls.map(c => String(c[0])).filter(s => s.includes('sluice/transport: warning'))
    stderr.mockRestore()
    const files = fs.readdirSync(spoolDirFor(dir, 'svc')).sort()
    const bytes = files.reduce((s, f) => s + fs.statSync(path.join(spoolDirFor(dir, 'svc'), f)).size, 0)
    const survivingLines = files.flatMap(f => fs.readFileSync(path.join(spoolDirFor(dir, 'svc'), f), 'utf8').split('\n')).filter(l => l.startsWith('{"n":')).length
    expect(w.stats.linesWritten).toBe(60)
    expect(w.stats.droppedLines).toBe(0)
    expect(w.stats.droppedFiles).toBeGreaterThan(0)
    expect(w.stats.filesRotated).toBeGreaterThan(w.stats.droppedFiles)
    expect(bytes).toBeLessThanOrEqual(3000 + 1200) // the cap + the file being written (with its drop record)
    expect(survivingLines).toBeLessThan(60)
    expect(survivingLines).toBeGreaterThan(0)
    expect(warnings).toHaveLength(1)
    // every surviving file that follows a drop opens with a findable record of it
    const announced = files.map(f => fs.readFileSync(path.join(spoolDirFor(dir, 'svc'), f), 'utf8').split('\n')[0]).filter(l => l.includes('sluice_spool_dropped'))
    const total = announced.reduce((s, l) => s + (JSON.parse(l) as { sluice_spool_dropped: { files: number } }).sluice_spool_dropped.files, 0)
    expect(total).toBeLessThanOrEqual(w.stats.droppedFiles)
    expect(announced.length).toBeGreaterThan(0)
  })

  it('reopens a new file when its current file was deleted by another writer (regression: lines went on into an unlinked file)', () => {
    const dir = tempDir('spool-unlink')
    const w = createSpoolWriter({ dir, service: 'svc', flushIntervalMs: 60_000 })
    w.write('{"n":1}\n'); w.flush()
    const [first] = fs.readdirSync(spoolDirFor(dir, 'svc'))
    fs.unlinkSync(path.join(spoolDirFor(dir, 'svc'), first))
    w.write('{"n":2}\n'); w.flush()
    w.close()
    const files = fs.readdirSync(spoolDirFor(dir, 'svc'))
    expect(files).toHaveLength(1)
    expect(files[0]).not.toBe(first)
    expect(fs.readFileSync(path.join(spoolDirFor(dir, 'svc'), files[0]), 'utf8')).toBe('{"n":2}\n')
  })

  it('counts lines it cannot write instead of throwing into the app (spool dir made unwritable)', () => {
    const dir = tempDir('spool-ro')
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const w = createSpoolWriter({ dir, service: 'svc', flushIntervalMs: 60_000 })
    fs.rmSync(spoolDirFor(dir, 'svc'), { recursive: true })
    fs.writeFileSync(spoolDirFor(dir, 'svc'), 'not a directory') // open() of a file inside now fails (ENOTDIR)
    w.write('{"n":1}\n')
    w.write('{"n":2}\n')
    expect(() => w.flush()).not.toThrow()
    w.close()
    const warnings = stderr.mock.calls.map(c => String(c[0])).filter(s => s.includes('cannot write spool'))
    stderr.mockRestore()
    expect(w.stats.droppedLines).toBe(2)
    expect(warnings).toHaveLength(1)
  })
})
