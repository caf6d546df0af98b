// Regression: a batch over the broker's size limit (max.message.bytes; 1 MiB by default, far
// below a 1 MiB batch of incompressible lines) was retried forever, stalling the host's
// shipping. Now it is re-sent one message per request, and a message still too large alone
// is dropped, counted and reported — the lines after it keep flowing.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { ConfigResourceTypes } from 'kafkajs'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createKafka, prepareKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { createShipper, type Shipper } from '../../shipper/ship.js'
import { tempDir, uniquePrefix, waitFor } from '../helpers/env.js'

const limit = 300_000
const lines = 400

describe('shipper against a broker size limit', () => {
  const dir = tempDir('toolarge')
  const prefix = uniquePrefix('toolarge')
  const topics = topicsFor(prefix)
  const brokers = [inject('kafkaBrokers')]
  let shipper: Shipper | undefined
  afterAll(async () => { await shipper?.stop() })

  it('splits refused batches and drops only a message over the limit on its own', async () => {
    await prepareKafka(brokers, topics)
    const admin = createKafka(brokers, 'toolarge-test').admin()
    await admin.connect()
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topics.logs, configEntries: [{ name: 'max.message.bytes', value: String(limit) }] }] })
    await admin.disconnect()

    const file = path.join(dir, 'big', 'app.log')
    fs.mkdirSync(path.dirname(file))
    const now = Date.now()
    let data = ''
    // random base64 barely compresses: 400 × 2 KiB ≈ 0.8 MiB per request, well over the limit
    for (let i = 0; i < lines; i++) {
      data += `{"time":${now},"level":30,"n":${i},"msg":"${crypto.randomBytes(1536).toString('base64')}"}\n`
      if (i === 200) data += `{"time":${now},"level":30,"n":-1,"msg":"${crypto.randomBytes(450_000).toString('base64')}"}\n` // ~600 KB alone
    }
    fs.writeFileSync(file, data)
    shipper = createShipper({ brokers, topics, globs: [file], dataDir: path.join(dir, 'data'), maxLineBytes: 1024 * 1024 })
    await shipper.start()
    const metric = async (name: string, label = ''): Promise<number> => {
      const text = await shipper!.registry.getSingleMetricAsString(name)
      return Number(new RegExp(`^${name}${label.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0)
    }
    await waitFor('all lines acknowledged or dropped', async () => await metric('sluice_shipper_lines_total', '{kind="log"}') >= lines + 1, 90_000, 500)
    const splits = await metric('sluice_shipper_batch_splits_total')
    const dropped = await metric('sluice_shipper_dropped_bytes_total', '{reason="message_too_large"}')
    await shipper.stop()
    shipper = undefined

    const out = spawnSync('kcat', ['-C', '-b', brokers[0], '-t', topics.logs, '-e', '-o', 'beginning', '-q'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    expect(out.status).toBe(0)
    // raw lines of log segments carry n themselves; v1 records in fields (segment headers: skipped)
    const ns: number[] = []
    for (const l of out.stdout.split('\n')) {
      if (!l.startsWith('{')) continue
      const o = JSON.parse(l) as { kind?: string, n?: number, fields?: { n: number } }
      if (o.kind === 'lines' || o.kind === 'progress') continue // segment headers, the shipper's progress records
      ns.push(o.kind === 'log' ? o.fields!.n : o.n!)
    }
    console.log(`[shipper-too-large] splits=${splits} dropped bytes=${dropped} delivered=${ns.length} distinct=${new Set(ns).size}`)
    expect(splits).toBeGreaterThan(0)
    expect(dropped).toBeGreaterThan(limit)
    expect(ns.length).toBe(lines)
    expect(new Set(ns).size).toBe(lines)
    expect(ns.includes(-1)).toBe(false)
  })
})
