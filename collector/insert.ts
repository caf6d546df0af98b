// One batch → ClickHouse: each table gets its own insert with a token derived from the
// partition's offset range, so a replay of the same range is dropped by ClickHouse's
// deduplication window (non_replicated_deduplication_window on every table).
//
// Log rows are RowBinary (rows.ts, row-binary.ts). Embedded, the batch's rows go to a file in
// the data directory that chDB reads with file(…, 'RowBinary') inside one INSERT … SELECT
// (chDB's raw insert takes text formats only: a binary body passed that way came back cut short
// without an error). Over HTTP the rows go as JSONEachRow objects.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client'
import { dedupToken, type OffsetRange } from './plan.js'
import { logColumns, rowBinaryStructure } from '../schemas/log-table.js'
import { logBody, logRowsOf, type Rows } from './row-types.js'
import { checkInsertFault, type Faults } from './faults.js'

export interface InsertTarget { client: ClickHouseClient, database: string, faults: Faults }

type RawInsert = (p: { table: string, values: Buffer, format: string, columns?: readonly string[], settings: Record<string, string | number> }) => Promise<unknown>
interface ChdbExtension { rawInsert?: RawInsert, session?: { path?: string } }

function chdbOf (client: ClickHouseClient): ChdbExtension | null {
  const conn = (client as unknown as { connection?: { chdb?: ChdbExtension } }).connection
  return conn?.chdb ?? null
}

/**
 * Embedded chDB's own insert entry point, when the client runs on it. Through the generic client,
 * chDB turns settings into session-wide `SET`s prepended to one SQL string holding the whole
 * body (settings then outlive the insert, and the body is re-read as SQL); the raw entry takes
 * the body as a buffer and the settings as this query's SETTINGS clause.
 */
function rawInsertOf (client: ClickHouseClient): RawInsert | null {
  const raw = chdbOf(client)?.rawInsert
  return typeof raw === 'function' ? raw : null
}

/** where the embedded engine reads log-row files from: `<data dir>/collector-inserts`, beside
 *  its own `<data dir>/clickhouse` (null over HTTP: a server cannot read this machine's files) */
export function insertFilesDirOf (client: ClickHouseClient): string | null {
  const p = chdbOf(client)?.session?.path
  return typeof p === 'string' && p !== '' && p !== ':memory:' ? path.join(path.dirname(path.resolve(p)), 'collector-inserts') : null
}

// Row files are named <pid>-<this process's random tag>-<n>.rowbinary. Embedded chDB admits one
// process per data directory, so every row file there without this process's tag was left by a
// collector that died mid-insert (a pid alone would not do: in a container every run is pid 1).
const fileTag = `${process.pid}-${crypto.randomBytes(4).toString('hex')}-`

/** Removes the row files that collectors which died mid-insert left behind; returns how many. */
export function removeStaleInsertFiles (dir: string): number {
  let removed = 0
  let names: string[]
  try { names = fs.readdirSync(dir) } catch { return 0 }
  for (const name of names) {
    if (!name.endsWith('.rowbinary') || name.startsWith(fileTag)) continue
    try { fs.rmSync(path.join(dir, name), { force: true }); removed++ } catch {}
  }
  return removed
}

/** the name prefix of this process's row files */
export function insertFileTag (): string { return fileTag }

let fileSeq = 0
const sqlString = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
const settingsSql = (o: Record<string, string | number>): string => Object.entries(o).map(([k, v]) => `${k} = ${typeof v === 'number' ? String(v) : sqlString(v)}`).join(', ')

function baseSettingsOf (token: string): Record<string, string | number> {
  // every insert states all that it relies on (chDB keeps settings in its session)
  return {
    insert_deduplicate: 1,
    insert_deduplication_token: token,
    async_insert: 0,
    max_execution_time: 0,
    // a batch of old lines can span many days (= partitions); the default limit of 100 per
    // insert would reject it on every retry
    max_partitions_per_insert_block: 0,
    date_time_input_format: 'best_effort'
  }
}

/** skipped: the insert is the dead letter of a range given up on (its own tokens) */
export async function insertBatch (t: InsertTarget, rows: Rows, topic: string, partition: number, range: OffsetRange, skipped = false): Promise<void> {
  checkInsertFault(t.faults, skipped ? null : range)
  const raw = rawInsertOf(t.client)
  const filesDir = raw !== null ? insertFilesDirOf(t.client) : null
  if (rows.logCount > 0) {
    // optimize_on_insert=0: ReplacingMergeTree does not collapse equal (source, offset) rows
    // within the block at insert time. Such rows are shipper replays that merges and the query
    // API collapse anyway, and skipping the step measured 17% less ClickHouse CPU per insert
    // (100k-row inserts into the logs table, 8 interleaved pairs: 972 → 803 ms CPU). The
    // dedup token, not the block's content, identifies a replayed insert, so it is unchanged.
    const settings = { ...baseSettingsOf(dedupToken(topic, partition, range, 'logs')), optimize_on_insert: 0 }
    if (filesDir !== null) {
      // one file per attempt, removed whatever the outcome; max_threads = 1: one reader, so a
      // replay cuts the rows into the same blocks and the token's per-block ids match;
      // deduplicate_insert_select = 'force_enable': an engine that cannot deduplicate an
      // INSERT … SELECT fails the insert (retried, loudly) rather than storing a replay twice
      const file = path.join(filesDir, `${fileTag}${++fileSeq}.rowbinary`)
      await fs.promises.mkdir(filesDir, { recursive: true })
      try {
        await fs.promises.writeFile(file, logBody(rows))
        await t.client.command({ query: `INSERT INTO ${t.database}.logs (${logColumns.join(', ')}) SELECT * FROM file(${sqlString(file)}, 'RowBinary', ${sqlString(rowBinaryStructure)}) SETTINGS ${settingsSql({ ...settings, max_threads: 1, deduplicate_insert_select: 'force_enable' })}` })
      } finally {
        await fs.promises.rm(file, { force: true })
      }
    } else {
      await t.client.insert({ table: `${t.database}.logs`, values: logRowsOf(rows), format: 'JSONEachRow', clickhouse_settings: { ...settings, max_partitions_per_insert_block: '0' } as ClickHouseSettings })
    }
  }
  // source_progress last: a progress row stored means the lines before it in the partition are too
  const tables: Array<[string, unknown[]]> = [['stats', rows.stats], ['dead_letters', rows.dead], ['source_progress', rows.progress]]
  for (const [table, values] of tables) {
    if (values.length === 0) continue
    const settings = baseSettingsOf(dedupToken(topic, partition, range, skipped ? `${table}-skipped` : table))
    if (raw !== null) {
      let body = ''
      for (const v of values) body += JSON.stringify(v) + '\n'
      await raw({ table: `${t.database}.${table}`, values: Buffer.from(body), format: 'JSONEachRow', settings })
    } else {
      await t.client.insert({
        table: `${t.database}.${table}`,
        values,
        format: 'JSONEachRow',
        clickhouse_settings: { ...settings, max_partitions_per_insert_block: '0' } as ClickHouseSettings
      })
    }
  }
}

/** ClickHouse errors that say nothing about the rows (it is short of something, or unreachable):
 *  an insert failing with them is retried for as long as it takes, never skipped */
const transientError = /\b(MEMORY_LIMIT_EXCEEDED|NOT_ENOUGH_SPACE|TOO_MANY_PARTS|TIMEOUT_EXCEEDED|SOCKET_TIMEOUT|NETWORK_ERROR|TOO_MANY_SIMULTANEOUS_QUERIES|TABLE_IS_READ_ONLY|READONLY|ABORTED|KEEPER_EXCEPTION|ALL_CONNECTION_TRIES_FAILED|CANNOT_ALLOCATE_MEMORY|CANNOT_WRITE_TO_FILE_DESCRIPTOR|QUERY_WAS_CANCELLED|UNKNOWN_TABLE|UNKNOWN_DATABASE)\b|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOSPC|EMFILE|socket hang up|Timeout/

export function isTransientInsertError (err: Error): boolean { return transientError.test(err.message) }

/** withRetry gave up on an attempt that kept failing (RetryHooks.giveUp) */
export class RetryGaveUp extends Error {
  constructor (readonly last: Error, readonly attempts: number) { super(`gave up after ${attempts} attempts: ${last.message}`) }
}

export interface RetryHooks {
  /** after a failed attempt: true to stop retrying it (RetryGaveUp is thrown) */
  giveUp?: (err: Error, attempts: number) => Promise<boolean>
  /** false once retrying is pointless (stopping, or the partition moved to another member) */
  keepTrying: () => boolean
  onFailure: (err: Error, attempt: number, delayMs: number) => void
  /** called at least every second while waiting, so the group keeps this member */
  heartbeat: () => Promise<void>
  maxBackoffMs: number
}

export class RetryAbandoned extends Error {
  constructor (readonly last: Error) { super(`retry abandoned: ${last.message}`) }
}

/** Runs `attempt` until it succeeds or `keepTrying` says stop; backoff doubles from 200 ms. */
export async function withRetry (attempt: () => Promise<void>, h: RetryHooks): Promise<number> {
  for (let n = 0; ; n++) {
    try {
      await attempt()
      return n
    } catch (err) {
      if (!h.keepTrying()) throw new RetryAbandoned(err as Error)
      if (h.giveUp !== undefined && await h.giveUp(err as Error, n + 1)) throw new RetryGaveUp(err as Error, n + 1)
      const delay = Math.min(h.maxBackoffMs, 200 * 2 ** Math.min(n, 10))
      h.onFailure(err as Error, n + 1, delay)
      const until = Date.now() + delay
      while (Date.now() < until) {
        if (!h.keepTrying()) throw new RetryAbandoned(err as Error)
        await new Promise(resolve => setTimeout(resolve, Math.min(1000, until - Date.now())))
        await h.heartbeat().catch(() => {})
      }
    }
  }
}
