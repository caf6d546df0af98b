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

/** line numbers present in any file of the directory: what rotation itself left on disk */
function onDisk (dir: string): Set<number> {
  const seen = new Set<number>()
  for (const f of fs.readdirSync(dir)) for (const m of fs.readFileSync(path.join(dir, f), 'utf8').matchAll(/"n":(\d+)/g)) seen.add(Number(m[1]))
  return seen
}

async function runMode (sink: Sink, brokers: string[], prefix: string, mode: 'create' | 'copytruncate'): Promise<{ final: number, distinct: number, raw: number, rotations: number, errors: string[], files: number, disk: Set<number>, delivered: Set<number> }> {
  const dir = tempDir(`rot-${mode}`)
  const service = `rot-${mode}`
  const logDir = path.join(dir, service)
  fs.mkdirSync(logDir)
  const file = path.join(logDir, 'app.log')
  fs.writeFileSync(file, '')
  const conf = path.join(dir, 'logrotate.conf')
  fs.writeFileSync(conf, `${file} {\n  rotate 10000\n  missingok\n  ifempty\n  nocompress\n  ${mode}\n}\n`)
  const shipper = createShipper({ brokers, topics: topicsFor(prefix), globs: [`${file}*`], dataDir: path.join(dir, 'data'), host: `host-${mode}`, scanIntervalMs: 250 })
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
  return { ...last, rotations, errors, files: fs.readdirSync(logDir).length, disk: onDisk(logDir), delivered }
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
    expect(r.disk.size).toBe(total)
  })

  it('copytruncate every second: 0 duplicated, loss measured', async () => {
    const r = await runMode(sink, brokers, prefix, 'copytruncate')
    const lost = total - r.distinct
    const missedOnDisk = [...r.disk].filter(n => !r.delivered.has(n)).length
    console.log(`[shipper-logrotate] copytruncate: rotations=${r.rotations} files=${r.files} final=${r.final} distinct=${r.distinct} raw=${r.raw} lost=${lost} (${(100 * lost / total).toFixed(3)}%) absent from every file on disk=${total - r.disk.size} logrotate-errors=${r.errors.length}`)
    expect(r.rotations).toBeGreaterThanOrEqual(5)
    // the shipper loses nothing that rotation left on disk: all of the loss is copytruncate's
    expect(missedOnDisk).toBe(0)
    // it may deliver more than survives on disk: lines it read between logrotate's copy and
    // its truncate are gone from every file but already shipped
    expect(r.delivered.size).toBeGreaterThanOrEqual(r.disk.size)
    expect([...r.delivered].every(n => Number.isInteger(n) && n >= 0 && n < total)).toBe(true)
    expect(r.final).toBe(r.distinct) // every delivered line exactly once
    expect(r.raw).toBe(r.final) // and shipped once: no copy re-shipped (collapsed or not)
    const [{ bad }] = await sink.rows<{ bad: number }>("SELECT countIf(length(flags) > 0) AS bad FROM sluice.logs FINAL WHERE service = 'rot-copytruncate'")
    expect(Number(bad)).toBe(0) // never a fragment of a line from a truncated file
    // no fixed bound on `lost`: copytruncate's copy→truncate window widens with machine load
    // (0 to 3.4% measured here); what the shipper owes is every line that exists on disk
  })
})
