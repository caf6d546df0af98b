// Kafka topics of wire format v1. Key of every message = the host that produced it, so one
// host's lines stay in order within one partition. A prefix (SLUICE_TOPIC_PREFIX, default
// "sluice.") lets several Sluice installations or test runs share one Kafka cluster.
export interface Topics { logs: string, stats: string, deadLetters: string, prefix: string }

export const defaultTopicPrefix = 'sluice.'

export function topicsFor (prefix: string = defaultTopicPrefix): Topics {
  return { prefix, logs: `${prefix}logs.v1`, stats: `${prefix}stats.v1`, deadLetters: `${prefix}deadletter.v1` }
}

export const defaultLogPartitions = 4

/** Partitions of each topic when Sluice creates it; `logs` (SLUICE_PARTITIONS) bounds how many
 *  collectors share the work and how many brokers lead the write load. */
export function partitionsFor (t: Topics, logs: number = defaultLogPartitions): Record<string, number> {
  return { [t.logs]: logs, [t.stats]: 2, [t.deadLetters]: 1 }
}

export const topicPrefixRe = /^[A-Za-z0-9._-]{0,100}$/

// A Kafka message value is NDJSON: one or more v1 records, one per line (many lines per
// message is the cheapest throughput win; each line is a complete, self-describing record,
// so kcat, Vector or ClickHouse's own Kafka engine (JSONEachRow) can read it as-is).
export const contentTypeHeader = 'application/x-ndjson; sluice=v1'
