// The collector's own metrics, created with the collector so two collectors in one process
// can keep separate registries.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export type CollectorMetrics = ReturnType<typeof createCollectorMetrics>

export function createCollectorMetrics (registry: Registry) {
  const registers = [registry]
  // rows/s over the last window, so /metrics answers without a Prometheus server doing rate()
  const windowMs = 10_000
  const samples: Array<{ t: number, rows: number }> = []
  const rows = new Counter({ name: 'sluice_collector_rows_total', help: 'Rows ClickHouse acknowledged, by table', labelNames: ['table'], registers })
  return {
    rows,
    rowsPerSecond: new Gauge({
      name: 'sluice_collector_rows_per_second',
      help: `Rows inserted per second over the last ${windowMs / 1000} s`,
      registers,
      collect () {
        const now = Date.now()
        while (samples.length > 0 && samples[0].t < now - windowMs) samples.shift()
        this.set(samples.reduce((s, x) => s + x.rows, 0) / (windowMs / 1000))
      }
    }),
    noteRows (n: number): void {
      samples.push({ t: Date.now(), rows: n })
      // bounded: one sample per insert, trimmed to the window and to 10,000 entries
      while (samples.length > 10_000 || (samples.length > 0 && samples[0].t < Date.now() - windowMs)) samples.shift()
    },
    deadLetters: new Counter({ name: 'sluice_collector_dead_letters_total', help: 'Invalid lines sent to the dead-letter table and topic', registers }),
    retries: new Counter({ name: 'sluice_collector_insert_retries_total', help: 'ClickHouse inserts retried after a failure', registers }),
    insertFailures: new Counter({ name: 'sluice_collector_insert_failures_total', help: 'ClickHouse insert attempts that failed', registers }),
    replays: new Counter({ name: 'sluice_collector_planned_range_replays_total', help: 'Offset ranges replayed with their persisted dedup token after a crash or rebalance', registers }),
    commitFailures: new Counter({ name: 'sluice_collector_offset_commit_failures_total', help: 'Kafka offset commits that failed (the range is replayed and deduplicated)', registers }),
    kafkaErrors: new Counter({ name: 'sluice_collector_kafka_request_errors_total', help: 'Kafka requests that failed and were retried by the consumer, by type (a leader change: NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE, NOT_COORDINATOR, CONNECTION_ERROR to the lost broker)', labelNames: ['type'], registers }),
    skippedMessages: new Counter({ name: 'sluice_collector_skipped_messages_total', help: 'Kafka messages whose insert ClickHouse kept rejecting while it answered (maxInsertAttempts tries each) and that were skipped to the dead letters', registers }),
    consumerRestarts: new Counter({ name: 'sluice_collector_consumer_restarts_total', help: 'Kafka consumers replaced after kafkajs gave up on them (non-retriable error); the collector never stops on its own', registers }),
    rebalances: new Counter({ name: 'sluice_collector_rebalances_total', help: 'Consumer group (re)joins', registers }),
    insertSeconds: new Histogram({ name: 'sluice_collector_insert_seconds', help: 'Latency of one acknowledged ClickHouse insert batch (all its tables)', buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers }),
    batchRows: new Histogram({ name: 'sluice_collector_batch_rows', help: 'Rows per insert batch', buckets: [1, 10, 100, 1000, 10_000, 50_000, 100_000, 500_000], registers }),
    batchBytes: new Histogram({ name: 'sluice_collector_batch_bytes', help: 'Kafka message bytes per insert batch', buckets: [1e3, 1e4, 1e5, 1e6, 4e6, 16e6, 64e6], registers }),
    lag: new Gauge({ name: 'sluice_collector_consumer_lag', help: 'Messages between the partition high watermark and the committed offset', labelNames: ['topic', 'partition'], registers }),
    inFlight: new Gauge({ name: 'sluice_collector_inserts_in_flight', help: 'Insert batches held in memory (bounded by maxInsertsInFlight)', registers }),
    bufferedBytes: new Gauge({ name: 'sluice_collector_buffered_bytes', help: 'Kafka message bytes held by insert batches in flight', registers }),
    paused: new Gauge({ name: 'sluice_collector_paused_partitions', help: 'Partitions paused because ClickHouse is failing', registers })
  }
}
