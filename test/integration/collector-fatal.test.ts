// A collector whose Kafka consumer stops for good must not sit idle looking healthy: it stops
// and exits 1 for its supervisor. Real broker: kcat holds the group with the "range" protocol,
// which kafkajs' RoundRobin member cannot join (INCONSISTENT_GROUP_PROTOCOL, not retriable,
// so kafkajs crashes without restarting).
import { spawn } from 'node:child_process'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { prepareKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { runCli, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'

describe('sluice collect when its Kafka consumer stops for good', () => {
  const brokers = inject('kafkaBrokers')
  const prefix = uniquePrefix('fatal')
  const topics = topicsFor(prefix)
  const group = `${prefix}collector`
  let kcat: ReturnType<typeof spawn> | undefined
  afterAll(() => { kcat?.kill('SIGKILL') })

  it('stops and exits 1 with the reason, instead of idling', async () => {
    await prepareKafka([brokers], topics)
    let kerr = ''
    kcat = spawn('kcat', ['-b', brokers, '-G', group, '-X', 'partition.assignment.strategy=range', topics.logs], { stdio: ['ignore', 'ignore', 'pipe'] })
    kcat.stderr!.on('data', d => { kerr += String(d) })
    // kcat owns the group once it has been assigned its partitions
    await waitFor('kcat to join the group', async () => /assigned|Assign/i.test(kerr), 60_000, 250, () => kerr.slice(-300))
    const c = runCli(['collect', '--group-id', group], { KAFKA_BROKERS: brokers, SLUICE_TOPIC_PREFIX: prefix, SLUICE_DATA_DIR: tempDir('fatal') })
    const code = await c.exited
    expect(code).toBe(1)
    const lines = c.stderr().split('\n')
    expect(lines).toContain("sluice: warning: collect: consumer error (The group member's supported protocols are incompatible with those of existing members); not restarting")
    expect(lines).toContain("sluice: error: collect: the Kafka consumer stopped (The group member's supported protocols are incompatible with those of existing members); stopping and exiting with status 1 so a supervisor can restart it")
  }, 120_000)
})
