// Plumbing for the collector tests: v1 records produced with a real kafkajs producer (the
// shipper's wire format: value = NDJSON of v1 records, key = host), group progress read from
// the broker, the embedded ClickHouse opened on a data dir, /metrics parsed.
import { Kafka, logLevel, type Producer } from 'kafkajs'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import type { Topics } from '../../schemas/topics.js'

export function kafkaFor (brokers: string): Kafka {
  return new Kafka({ clientId: 'sluice-test', brokers: [brokers], logLevel: logLevel.NOTHING, retry: { retries: 8 } })
}

export const baseTs = Date.parse('2026-11-22T04:00:00.000Z')

/** Log record number `n` of host `h`; (src, off) is unique per (h, n). */
export function logRecord (h: string, n: number): Record<string, unknown> {
  return { v: 1, kind: 'log', ts: new Date(baseTs + n).toISOString(), host: h, service: 'checkout', pid: 100, level: 'info', msg: `line ${n} from ${h}`, fields: { n }, src: `src-${h}`, path: `/var/log/${h}.log`, off: n * 100, flags: [] }
}

export function statsRecord (h: string, n: number): Record<string, unknown> {
  return { v: 1, kind: 'stats', ts: new Date(baseTs + n * 60_000).toISOString(), host: h, service: 'checkout', pid: 100, metrics: { heap_used: n, rss: n * 2 }, src: `stats-${h}`, off: n }
}

export interface StreamOptions {
  hosts: string[]
  /** log records per host */
  perHost: number
  /** records per Kafka message */
  perMessage: number
  /** stats records per host (2 metrics each) */
  statsPerHost?: number
  /** pause between sends, to make it a stream rather than one burst */
  pauseMs?: number
  /** messages per send */
  messagesPerSend?: number
  /** called after each send with the log records sent so far */
  progress?: (sent: number) => void
}

/** Produces every host's records in order (acks=all) and resolves when the broker has them all. */
export async function produceStream (brokers: string, topics: Topics, o: StreamOptions): Promise<void> {
  const producer: Producer = kafkaFor(brokers).producer({ allowAutoTopicCreation: false })
  await producer.connect()
  try {
    const perSend = o.messagesPerSend ?? 20
    let sent = 0
    for (let n = 0; n < o.perHost;) {
      const messages: Array<{ key: string, value: string }> = []
      const start = n
      for (let k = 0; k < perSend && n < o.perHost; k++) {
        const end = Math.min(o.perHost, n + o.perMessage)
        for (const h of o.hosts) {
          const lines: string[] = []
          for (let i = n; i < end; i++) lines.push(JSON.stringify(logRecord(h, i)))
          messages.push({ key: h, value: lines.join('\n') + '\n' })
        }
        n = end
      }
      await producer.send({ topic: topics.logs, acks: -1, messages })
      sent += (n - start) * o.hosts.length
      o.progress?.(sent)
      if (o.pauseMs !== undefined) await new Promise(resolve => setTimeout(resolve, o.pauseMs))
    }
    const stats = o.statsPerHost ?? 0
    if (stats > 0) {
      await producer.send({ topic: topics.stats, acks: -1, messages: o.hosts.flatMap(h => Array.from({ length: stats }, (_, n) => ({ key: h, value: JSON.stringify(statsRecord(h, n)) + '\n' }))) })
    }
  } finally {
    await producer.disconnect()
  }
}

/** Messages not yet committed by the group, summed over the logs and stats topics. */
export async function groupLag (brokers: string, groupId: string, topics: Topics): Promise<number> {
  const admin = kafkaFor(brokers).admin()
  await admin.connect()
  try {
    let lag = 0
    for (const topic of [topics.logs, topics.stats]) {
      const high = await admin.fetchTopicOffsets(topic)
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
      for (const p of high) {
        const c = Number(committed.partitions.find(x => x.partition === p.partition)?.offset ?? '-1')
        lag += Number(p.high) - Math.max(0, c)
      }
    }
    return lag
  } finally {
    await admin.disconnect()
  }
}

export async function openEngine (dataDir: string): Promise<ClickHouse> {
  const ch = await createClickHouse({ database: 'sluice', dataDir })
  await migrate(ch.client, ch.database, { retentionDays: 3650 })
  return ch
}

export async function scalar (ch: ClickHouse, sql: string): Promise<number> {
  const rows = await (await ch.client.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: { select_sequential_consistency: 0 } })).json<Record<string, number | string>>()
  return Number(Object.values(rows[0])[0])
}

export interface TableCounts { raw: number, final: number, distinct: number }

export async function logCounts (ch: ClickHouse): Promise<TableCounts> {
  return {
    raw: await scalar(ch, 'SELECT count() FROM sluice.logs'),
    final: await scalar(ch, 'SELECT count() FROM sluice.logs FINAL'),
    distinct: await scalar(ch, 'SELECT uniqExact(source, offset) FROM sluice.logs')
  }
}

/** Value of one sample in Prometheus text (labels given exactly as printed), or null. */
export function metricValue (text: string, name: string, labels = ''): number | null {
  const re = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${labels === '' ? '' : `\\{${labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\}`} (\\S+)$`, 'm')
  const m = re.exec(text)
  return m === null ? null : Number(m[1])
}
