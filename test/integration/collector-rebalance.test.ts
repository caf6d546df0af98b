// Scale-out: a second collector joins the group mid-stream, takes over partitions, then leaves
// while the stream goes on. Both share one embedded ClickHouse client (chDB allows one process
// per data dir), each with its own Kafka consumer and metrics. Nothing is lost, nothing doubled.
import { afterAll, describe, expect, inject, it } from 'vitest'
import { Registry } from 'prom-client'
import { createCollector, type Collector } from '../../collector/collect.js'
import { noFaults } from '../../collector/faults.js'
import { prepareKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { groupLag, logCounts, metricValue, openEngine, produceStream } from '../helpers/collector.js'
import type { ClickHouse } from '../../platform/clickhouse.js'

// twelve hosts, because with the default partitioner r1–r6 all hash to partitions 0 and 3: a
// member given only 1 and 2 would have had nothing to insert
const hosts = Array.from({ length: 12 }, (_, i) => `r${i + 1}`)
const perHost = 10_000

describe('collector: a second member joins and leaves mid-stream', () => {
  const brokers = inject('kafkaBrokers')
  const topics = topicsFor(uniquePrefix('coll-rebal'))
  const dataDir = tempDir('coll-rebal')
  const running: Collector[] = []
  let ch: ClickHouse | null = null
  afterAll(async () => { for (const c of running) await c.stop(); await ch?.close() })

  it(`loses and duplicates none of ${hosts.length * perHost} records`, async () => {
    await prepareKafka([brokers], topics)
    ch = await openEngine(dataDir)
    const make = (): Collector => {
      const c = createCollector({ brokers: [brokers], topics, clickhouse: ch!.client, database: ch!.database, registry: new Registry(), sessionTimeoutMs: 6000, maxBatchRows: 5000, faults: noFaults })
      running.push(c)
      return c
    }
    const rowsOf = async (c: Collector): Promise<number> => metricValue(await c.registry.metrics(), 'sluice_collector_rows_total', 'table="logs"') ?? 0
    let sent = 0
    const streaming = produceStream(brokers, topics, { hosts, perHost, perMessage: 50, messagesPerSend: 1, pauseMs: 150, progress: s => { sent = s } })
    const a = make()
    await a.start()
    await waitFor('collector A to insert rows', async () => await rowsOf(a) > 0, 120_000)
    const sentWhenBJoined = sent
    const b = make()
    await b.start()
    await waitFor('collector B to take partitions and insert rows', async () => await rowsOf(b) > 0, 120_000, 250, () => `sent ${sent} (${sentWhenBJoined} when B joined) of ${hosts.length * perHost}`)
    const sentWhenBLeft = sent
    await b.stop()
    running.splice(running.indexOf(b), 1)
    await streaming
    await waitFor('the group to commit everything', async () => await groupLag(brokers, `${topics.prefix}collector`, topics) === 0, 150_000, 1000)
    await a.stop()
    running.splice(running.indexOf(a), 1)

    expect(sentWhenBLeft).toBeLessThan(hosts.length * perHost)
    const aRows = await rowsOf(a)
    const bRows = await rowsOf(b)
    expect(aRows).toBeGreaterThan(0)
    expect(bRows).toBeGreaterThan(0)
    expect(await logCounts(ch)).toEqual({ raw: hosts.length * perHost, final: hosts.length * perHost, distinct: hosts.length * perHost })
    // rows counted by the two members add up to at least the table (a replayed range is counted
    // by each member that inserted it, while ClickHouse keeps one copy)
    expect(aRows + bRows).toBeGreaterThanOrEqual(hosts.length * perHost)
  })
})
