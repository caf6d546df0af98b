// Done-when #4: Kafka stopped for OUTAGE_S seconds (default 60, as the issue asks;
// SLUICE_OUTAGE_S=25 for a quicker run) while a service logs 5,000 lines/s through sluice/transport. The spool files are
// the buffer: the shipper stops reading, its memory stays flat, and after the broker comes
// back on the same port and data dir every line arrives exactly once.
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startLocalKafka, type LocalKafka } from '../../platform/kafka-launcher.js'
import { topicsFor } from '../../schemas/topics.js'
import { root, runCli, stopChild, tempDir, uniquePrefix, waitFor, type Running } from '../helpers/env.js'
import { lineCounts, startSink, type Sink } from '../helpers/sink.js'

const rate = 5_000
const steadyS = 15
const outageS = Number(process.env.SLUICE_OUTAGE_S ?? 60)
const afterS = 10

function rssKb (pid: number): number {
  try { return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) } catch { return 0 }
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

describe('shipper through a Kafka outage', () => {
  const dir = tempDir('outage')
  const dataDir = path.join(dir, 'data')
  const kafkaDir = path.join(dir, 'kafka')
  const prefix = uniquePrefix('outage')
  let kafka: LocalKafka
  let sink: Sink
  let shipper: Running | undefined

  beforeAll(async () => {
    kafka = await startLocalKafka({ dataDir: kafkaDir })
    sink = await startSink('outage', [kafka.brokers], topicsFor(prefix))
  })
  afterAll(async () => {
    if (shipper !== undefined) await stopChild(shipper)
    await sink?.stop()
    await kafka?.stop()
  })

  it(`loses nothing and keeps shipper RSS flat through a ${outageS} s outage at ${rate} lines/s`, async () => {
    shipper = runCli(['ship', '--metrics-port', '0'], { KAFKA_BROKERS: kafka.brokers, SLUICE_DATA_DIR: dataDir, SLUICE_TOPIC_PREFIX: prefix })
    const s = shipper
    const metricsUrl = await waitFor('shipper metrics URL', async () => {
      if (s.child.exitCode !== null) throw new Error(`shipper exited: ${s.stderr()}`)
      return /metrics at (http:\S+)/.exec(s.stderr())?.[1]
    })
    // sum over every label set (one lag series per file)
    const metric = async (name: string): Promise<number> => {
      const text = await (await fetch(metricsUrl)).text()
      return [...text.matchAll(new RegExp(`^${name}(?:{[^}]*})? (\\S+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0)
    }
    const service = spawn(process.execPath, [path.join(root, 'test/fixtures/paced-logger.mjs'), path.join(dataDir, 'spool'), 'outage-svc', 'outage-host', String(rate), String(steadyS + outageS + afterS)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let logged = ''
    service.stdout.on('data', d => { logged += String(d) })
    const serviceDone = new Promise<number | null>(resolve => service.once('exit', resolve))

    let phase: 'warmup' | 'steady' | 'outage' | 'recovery' = 'warmup'
    const rss: Record<typeof phase, number[]> = { warmup: [], steady: [], outage: [], recovery: [] }
    const sampler = setInterval(() => { const kb = rssKb(s.child.pid!); if (kb > 0) rss[phase].push(kb) }, 500)
    try {
      await sleep(5000)
      phase = 'steady'
      await sleep((steadyS - 5) * 1000)
      const shippedBefore = await metric('sluice_shipper_lines_total')
      phase = 'outage'
      const cport = Number(/controller\.quorum\.voters=1@127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(path.join(kafkaDir, 'server.properties'), 'utf8'))?.[1])
      await kafka.stop()
      const downAt = Date.now()
      await sleep(outageS * 1000 - 3000)
      const retries = await metric('sluice_shipper_send_retries_total')
      const lagDown = await metric('sluice_shipper_file_lag_bytes')
      await sleep(Math.max(0, outageS * 1000 - (Date.now() - downAt)))
      kafka = await startLocalKafka({ port: kafka.port, controllerPort: cport, dataDir: kafkaDir })
      const downS = (Date.now() - downAt) / 1000
      phase = 'recovery'
      expect(await serviceDone).toBe(0)
      const total = Number(/logged (\d+)/.exec(logged)?.[1])
      expect(total).toBe(rate * (steadyS + outageS + afterS))
      let last = { final: 0, distinct: 0, raw: 0 }
      await waitFor(`${total} lines after the outage`, async () => {
        last = await lineCounts(sink)
        return last.final >= total
      }, 110_000, 1000, () => JSON.stringify(last))
      await sleep(2000)
      last = await lineCounts(sink)
      clearInterval(sampler)
      const max = (xs: number[]): number => Math.max(...xs)
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
      const steadyMax = max(rss.steady)
      const peak = max(rss.recovery)
      console.log(`[shipper-kafka-outage] broker down ${downS.toFixed(1)} s; lines=${total} final=${last.final} distinct=${last.distinct} raw=${last.raw}; shipped before outage=${shippedBefore}; during outage: send retries=${retries} file lag=${lagDown} B; shipper RSS MB steady median/max=${(median(rss.steady) / 1024).toFixed(1)}/${(steadyMax / 1024).toFixed(1)} outage max=${(max(rss.outage) / 1024).toFixed(1)} recovery max=${(max(rss.recovery) / 1024).toFixed(1)} outage/steady=${(max(rss.outage) / steadyMax).toFixed(3)} recovery/steady=${(peak / steadyMax).toFixed(3)}`)
      expect(last.final).toBe(total)
      expect(last.distinct).toBe(total)
      expect(retries).toBeGreaterThan(0)
      expect(lagDown).toBeGreaterThan(0)
      // while Kafka is down the shipper holds one batch and reads nothing: RSS stays flat
      expect(max(rss.outage)).toBeLessThanOrEqual(steadyMax * 1.2)
      // catching up at full speed, too: batches are capped in lines (so in message bytes), each
      // thread collects when its Buffers exceed 16 MiB, V8 frees them during the GC, gzip runs
      // synchronously (async zlib kept each batch's input alive) and V8's young generation keeps
      // its size (before: 60 s down with 42 MB of backlog peaked at 1.77× steady, 25 s at 1.45–1.5×)
      expect(peak).toBeLessThanOrEqual(steadyMax * 1.2)
      expect(await stopChild(s)).toBe(0)
      shipper = undefined
    } finally { clearInterval(sampler); console.log(`[shipper-kafka-outage] shipper stderr:\n${s.stderr().slice(-3000)}`) }
  })
})
