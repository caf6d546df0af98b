// Regression (issue 15): when kafkajs gave up on the collector's consumer (a non-retriable
// error), `sluice collect` / `sluice up` stopped and exited 1 — and with a poison message, did so
// again on every restart. Now the collector replaces the consumer after a backoff, forever.
// Real broker: kcat holds the group with the "range" protocol, which kafkajs' RoundRobin member
// cannot join (INCONSISTENT_GROUP_PROTOCOL, not retriable, so kafkajs crashes without restarting).
import { spawn } from 'node:child_process'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { prepareKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { childLogRows, childMetrics, startCollectChild, type CollectChild } from '../helpers/collect-child.js'
import { metricValue, produceStream } from '../helpers/collector.js'
import { stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'

describe('sluice collect when kafkajs gives up on its consumer', () => {
  const brokers = inject('kafkaBrokers')
  const prefix = uniquePrefix('restart')
  const topics = topicsFor(prefix)
  const group = `${prefix}collector`
  let kcat: ReturnType<typeof spawn> | undefined
  let c: CollectChild | undefined
  afterAll(async () => {
    kcat?.kill('SIGKILL')
    if (c !== undefined) await stopChild(c, 'SIGKILL')
  })

  it('starts a new consumer with backoff, never exits, and consumes once the group lets it in', async () => {
    await prepareKafka([brokers], topics)
    let kerr = ''
    kcat = spawn('kcat', ['-b', brokers, '-G', group, '-X', 'partition.assignment.strategy=range', '-X', 'session.timeout.ms=6000', '-X', 'enable.auto.commit=false', topics.logs], { stdio: ['ignore', 'ignore', 'pipe'] })
    kcat.stderr!.on('data', d => { kerr += String(d) })
    // kcat owns the group once it has been assigned its partitions
    await waitFor('kcat to join the group', async () => /assigned|Assign/i.test(kerr), 60_000, 250, () => kerr.slice(-300))
    c = await startCollectChild({ KAFKA_BROKERS: brokers, SLUICE_TOPIC_PREFIX: prefix, SLUICE_DATA_DIR: tempDir('restart') }, ['--group-id', group])
    const why = "The group member's supported protocols are incompatible with those of existing members"
    await waitFor('two restarts with growing backoff', async () => c!.stderr().includes(`starting a new one in 2000 ms`), 120_000, 250, () => c!.stderr().slice(-1000))
    const lines = c.stderr().split('\n')
    expect(lines).toContain(`sluice: warning: collect: consumer error (${why}); kafkajs gave up on this consumer: starting a new one in 1000 ms (from the committed offsets)`)
    expect(lines).toContain(`sluice: warning: collect: consumer error (${why}); kafkajs gave up on this consumer: starting a new one in 2000 ms (from the committed offsets)`)
    expect(metricValue(await childMetrics(c), 'sluice_collector_consumer_restarts_total')).toBeGreaterThanOrEqual(2)
    expect(c.child.exitCode).toBe(null)

    // kcat leaves the group: the next consumer joins and consumes
    // (gone before the lines are produced: a kcat still in the group would read and hold the first)
    const kcatGone = new Promise(resolve => kcat!.once('exit', resolve))
    kcat.kill('SIGTERM')
    await kcatGone
    await produceStream(brokers, topics, { hosts: ['h-restart'], perHost: 100, perMessage: 10 })
    await waitFor('100 rows', async () => (await childLogRows(c!)) === 100, 120_000, 250, () => c!.stderr().slice(-1000))
    expect(c.child.exitCode).toBe(null)
    expect(await stopChild(c)).toBe(0)
    c = undefined
  }, 240_000)
})
