// ClickHouse unavailable for 30 s under a steady stream (SLUICE_FAULT_INSERT_FAIL_FILE makes every
// insert of the child `sluice collect` fail while the file exists — embedded chDB cannot be
// stopped from outside the process that holds it). The collector pauses its partitions and
// retries with backoff; the backlog stays in Kafka, so the process's memory stays flat; once
// ClickHouse is back the lag drains to zero with nothing lost and nothing doubled.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { prepareKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { groupLag, logCounts, metricValue, openEngine, produceStream } from '../helpers/collector.js'
import { childLogRows, childMetrics, startCollectChild, type CollectChild } from '../helpers/collect-child.js'

const hosts = ['o1', 'o2', 'o3']
const perHost = 30_000
const outageMs = 30_000

function rssBytes (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? 0 : Number(m[1]) * 1024
}

function sumOf (text: string, name: string): number {
  let s = 0
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) s += Number(m[1])
  return s
}

describe('collector: ClickHouse down for 30 s', () => {
  const brokers = inject('kafkaBrokers')
  const prefix = uniquePrefix('coll-down')
  const topics = topicsFor(prefix)
  const dataDir = tempDir('coll-down')
  const failFile = path.join(dataDir, 'clickhouse-down')
  let child: CollectChild | null = null
  afterAll(async () => { if (child !== null) await stopChild(child, 'SIGKILL') })

  it('loses nothing, doubles nothing, keeps memory flat and drains the lag', async () => {
    await prepareKafka([brokers], topics)
    child = await startCollectChild({ KAFKA_BROKERS: brokers, SLUICE_DATA_DIR: dataDir, SLUICE_TOPIC_PREFIX: prefix, SLUICE_FAULT_INSERT_FAIL_FILE: failFile })
    const c = child
    const pid = c.child.pid!
    let sent = 0
    // ~1,500 records/s for about a minute: the outage sits in the middle of the stream
    const streaming = produceStream(brokers, topics, { hosts, perHost, perMessage: 50, messagesPerSend: 2, pauseMs: 150, progress: s => { sent = s } })
    await waitFor('the collector to insert rows', async () => (await childLogRows(c) ?? 0) > 0, 120_000)
    await new Promise(resolve => setTimeout(resolve, 2000))
    const rssBefore = rssBytes(pid)
    const rowsBefore = (await childLogRows(c))!
    const sentAtOutage = sent
    fs.writeFileSync(failFile, '')
    let maxRss = 0; let maxBuffered = 0; let maxInFlight = 0; let pausedSeen = 0
    const outageEnd = Date.now() + outageMs
    while (Date.now() < outageEnd) {
      const text = await childMetrics(c)
      maxRss = Math.max(maxRss, rssBytes(pid))
      maxBuffered = Math.max(maxBuffered, metricValue(text, 'sluice_collector_buffered_bytes') ?? 0)
      maxInFlight = Math.max(maxInFlight, metricValue(text, 'sluice_collector_inserts_in_flight') ?? 0)
      pausedSeen = Math.max(pausedSeen, metricValue(text, 'sluice_collector_paused_partitions') ?? 0)
      await new Promise(resolve => setTimeout(resolve, 1000))
    }
    const duringOutage = await childMetrics(c)
    const rowsAtEnd = metricValue(duringOutage, 'sluice_collector_rows_total', 'table="logs"')
    const backlogAtEnd = await groupLag(brokers, `${prefix}collector`, topics)
    const sentAtEnd = sent
    fs.rmSync(failFile)
    await streaming
    await waitFor('the group to commit everything', async () => await groupLag(brokers, `${prefix}collector`, topics) === 0, 150_000, 1000, () => c.stderr().slice(-1000))
    await waitFor('the lag gauges to reach zero', async () => sumOf(await childMetrics(c), 'sluice_collector_consumer_lag') === 0, 60_000, 500)
    const after = await childMetrics(c)
    expect(await stopChild(c, 'SIGTERM')).toBe(0)
    child = null

    // the stream went on during the outage and nothing reached ClickHouse in that time
    expect(sentAtEnd).toBeGreaterThan(sentAtOutage)
    // (an insert already past the fault check when the file appeared may still land: at most
    // maxInsertsInFlight batches of 100,000 rows, in practice one small batch)
    expect(rowsAtEnd).toBeLessThanOrEqual(rowsBefore + 2 * 100_000)
    expect(metricValue(duringOutage, 'sluice_collector_insert_retries_total')).toBeGreaterThanOrEqual(5)
    expect(pausedSeen).toBeGreaterThan(0)
    // the backlog waited in Kafka, not in the collector
    expect(backlogAtEnd).toBeGreaterThan(0)
    process.stderr.write(`collector-outage: RSS before ${(rssBefore / 2 ** 20).toFixed(1)} MiB, max during 30 s outage ${(maxRss / 2 ** 20).toFixed(1)} MiB; backlog ${backlogAtEnd} messages; retries ${metricValue(duringOutage, 'sluice_collector_insert_retries_total')}\n`)
    // bounded: at most two batches held, and no growth of the process beyond them
    expect(maxInFlight).toBeLessThanOrEqual(2)
    expect(maxBuffered).toBeLessThanOrEqual(2 * 16 * 1024 * 1024)
    expect(maxRss - rssBefore, `RSS before ${rssBefore}, max during the outage ${maxRss}`).toBeLessThan(100 * 1024 * 1024)
    expect(metricValue(after, 'sluice_collector_paused_partitions')).toBe(0)
    expect(c.stderr()).toContain('injected insert failure')

    const ch = await openEngine(dataDir)
    try {
      expect(await logCounts(ch)).toEqual({ raw: hosts.length * perHost, final: hosts.length * perHost, distinct: hosts.length * perHost })
    } finally { await ch.close() }
  })
})
