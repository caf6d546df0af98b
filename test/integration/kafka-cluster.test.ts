// Done-when (issue 16): a 3-broker KRaft cluster on loopback (its own, from the launcher).
// Two real `sluice ship` processes (two hosts, keyed to two different partitions of the logs
// topic) ship 200,000 lines while the leader of one of those partitions is SIGKILLed — then
// restarted 20 s later, or never. Every line reaches ClickHouse exactly once, a live tail hub
// sees every line once, and the collector's and shippers' metrics show the leader change.
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Partitioners, type Admin } from 'kafkajs'
import { startLocalKafka, type LocalKafka } from '../../platform/kafka-launcher.js'
import { createKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { createTailHub, type TailHub } from '../../query-api/tail-hub.js'
import { root, runCli, stopChild, tempDir, uniquePrefix, waitFor, type Running } from '../helpers/env.js'
import { startSink, type Sink } from '../helpers/sink.js'

const perHost = 100_000
const rate = 2_500 // lines/s per host: shipping spans the kill and the restart
const killAfterS = 8
const downS = 20
const partitions = 4

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** sum of a Prometheus counter over its label sets, and the label sets themselves */
function counter (text: string, name: string): { total: number, byLabel: string } {
  const ms = [...text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))]
  return { total: ms.reduce((s, m) => s + Number(m[2]), 0), byLabel: ms.map(m => `${m[1] ?? ''}=${m[2]}`).join(' ') }
}

describe('a 3-broker Kafka cluster losing a partition leader', () => {
  const dir = tempDir('cluster')
  const prefix = uniquePrefix('cluster')
  const topics = topicsFor(prefix)
  let kafka: LocalKafka
  let sink: Sink
  let hub: TailHub
  let admin: Admin
  const seen = new Map<string, number>() // `${host}:${n}` → times the tail saw it
  const running: Running[] = []

  beforeAll(async () => {
    kafka = await startLocalKafka({ brokers: 3, heap: '256m', dataDir: path.join(dir, 'kafka') })
    sink = await startSink('cluster', kafka.brokerList, topics)
    admin = createKafka(kafka.brokerList, 'cluster-test-admin').admin()
    await admin.connect()
    hub = createTailHub({ brokers: kafka.brokerList, topic: topics.logs, groupPrefix: prefix })
    await hub.start()
    hub.subscribe({
      push (e) { const k = `${e.line.host}:${String((e.line.fields as { n: number }).n)}`; seen.set(k, (seen.get(k) ?? 0) + 1) },
      flush () {},
      close () {}
    })
  })
  afterAll(async () => {
    for (const r of running) await stopChild(r)
    await hub?.stop()
    await admin?.disconnect()
    await sink?.stop()
    await kafka?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  /** two host names whose keys land on different partitions of the logs topic */
  function hostsOnTwoPartitions (label: string): Array<{ host: string, partition: number }> {
    const partitioner = Partitioners.DefaultPartitioner()
    const partitionMetadata = Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0, replicas: [], isr: [], partitionErrorCode: 0 }))
    const out: Array<{ host: string, partition: number }> = []
    for (let i = 0; out.length < 2; i++) {
      const host = `${label}-host-${i}`
      const partition = partitioner({ topic: topics.logs, partitionMetadata, message: { key: host, value: null } })
      if (!out.some(o => o.partition === partition)) out.push({ host, partition })
    }
    return out
  }

  async function logsTopicMetadata (): Promise<Array<{ partitionId: number, leader: number, isr: number[] }>> {
    const md = await admin.fetchTopicMetadata({ topics: [topics.logs] })
    return md.topics[0].partitions
  }

  async function run (label: string, restart: boolean): Promise<void> {
    const md = await logsTopicMetadata()
    expect(md.length).toBe(partitions)
    // every partition has three in-sync replicas before a broker is lost (RF 3)
    for (const p of md) expect(p.isr.length).toBe(3)
    const hosts = hostsOnTwoPartitions(label)
    const victim = md.find(p => p.partitionId === hosts[0].partition)!.leader
    const victimIndex = kafka.nodes.findIndex(n => n.id === victim)
    const collectorErrorsBefore = counter(await sink.collector.registry.metrics(), 'sluice_collector_kafka_request_errors_total').total
    const ships = hosts.map(({ host }) => {
      const file = path.join(dir, `${host}.log`)
      const r = runCli(['ship', '--path', file, '--host', host, '--service', 'cluster', '--metrics-port', '0'], { KAFKA_BROKERS: kafka.brokers, SLUICE_DATA_DIR: path.join(dir, `${host}-data`), SLUICE_TOPIC_PREFIX: prefix })
      running.push(r)
      return { host, file, r }
    })
    const metricsUrls = await Promise.all(ships.map(async s => await waitFor(`${s.host} metrics URL`, async () => {
      if (s.r.child.exitCode !== null) throw new Error(`shipper exited: ${s.r.stderr()}`)
      return /metrics at (http:\S+)/.exec(s.r.stderr())?.[1]
    })))
    const writers = ships.map(s => {
      const w = spawn(process.execPath, [path.join(root, 'test/fixtures/tagged-writer.mjs'), s.file, String(perHost), String(rate), s.host], { stdio: ['ignore', 'pipe', 'inherit'] })
      return new Promise<number | null>(resolve => w.once('exit', resolve))
    })
    await sleep(killAfterS * 1000)
    await kafka.kill(victimIndex)
    const killedAt = Date.now()
    if (restart) {
      await sleep(downS * 1000)
      await kafka.restart(victimIndex)
    }
    const upAgainAfterS = (Date.now() - killedAt) / 1000
    expect(await Promise.all(writers)).toEqual([0, 0])

    const where = `host IN ('${hosts[0].host}', '${hosts[1].host}')`
    const total = perHost * hosts.length
    const counts = async (): Promise<{ final: number, distinct: number, lines: number, raw: number }> => {
      const [r] = await sink.rows<{ final: number, distinct: number, lines: number }>(`SELECT count() AS final, uniqExact(source, offset) AS distinct, uniqExact(host, JSONExtractInt(fields, 'n')) AS lines FROM sluice.logs FINAL WHERE ${where}`)
      const [raw] = await sink.rows<{ c: number }>(`SELECT count() AS c FROM sluice.logs WHERE ${where}`)
      return { final: Number(r.final), distinct: Number(r.distinct), lines: Number(r.lines), raw: Number(raw.c) }
    }
    let last = { final: 0, distinct: 0, lines: 0, raw: 0 }
    await waitFor(`${total} lines in ClickHouse`, async () => { last = await counts(); return last.final >= total }, 120_000, 1000, () => JSON.stringify(last))
    const inTail = (): number => [...seen.keys()].filter(k => hosts.some(h => k.startsWith(`${h.host}:`))).length
    await waitFor(`${total} lines in the tail`, async () => inTail() >= total, 60_000, 500, () => String(inTail()))
    await sleep(2000)
    last = await counts()
    const shipperMetrics = await Promise.all(metricsUrls.map(async u => await (await fetch(u)).text()))
    const shipperErrors = shipperMetrics.map(t => counter(t, 'sluice_shipper_kafka_request_errors_total'))
    const collectorErrors = counter(await sink.collector.registry.metrics(), 'sluice_collector_kafka_request_errors_total')
    const tailDup = [...seen.entries()].filter(([k, v]) => hosts.some(h => k.startsWith(`${h.host}:`)) && v !== 1).length
    const after = await logsTopicMetadata()
    console.log(`[kafka-cluster ${label}] killed broker ${victim} (leader of partition ${hosts[0].partition}; hosts on partitions ${hosts.map(h => `${h.host}→${h.partition}`).join(', ')}); ${restart ? `restarted ${downS} s after the kill, answering ${upAgainAfterS.toFixed(1)} s after it` : 'not restarted'}; ClickHouse ${JSON.stringify(last)}; tail lines ${inTail()} (not exactly once: ${tailDup}); leaders after: ${after.map(p => `${p.partitionId}:${p.leader} isr=${p.isr.join('/')}`).join(' ')}; shipper request errors ${shipperErrors.map(e => e.byLabel).join(' | ')}; collector request errors ${collectorErrors.byLabel}`)
    for (const s of ships) {
      expect(await stopChild(s.r)).toBe(0)
      running.splice(running.indexOf(s.r), 1)
    }

    expect(last.final).toBe(total)
    expect(last.distinct).toBe(total)
    expect(last.lines).toBe(total)
    expect(inTail()).toBe(total)
    expect(tailDup).toBe(0)
    // the shipper keyed to the lost leader's partition, and the collector, saw the leader change
    expect(shipperErrors[0].total).toBeGreaterThan(0)
    expect(collectorErrors.total).toBeGreaterThan(collectorErrorsBefore)
    // the partition moved to a surviving broker
    if (!restart) expect(after.find(p => p.partitionId === hosts[0].partition)!.leader).not.toBe(victim)
  }

  it(`delivers ${2 * perHost} lines exactly once while a partition leader is SIGKILLed and restarted ${downS} s later`, async () => {
    await run('restarted', true)
    // the restarted broker catches up: every replica back in sync before the next run
    await waitFor('all replicas in sync again', async () => (await logsTopicMetadata()).every(p => p.isr.length === 3), 60_000, 500)
  })

  it(`delivers ${2 * perHost} lines exactly once when a partition leader is SIGKILLed and not restarted (RF 3, min ISR 2)`, async () => {
    await run('lost', false)
  })
})
