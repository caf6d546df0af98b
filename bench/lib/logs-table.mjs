// The stored data of the query benches: an embedded ClickHouse in `dataDir` with the logs table
// migrated and holding exactly `n` generated lines. A bench gives the SELECT that generates them
// (over `numbers({n:UInt64})`, with `{t0:Int64}` the first line's epoch ms); a table that already
// holds `n` lines (or `expect`, when the SELECT leaves some out) is reused, any other count is
// regenerated. `columns` defaults to the columns before migration 10 (no `len`); `database` to sluice.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const dist = (p) => path.join(root, 'dist', p)

const defaultColumns = 'ts, host, service, pid, level, level_num, msg, fields, source, path, offset, flags'

/**
 * @param {{ dataDir: string, n: number, t0: number, select: string, settings: Record<string, unknown>, columns?: string, database?: string, expect?: number }} o
 * @returns {Promise<{ ch: { client: import('@clickhouse/client').ClickHouseClient, close (): Promise<void> }, count (): Promise<number>, loadSeconds: number | null }>}
 *   `loadSeconds` is null when the lines were reused from an earlier run
 */
export async function openLogsTable ({ dataDir, n, t0, select, settings, columns = defaultColumns, database = 'sluice', expect = n }) {
  const { createClickHouse } = await import(dist('platform/clickhouse.js'))
  const { migrate } = await import(dist('schemas/migrations.js'))
  fs.mkdirSync(dataDir, { recursive: true })
  const ch = await createClickHouse({ database, dataDir })
  await migrate(ch.client, database, { retentionDays: 3650 })
  const count = async () => Number((await (await ch.client.query({ query: `SELECT count() AS c FROM ${database}.logs`, format: 'JSONEachRow', clickhouse_settings: settings })).json())[0].c)
  if (await count() === expect) return { ch, count, loadSeconds: null }
  await ch.client.command({ query: `TRUNCATE TABLE ${database}.logs`, clickhouse_settings: settings })
  const l0 = Date.now()
  await ch.client.command({ query: `INSERT INTO ${database}.logs (${columns})\n${select}`, query_params: { t0, n }, clickhouse_settings: settings })
  await ch.client.command({ query: `OPTIMIZE TABLE ${database}.logs FINAL`, clickhouse_settings: settings })
  return { ch, count, loadSeconds: (Date.now() - l0) / 1000 }
}
