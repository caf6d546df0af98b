// The wire format is plain Kafka: a client not written here (kcat, librdkafka) reads the
// shipper's messages, and every NDJSON line parses as a v1 record.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { prepareKafka } from '../../platform/kafka.js'
import { createShipper } from '../../shipper/ship.js'
import { topicsFor } from '../../schemas/topics.js'
import { validateRecord, type LogRecordV1 } from '../../schemas/records.js'
import { tempDir, uniquePrefix, waitFor } from '../helpers/env.js'

describe('wire format v1 on Kafka, read by kcat', () => {
  const brokers = inject('kafkaBrokers')
  const topics = topicsFor(uniquePrefix('wire'))
  const dir = tempDir('wire')
  const shipper = createShipper({ brokers: [brokers], topics, globs: [path.join(dir, 'logs', '*.log')], dataDir: dir, service: 'billing', host: 'wire-host', scanIntervalMs: 200 })
  afterAll(async () => { await shipper.stop() })

  it('kcat consumes exactly the 300 shipped lines and each one validates as v1', async () => {
    const kcat = spawnSync('kcat', ['-V'], { encoding: 'utf8' })
    expect(kcat.error, 'kcat is required (apt-get install kcat; scripts/test.sh installs it)').toBeUndefined()
    await prepareKafka([brokers], topics)
    fs.mkdirSync(path.join(dir, 'logs'))
    const file = path.join(dir, 'logs', 'app.log')
    const lines: string[] = []
    for (let i = 0; i < 300; i++) lines.push(JSON.stringify({ level: i % 3 === 0 ? 50 : 30, time: 1795000000000 + i, msg: `payment ${i}`, orderId: `o-${i}` }))
    fs.writeFileSync(file, lines.join('\n') + '\n')
    await shipper.start()
    await waitFor('300 lines acknowledged by Kafka', async () => {
      const text = await shipper.registry.getSingleMetricAsString('sluice_shipper_lines_total')
      return /sluice_shipper_lines_total\{kind="log"\} 300\b/.test(text)
    })

    const out = spawnSync('kcat', ['-C', '-b', brokers, '-t', topics.logs, '-o', 'beginning', '-e', '-q', '-f', 'KEY=%k\n%s\n'], { encoding: 'utf8', timeout: 60_000 })
    expect(out.status).toBe(0)
    const records: LogRecordV1[] = []
    const keys = new Set<string>()
    for (const line of out.stdout.split('\n')) {
      if (line === '') continue
      if (line.startsWith('KEY=')) { keys.add(line.slice(4)); continue }
      const rec = JSON.parse(line) as LogRecordV1
      expect(validateRecord(rec)).toBeNull()
      records.push(rec)
    }
    expect([...keys]).toEqual(['wire-host'])
    expect(records.length).toBe(300)
    records.sort((a, b) => a.off - b.off)
    let off = 0
    records.forEach((r, i) => {
      expect(r).toMatchObject({ v: 1, kind: 'log', host: 'wire-host', service: 'billing', msg: `payment ${i}`, level: i % 3 === 0 ? 'error' : 'info', fields: { orderId: `o-${i}` }, off, flags: [] })
      expect(r.ts).toBe(new Date(1795000000000 + i).toISOString())
      off += Buffer.byteLength(lines[i]) + 1
    })
    expect(new Set(records.map(r => r.src)).size).toBe(1)
  })
})
