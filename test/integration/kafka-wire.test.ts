// The wire format is plain Kafka: a client not written here (kcat, librdkafka) reads the
// shipper's messages. Plain JSON lines travel raw in log segments (a header record + the
// file's own bytes); with segments off, every NDJSON line parses as a v1 record. librdkafka's
// own debug output says how each fetched batch was compressed (gzip by default, zstd on request).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { prepareKafka } from '../../platform/kafka.js'
import { createShipper, type Shipper } from '../../shipper/ship.js'
import { topicsFor } from '../../schemas/topics.js'
import { validateRecord, type LogRecordV1 } from '../../schemas/records.js'
import { tempDir, uniquePrefix, waitFor } from '../helpers/env.js'

interface Shipped { topics: ReturnType<typeof topicsFor>, lines: string[], out: string, codecs: string[] }

describe('wire format v1 on Kafka, read by kcat', () => {
  const brokers = inject('kafkaBrokers')
  const shippers: Shipper[] = []
  afterAll(async () => { for (const s of shippers) await s.stop() })

  async function ship (name: string, segments: boolean, compression?: 'zstd' | 'gzip'): Promise<Shipped> {
    const kcat = spawnSync('kcat', ['-V'], { encoding: 'utf8' })
    expect(kcat.error, 'kcat is required (apt-get install kcat; scripts/test.sh installs it)').toBeUndefined()
    const topics = topicsFor(uniquePrefix(name))
    const dir = tempDir(name)
    await prepareKafka([brokers], topics)
    fs.mkdirSync(path.join(dir, 'logs'))
    const file = path.join(dir, 'logs', 'app.log')
    const lines: string[] = []
    for (let i = 0; i < 300; i++) lines.push(JSON.stringify({ level: i % 3 === 0 ? 50 : 30, time: 1795000000000 + i, msg: `payment ${i}`, orderId: `o-${i}` }))
    fs.writeFileSync(file, lines.join('\n') + '\n')
    const shipper = createShipper({ brokers: [brokers], topics, globs: [path.join(dir, 'logs', '*.log')], dataDir: dir, service: 'billing', host: 'wire-host', scanIntervalMs: 200, segments, compression })
    shippers.push(shipper)
    await shipper.start()
    await waitFor('300 lines acknowledged by Kafka', async () => {
      const text = await shipper.registry.getSingleMetricAsString('sluice_shipper_lines_total')
      return /sluice_shipper_lines_total\{kind="log"\} 300\b/.test(text)
    })
    const out = spawnSync('kcat', ['-C', '-b', brokers, '-t', topics.logs, '-o', 'beginning', '-e', '-q', '-d', 'msg', '-f', 'KEY=%k\nHDR=%h\n%s\n'], { encoding: 'utf8', timeout: 60_000 })
    expect(out.status).toBe(0)
    // e.g. "… Enqueue 1 message(s) (11180 bytes, 1 ops) on t.logs.v1 [1] fetch queue (qlen 0, v2, last_offset 0, 0 ctrl msgs, 0 aborted msgsets, zstd)"
    const codecs = [...new Set([...out.stderr.matchAll(/fetch queue \(.*, (\w+)\)$/gm)].map(m => m[1]))]
    return { topics, lines, out: out.stdout, codecs }
  }

  it('kcat reads one log segment, with --compression zstd: a header record and the 300 lines byte for byte', async () => {
    const { lines, out, codecs } = await ship('wire-seg', true, 'zstd')
    expect(codecs).toEqual(['zstd'])
    const keys = new Set<string>()
    const headers = new Set<string>()
    const records: Array<Record<string, unknown>> = []
    const progress: Array<Record<string, unknown>> = []
    const raw: string[] = []
    for (const l of out.split('\n')) {
      if (l === '') continue
      if (l.startsWith('KEY=')) { keys.add(l.slice(4)); continue }
      if (l.startsWith('HDR=')) { headers.add(l.slice(4)); continue }
      const o = JSON.parse(l) as Record<string, unknown>
      if (o.kind === 'lines') records.push(o)
      else if (o.kind === 'progress') progress.push(o)
      else raw.push(l)
    }
    expect([...keys]).toEqual(['wire-host'])
    // log segments, and the shipper's progress records (v1 NDJSON) behind them in the same partition
    expect([...headers].sort()).toEqual(['content-type=application/x-ndjson; sluice=v1', 'content-type=application/x-ndjson; sluice=v1; segment'])
    expect(progress.length).toBeGreaterThan(0)
    for (const p of progress) expect(validateRecord(p)).toBeNull()
    expect(raw).toEqual(lines)
    expect(records.length).toBe(1)
    expect(records[0]).toMatchObject({ v: 1, kind: 'lines', host: 'wire-host', service: 'billing', off: 0, lines: 300, bytes: Buffer.byteLength(lines.join('\n') + '\n') })
    expect(typeof records[0].src).toBe('string')
    expect(String(records[0].path).endsWith(path.join('logs', 'app.log'))).toBe(true)
    // what progress records say of this file (sent every 10 s, so maybe none yet): never past what was shipped
    for (const p of progress.filter(p => p.src === records[0].src)) expect(Number(p.acked)).toBeLessThanOrEqual(Number(records[0].bytes))
  })

  it('with segments off (and the default gzip), kcat consumes exactly the 300 shipped lines and each one validates as v1', async () => {
    const { lines, out, codecs } = await ship('wire-v1', false)
    expect(codecs).toEqual(['gzip'])
    const records: LogRecordV1[] = []
    const keys = new Set<string>()
    const headers = new Set<string>()
    for (const line of out.split('\n')) {
      if (line === '') continue
      if (line.startsWith('KEY=')) { keys.add(line.slice(4)); continue }
      if (line.startsWith('HDR=')) { headers.add(line.slice(4)); continue }
      const rec = JSON.parse(line) as LogRecordV1
      expect(validateRecord(rec)).toBeNull()
      if ((rec as { kind: string }).kind === 'progress') continue // the shipper's progress records, also v1
      records.push(rec)
    }
    expect([...keys]).toEqual(['wire-host'])
    expect([...headers]).toEqual(['content-type=application/x-ndjson; sluice=v1'])
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
