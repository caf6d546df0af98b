// `sluice grep` as a child process against the query API on the real engine (embedded chDB):
// 50,000 matching lines of 3 interleaved hosts printed all, once each, in order (paging the
// cursor, no default cap); -c, --count-by, --histogram, -v and a filter-only search; and a
// server that stops answering part-way is said on stderr with exit status 3.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import type { AddressInfo } from 'node:net'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { buildQueryApi } from '../../query-api/server.js'
import { renderLine } from '../../cli/client.js'
import { spawn } from 'node:child_process'
import { cli, runCli, tempDir } from '../helpers/env.js'

interface Line { ts: string, host: string, service: string, level: string, msg: string, fields: { n: number, responseTime: number }, source: string, offset: number }

const base = Date.parse('2026-11-20T10:00:00.000Z')
const range = ['--since', '2026-11-20T09:00:00Z', '--until', '2026-11-20T11:00:00Z']
const total = 60_000 // one line every 10 ms; every 6th is fast (responseTime 100), the rest ≥ 500
const matching = 50_000
const insertSettings = { max_execution_time: 0, max_rows_to_read: 0, max_insert_threads: 1 }

describe('sluice grep prints every match', () => {
  let ch: ClickHouse
  let app: FastifyInstance
  let env: Record<string, string>
  let logsRequests = 0
  let capAfter = Infinity

  const grep = async (args: string[]): Promise<{ code: number | null, out: string, err: string }> => {
    const r = runCli(['grep', ...args], env)
    const code = await r.exited
    return { code, out: r.stdout(), err: r.stderr() }
  }

  beforeAll(async () => {
    ch = await createClickHouse({ database: 'sluice', dataDir: tempDir('grep-all') })
    await migrate(ch.client, 'sluice', { retentionDays: 3650 })
    await ch.client.command({
      query: `INSERT INTO sluice.logs (ts, host, service, pid, level, level_num, msg, fields, source, path, offset, flags)
SELECT fromUnixTimestamp64Milli(toInt64({base:Int64} + number * 10), 'UTC'), concat('web-', toString(number % 3 + 1)), 'api', 1,
  if(number % 10 = 9, 'error', 'info'), if(number % 10 = 9, 50, 30), if(number % 6 = 5, 'request completed', concat('slow request ', toString(number))),
  concat('{"n":', toString(number), ',"responseTime":', toString(if(number % 6 = 5, 100, 500 + number % 100)), '}'),
  concat('a', toString(number % 3)), '/api.log', number * 100, []
FROM numbers({total:UInt64})`,
      query_params: { base, total },
      clickhouse_settings: insertSettings
    })
    // heap of two processes: web-1 flat at 50 MB, web-2 growing 10 MB a minute; fds of web-2
    await ch.client.command({
      query: `INSERT INTO sluice.stats (ts, host, service, pid, metric, value, source, offset)
SELECT fromUnixTimestamp64Milli(toInt64({base:Int64} + intDiv(number, 2) * 60000), 'UTC'), if(number % 2 = 0, 'web-1', 'web-2'), 'api', 10 + number % 2, 'heap_used',
  if(number % 2 = 0, 50, 50 + 10 * intDiv(number, 2)) * 1048576, 'cc', number
FROM numbers(20)`,
      query_params: { base },
      clickhouse_settings: insertSettings
    })
    await ch.client.command({ query: `INSERT INTO sluice.stats (ts, host, service, pid, metric, value, source, offset) SELECT fromUnixTimestamp64Milli(toInt64({base:Int64} + number * 60000), 'UTC'), 'web-2', 'api', 11, 'fds', 20 + number, 'cd', number FROM numbers(10)`, query_params: { base }, clickhouse_settings: insertSettings })
    app = await buildQueryApi({ clickhouse: ch.client, database: 'sluice', tokens: [], registries: [] })
    // fault drill: after `capAfter` pages the server answers as when a query exceeds its budget
    app.addHook('onRequest', async (req, reply) => {
      if (!req.url.startsWith('/v1/logs')) return
      if (++logsRequests > capAfter) await reply.code(503).header('retry-after', '1').send({ error: 'SLUICE_ERR_OVERLOADED', message: 'server overloaded (query timed out after 30 s; narrow the time range or add filters); retry later' })
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    env = { SLUICE_URL: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
  })
  afterAll(async () => {
    await app?.close()
    await ch?.close()
  })

  it('--field responseTime>=500 prints all 50,000 matches once each, oldest first, across pages', async () => {
    const r = await grep(['--field', 'responseTime>=500', ...range, '--json'])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    const got = r.out.trimEnd().split('\n').map(s => (JSON.parse(s) as Line).fields.n)
    expect(got.length).toBe(matching)
    expect(got).toEqual([...Array(total).keys()].filter(n => n % 6 !== 5))
  })

  it('piped into head: stops quietly when the reader is done (exit 0, no stack trace)', async () => {
    // the server runs in this process: the shell must be spawned without blocking it
    const child = spawn('bash', ['-c', `'${cli}' grep --field 'responseTime>=500' ${range.join(' ')} | head -3; echo "status \${PIPESTATUS[0]}" >&2`], { env: { ...process.env, ...env, SLUICE_NODE: process.execPath } })
    const r = { stdout: '', stderr: '' }
    child.stdout.on('data', d => { r.stdout += String(d) })
    child.stderr.on('data', d => { r.stderr += String(d) })
    await new Promise(resolve => child.once('close', resolve))
    expect(r.stdout.split('\n').length).toBe(4)
    expect(r.stderr).toBe('status 0\n')
  })

  it('text output, -m, a filter-only search and -v', async () => {
    const m = await grep(['--field', 'responseTime>=500', ...range, '-m', '3'])
    expect(m.code).toBe(0)
    expect(m.out).toBe([0, 1, 2].map(n => renderLine({ ts: new Date(base + n * 10).toISOString(), host: `web-${n + 1}`, service: 'api', level: 'info', msg: `slow request ${n}`, fields: { n, responseTime: 500 + n } }, false)).join('\n') + '\n')
    // no PATTERN: the filters alone (every 10th line is an error)
    const errs = await grep(['--level', 'ERROR', ...range, '--json'])
    expect(errs.code).toBe(0)
    expect(errs.out.trimEnd().split('\n').length).toBe(6000)
    const v = await grep(['-v', 'request completed', '--host', 'WEB-2', ...range, '--json'])
    expect(v.code).toBe(0)
    const vn = v.out.trimEnd().split('\n').map(s => (JSON.parse(s) as Line).fields.n)
    expect(vn).toEqual([...Array(total).keys()].filter(n => n % 3 === 1 && n % 6 !== 5))
  })

  it('--around T --window D: the lines within D of T, both ends included', async () => {
    const r = await grep(['--around', '2026-11-20T10:00:01Z', '--window', '50ms', '--json'])
    expect(r.code).toBe(0)
    expect(r.out.trimEnd().split('\n').map(s => (JSON.parse(s) as Line).fields.n)).toEqual([95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105])
  })

  it('-c, --count-by and --histogram', async () => {
    expect(await grep(['-c', '--field', 'responseTime>=500', ...range])).toEqual({ code: 0, out: '50000\n', err: '' })
    expect(await grep(['-c', '--field', 'responseTime>=5000', ...range])).toEqual({ code: 1, out: '0\n', err: '' })
    expect(await grep(['--count-by', 'level', 'slow', ...range])).toEqual({ code: 0, out: '46000 info\n 4000 error\n', err: '' })
    const h = await grep(['--histogram', '--step', '5m', '--since', '2026-11-20T10:00:00Z', '--until', '2026-11-20T10:09:59.999Z', '--field', 'responseTime>=500'])
    expect(h.err).toBe('')
    expect(h.out).toBe([
      '50000 lines from 2026-11-20T10:00:00.000Z to 2026-11-20T10:09:59.999Z (UTC), 5m per bar, by level',
      `2026-11-20T10:00Z ${'█'.repeat(40)} 25000  error=2000 info=23000`,
      `2026-11-20T10:05Z ${'█'.repeat(40)} 25000  error=2000 info=23000`
    ].join('\n') + '\n')
  })

  it('a host no line has: exit 1 and the hosts that do have lines', async () => {
    expect(await grep(['--host', 'web-9', ...range])).toEqual({ code: 1, out: '', err: "sluice grep: no host 'web-9' in this range; hosts with lines: web-1, web-2, web-3\n" })
  })

  it('bad input: humane messages, exit 2', async () => {
    expect(await grep(['--level', '50'])).toEqual({ code: 2, out: '', err: "sluice grep: invalid query parameter 'level': must be one of trace, debug, info, warn, error, fatal (case-insensitive); got '50'\n" })
    expect(await grep(['--since', '2026-12-05', '15:48:30'])).toEqual({ code: 2, out: '', err: 'sluice grep: \'15:48:30\' looks like the time of --since 2026-12-05; write --since 2026-12-05T15:48:30 or quote it ("2026-12-05 15:48:30")\n' })
    expect(await grep(['slow', 'request'])).toEqual({ code: 2, out: '', err: "sluice grep: expected at most one PATTERN, got 2 ('slow' 'request'); quote a pattern or a time that holds spaces\n" })
    expect(await grep(['--count-by', 'pid'])).toEqual({ code: 2, out: '', err: "sluice grep: --count-by must be one of host, service, level; got 'pid'\n" })
    expect(await grep(['-v', '-E', 'a.b'])).toEqual({ code: 2, out: '', err: 'sluice grep: -v takes a plain-text PATTERN (not with -E or -w)\n' })
  })

  it('sluice stats: metric names with units, a metric per process in MB with a sparkline, a hint for a typo', async () => {
    const statsRange = ['--since', '2026-11-20T10:00:00Z', '--until', '2026-11-20T10:09:59Z']
    const names = runCli(['stats', ...statsRange], env)
    expect(await names.exited).toBe(0)
    expect(names.stdout()).toBe('api\n  fds                      count  1 process, last 2026-11-20T10:09:00.000Z\n  heap_used                bytes  2 processes, last 2026-11-20T10:09:00.000Z\n')
    const heap = runCli(['stats', 'heap_used', ...statsRange], env)
    expect(await heap.exited).toBe(0)
    expect(heap.stdout()).toBe([
      'heap_used (bytes)',
      'HOST   SERVICE  PID      LAST      MIN       MAX',
      'web-1  api      10    50.0 MB  50.0 MB   50.0 MB  ▄▄▄▄▄▄▄▄▄▄',
      'web-2  api      11   140.0 MB  50.0 MB  140.0 MB  ▁▂▃▃▄▅▆▆▇█'
    ].join('\n') + '\n')
    const typo = runCli(['stats', 'heap', ...statsRange], env)
    expect(await typo.exited).toBe(1)
    expect(typo.stderr()).toBe("sluice stats: no process reported metric 'heap' from 2026-11-20T10:00:00.000Z to 2026-11-20T10:09:59.000Z; metrics with data: fds, heap_used\n")
  })

  it('a server that stops answering part-way: the pages before it, the reason on stderr, exit 3', async () => {
    logsRequests = 0
    capAfter = 2
    const r = await grep(['--field', 'responseTime>=500', ...range, '--json'])
    capAfter = Infinity
    expect(r.code).toBe(3)
    expect(r.err).toBe('sluice grep: stopped after 10000 matching lines, before the end of the range: server overloaded (query timed out after 30 s; narrow the time range or add filters); retry later (retried 3 times)\n' +
      'sluice grep: the output is INCOMPLETE; narrow the range (--since/--until) or add filters and run again\n')
    const got = r.out.trimEnd().split('\n').map(s => (JSON.parse(s) as Line).fields.n)
    expect(got).toEqual([...Array(total).keys()].filter(n => n % 6 !== 5).slice(0, 10_000))
    expect(logsRequests).toBe(2 + 1 + 3)
  })
})
