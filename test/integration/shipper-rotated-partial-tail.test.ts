// Regression: under copytruncate with a glob that also matches the copies (app.log*), a copy
// that ended inside a line (logrotate copied while a write was only partly visible) was never
// finished: its partial last line was neither counted in
// sluice_shipper_dropped_bytes_total{reason="partial_last_line"} nor reported as a dropped range
// in the progress records — a silent drop. Now a rotated copy ending mid-line, unchanged in size
// for rotatedSettleMs while the live file is tailed, is finished with that tail a counted,
// reported drop; a copy whose last line a writer is still finishing is not.
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { prepareKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { createShipper, type Shipper } from '../../shipper/ship.js'
import { tempDir, uniquePrefix, waitFor } from '../helpers/env.js'

const base = Date.parse('2026-12-05T12:00:00.000Z')
const line = (n: number): string => `{"time":${base + n},"level":30,"n":${n},"msg":"line ${n}"}\n`
const lines = (from: number, to: number): string => { let s = ''; for (let n = from; n < to; n++) s += line(n); return s }
const settleMs = 3000

describe('a rotated copy ending mid-line', () => {
  const dir = tempDir('rotpartial')
  const prefix = uniquePrefix('rotpartial')
  const topics = topicsFor(prefix)
  const brokers = [inject('kafkaBrokers')]
  let shipper: Shipper | undefined
  afterAll(async () => { await shipper?.stop() })

  it('is a counted, reported partial_last_line drop once settled; a copy whose last line is still being written is not dropped', async () => {
    // cut: its copy ends inside line 100, which no one finishes. slow: its copy's last line
    // (n=1050) is finished byte by byte by a slow writer after the rotation
    await prepareKafka(brokers, topics)
    const cut = path.join(dir, 'cut', 'app.log')
    const slow = path.join(dir, 'slow', 'app.log')
    for (const f of [cut, slow]) fs.mkdirSync(path.dirname(f))
    const cutTail = line(100).slice(0, 40)
    fs.writeFileSync(cut, lines(0, 100) + cutTail)
    const slowHead = line(1050).slice(0, 45)
    fs.writeFileSync(slow, lines(1000, 1050) + slowHead)
    const cutTailAt = Buffer.byteLength(lines(0, 100))
    shipper = createShipper({ brokers, topics, globs: [`${cut}*`, `${slow}*`], dataDir: path.join(dir, 'data'), host: 'rotpartial-host', scanIntervalMs: 200, progressIntervalMs: 1000, rotatedSettleMs: settleMs })
    await shipper.start()
    const metric = async (name: string, label: string): Promise<number> => {
      const text = await shipper!.registry.getSingleMetricAsString(name)
      return Number(new RegExp(`^${name}${label.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0)
    }
    const shipped = async (): Promise<number> => await metric('sluice_shipper_lines_total', '{kind="log"}')
    const dropped = async (): Promise<number> => await metric('sluice_shipper_dropped_bytes_total', '{reason="partial_last_line"}')
    await waitFor('the complete lines before the rotation shipped', async () => await shipped() >= 150, 60_000, 100)

    // logrotate copytruncate, deterministically: copy, truncate, the writers go on in app.log
    for (const f of [cut, slow]) { fs.copyFileSync(f, `${f}.1`); fs.truncateSync(f, 0) }
    fs.appendFileSync(cut, lines(200, 220))
    fs.appendFileSync(slow, lines(1200, 1220))
    // the slow writer: one byte of the copy's last line every 100 ms, for twice the settle period
    const slowRest = line(1050).slice(45)
    const filler = 'x'.repeat(Math.ceil(2 * settleMs / 100))
    const finishing = (async () => {
      for (const c of filler) { await new Promise(resolve => setTimeout(resolve, 100)); fs.appendFileSync(`${slow}.1`, c) }
      fs.appendFileSync(`${slow}.1`, slowRest)
    })()
    await waitFor('the cut copy\'s tail dropped', async () => await dropped() > 0, 60_000, 200)
    await finishing
    await waitFor('every complete line shipped', async () => await shipped() >= 191, 60_000, 200)
    const droppedBytes = await dropped()
    await new Promise(resolve => setTimeout(resolve, 2000)) // a progress report after the drop (interval 1 s)
    await shipper.stop()
    shipper = undefined

    const out = spawnSync('kcat', ['-C', '-b', brokers[0], '-t', topics.logs, '-e', '-o', 'beginning', '-q'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    expect(out.status).toBe(0)
    const ns: number[] = []
    const progress: Array<{ path: string, state: string, size: number, acked: number, dropped: Array<{ from: number, to: number | null, reason: string }> }> = []
    for (const l of out.stdout.split('\n')) {
      if (!l.startsWith('{')) continue
      const o = JSON.parse(l) as { kind?: string, n?: number, fields?: { n: number }, path: string, state: string, size: number, acked: number, dropped: [] }
      if (o.kind === 'lines') continue // segment headers
      if (o.kind === 'progress') { progress.push(o); continue }
      ns.push(o.kind === 'log' ? o.fields!.n : o.n!)
    }
    const expected = [...Array(100).keys(), ...Array.from({ length: 20 }, (_, i) => 200 + i), ...Array.from({ length: 51 }, (_, i) => 1000 + i), ...Array.from({ length: 20 }, (_, i) => 1200 + i)]
    console.log(`[shipper-rotated-partial-tail] delivered=${ns.length} distinct=${new Set(ns).size} dropped partial_last_line bytes=${droppedBytes} progress records=${progress.length}`)
    // every complete line exactly once, the slowly finished one (n=1050) included
    expect([...ns].sort((a, b) => a - b)).toEqual(expected)
    expect(droppedBytes).toBe(Buffer.byteLength(cutTail))
    const cutDrops = progress.filter(p => p.path === `${cut}.1` && p.dropped.length > 0)
    expect(cutDrops.length).toBeGreaterThan(0)
    for (const p of cutDrops) expect(p.dropped).toEqual([{ from: cutTailAt, to: cutTailAt + Buffer.byteLength(cutTail), reason: 'partial_last_line' }])
    expect(cutDrops.at(-1)!.state).toBe('finished')
    expect(progress.filter(p => p.path !== `${cut}.1` && p.dropped.length > 0)).toEqual([])
    expect(progress.some(p => p.path === `${slow}.1` && p.acked === Buffer.byteLength(lines(1000, 1051) + filler))).toBe(true)
  })
})
