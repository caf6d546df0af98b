// Versioned, idempotent ClickHouse DDL. Each migration runs once (recorded in
// <db>.sluice_migrations) and is itself safe to re-run (IF NOT EXISTS everywhere).
import type { ClickHouseClient } from '@clickhouse/client'

export interface MigrationOptions { retentionDays: number }

export interface Migration {
  version: number
  name: string
  statements: (db: string, o: MigrationOptions) => string[]
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'logs table',
    // ORDER BY (source, offset): the line identity. It makes replays from a restarted shipper
    // collapse (ReplacingMergeTree), and `grep -C` context a primary-key range read.
    statements: (db, o) => [`
CREATE TABLE IF NOT EXISTS ${db}.logs (
  ts DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
  host LowCardinality(String),
  service LowCardinality(String),
  pid UInt32,
  level LowCardinality(String),
  level_num UInt8,
  msg String CODEC(ZSTD(1)),
  fields String COMMENT 'JSON object: every other field of the line' CODEC(ZSTD(1)),
  source String COMMENT 'content fingerprint of the source file',
  path LowCardinality(String),
  offset UInt64 COMMENT 'byte offset of the line in its source',
  flags Array(LowCardinality(String)),
  ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
  INDEX idx_ts ts TYPE minmax GRANULARITY 1,
  INDEX idx_msg_tokens msg TYPE text(tokenizer = 'splitByNonAlpha') GRANULARITY 1,
  INDEX idx_msg_ngrams msg TYPE ngrambf_v1(3, 65536, 2, 0) GRANULARITY 1,
  INDEX idx_fields_ngrams fields TYPE ngrambf_v1(3, 65536, 2, 0) GRANULARITY 1
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (source, offset)
TTL toDateTime(ts) + INTERVAL ${o.retentionDays} DAY
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 8192`]
  },
  {
    version: 2,
    name: 'stats table',
    statements: (db, o) => [`
CREATE TABLE IF NOT EXISTS ${db}.stats (
  ts DateTime64(3, 'UTC') CODEC(Delta(8), ZSTD(1)),
  host LowCardinality(String),
  service LowCardinality(String),
  pid UInt32,
  metric LowCardinality(String),
  value Float64 CODEC(Gorilla, ZSTD(1)),
  source String,
  offset UInt64,
  ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (service, host, pid, metric, ts)
TTL toDateTime(ts) + INTERVAL ${o.retentionDays} DAY
SETTINGS non_replicated_deduplication_window = 10000`]
  },
  {
    version: 3,
    name: 'dead letters table',
    statements: (db, o) => [`
CREATE TABLE IF NOT EXISTS ${db}.dead_letters (
  received_at DateTime64(3, 'UTC') DEFAULT now64(3),
  stage LowCardinality(String),
  reason String,
  raw String CODEC(ZSTD(3)),
  topic LowCardinality(String),
  partition UInt32,
  kafka_offset UInt64,
  line_index UInt32,
  host LowCardinality(String)
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMMDD(received_at)
ORDER BY (topic, partition, kafka_offset, line_index)
TTL toDateTime(received_at) + INTERVAL ${o.retentionDays} DAY
SETTINGS non_replicated_deduplication_window = 10000`]
  },
  {
    version: 4,
    name: 'full-text index on fields',
    // substring and whole-word search look in msg and fields; an index on one side only makes
    // the OR of the two unskippable, so every granule would be read
    // (docs/design/2026-11-22-log-search-storage.md)
    statements: (db) => [`ALTER TABLE ${db}.logs ADD INDEX IF NOT EXISTS idx_fields_tokens fields TYPE text(tokenizer = 'splitByNonAlpha') GRANULARITY 1`]
  },
  {
    version: 5,
    name: 'alerting tables',
    // alert_claims is the exactly-once notification claim: every evaluator inserts
    // (transition_id, its owner id) with insert_deduplication_token = the transition id, so the
    // server keeps only the first insert; whoever reads its own owner back sends. The window
    // (blocks remembered for deduplication) bounds how far back a late duplicate is caught,
    // which is why evaluators also look the claim up before inserting.
    statements: db => [`
CREATE TABLE IF NOT EXISTS ${db}.alert_rules (
  id String,
  version UInt64 COMMENT 'ms since epoch of the write: the latest write wins',
  deleted UInt8,
  body String COMMENT 'the rule as accepted by POST/PUT /v1/alerts/rules (JSON)',
  updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(version)
ORDER BY id`, `
CREATE TABLE IF NOT EXISTS ${db}.alert_state (
  rule_id String,
  group_key String,
  service LowCardinality(String),
  host LowCardinality(String),
  pid UInt32,
  state LowCardinality(String),
  since DateTime64(3, 'UTC'),
  last_ts DateTime64(3, 'UTC') COMMENT 'data time of the last sample applied',
  changed_at DateTime64(3, 'UTC') COMMENT 'data time of the transition: the newest one wins',
  value Float64,
  transition_id String
) ENGINE = ReplacingMergeTree(changed_at)
ORDER BY (rule_id, group_key)`, `
CREATE TABLE IF NOT EXISTS ${db}.alert_history (
  transition_id String,
  rule_id String,
  rule_name String,
  severity LowCardinality(String),
  service LowCardinality(String),
  host LowCardinality(String),
  pid UInt32,
  from_state LowCardinality(String),
  to_state LowCardinality(String),
  ts DateTime64(3, 'UTC'),
  since DateTime64(3, 'UTC'),
  value Float64,
  threshold Float64,
  message String,
  recorded_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (ts, transition_id)
SETTINGS non_replicated_deduplication_window = 10000`, `
CREATE TABLE IF NOT EXISTS ${db}.alert_claims (
  transition_id String,
  owner String COMMENT 'evaluator instance that won the claim and sends',
  claimed_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
ORDER BY transition_id
SETTINGS non_replicated_deduplication_window = 100000`, `
CREATE TABLE IF NOT EXISTS ${db}.alert_deliveries (
  transition_id String,
  rule_id String,
  channel LowCardinality(String),
  target String,
  owner String,
  attempt UInt16,
  status LowCardinality(String) COMMENT 'delivered | retrying | failed',
  http_status UInt16,
  error String,
  at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (at, transition_id)`,
    // the evaluator reads new stats rows by ingest time every second
    `ALTER TABLE ${db}.stats ADD INDEX IF NOT EXISTS idx_ingested_at ingested_at TYPE minmax GRANULARITY 1`]
  },
  {
    version: 6,
    name: 'LZ4 for msg and fields',
    // a substring or regex search that no index narrows decompresses msg and fields: LZ4 (the
    // ClickHouse default) decompresses several times faster than ZSTD, for about twice the disk
    // (docs/design/2026-11-22-log-search-storage.md). Existing parts keep ZSTD until merged.
    statements: db => [`ALTER TABLE ${db}.logs MODIFY COLUMN msg String CODEC(LZ4), MODIFY COLUMN fields String COMMENT 'JSON object: every other field of the line' CODEC(LZ4)`]
  },
  {
    version: 7,
    name: 'alert transition reason',
    // why a transition happened when it is not the value itself ('stale': the group stopped reporting)
    statements: db => [`ALTER TABLE ${db}.alert_history ADD COLUMN IF NOT EXISTS reason LowCardinality(String) DEFAULT ''`]
  },
  {
    version: 10,
    name: 'line lengths, dead-letter identity and source progress (gap detection)',
    // len makes contiguity checkable: a source's next line starts at offset + len, so a hole
    // between two stored lines is a fact (docs/gaps.md). Rows written before it read 0: unknown.
    statements: (db, o) => [
      `ALTER TABLE ${db}.logs ADD COLUMN IF NOT EXISTS len UInt32 DEFAULT 0 COMMENT 'bytes of the line in its source, newline included (0: unknown)' AFTER offset`,
      `ALTER TABLE ${db}.stats ADD COLUMN IF NOT EXISTS len UInt32 DEFAULT 0 COMMENT 'bytes of the line in its source, newline included (0: unknown)' AFTER offset`,
      `ALTER TABLE ${db}.dead_letters ADD COLUMN IF NOT EXISTS source String DEFAULT '' COMMENT 'line identity when known (empty: unknown)', ADD COLUMN IF NOT EXISTS offset UInt64 DEFAULT 0, ADD COLUMN IF NOT EXISTS len UInt32 DEFAULT 0`, `
CREATE TABLE IF NOT EXISTS ${db}.source_progress (
  host LowCardinality(String),
  source String COMMENT 'content fingerprint of the file; empty for a host heartbeat',
  service LowCardinality(String),
  path String,
  size UInt64 COMMENT 'file size at last sight',
  acked UInt64 COMMENT 'bytes acknowledged by Kafka: every line below is stored once this row is',
  state LowCardinality(String) COMMENT 'active | rotated | finished | deleted | lost | host',
  reason String,
  dropped String COMMENT 'JSON [{from, to, reason}]: ranges the shipper will never send',
  ts DateTime64(3, 'UTC') COMMENT 'when the shipper reported: the latest report wins',
  received_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(ts)
ORDER BY (host, source)
TTL toDateTime(ts) + INTERVAL ${o.retentionDays} DAY`]
  }
]

export interface MigrateResult { applied: Array<{ version: number, name: string }>, current: number }

export async function migrate (client: ClickHouseClient, db: string, o: MigrationOptions, onProgress: (msg: string) => void = () => {}): Promise<MigrateResult> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(db)) throw new Error(`database name ${JSON.stringify(db)} must match [A-Za-z_][A-Za-z0-9_]*`)
  if (!Number.isInteger(o.retentionDays) || o.retentionDays < 1) throw new Error(`retention must be a whole number of days ≥ 1, got ${o.retentionDays}`)
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` })
  await client.command({ query: `CREATE TABLE IF NOT EXISTS ${db}.sluice_migrations (version UInt32, name String, applied_at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY version` })
  const rows = await (await client.query({ query: `SELECT version FROM ${db}.sluice_migrations`, format: 'JSONEachRow' })).json<{ version: number }>()
  const done = new Set(rows.map(r => Number(r.version)))
  const applied: MigrateResult['applied'] = []
  // in version order whatever the array's order (versions need not be contiguous)
  for (const mig of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(mig.version)) continue
    onProgress(`migration ${mig.version}: ${mig.name}`)
    for (const sql of mig.statements(db, o)) {
      try {
        await client.command({ query: sql, clickhouse_settings: { enable_full_text_index: 1 } })
      } catch (err) {
        // servers without the `text` index (before ClickHouse 25.x) get a token bloom filter,
        // which serves the same hasToken() conditions
        if (!sql.includes("TYPE text(")) throw err
        onProgress(`full-text index unavailable (${(err as Error).message.split('\n')[0].slice(0, 120)}); using tokenbf_v1`)
        await client.command({ query: sql.replace(/TYPE text\([^)]*\)/, 'TYPE tokenbf_v1(32768, 3, 0)') })
      }
    }
    await client.insert({ table: `${db}.sluice_migrations`, values: [{ version: mig.version, name: mig.name }], format: 'JSONEachRow' })
    applied.push({ version: mig.version, name: mig.name })
  }
  // retention is configuration, not schema: change the TTL only when it differs
  const tables = await (await client.query({ query: `SELECT name, engine_full FROM system.tables WHERE database = {db:String} AND name IN ('logs', 'stats')`, query_params: { db }, format: 'JSONEachRow' })).json<{ name: string, engine_full: string }>()
  for (const t of tables) {
    const m = /toIntervalDay\((\d+)\)/.exec(t.engine_full)
    if (m !== null && Number(m[1]) === o.retentionDays) continue
    onProgress(`retention of ${t.name}: ${o.retentionDays} days`)
    await client.command({ query: `ALTER TABLE ${db}.${t.name} MODIFY TTL toDateTime(ts) + INTERVAL ${o.retentionDays} DAY`, clickhouse_settings: { materialize_ttl_after_modify: 0 } })
  }
  return { applied, current: Math.max(0, ...migrations.map(m => m.version)) }
}
