// Done-when #2: the real Debian logrotate rotating every second while 50,000 numbered lines
// are written. rename+create: 0 lost, 0 duplicated. copytruncate: no duplicates, and the
// loss that copytruncate itself causes (lines written between its copy and its truncate)
// is measured and printed.
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { topicsFor } from '../../schemas/topics.js'
import { createShipper } from '../../shipper/ship.js'
import { logrotate } from '../helpers/logrotate.js'
import { root, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { lineCounts, startSink, type Sink } from '../helpers/sink.js'

const total = 50_000
const rate = 4_000 // lines/s: ~12 s of writing, ~12 rotations per mode

interface Disk {
  /** complete lines (newline-terminated JSON) on disk: line number → where */
  lines: Map<number, { file: string, off: number }>
  /** bytes after a file's last newline (copytruncate's copy can end inside a line) */
  fragments: Array<{ file: string, off: number, atEnd: boolean, text: string }>
}

/** What rotation itself left on disk. Only complete lines count: logrotate's copy reads the live
 *  file while the writer's write() is in progress, and the kernel makes a buffered write visible
 *  a page at a time, so a copy can end at a page boundary inside a line whose rest then goes to
 *  the live file before the truncate and is gone. No shipper can ship that line; it is
 *  copytruncate's loss, like the lines written wholly between its copy and its truncate. */
function onDisk (dir: string): Disk {
  const disk: Disk = { lines: new Map(), fragments: [] }
  for (const f of fs.readdirSync(dir).sort()) {
    const parts = fs.readFileSync(path.join(dir, f), 'utf8').split('\n')
    let off = 0
    parts.forEach((text, i) => {
      let n: unknown
      try { n = i < parts.length - 1 ? (JSON.parse(text) as { n?: unknown }).n : undefined } catch {}
      if (Number.isInteger(n)) disk.lines.set(n as number, { file: f, off })
      else if (text.length > 0) disk.fragments.push({ file: f, off, atEnd: i === parts.length - 1, text: text.slice(0, 80) })
      off += Buffer.byteLength(text) + 1
    })
  }
  return disk
}

/** why lines on disk were not delivered: where they are and what the shipper's checkpoint says
 *  about that file (its acknowledged offset) */
function explainMissed (logDir: string, dataDir: string, disk: Disk, missed: number[]): string {
  const cps = JSON.parse(fs.readFileSync(path.join(dataDir, 'shipper', 'checkpoints.json'), 'utf8')) as { sources: Record<string, { ino?: number, offset: number, size?: number, path: string }> }
  return missed.slice(0, 5).map(n => {
    const at = disk.lines.get(n)!
    const st = fs.statSync(path.join(logDir, at.file))
    const cp = Object.values(cps.sources).find(c => c.ino === st.ino)
    return `n=${n} in ${at.file}@${at.off} (size ${st.size}); checkpoint ${cp === undefined ? 'none' : `acked offset=${cp.offset} size=${cp.size} last seen as ${path.basename(cp.path)}`}`
  }).join('; ')
}

async function runMode (sink: Sink, brokers: string[], prefix: string, mode: 'create' | 'copytruncate'): Promise<{ final: number, distinct: number, raw: number, rotations: number, errors: string[], files: number, disk: Disk, delivered: Set<number>, explain: (missed: number[]) => string }> {
  const dir = tempDir(`rot-${mode}`)
  const service = `rot-${mode}`
  const logDir = path.join(dir, service)
  fs.mkdirSync(logDir)
  const file = path.join(logDir, 'app.log')
  fs.writeFileSync(file, '')
  const conf = path.join(dir, 'logrotate.conf')
  fs.writeFileSync(conf, `${file} {\n  rotate 10000\n  missingok\n  ifempty\n  nocompress\n  ${mode}\n}\n`)
  const dataDir = path.join(dir, 'data')
  const shipper = createShipper({ brokers, topics: topicsFor(prefix), globs: [`${file}*`], dataDir, host: `host-${mode}`, scanIntervalMs: 250 })
  await shipper.start()
  // copytruncate keeps the writer's fd (O_APPEND); rename+create needs a writer that reopens
  const writer = spawn(process.execPath, [path.join(root, 'test/fixtures/numbered-writer.mjs'), file, String(total), String(rate), mode === 'create' ? 'reopen' : 'keep'], { stdio: ['ignore', 'ignore', 'inherit'] })
  let writing = true
  const writerDone = new Promise<number | null>(resolve => writer.once('exit', code => { writing = false; resolve(code) }))
  let rotations = 0
  const errors: string[] = []
  while (writing) {
    await new Promise(resolve => setTimeout(resolve, 1000))
    const e = await logrotate(conf, path.join(dir, 'state'))
    if (e === '') rotations++
    else errors.push(e.trim())
  }
  expect(await writerDone).toBe(0)
  const where = `service = '${service}'`
  let last = { final: 0, distinct: 0, raw: 0 }
  // wait until the count stops moving (copytruncate may legitimately stay below total)
  let stable = 0
  await waitFor(`${mode}: ClickHouse count to settle`, async () => {
    const now = await lineCounts(sink, where)
    stable = now.final === last.final && now.final > 0 ? stable + 1 : 0
    last = now
    return last.final === total || stable >= 8
  }, 120_000, 1000, () => JSON.stringify(last))
  await shipper.stop()
  const delivered = new Set((await sink.rows<{ n: number }>(`SELECT JSONExtractInt(fields, 'n') AS n FROM sluice.logs FINAL WHERE ${where}`)).map(r => Number(r.n)))
  const disk = onDisk(logDir)
  return { ...last, rotations, errors, files: fs.readdirSync(logDir).length, disk, delivered, explain: missed => explainMissed(logDir, dataDir, disk, missed) }
}

describe('shipper under real logrotate', () => {
  const prefix = uniquePrefix('rot')
  const brokers = [inject('kafkaBrokers')]
  let sink: Sink

  beforeAll(async () => { sink = await startSink('rot', brokers, topicsFor(prefix)) })
  afterAll(async () => { await sink?.stop() })

  it('rename+create every second: 0 lost, 0 duplicated', async () => {
    const r = await runMode(sink, brokers, prefix, 'create')
    console.log(`[shipper-logrotate] create: rotations=${r.rotations} files=${r.files} final=${r.final} distinct=${r.distinct} raw=${r.raw} lost=${total - r.distinct} logrotate-errors=${r.errors.length} ${r.errors.slice(0, 2).join(' | ')}`)
    expect(r.rotations).toBeGreaterThanOrEqual(5)
    expect(r.final).toBe(total)
    expect(r.distinct).toBe(total)
    expect(r.raw).toBe(total)
    expect(r.disk.lines.size).toBe(total)
    expect(r.disk.fragments).toEqual([])
  })

  it('copytruncate every second: 0 duplicated, loss measured', async () => {
    const r = await runMode(sink, brokers, prefix, 'copytruncate')
    const lost = total - r.distinct
    const missedOnDisk = [...r.disk.lines.keys()].filter(n => !r.delivered.has(n))
    const fragments = r.disk.fragments.map(f => `${f.file}@${f.off}: ${f.text}`)
    console.log(`[shipper-logrotate] copytruncate: rotations=${r.rotations} files=${r.files} final=${r.final} distinct=${r.distinct} raw=${r.raw} lost=${lost} (${(100 * lost / total).toFixed(3)}%) absent from every file on disk=${total - r.disk.lines.size} partial lines on disk=${fragments.length} logrotate-errors=${r.errors.length}${fragments.length > 0 ? ` partial: ${fragments.join(' | ')}` : ''}`)
    if (missedOnDisk.length > 0) console.log(`[shipper-logrotate] on disk, not delivered: ${missedOnDisk.length}: ${r.explain(missedOnDisk)}`)
    expect(r.rotations).toBeGreaterThanOrEqual(5)
    // the shipper loses nothing that rotation left on disk: all of the loss is copytruncate's
    expect(missedOnDisk).toEqual([])
    // a partial line is only ever the end of a copy (cut inside the writer's write)
    expect(r.disk.fragments.filter(f => !f.atEnd)).toEqual([])
    // it may deliver more than survives on disk: lines it read between logrotate's copy and
    // its truncate are gone from every file but already shipped
    expect(r.delivered.size).toBeGreaterThanOrEqual(r.disk.lines.size)
    expect([...r.delivered].every(n => Number.isInteger(n) && n >= 0 && n < total)).toBe(true)
    expect(r.final).toBe(r.distinct) // every delivered line exactly once
    expect(r.raw).toBe(r.final) // and shipped once: no copy re-shipped (collapsed or not)
    const [{ bad }] = await sink.rows<{ bad: number }>("SELECT countIf(length(flags) > 0) AS bad FROM sluice.logs FINAL WHERE service = 'rot-copytruncate'")
    expect(Number(bad)).toBe(0) // never a fragment of a line from a truncated file
    // no fixed bound on `lost`: copytruncate's copy→truncate window widens with machine load
    // (0 to 3.4% measured here); what the shipper owes is every line that exists on disk
  })
})
