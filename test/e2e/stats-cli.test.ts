// `sluice stats` (the installed command, a child process) against a query API over embedded
// ClickHouse holding a fixed ten minutes of stats (test/helpers/stats-fixture.ts): exact
// lines for a series in human units with sparklines, a ratio, an increase, the metric
// listing, and the exit codes 0 data / 1 none (with the hint) / 2 error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { buildQueryApi } from '../../query-api/server.js'
import { runCli, tempDir } from '../helpers/env.js'
import { insertStatsFixture } from '../helpers/stats-fixture.js'

const range = ['--since', '2026-11-20T10:00:00Z', '--until', '2026-11-20T10:09:59Z']

describe('sluice stats', () => {
  let ch: ClickHouse
  let app: FastifyInstance
  let url: string

  beforeAll(async () => {
    ch = await createClickHouse({ database: 'sluice', dataDir: tempDir('stats-cli') })
    await migrate(ch.client, 'sluice', { retentionDays: 3650 })
    await insertStatsFixture(ch.client, 'sluice')
    app = await buildQueryApi({ clickhouse: ch.client, database: 'sluice', tokens: [], registries: [] })
    url = await app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await app?.close()
    await ch?.close()
  })

  const stats = async (args: string[]): Promise<{ code: number | null, out: string, err: string }> => {
    const r = runCli(['stats', ...args], { SLUICE_URL: url })
    const code = await r.exited
    return { code, out: r.stdout(), err: r.stderr() }
  }

  it('sluice stats heap_used: one row per process, latest/min/max in MB, a sparkline per minute (blank: not reporting)', async () => {
    expect(await stats(['heap_used', ...range])).toEqual({
      code: 0,
      err: '',
      out: [
        'heap_used (bytes), avg per 1m, 2026-11-20T10:00:00.000Z to 2026-11-20T10:09:59.000Z',
        'HOST      SERVICE  PID  LAST     MIN      MAX      SERIES',
        'web-1     api      101  34.0 MB  16.0 MB  34.0 MB  ▁▂▃▃▄▅▆▆▇█',
        'web-2     api      202  64.0 MB  64.0 MB  64.0 MB  ▄▄▄▄▄▄▄▄▄▄',
        'worker-1  jobs     303  20.0 MB  20.0 MB  20.0 MB  ▄▄▄▄▄     ',
        ''
      ].join('\n')
    })
  })

  it('--divide-by prints a percentage; --agg increase the growth per step; filters narrow the rows', async () => {
    expect(await stats(['heap_used', '--divide-by', 'heap_limit', '--host', 'web-1', ...range])).toEqual({
      code: 0,
      err: '',
      out: [
        'heap_used / heap_limit (ratio), avg per 1m, 2026-11-20T10:00:00.000Z to 2026-11-20T10:09:59.000Z',
        'HOST   SERVICE  PID  LAST   MIN    MAX    SERIES',
        'web-1  api      101  26.6%  12.5%  26.6%  ▁▂▃▃▄▅▆▆▇█',
        ''
      ].join('\n')
    })
    // the first minute has no previous minute with samples: blank
    expect(await stats(['fds', '--agg', 'increase', '--step', '2m', '--service', 'api', ...range])).toEqual({
      code: 0,
      err: '',
      out: [
        'fds (count), increase per 2m, 2026-11-20T10:00:00.000Z to 2026-11-20T10:09:59.000Z',
        'HOST   SERVICE  PID  LAST  MIN  MAX  SERIES',
        'web-1  api      101  10    10   10    ▄▄▄▄',
        'web-2  api      202  0     0    0     ▄▄▄▄',
        ''
      ].join('\n')
    })
  })

  it('sluice stats without a metric lists the metrics per service with units', async () => {
    expect(await stats(range)).toEqual({
      code: 0,
      err: '',
      out: [
        'SERVICE  METRIC                 UNIT     PROCESSES  LAST SEEN                 DESCRIPTION',
        'api      fd_limit               count    2          2026-11-20T10:09:00.000Z  open file descriptor limit (-1 = unlimited or unknown)',
        'api      fds                    count    2          2026-11-20T10:09:00.000Z  open file descriptors',
        'api      heap_limit             bytes    2          2026-11-20T10:09:00.000Z  V8 heap size limit',
        'api      heap_used              bytes    2          2026-11-20T10:09:00.000Z  V8 heap in use',
        'jobs     eventloop_utilization  ratio    1          2026-11-20T10:04:00.000Z  event-loop utilization over the interval (0-1)',
        'jobs     heap_used              bytes    1          2026-11-20T10:04:00.000Z  V8 heap in use',
        'jobs     queue_depth            unknown  1          2026-11-20T10:04:00.000Z  -',
        ''
      ].join('\n')
    })
  })

  it('an unknown metric exits 1 naming the closest ones; a bad --agg exits 2 with the API\'s message', async () => {
    expect(await stats(['heap', ...range])).toEqual({ code: 1, out: '', err: "sluice stats: no series for heap: no metric 'heap' was reported in this range; closest known: heap_used, heap_limit, heap_total; 'sluice stats' lists the metrics reported\n" })
    expect(await stats(['fds', '--agg', 'mean', ...range])).toEqual({ code: 2, out: '', err: 'sluice stats: invalid query parameter \'agg\': must be one of avg, min, max, sum, last, p50, p95, p99, rate, increase; got "mean"\n' })
    expect(await stats(['--agg', 'rate'])).toEqual({ code: 2, out: '', err: 'sluice stats: --agg needs a METRIC (sluice stats METRIC --agg …)\n' })
  })
})
