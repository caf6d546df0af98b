// The shipper bench's measurement (bench/lib/file-to-kafka.mjs) on the real broker: it counts
// every contender's lines the way the collector would (a log segment carries `lines` lines, a
// kcat message is one line, a Collector message is one line as a JSON string, a progress record
// none), and times a spawned contender to its last acknowledged line with every line accounted.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { createKafka, prepareKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { isSegment, parseSegment, segmentHeaderJson } from '../../schemas/segment.js'
import { tempDir, uniquePrefix } from '../helpers/env.js'
// @ts-expect-error: a bench module in plain JavaScript, without types
import { measureProcess, readBack } from '../../bench/lib/file-to-kafka.mjs'

describe('bench: file → Kafka measurement', () => {
  const brokers = inject('kafkaBrokers')
  const kcat = spawnSync('kcat', ['-V'], { encoding: 'utf8' })

  it('counts lines in segments, raw messages and JSON-string messages, and none in progress records', async () => {
    expect(kcat.error, 'kcat is required (apt-get install kcat; scripts/test.sh installs it)').toBeUndefined()
    const topics = topicsFor(uniquePrefix('bench-count'))
    await prepareKafka([brokers], topics)
    const body = '{"level":30,"msg":"a"}\n{"level":40,"msg":"bb"}\n'
    const segment = `${segmentHeaderJson({ host: 'h', service: 's', src: 'f1', path: '/x.log', off: 0, lines: 2, bytes: Buffer.byteLength(body), rt: '2026-12-05T00:00:00.000Z' })}\n${body}`
    const progress = '{"v":1,"kind":"progress","host":"h","source":"","path":"","state":"host"}\n'
    // idempotent: a send retried under load must not write the messages twice
    const producer = createKafka([brokers], 'bench-count').producer({ idempotent: true, maxInFlightRequests: 1 })
    await producer.connect()
    await producer.send({
      topic: topics.logs,
      messages: [
        { partition: 0, value: segment },
        { partition: 0, value: progress },
        { partition: 1, value: '{"level":30,"msg":"raw"}' },
        { partition: 1, value: '{"level":50,"msg":"raw 2"}' },
        { partition: 2, value: JSON.stringify('{"level":30,"msg":"quoted \\"x\\""}') }
      ]
    })
    await producer.disconnect()
    const parts = await readBack(brokers, topics.logs, isSegment, parseSegment)
    expect(parts.get(0).lines).toEqual([2, 0])
    expect(parts.get(0).bytes).toBe(Buffer.byteLength(body))
    expect(parts.get(1).lines).toEqual([1, 1])
    expect(parts.get(1).bytes).toBe(Buffer.byteLength('{"level":30,"msg":"raw"}\n{"level":50,"msg":"raw 2"}\n'))
    expect(parts.get(2).lines).toEqual([1])
    expect(parts.get(2).bytes).toBe(Buffer.byteLength('{"level":30,"msg":"quoted \\"x\\""}\n'))
  })

  it('times kcat -P from spawn to its last acknowledged line, with every line and byte delivered', async () => {
    expect(kcat.error, 'kcat is required (apt-get install kcat; scripts/test.sh installs it)').toBeUndefined()
    const topics = topicsFor(uniquePrefix('bench-measure'))
    await prepareKafka([brokers], topics)
    const file = path.join(tempDir('bench-measure'), 'app.log')
    let text = ''
    for (let i = 0; i < 5000; i++) text += `{"level":30,"time":${1795000000000 + i},"msg":"line ${i}"}\n`
    fs.writeFileSync(file, text)
    const admin = createKafka([brokers], 'bench-measure').admin()
    await admin.connect()
    try {
      const r = await measureProcess({ cmd: 'kcat', args: ['-P', '-b', brokers, '-t', topics.logs, '-l', file], env: process.env, topic: topics.logs, brokers, admin, isSegment, parseSegment })
      expect({ delivered: r.delivered, bytes: r.bytes, messages: r.messages, failed: r.failed, exit: r.exit.code }).toEqual({ delivered: 5000, bytes: Buffer.byteLength(text), messages: 5000, failed: false, exit: 0 })
      expect(r.firstS).toBeGreaterThan(0)
      expect(r.firstS).toBeLessThanOrEqual(r.wholeS)
      // CPU seconds (10 ms resolution, so small runs may read 0): never more than every core for the whole time
      expect(r.cpuS).toBeGreaterThanOrEqual(0)
      expect(r.cpuS).toBeLessThanOrEqual(os.cpus().length * r.wholeS + 0.01)
    } finally { await admin.disconnect() }
  })
})
