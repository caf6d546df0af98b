// One factory for every role's ClickHouse client (@clickhouse/client):
//   CLICKHOUSE_URL set → HTTP to that server/cluster
//   otherwise          → embedded chDB at $SLUICE_DATA_DIR/clickhouse, plugged into the same
//                        client, so every query path is identical in both modes.
// chDB allows one process per data directory and runs one query at a time.
import path from 'node:path'
import fs from 'node:fs'
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client'
import { errors } from './errors.js'

export interface ClickHouseOptions {
  url?: string | null
  user?: string
  password?: string
  database: string
  dataDir: string
}

export interface ClickHouse {
  client: ClickHouseClient
  database: string
  embedded: boolean
  /** where the embedded engine keeps its data, or the server URL */
  location: string
  close (): Promise<void>
}

export const baseSettings = {
  date_time_input_format: 'best_effort',
  output_format_json_quote_64bit_integers: 0,
  enable_full_text_index: 1
} as const

export async function createClickHouse (opts: ClickHouseOptions): Promise<ClickHouse> {
  if (opts.url !== undefined && opts.url !== null && opts.url !== '') {
    const client = createClient({
      url: opts.url,
      username: opts.user ?? 'default',
      password: opts.password ?? '',
      request_timeout: 60_000,
      max_open_connections: 16,
      // every failure surfaces as a thrown error that Sluice reports in one line
      log: { level: ClickHouseLogLevel.OFF },
      clickhouse_settings: { ...baseSettings }
    })
    const ping = await client.ping()
    if (!ping.success) {
      await client.close().catch(() => {})
      throw errors.CLICKHOUSE_UNREACHABLE(opts.url, ping.error.message)
    }
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${opts.database}` })
    return { client, database: opts.database, embedded: false, location: opts.url, close: async () => { await client.close() } }
  }
  const dir = path.resolve(opts.dataDir, 'clickhouse')
  fs.mkdirSync(dir, { recursive: true })
  const { createChdbConnection } = await import('chdb/connection')
  let client: ClickHouseClient
  try {
    client = createClient({ connection: createChdbConnection({ path: dir }), log: { level: ClickHouseLogLevel.OFF }, clickhouse_settings: { ...baseSettings } } as Parameters<typeof createClient>[0])
    await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${opts.database}` })
  } catch (err) {
    const msg = (err as Error).message
    if (/lock/i.test(msg)) throw errors.EMBEDDED_LOCKED(dir)
    throw err
  }
  let closed = false
  return {
    client,
    database: opts.database,
    embedded: true,
    location: dir,
    close: async () => { if (!closed) { closed = true; await client.close() } }
  }
}
