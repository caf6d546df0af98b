// The real back half of the pipeline for shipper tests: the collector, in-process, writing
// into embedded ClickHouse (one chDB data dir per test file — one per process is allowed).
import type { Topics } from '../../schemas/topics.js'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { prepareKafka } from '../../platform/kafka.js'
import { createCollector, type Collector } from '../../collector/collect.js'
import { tempDir } from './env.js'

export interface Sink {
  ch: ClickHouse
  collector: Collector
  rows<T> (sql: string): Promise<T[]>
  stop (): Promise<void>
}

export async function startSink (label: string, brokers: string[], topics: Topics): Promise<Sink> {
  await prepareKafka(brokers, topics)
  const ch = await createClickHouse({ database: 'sluice', dataDir: tempDir(`${label}-ch`) })
  await migrate(ch.client, 'sluice', { retentionDays: 30 })
  // the collector replaces a consumer kafkajs gives up on (e.g. "Failed to find group
  // coordinator" after a long broker outage) by itself: no supervisor needed here
  const collector: Collector = createCollector({ brokers, topics, clickhouse: ch.client, database: ch.database, groupId: `${topics.prefix}collector` })
  await collector.start()
  return {
    ch,
    collector,
    async rows<T> (sql: string) { return await (await ch.client.query({ query: sql, format: 'JSONEachRow' })).json<T>() },
    async stop () { await collector.stop(); await ch.close() }
  }
}

/** count with FINAL (what queries see), distinct line numbers, and the raw count (replays included) */
export async function lineCounts (sink: Sink, where = '1'): Promise<{ final: number, distinct: number, raw: number }> {
  const [f] = await sink.rows<{ c: number, d: number }>(`SELECT count() AS c, uniqExact(JSONExtractInt(fields, 'n')) AS d FROM sluice.logs FINAL WHERE ${where}`)
  const [r] = await sink.rows<{ c: number }>(`SELECT count() AS c FROM sluice.logs WHERE ${where}`)
  return { final: Number(f.c), distinct: Number(f.d), raw: Number(r.c) }
}
