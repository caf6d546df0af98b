// The transport's spool writer on real files: size rotation, the byte cap (oldest files
// deleted, counted, one warning, and a record in the next file saying so), a writer whose
// current file another process deleted under the cap, a spool that cannot be created yet,
// and the service names that may name a spool directory.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { createSpoolWriter, safeServiceName, serviceNameProblem, spoolDirFor } from '../../transport/spool-writer.js'
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

  it('a spool dir that cannot be created: lines dropped and counted, one warning, retried no sooner than the interval, the loss recorded once it is writable (regression: mkdir threw into the app)', () => {
    const data = tempDir('spool-nodir')
    const parent = path.join(data, 'spool')
    fs.writeFileSync(parent, 'a regular file where the spool should be')
    const warnings: string[] = []
    const w = createSpoolWriter({ dir: parent, service: 'svc', flushIntervalMs: 60_000, retryIntervalMs: 60_000, warn: m => { warnings.push(m) } })
    w.write('{"n":1}\n'); w.write('{"n":2}\n')
    expect(() => w.flush()).not.toThrow()
    fs.rmSync(parent)
    w.write('{"n":3}\n'); w.flush() // inside the retry interval: dropped without touching the disk
    expect(fs.existsSync(parent)).toBe(false)
    expect(w.stats.droppedLines).toBe(3)
    w.write('{"n":4}\n')
    w.close() // closing gives the last lines one more try
    expect(warnings).toEqual([`sluice/transport: warning: cannot write spool ${path.join(parent, 'svc')} (ENOTDIR: not a directory, mkdir '${path.join(parent, 'svc')}'); dropping lines and retrying every 60000 ms. Make options.dir (default $SLUICE_DATA_DIR/spool) a writable directory. Further drops are counted only and reported in the spool once it is writable.\n`])
    const files = fs.readdirSync(path.join(parent, 'svc'))
    expect(files).toHaveLength(1)
    const lines = fs.readFileSync(path.join(parent, 'svc', files[0]), 'utf8').split('\n').filter(l => l !== '')
    expect(lines).toHaveLength(2)
    expect((JSON.parse(lines[0]) as { service: string, sluice_spool_dropped: unknown })).toMatchObject({ service: 'svc', msg: 'sluice/transport: spool data dropped', sluice_spool_dropped: { files: 0, bytes: 0, lines: 3 } })
    expect(lines[1]).toBe('{"n":4}')
    expect(w.stats).toMatchObject({ linesWritten: 4, droppedLines: 3 })
  })

  it('recreates its service directory when a cleanup removed it, without dropping a line', () => {
    const dir = tempDir('spool-rmdir')
    const warnings: string[] = []
    const w = createSpoolWriter({ dir, service: 'svc', flushIntervalMs: 60_000, maxFileBytes: 1, warn: m => { warnings.push(m) } })
    w.write('{"n":1}\n'); w.flush() // rotates: the next line opens a new file
    fs.rmSync(spoolDirFor(dir, 'svc'), { recursive: true })
    w.write('{"n":2}\n'); w.close()
    expect(fs.readdirSync(spoolDirFor(dir, 'svc')).map(f => fs.readFileSync(path.join(spoolDirFor(dir, 'svc'), f), 'utf8'))).toEqual(['{"n":2}\n'])
    expect(w.stats.droppedLines).toBe(0)
    expect(warnings).toEqual([])
  })
})

describe('service names', () => {
  it.each([
    ['api', undefined, 'api'],
    ['payments-v2.eu_1', undefined, 'payments-v2.eu_1'],
    ['a'.repeat(128), undefined, 'a'.repeat(128)],
    ['a'.repeat(129), 'is 129 bytes long', 'a'.repeat(119) + '-' + 'a'.repeat(0)],
    ['.', 'would write outside its spool directory', '_'],
    ['..', 'would write outside its spool directory', '__'],
    ['../etc', "has characters other than letters, digits, '.', '_' and '-'", '.._etc'],
    ['a/b\\c', "has characters other than letters, digits, '.', '_' and '-'", 'a_b_c'],
    ['@acme/api', "has characters other than letters, digits, '.', '_' and '-'", '_acme_api'],
    ['', 'is missing', 'unnamed'],
    [undefined, 'is missing', 'unnamed'],
    [42, 'is missing', 'unnamed']
  ])('%j: %s → %s', (name, problem, safe) => {
    expect(serviceNameProblem(name)).toBe(problem)
    if (typeof name === 'string' && name.length > 128) {
      const s = safeServiceName(name)
      expect(s).toMatch(/^a{119}-[0-9a-f]{8}$/)
      expect(safeServiceName(name + 'b')).not.toBe(s) // two long names stay apart
    } else {
      expect(safeServiceName(name)).toBe(safe)
    }
    if (problem === undefined) expect(safeServiceName(name)).toBe(name)
  })
})
