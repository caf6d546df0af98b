// Regression (issue 15): a message ClickHouse keeps rejecting for its content was retried forever,
// holding back its partition. Now, after --max-insert-attempts failures while ClickHouse answers,
// the range is inserted again one message per insert, the message that still fails is skipped
// to the dead letters (counted, logged) and the partition goes on.
// Real broker and engine; SLUICE_FAULT_INSERT_POISON_OFFSET makes every insert of the range
// holding Kafka offset 5 fail as a content error does (collector/faults.ts).
import { afterAll, describe, expect, inject, it } from 'vitest'
import { prepareKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { childMetrics, startCollectChild, type CollectChild } from '../helpers/collect-child.js'
import { groupLag, kafkaFor, logRecord, metricValue, openEngine, produceStream, scalar } from '../helpers/collector.js'
import { stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'

describe('collector: an insert ClickHouse keeps rejecting', () => {
  const brokers = inject('kafkaBrokers')
  const prefix = uniquePrefix('poison-insert')
  const topics = topicsFor(prefix)
  const dataDir = tempDir('poison-insert')
  let c: CollectChild | undefined
  afterAll(async () => { if (c !== undefined) await stopChild(c, 'SIGKILL') })

  it('finds the message after 3 tries, skips it alone to the dead letters, counts it, and goes on', async () => {
    await prepareKafka([brokers], topics)
    // 30 messages of 10 records (offsets 0-29 of the one partition the host's key picks)
    await produceStream(brokers, topics, { hosts: ['h-poison'], perHost: 300, perMessage: 10 })
    c = await startCollectChild({ KAFKA_BROKERS: brokers, SLUICE_TOPIC_PREFIX: prefix, SLUICE_DATA_DIR: dataDir, SLUICE_FAULT_INSERT_POISON_OFFSET: '5' }, ['--max-insert-attempts', '3'])
    await waitFor('the group to commit every offset', async () => await groupLag(brokers, `${prefix}collector`, topics) === 0, 120_000, 500, () => c!.stderr().slice(-1500))
    // and it goes on: 10 more messages (offsets 30-39, records 300-399)
    const producer = kafkaFor(brokers).producer({ allowAutoTopicCreation: false })
    await producer.connect()
    await producer.send({ topic: topics.logs, acks: -1, messages: Array.from({ length: 10 }, (_, k) => ({ key: 'h-poison', value: Array.from({ length: 10 }, (_, i) => JSON.stringify(logRecord('h-poison', 300 + 10 * k + i))).join('\n') + '\n' })) })
    await producer.disconnect()
    await waitFor('the next 10 messages to commit', async () => await groupLag(brokers, `${prefix}collector`, topics) === 0, 120_000, 500, () => c!.stderr().slice(-1500))
    const metrics = await childMetrics(c)
    expect(metricValue(metrics, 'sluice_collector_skipped_messages_total')).toBe(1)
    // 3 for the range as it was cut, 3 for offset 5 alone
    expect(metricValue(metrics, 'sluice_collector_insert_failures_total')).toBe(6)
    const warnings = c.stderr().split('\n').filter(l => l.includes('while ClickHouse answered'))
    expect(warnings.length).toBe(2)
    expect(warnings[0]).toMatch(/^sluice: warning: collect: \S+\[\d+\]: insert of Kafka offsets 0-\d+ failed 3 times while ClickHouse answered \(Code: 27\. DB::Exception: injected: cannot parse the rows of Kafka offset 5 \(CANNOT_PARSE_INPUT_ASSERTION_FAILED\)\); inserting them again one message at a time$/)
    expect(await stopChild(c)).toBe(0)
    c = undefined

    const ch = await openEngine(dataDir)
    try {
      const dead = await (await ch.client.query({ query: 'SELECT stage, reason, partition, kafka_offset FROM sluice.dead_letters FINAL', format: 'JSONEachRow' })).json<{ stage: string, reason: string, partition: number, kafka_offset: string }>()
      const reason = 'insert failed 3 times while ClickHouse answered (Code: 27. DB::Exception: injected: cannot parse the rows of Kafka offset 5 (CANNOT_PARSE_INPUT_ASSERTION_FAILED)); Kafka offset 5 skipped (10 log rows, 0 stats rows, 0 dead letters)'
      expect(dead.map(d => [d.stage, d.reason, Number(d.kafka_offset)])).toEqual([['insert', reason, 5]])
      expect(warnings[1]).toBe(`sluice: warning: collect: ${topics.logs}[${dead[0].partition}]: ${reason}`)
      // every record but message 5's (records 50-59), once
      const ns = await (await ch.client.query({ query: "SELECT toUInt32(JSONExtractInt(fields, 'n')) AS n FROM sluice.logs FINAL ORDER BY n", format: 'JSONEachRow' })).json<{ n: number }>()
      // (the second stream numbers its records 0-99 again)
      const want = [...Array(400).keys()].filter(n => n < 50 || n >= 60)
      expect(ns.map(r => Number(r.n))).toEqual(want)
      expect(await scalar(ch, 'SELECT count() FROM sluice.logs FINAL')).toBe(want.length)
    } finally { await ch.close() }
  }, 240_000)
})
