// The shipper's Kafka producer runs on a worker thread (shipper/sender.ts). If that thread dies
// after Kafka acknowledged a batch and before it reported the batch, the main thread must fail
// every batch the thread held, re-read them from the last acknowledged offsets and send them
// again with a new thread: lines may reach Kafka twice (removed downstream by their identity,
// src + offset), never zero times.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { prepareKafka } from '../../platform/kafka.js'
import { createShipper, type Shipper } from '../../shipper/ship.js'
import { topicsFor } from '../../schemas/topics.js'
import { tempDir, uniquePrefix, waitFor } from '../helpers/env.js'

const total = 40_000

describe('shipper whose Kafka worker thread dies mid-stream', () => {
  const brokers = inject('kafkaBrokers')
  let shipper: Shipper | null = null
  afterAll(async () => { await shipper?.stop() })

  it(`delivers all ${total} lines at least once and counts each exactly once`, async () => {
    const topics = topicsFor(uniquePrefix('worker-exit'))
    const dir = tempDir('worker-exit')
    await prepareKafka([brokers], topics)
    fs.mkdirSync(path.join(dir, 'logs'))
    const file = path.join(dir, 'logs', 'app.log')
    const lines: string[] = []
    for (let i = 0; i < total; i++) lines.push(JSON.stringify({ level: 30, time: 1795000000000 + i, n: i, msg: `line ${i}` }))
    fs.writeFileSync(file, lines.join('\n') + '\n')
    const offsets = new Map<number, number>() // file offset → line number
    let off = 0
    lines.forEach((l, i) => { offsets.set(off, i); off += Buffer.byteLength(l) + 1 })

    // the first worker thread exits right after Kafka acknowledged its 5th batch of 1,000 lines
    process.env.SLUICE_FAULT_SHIPPER_WORKER_EXIT = '5'
    try {
      shipper = createShipper({ brokers: [brokers], topics, globs: [file], dataDir: dir, service: 'svc', host: 'exit-host', maxBatchLines: 1000 })
      await shipper.start()
    } finally {
      delete process.env.SLUICE_FAULT_SHIPPER_WORKER_EXIT
    }
    await waitFor(`${total} lines acknowledged`, async () => {
      const text = await shipper!.registry.getSingleMetricAsString('sluice_shipper_lines_total')
      return new RegExp(`sluice_shipper_lines_total\\{kind="log"\\} ${total}\\b`).test(text)
    })
    const errors = await shipper.registry.getSingleMetricAsString('sluice_shipper_loop_errors_total')
    expect(errors).toMatch(/^sluice_shipper_loop_errors_total 1$/m)

    // every message is a log segment (a header record, then `lines` raw lines of the file) or
    // one of the shipper's progress records
    const out = spawnSync('kcat', ['-C', '-b', brokers, '-t', topics.logs, '-o', 'beginning', '-e', '-q'], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 })
    expect(out.status).toBe(0)
    const seen = new Array<number>(total).fill(0)
    const rows = out.stdout.split('\n')
    let segments = 0
    for (let r = 0; r < rows.length;) {
      if (rows[r] === '') { r++; continue }
      const h = JSON.parse(rows[r]) as { kind: string, off: number, lines: number }
      if (h.kind === 'progress') { r++; continue }
      expect(h.kind).toBe('lines')
      segments++
      let at = h.off
      for (let k = 1; k <= h.lines; k++) {
        const n = offsets.get(at)
        expect(n, `a line at offset ${at}`).toBeDefined()
        expect(rows[r + k]).toBe(lines[n!])
        seen[n!]++
        at += Buffer.byteLength(rows[r + k]) + 1
      }
      r += h.lines + 1
    }
    const missing = seen.filter(c => c === 0).length
    const copies = seen.reduce((a, c) => a + c, 0) - total
    console.log(`[shipper-worker-exit] segments=${segments} distinct=${total - missing} missing=${missing} replayed copies=${copies}`)
    expect(missing).toBe(0)
    // the thread held at most two batches when it died (maxBatchesInFlight): what it had not
    // reported is sent again, nothing more
    expect(copies).toBeGreaterThanOrEqual(1000)
    expect(copies).toBeLessThanOrEqual(2000)
  })
})
