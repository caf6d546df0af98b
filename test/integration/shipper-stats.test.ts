// sluice/stats end to end: a real child process with an http server is sampled by
// monitorProcess; the records travel pino → sluice/transport → spool → the shipper → the
// stats topic (the logs topic gets only the shipper's progress records) → the collector → one `stats` row per metric per sample.
import path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { createShipper, type Shipper } from '../../shipper/ship.js'
import { root, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { startSink, type Sink } from '../helpers/sink.js'

const samples = 5
const conns = 3
const metricNames = ['heap_used', 'heap_total', 'heap_limit', 'rss', 'external', 'array_buffers', 'connections', 'fds', 'fd_limit',
  'eventloop_delay_p50_ms', 'eventloop_delay_p99_ms', 'eventloop_delay_max_ms', 'eventloop_utilization', 'gc_count', 'gc_ms', 'interval_ms']

describe('sluice/stats through the pipeline', () => {
  const dir = tempDir('stats')
  const prefix = uniquePrefix('stats')
  const topics = topicsFor(prefix)
  const brokers = [inject('kafkaBrokers')]
  let sink: Sink
  let shipper: Shipper

  beforeAll(async () => {
    sink = await startSink('stats', brokers, topics)
    shipper = createShipper({ brokers, topics, globs: [path.join(dir, 'spool', '*', '*.ndjson')], dataDir: dir })
    await shipper.start()
  })
  afterAll(async () => {
    await shipper?.stop()
    await sink?.stop()
  })

  it(`writes ${samples} samples × ${metricNames.length} metrics of a real process to the stats table`, async () => {
    const child = spawn(process.execPath, [path.join(root, 'test/fixtures/stats-service.mjs'), path.join(dir, 'spool'), 'stats-svc', 'stats-host', String(samples), '300', String(conns)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', d => { out += String(d) })
    expect(await new Promise(resolve => child.once('exit', resolve))).toBe(0)
    const m = /sampled (\d+) pid (\d+)/.exec(out)
    expect(m?.[1]).toBe(String(samples))
    const pid = Number(m?.[2])

    const expectedRows = samples * metricNames.length
    let seen = 0
    await waitFor(`${expectedRows} stats rows`, async () => {
      const [r] = await sink.rows<{ c: number }>('SELECT count() AS c FROM sluice.stats FINAL')
      seen = Number(r.c)
      return seen >= expectedRows
    }, 60_000, 500, () => `${seen} rows`)
    await new Promise(resolve => setTimeout(resolve, 1500))

    const [r] = await sink.rows<Record<string, number | string>>(`SELECT count() AS rows, uniqExact(metric) AS metrics, uniqExact(ts) AS samples,
        any(service) AS service, any(host) AS host, min(pid) AS pid_min, max(pid) AS pid_max,
        countIf(metric = 'connections' AND value = ${conns}) AS conn_rows,
        countIf(metric = 'fds' AND value > 0) AS fd_rows,
        countIf(metric = 'heap_used' AND value > 0) AS heap_rows,
        countIf(metric = 'interval_ms' AND value = 300) AS interval_rows
      FROM sluice.stats FINAL`)
    const metrics = (await sink.rows<{ metric: string }>('SELECT DISTINCT metric FROM sluice.stats ORDER BY metric')).map(x => x.metric)
    const [logs] = await sink.rows<{ c: number }>('SELECT count() AS c FROM sluice.logs')
    const admin = createKafka(brokers, 'stats-test').admin()
    await admin.connect()
    const high = async (topic: string): Promise<number> => (await admin.fetchTopicOffsets(topic)).reduce((s, p) => s + Number(p.high), 0)
    const [statsMsgs, logMsgs] = [await high(topics.stats), await high(topics.logs)]
    await admin.disconnect()
    console.log(`[shipper-stats] ${JSON.stringify(r)} kafka messages: stats topic=${statsMsgs} logs topic=${logMsgs}`)

    expect(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v]))).toEqual({
      rows: expectedRows, metrics: metricNames.length, samples, service: 'stats-svc', host: 'stats-host', pid_min: pid, pid_max: pid,
      conn_rows: samples, fd_rows: samples, heap_rows: samples, interval_rows: samples
    })
    expect(metrics).toEqual([...metricNames].sort())
    expect(Number(logs.c)).toBe(0)
    expect(statsMsgs).toBeGreaterThan(0)
    // the logs topic holds only the shipper's progress records (gap detection), no log line
    const onLogs = spawnSync('kcat', ['-C', '-b', brokers.join(','), '-t', topics.logs, '-o', 'beginning', '-e', '-q', '-f', '%s\n'], { encoding: 'utf8', timeout: 60_000 })
    expect(onLogs.status).toBe(0)
    const kinds = new Set(onLogs.stdout.split('\n').filter(l => l !== '').map(l => (JSON.parse(l) as { kind: string }).kind))
    expect(logMsgs === 0 ? [] : [...kinds]).toEqual(logMsgs === 0 ? [] : ['progress'])
  })
})
