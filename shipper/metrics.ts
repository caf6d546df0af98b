// The shipper's metrics, created with their help text on the shipper's registry.
import { Counter, Gauge, type Registry } from 'prom-client'

export type ShipperMetrics = ReturnType<typeof createShipperMetrics>

export function createShipperMetrics (registry: Registry) {
  return {
    lines: new Counter({ name: 'sluice_shipper_lines_total', help: 'Lines shipped to Kafka (acknowledged), by kind', labelNames: ['kind'], registers: [registry] }),
    bytes: new Counter({ name: 'sluice_shipper_bytes_total', help: 'Bytes of source files shipped (acknowledged)', registers: [registry] }),
    flagged: new Counter({ name: 'sluice_shipper_flagged_lines_total', help: 'Lines shipped with a flag (truncated, not_json, invalid_utf8, no_ts)', labelNames: ['flag'], registers: [registry] }),
    retries: new Counter({ name: 'sluice_shipper_send_retries_total', help: 'Kafka sends retried after a failure', registers: [registry] }),
    kafkaErrors: new Counter({ name: 'sluice_shipper_kafka_request_errors_total', help: 'Kafka requests that failed and were retried inside the producer, by type (a leader change: NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE, CONNECTION_ERROR to the lost broker)', labelNames: ['type'], registers: [registry] }),
    lag: new Gauge({ name: 'sluice_shipper_file_lag_bytes', help: 'Bytes of a file not yet acknowledged by Kafka, by source (the file\'s fingerprint, the `source` of its lines in /v1/logs)', labelNames: ['source'], registers: [registry] }),
    files: new Gauge({ name: 'sluice_shipper_files', help: 'Files currently tailed', registers: [registry] }),
    lostBytes: new Counter({ name: 'sluice_shipper_lost_bytes_total', help: 'Bytes of a started file lost because it was compressed or deleted before the shipper read its end (size at last sight, or uncompressed size, minus the acknowledged offset), by reason (compressed, deleted)', labelNames: ['reason'], registers: [registry] }),
    lostFiles: new Counter({ name: 'sluice_shipper_lost_files_total', help: 'Started files compressed or deleted before the shipper read their end, by reason; counted whether or not the lost bytes are known', labelNames: ['reason'], registers: [registry] }),
    skippedFiles: new Counter({ name: 'sluice_shipper_skipped_files_total', help: 'Files matched by a glob and not shipped, by reason (compressed)', labelNames: ['reason'], registers: [registry] }),
    dropped: new Counter({ name: 'sluice_shipper_dropped_bytes_total', help: 'Bytes that could not be shipped, by reason (partial_last_line: source bytes of a rotated/deleted file closed mid-line; message_too_large: NDJSON bytes of a message Kafka refused even alone)', labelNames: ['reason'], registers: [registry] }),
    checkpointAge: new Gauge({ name: 'sluice_shipper_checkpoint_age_seconds', help: 'Seconds since a checkpoint last advanced while some file has unshipped bytes (0 when caught up)', registers: [registry] }),
    errors: new Counter({ name: 'sluice_shipper_loop_errors_total', help: 'Unexpected errors in the ship loop (each followed by a resume 1 s later)', registers: [registry] }),
    splits: new Counter({ name: 'sluice_shipper_batch_splits_total', help: 'Batches Kafka refused as too large and that were re-sent one message per request', registers: [registry] }),
    forcedGcs: new Counter({ name: 'sluice_shipper_forced_gcs_total', help: 'GCs the shipper ran because a thread\'s Buffer memory exceeded maxArrayBufferBytes (catching up; main thread: arrayBuffers, Kafka thread: external): a minor GC first, a major one when that was not enough', labelNames: ['type'], registers: [registry] }),
    arrayBuffers: new Gauge({ name: 'sluice_shipper_array_buffer_bytes', help: 'process.memoryUsage().arrayBuffers of the main thread plus the Kafka thread\'s, after the last acknowledged batch (each thread bounded by maxArrayBufferBytes through forced GCs)', registers: [registry] }),
    inFlightBytes: new Gauge({ name: 'sluice_shipper_in_flight_bytes', help: 'Source bytes of the batches being sent to Kafka (bounded by maxBatchesInFlight × maxBatchBytes; one more batch may wait encoded)', registers: [registry] })
  }
}
