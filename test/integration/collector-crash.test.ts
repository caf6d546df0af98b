// SIGKILL `sluice collect` five times while 500,000 log records stream through Kafka: the
// planned offset ranges (committed with the group's offsets) make every restart replay the
// interrupted range with the same dedup token, so the table holds each record exactly once —
// counted raw, not only through FINAL.
import { afterAll, describe, expect, inject, it } from 'vitest'
import { prepareKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { groupLag, logCounts, openEngine, produceStream } from '../helpers/collector.js'
import { childLogRows, startCollectChild, type CollectChild } from '../helpers/collect-child.js'

const hosts = ['h1', 'h2', 'h3', 'h4', 'h5']
const perHost = 100_000
const kills = 5

describe('collector: SIGKILL while streaming', () => {
  const brokers = inject('kafkaBrokers')
  const prefix = uniquePrefix('coll-kill')
  const topics = topicsFor(prefix)
  const dataDir = tempDir('coll-kill')
  const env = { KAFKA_BROKERS: brokers, SLUICE_DATA_DIR: dataDir, SLUICE_TOPIC_PREFIX: prefix }
  let child: CollectChild | null = null
  afterAll(async () => { if (child !== null) await stopChild(child, 'SIGKILL') })

  it(`holds each of ${hosts.length * perHost} records exactly once after ${kills} SIGKILLs`, async () => {
    await prepareKafka([brokers], topics)
    let sent = 0
    const streaming = produceStream(brokers, topics, { hosts, perHost, perMessage: 100, messagesPerSend: 5, pauseMs: 250, progress: s => { sent = s } })
    const killedAt: number[] = []
    for (let k = 0; k < kills; k++) {
      child = await startCollectChild(env)
      const c = child
      // kill somewhere inside this life's work: after its first insert, at a varying moment
      await waitFor('the collector to insert rows', async () => (await childLogRows(c) ?? 0) > 0, 120_000, 100, () => c.stderr().slice(-1000))
      await new Promise(resolve => setTimeout(resolve, 200 + 400 * k))
      killedAt.push(sent)
      c.child.kill('SIGKILL')
      await c.exited
      child = null
    }
    child = await startCollectChild(env)
    await streaming
    const c = child
    await waitFor('the group to commit everything', async () => await groupLag(brokers, `${prefix}collector`, topics) === 0, 150_000, 1000, () => c.stderr().slice(-1000))
    expect(await stopChild(c, 'SIGTERM')).toBe(0)
    child = null

    const ch = await openEngine(dataDir)
    try {
      expect(await logCounts(ch)).toEqual({ raw: hosts.length * perHost, final: hosts.length * perHost, distinct: hosts.length * perHost })
      const perHostRows = await (await ch.client.query({ query: 'SELECT host, count() AS n, min(offset) AS lo, max(offset) AS hi FROM sluice.logs GROUP BY host ORDER BY host', format: 'JSONEachRow' })).json<{ host: string, n: number, lo: number, hi: number }>()
      expect(perHostRows).toEqual(hosts.map(host => ({ host, n: perHost, lo: 0, hi: (perHost - 1) * 100 })))
    } finally { await ch.close() }
    // the stream was still running at every kill
    expect(killedAt.filter(s => s < hosts.length * perHost).length, `records sent at each kill: ${killedAt.join(', ')}`).toBe(kills)
  })
})
