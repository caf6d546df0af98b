// A fixed ten minutes of process stats (one sample a minute from 10:00 to 10:09 UTC), written
// straight into the stats table, for the /v1/stats and `sluice stats` tests:
//   web-1 api pid 101     heap_used 16, 18 … 34 MiB of a 128 MiB heap_limit; fds 20, 25 … 65 of 1000
//   web-2 api pid 202     heap_used 64 MiB of 128; fds 30 with fd_limit -1 (unlimited: no ratio)
//   worker-1 jobs pid 303 heap_used 20 MiB, eventloop_utilization 0.25, queue_depth 7 (a custom
//                         metric), no heap_limit; it stops reporting after 10:04
// Every web-1 heap_used sample is inserted twice (a replay): reads must not count it twice.
import type { ClickHouseClient } from '@clickhouse/client'

export const statsBase = Date.parse('2026-11-20T10:00:00.000Z')
export const MiB = 1024 * 1024

export function statsFixtureRows (): Array<[number, string, string, number, string, number]> {
  const rows: Array<[number, string, string, number, string, number]> = []
  for (let i = 0; i < 10; i++) {
    const t = statsBase + i * 60_000
    rows.push([t, 'web-1', 'api', 101, 'heap_used', (16 + 2 * i) * MiB], [t, 'web-1', 'api', 101, 'heap_limit', 128 * MiB], [t, 'web-1', 'api', 101, 'fds', 20 + 5 * i], [t, 'web-1', 'api', 101, 'fd_limit', 1000])
    rows.push([t, 'web-2', 'api', 202, 'heap_used', 64 * MiB], [t, 'web-2', 'api', 202, 'heap_limit', 128 * MiB], [t, 'web-2', 'api', 202, 'fds', 30], [t, 'web-2', 'api', 202, 'fd_limit', -1])
    if (i < 5) rows.push([t, 'worker-1', 'jobs', 303, 'heap_used', 20 * MiB], [t, 'worker-1', 'jobs', 303, 'eventloop_utilization', 0.25], [t, 'worker-1', 'jobs', 303, 'queue_depth', 7])
  }
  return rows
}

export async function insertStatsFixture (client: ClickHouseClient, db: string): Promise<void> {
  const rows = statsFixtureRows()
  const replay = rows.filter(r => r[1] === 'web-1' && r[4] === 'heap_used')
  for (const batch of [rows, replay]) {
    const values = batch.map(([t, host, service, pid, metric, value], n) => `(fromUnixTimestamp64Milli(toInt64(${t}), 'UTC'), '${host}', '${service}', ${pid}, '${metric}', ${value}, 'stats-fixture', ${n})`).join(',\n')
    await client.command({ query: `INSERT INTO ${db}.stats (ts, host, service, pid, metric, value, source, offset) VALUES ${values}`, clickhouse_settings: { max_execution_time: 0, max_rows_to_read: 0 } })
  }
}
