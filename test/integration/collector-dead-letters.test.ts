// Bad input never costs good data: thirteen kinds of malformed or schema-violating lines, each
// sitting between valid lines of the same Kafka message, end up in the dead_letters table (and
// on the dead-letter topic) with a readable reason and their Kafka coordinates; every valid
// line around them lands once.
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createCollector } from '../../collector/collect.js'
import { noFaults } from '../../collector/faults.js'
import { prepareKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { groupLag, kafkaFor, logCounts, logRecord, metricValue, openEngine, scalar, statsRecord } from '../helpers/collector.js'

const good = logRecord('dl-host', 0)
const withoutTs = Object.fromEntries(Object.entries(good).filter(([k]) => k !== 'ts'))
const bad: Array<{ line: Buffer | null, reason: string }> = [
  { line: Buffer.from('{"v":1,"kind":"log","ts":'), reason: 'invalid JSON: Unexpected end of JSON input' },
  { line: Buffer.from('[1,2,3]'), reason: 'schema v1: record is not a JSON object' },
  { line: Buffer.from(JSON.stringify({ ...good, kind: 'trace' })), reason: 'schema v1: unknown record kind "trace" (expected "log", "stats" or "progress")' },
  { line: Buffer.from(JSON.stringify({ ...good, v: 2 })), reason: 'schema v1: /v: Expected 1' },
  { line: Buffer.from(JSON.stringify(withoutTs)), reason: 'schema v1: /ts: Expected required property' },
  { line: Buffer.from(JSON.stringify({ ...good, ts: 'yesterday' })), reason: "schema v1: /ts: Expected string to match 'date-time' format" },
  { line: Buffer.from(JSON.stringify({ ...good, level: 'loud' })), reason: 'schema v1: /level: Expected union value' },
  { line: Buffer.from(JSON.stringify({ ...good, pid: -4 })), reason: 'schema v1: /pid: Expected integer to be greater or equal to 0' },
  { line: Buffer.from(JSON.stringify({ ...statsRecord('dl-host', 0), metrics: { rss: 'big' } })), reason: 'schema v1: /metrics/rss: Expected number' },
  { line: Buffer.concat([Buffer.from('{"v":1,"kind":"log","msg":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), reason: 'invalid UTF-8' },
  { line: Buffer.from(JSON.stringify({ ...good, pid: 5_000_000_000 })), reason: 'schema v1: /pid: 5000000000 does not fit UInt32' },
  { line: Buffer.from(JSON.stringify({ ...good, ts: '0001-01-01T00:00:00.000Z' })), reason: 'schema v1: /ts: year 1 is outside 1900-2299 (DateTime64 range)' },
  { line: null, reason: 'empty message value' }
]

describe('collector: dead letters', () => {
  const brokers = inject('kafkaBrokers')
  const topics = topicsFor(uniquePrefix('coll-dlq'))
  const dataDir = tempDir('coll-dlq')
  let stop = async (): Promise<void> => {}
  afterAll(async () => { await stop() })

  it('puts each of 13 kinds of bad line in dead_letters with its exact reason and lands the 520 valid lines', async () => {
    await prepareKafka([brokers], topics)
    const producer = kafkaFor(brokers).producer({ allowAutoTopicCreation: false })
    await producer.connect()
    // message k = 20 valid lines, bad line k, 20 more valid lines (the empty value stands alone)
    let n = 0
    const messages: Array<{ key: string, value: Buffer | null }> = []
    for (const b of bad) {
      const valid = (): Buffer[] => Array.from({ length: 20 }, () => Buffer.from(JSON.stringify(logRecord('dl-host', n++))))
      if (b.line === null) {
        messages.push({ key: 'dl-host', value: Buffer.concat([...valid(), ...valid()].flatMap(l => [l, Buffer.from('\n')])) })
        messages.push({ key: 'dl-host', value: null })
      } else {
        messages.push({ key: 'dl-host', value: Buffer.concat([...valid(), b.line, ...valid()].flatMap(l => [l, Buffer.from('\n')])) })
      }
    }
    // a valid stats record (2 metrics) goes through the same path
    await producer.send({ topic: topics.logs, acks: -1, messages })
    await producer.send({ topic: topics.stats, acks: -1, messages: [{ key: 'dl-host', value: JSON.stringify(statsRecord('dl-host', 1)) }] })
    await producer.disconnect()

    const ch = await openEngine(dataDir)
    const collector = createCollector({ brokers: [brokers], topics, clickhouse: ch.client, database: ch.database, sessionTimeoutMs: 6000, faults: noFaults })
    stop = async () => { await collector.stop(); await ch.close() }
    await collector.start()
    await waitFor('the group to commit every message', async () => await groupLag(brokers, `${topics.prefix}collector`, topics) === 0, 120_000, 500)

    expect(await logCounts(ch)).toEqual({ raw: 520, final: 520, distinct: 520 })
    expect(await scalar(ch, 'SELECT count() FROM sluice.stats')).toBe(2)
    const dead = await (await ch.client.query({ query: 'SELECT stage, reason, raw, topic, partition, kafka_offset, line_index, host FROM sluice.dead_letters ORDER BY kafka_offset, line_index', format: 'JSONEachRow' })).json<{ stage: string, reason: string, raw: string, topic: string, partition: number, kafka_offset: number, line_index: number, host: string }>()
    expect(dead.map(d => d.reason)).toEqual(bad.map(b => b.reason))
    for (const [i, d] of dead.entries()) {
      expect(d).toMatchObject({ stage: 'collect', topic: topics.logs, host: 'dl-host', line_index: bad[i].line === null ? 0 : 20 })
      if (bad[i].line !== null) expect(d.raw).toBe(bad[i].line!.toString('utf8'))
    }
    // all messages share one key, so one partition: offsets are the message positions
    expect(dead.map(d => d.kafka_offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13])
    expect(metricValue(await collector.registry.metrics(), 'sluice_collector_dead_letters_total')).toBe(13)

    // the dead-letter topic carries the same thirteen, keyed by their Kafka coordinates
    const admin = kafkaFor(brokers).admin()
    await admin.connect()
    const offsets = await admin.fetchTopicOffsets(topics.deadLetters)
    await admin.disconnect()
    expect(offsets.reduce((s, p) => s + Number(p.high), 0)).toBe(13)
    const consumer = kafkaFor(brokers).consumer({ groupId: `${topics.prefix}dlq-reader` })
    await consumer.connect()
    await consumer.subscribe({ topics: [topics.deadLetters], fromBeginning: true })
    const seen: Array<{ key: string, reason: string }> = []
    await consumer.run({ eachMessage: async ({ message }) => { seen.push({ key: message.key!.toString(), reason: (JSON.parse(message.value!.toString()) as { reason: string }).reason }) } })
    await waitFor('13 dead-letter messages', async () => seen.length >= 13, 60_000)
    await consumer.disconnect()
    const p = dead[0].partition
    expect(seen.map(s => s.reason)).toEqual(bad.map(b => b.reason))
    expect(seen.map(s => s.key)).toEqual(dead.map(d => `${topics.logs}/${p}/${d.kafka_offset}/${d.line_index}`))
  })
})
