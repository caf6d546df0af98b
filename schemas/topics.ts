// Kafka topics of wire format v1. Key of every message = the host that produced it, so one
// host's lines stay in order within one partition.
export const topics = {
  logs: 'sluice.logs.v1',
  stats: 'sluice.stats.v1',
  deadLetters: 'sluice.deadletter.v1'
} as const

export const topicPartitions: Record<string, number> = {
  [topics.logs]: 4,
  [topics.stats]: 2,
  [topics.deadLetters]: 1
}

// A Kafka message value is NDJSON: one or more v1 records, one per line (many lines per
// message is the cheapest throughput win; each line is a complete, self-describing record,
// so kcat, Vector or ClickHouse's own Kafka engine (JSONEachRow) can read it as-is).
export const contentTypeHeader = 'application/x-ndjson; sluice=v1'
