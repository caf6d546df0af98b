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
  // `sluice collect` exits 1 when kafkajs stops its consumer for good (e.g. "Failed to find
  // group coordinator" after a long broker outage) and relies on its supervisor to restart it;
  // the sink plays that supervisor, so a shipper test measures the shipper, not a dead sink
  let stopping = false
  let restarts: Promise<void> = Promise.resolve()
  const make = (): Collector => createCollector({
    brokers,
    topics,
    clickhouse: ch.client,
    database: ch.database,
    groupId: `${topics.prefix}collector`,
    onFatal: () => {
      restarts = restarts.then(async () => {
        if (stopping) return
        process.stderr.write(`sink ${label}: collector stopped for good; restarting it (as its supervisor would)\n`)
        await collector.stop().catch(() => {})
        // Kafka may still be down: try again every second, as a supervisor's restart loop would
        for (let attempt = 1; !stopping; attempt++) {
          collector = make()
          try { await collector.start(); return } catch (err) {
            process.stderr.write(`sink ${label}: restart ${attempt} failed (${(err as Error).message}); again in 1 s\n`)
            await collector.stop().catch(() => {})
            await new Promise(resolve => setTimeout(resolve, 1000))
          }
        }
      })
    }
  })
  let collector = make()
  await collector.start()
  return {
    ch,
    get collector () { return collector },
    async rows<T> (sql: string) { return await (await ch.client.query({ query: sql, format: 'JSONEachRow' })).json<T>() },
    async stop () { stopping = true; await restarts; await collector.stop(); await ch.close() }
  }
}

/** count with FINAL (what queries see), distinct line numbers, and the raw count (replays included) */
export async function lineCounts (sink: Sink, where = '1'): Promise<{ final: number, distinct: number, raw: number }> {
  const [f] = await sink.rows<{ c: number, d: number }>(`SELECT count() AS c, uniqExact(JSONExtractInt(fields, 'n')) AS d FROM sluice.logs FINAL WHERE ${where}`)
  const [r] = await sink.rows<{ c: number }>(`SELECT count() AS c FROM sluice.logs WHERE ${where}`)
  return { final: Number(f.c), distinct: Number(f.d), raw: Number(r.c) }
}
