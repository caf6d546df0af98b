// The worst moment to die: ClickHouse has acknowledged the insert, the Kafka offset is not
// committed yet. Twenty times in a row (SLUICE_FAULT_CRASH_AFTER_INSERT=1 SIGKILLs the process
// right there); each next life replays the planned range with the same token, ClickHouse drops
// the copy, and the raw row count (no FINAL) ends exactly at the number of records.
import { afterAll, describe, expect, inject, it } from 'vitest'
import { prepareKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { groupLag, logCounts, metricValue, openEngine, produceStream, scalar } from '../helpers/collector.js'
import { childMetrics, startCollectChild, type CollectChild } from '../helpers/collect-child.js'

const hosts = ['a1', 'a2']
const perHost = 15_000
const crashes = 20

describe('collector: crash after the insert, before the commit', () => {
  const brokers = inject('kafkaBrokers')
  const prefix = uniquePrefix('coll-ack')
  const topics = topicsFor(prefix)
  const dataDir = tempDir('coll-ack')
  const env = { KAFKA_BROKERS: brokers, SLUICE_DATA_DIR: dataDir, SLUICE_TOPIC_PREFIX: prefix }
  let child: CollectChild | null = null
  afterAll(async () => { if (child !== null) await stopChild(child, 'SIGKILL') })

  it(`adds 0 extra rows over ${crashes} crashes`, async () => {
    await prepareKafka([brokers], topics)
    await produceStream(brokers, topics, { hosts, perHost, perMessage: 50, statsPerHost: 100 })
    for (let k = 0; k < crashes; k++) {
      child = await startCollectChild({ ...env, SLUICE_FAULT_CRASH_AFTER_INSERT: '1' }, ['--batch-rows', '500'])
      const c = child
      await c.exited
      expect(c.child.signalCode).toBe('SIGKILL')
      expect(c.stderr()).toContain('SLUICE_FAULT_CRASH_AFTER_INSERT: crashing after insert 1, before the offset commit')
      child = null
    }
    // every crash left uncommitted work behind
    expect(await groupLag(brokers, `${prefix}collector`, topics)).toBeGreaterThan(0)
    child = await startCollectChild(env, ['--batch-rows', '500'])
    const c = child
    await waitFor('the group to commit everything', async () => await groupLag(brokers, `${prefix}collector`, topics) === 0, 150_000, 1000, () => c.stderr().slice(-1000))
    // the last crash's range was replayed, not re-cut
    expect(metricValue(await childMetrics(c), 'sluice_collector_planned_range_replays_total')).toBeGreaterThanOrEqual(1)
    expect(await stopChild(c, 'SIGTERM')).toBe(0)
    child = null

    const ch = await openEngine(dataDir)
    try {
      expect(await logCounts(ch)).toEqual({ raw: hosts.length * perHost, final: hosts.length * perHost, distinct: hosts.length * perHost })
      expect(await scalar(ch, 'SELECT count() FROM sluice.stats')).toBe(hosts.length * 100 * 2)
      expect(await scalar(ch, 'SELECT count() FROM sluice.dead_letters')).toBe(0)
    } finally { await ch.close() }
  })
})
