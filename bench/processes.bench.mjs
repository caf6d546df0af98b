// The Processes page in Debian's Chromium (`npm run bench -- processes [processes]`, or
// `npm run build && node bench/processes.bench.mjs [processes]`): P processes (default 200) × 24 h
// of 1-minute sluice/stats samples (16 metrics each) in embedded ClickHouse; /processes over that
// day, served in-process by buildQueryApi as the Explorer bench does. Per page load (fresh browser
// context, nothing cached): time from navigation to every chart drawn (each chart's data-drawn),
// bytes on the wire for all responses (CDP encodedDataLength: headers + body) and the number of
// requests. Baseline in the same run: the plain /v1/stats statement (every series, no top/keys)
// for each metric the page asks for (same step and agg), sent straight to ClickHouse one after another. Writes the
// "## Processes page" section of bench/RESULTS.md. Data in bench/data (gitignored).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'
import { chromium } from 'playwright-core'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = (p) => path.join(root, 'dist', p)
const { buildQueryApi } = await import(dist('query-api/server.js'))
const { createClickHouse } = await import(dist('platform/clickhouse.js'))
const { migrate } = await import(dist('schemas/migrations.js'))
const { readSettings } = await import(dist('query-api/query-slots.js'))

const P = Number(process.argv[2] ?? 200)
const reps = Number(process.env.RUNS ?? 5)
const minutes = 1440
const t0 = Date.parse('2026-11-21T00:00:00.000Z')
const since = '2026-11-21T00:00:00Z'
const until = '2026-11-22T00:00:00Z'
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const log = (s) => process.stderr.write(`bench: ${s}\n`)
const settings = { max_execution_time: 0, max_rows_to_read: 0, max_insert_threads: 2 }
const limits = { maxExecutionSeconds: 300, maxRowsToRead: 1_000_000_000 }

// ---- data: P processes (50 hosts × services), one sample a minute, 16 metrics a sample ---------
const MiB = 1048576
const metricsSql = `[('heap_used', toFloat64(hu)), ('heap_total', toFloat64(hu * 1.3)), ('heap_limit', toFloat64(4345298944)), ('rss', toFloat64(hu * 1.3 + 60 * ${MiB})),
  ('external', toFloat64(3 * ${MiB} + p * 10240)), ('array_buffers', toFloat64(${MiB} + (r % 64) * 16384)), ('connections', toFloat64((p * 7 + m) % 50)), ('fds', toFloat64(30 + (p * 7 + m) % 50)),
  ('fd_limit', toFloat64(65536)), ('eventloop_delay_p50_ms', toFloat64(10.1 + (r % 10) / 100)), ('eventloop_delay_p99_ms', toFloat64(12 + (r % 100) / 10)), ('eventloop_delay_max_ms', toFloat64(20 + (r % 300) / 10)),
  ('eventloop_utilization', toFloat64(0.05 + (p % 10) / 20 + (r % 10) / 1000)), ('gc_count', toFloat64(r % 5)), ('gc_ms', toFloat64((r % 50) / 10)), ('interval_ms', toFloat64(60000))]`
const statsSelect = `SELECT fromUnixTimestamp64Milli(toInt64({t0:Int64} + m * 60000 + p * 250), 'UTC'), concat('host-', toString(p % 50)),
  ['api', 'worker', 'search', 'auth', 'cron', 'mail'][intDiv(p, 50) % 6 + 1], 1000 + p, mv.1, toFloat64(mv.2), lower(hex(sipHash64(p))), m * 640, 640
FROM (SELECT number % {P:UInt32} AS p, intDiv(number, {P:UInt32}) AS m, sipHash64(number) AS r, (40 + p % 60 + (m % 30) * 0.5) * ${MiB} AS hu FROM numbers({rows:UInt64}))
ARRAY JOIN ${metricsSql} AS mv`
const expectRows = P * minutes * 16
const dataDir = path.join(root, 'bench', 'data', `processes-${P}-v1`)
fs.mkdirSync(dataDir, { recursive: true })
const ch = await createClickHouse({ database: 'sluice', dataDir })
await migrate(ch.client, 'sluice', { retentionDays: 3650 })
const count = async () => Number((await (await ch.client.query({ query: 'SELECT count() AS c FROM sluice.stats', format: 'JSONEachRow', clickhouse_settings: settings })).json())[0].c)
let loadNote = 'reused from an earlier run'
if (await count() !== expectRows) {
  await ch.client.command({ query: 'TRUNCATE TABLE sluice.stats', clickhouse_settings: settings })
  const l0 = Date.now()
  await ch.client.command({ query: `INSERT INTO sluice.stats (ts, host, service, pid, metric, value, source, offset, len)\n${statsSelect}`, query_params: { t0, P, rows: P * minutes }, clickhouse_settings: settings })
  await ch.client.command({ query: 'OPTIMIZE TABLE sluice.stats FINAL', clickhouse_settings: settings })
  loadNote = `generated in ${((Date.now() - l0) / 1000).toFixed(0)} s`
  log(`${expectRows} stats rows ${loadNote}`)
}
const stored = await count()
if (stored !== expectRows) throw new Error(`stats: ${stored} rows, expected ${expectRows}`)

const app = await buildQueryApi({ clickhouse: ch.client, database: 'sluice', tokens: [], registries: [], queryTimeoutSeconds: 300 })
await app.listen({ port: 0, host: '127.0.0.1' })
const base = `http://127.0.0.1:${app.server.address().port}`

// ---- page loads ---------------------------------------------------------------------------
const chromiumPath = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find(p => fs.existsSync(p))
const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] })
process.on('exit', () => { void browser.close() })

async function load () {
  const ctx = await browser.newContext({ timezoneId: 'UTC', viewport: { width: 1400, height: 850 } })
  const page = await ctx.newPage()
  const cdp = await ctx.newCDPSession(page)
  await cdp.send('Network.enable')
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true })
  const reqs = new Map()
  cdp.on('Network.requestWillBeSent', e => { reqs.set(e.requestId, { url: e.request.url, bytes: 0, status: 0, ms: 0, start: e.timestamp }) })
  cdp.on('Network.responseReceived', e => { const r = reqs.get(e.requestId); if (r !== undefined) r.status = e.response.status })
  cdp.on('Network.loadingFinished', e => { const r = reqs.get(e.requestId); if (r !== undefined) { r.bytes = e.encodedDataLength; r.ms = (e.timestamp - r.start) * 1000 } })
  await page.goto(`${base}/processes?since=${since}&until=${until}`)
  // every chart drawn: as many drawn plots as charts, once the legend (data loaded) is there
  const drawn = await page.waitForFunction(() => {
    const charts = document.querySelectorAll('.pchart')
    const done = document.querySelectorAll('.pchart-plot[data-drawn]')
    return document.querySelector('.proc-legend') !== null && charts.length > 0 && done.length === charts.length && Math.max(...[...done].map(d => Number(d.dataset.drawn)))
  }, undefined, { timeout: 300_000, polling: 50 }).then(h => h.jsonValue())
  const info = await page.evaluate(() => ({ charts: document.querySelectorAll('.pchart').length, step: Number(document.querySelector('.proc-legend').dataset.step), processes: Number(document.querySelector('.proc-legend').dataset.processes), lines: document.querySelectorAll('.proc-legend .proc').length, width: document.querySelector('.pchart')?.clientWidth }))
  const stats = [...reqs.values()].filter(r => r.url.includes('/v1/stats?'))
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true })
  await ctx.close()
  const all = [...reqs.values()]
  return { drawn, ...info, requests: all.length, bytes: all.reduce((a, r) => a + r.bytes, 0), statsBytes: stats.reduce((a, r) => a + r.bytes, 0), statsUrls: stats.map(r => r.url), statsRequests: stats.length, retried: all.filter(r => r.status === 503).length, bad: all.filter(r => r.status >= 400 && r.status !== 503).map(r => `${r.status} ${r.url.replace(base, '')}`) }
}

await load() // warm-up
const runs = []
for (let i = 0; i < reps; i++) {
  const r = await load()
  runs.push(r)
  log(`load ${i + 1}: charts drawn at ${r.drawn.toFixed(0)} ms, ${r.requests} requests (${r.retried} answered 503 and retried), ${(r.bytes / 1e6).toFixed(2)} MB (/v1/stats ${r.statsRequests}: ${(r.statsBytes / 1e6).toFixed(2)} MB), step ${r.step} s, ${r.processes} processes, ${r.charts} charts`)
}
const last = runs[runs.length - 1]
if (last.processes !== P) throw new Error(`the page shows ${last.processes} processes, expected ${P}`)
// the /v1/stats answers as JSON text, and what gzip makes of them (the server compresses them for a
// client that accepts it, as the browser does), and the same requests from Node (fetch accepts
// gzip too), one after another: the API's share of the page's time
let rawBytes = 0; let gzBytes = 0
const apiRuns = []
for (let i = 0; i <= reps; i++) {
  let ms = 0
  for (const u of last.statsUrls) {
    const s0 = performance.now()
    const res = await fetch(u)
    const body = Buffer.from(await res.arrayBuffer())
    ms += performance.now() - s0
    if (res.status !== 200) throw new Error(`${u}: HTTP ${res.status}`)
    if (i === 0) { rawBytes += body.length; gzBytes += zlib.gzipSync(body, { level: 6 }).length }
  }
  if (i > 0) apiRuns.push(ms)
}

// ---- baseline: every series straight to ClickHouse ---------------------------------------
// the plain /v1/stats statement (query-api/stats-route.ts, no top/keys) for each request the page made
const statsSql = (agg) => `SELECT host, service, pid, toUnixTimestamp(toStartOfInterval(ts, toIntervalSecond({step:UInt32}))) * 1000 AS t, ${agg}(x) AS v
FROM (SELECT host, service, pid, ts, value AS x FROM sluice.stats FINAL WHERE metric = {metric:String} AND ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND ts <= fromUnixTimestamp64Milli({until:Int64}, 'UTC'))
GROUP BY host, service, pid, t
ORDER BY host, service, pid, t
LIMIT {maxRows:UInt32}`
const asked = last.statsUrls.map(u => new URL(u).searchParams)
const direct = async () => {
  let ms = 0; let points = 0
  for (const q of asked) {
    const s0 = performance.now()
    const rs = await ch.client.query({ query: statsSql(q.get('agg')), query_params: { metric: q.get('metric'), step: Number(q.get('step').replace(/s$/, '')), from: Date.parse(q.get('since')), until: Date.parse(q.get('until')), maxRows: 100_001 }, format: 'JSONEachRow', clickhouse_settings: readSettings(limits) })
    points += (await rs.json()).length
    ms += performance.now() - s0
  }
  return { ms, points }
}
// for comparison: every series in one statement (one read of the table instead of one per metric)
const oneSql = `SELECT metric, host, service, pid, toUnixTimestamp(toStartOfInterval(ts, toIntervalSecond({step:UInt32}))) * 1000 AS t,
  multiIf(metric IN ('heap_limit', 'fd_limit', 'eventloop_delay_p99_ms'), max(value), metric = 'gc_ms', sum(value), avg(value)) AS v
FROM sluice.stats FINAL WHERE metric IN {metrics:Array(String)} AND ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND ts <= fromUnixTimestamp64Milli({until:Int64}, 'UTC')
GROUP BY metric, host, service, pid, t ORDER BY metric, host, service, pid, t`
const one = async () => {
  const q = asked[0]
  const s0 = performance.now()
  const rs = await ch.client.query({ query: oneSql, query_params: { metrics: asked.map(a => a.get('metric')), step: Number(q.get('step').replace(/s$/, '')), from: Date.parse(q.get('since')), until: Date.parse(q.get('until')) }, format: 'JSONEachRow', clickhouse_settings: readSettings(limits) })
  const n = (await rs.json()).length
  return { ms: performance.now() - s0, n }
}
await direct()
await one()
const sqlRuns = []; const oneRuns = []
let points = 0; let onePoints = 0
for (let i = 0; i < reps; i++) {
  const d = await direct(); sqlRuns.push(d.ms); points = d.points
  const o = await one(); oneRuns.push(o.ms); onePoints = o.n
}
if (onePoints !== points) throw new Error(`one statement: ${onePoints} points, the ${asked.length} statements ${points}`)
log(`direct: ${asked.length} statements, ${points} points, ${median(sqlRuns).toFixed(0)} ms; one statement ${median(oneRuns).toFixed(0)} ms; API from Node ${median(apiRuns).toFixed(0)} ms; /v1/stats bodies ${(rawBytes / 1e6).toFixed(2)} MB, gzip ${(gzBytes / 1e6).toFixed(2)} MB`)
await app.close()
await ch.close()
await browser.close()

// ---- RESULTS.md -------------------------------------------------------------------------
const mb = (b) => `${(b / 1e6).toFixed(2)} MB`
const section = `## Processes page

Measured ${new Date().toISOString()} on ${os.cpus().length} shared cores (load average ${os.loadavg().map(x => x.toFixed(2)).join(' ')} at the end), Node ${process.version}, Chromium ${browser.version()} headless, embedded ClickHouse (chDB).
Command: \`npm run bench -- processes${process.argv[2] !== undefined ? ` ${P}` : ''}\` (RUNS=${reps}; medians of ${reps} page loads after one warm-up, each in a fresh browser context with the cache off, viewport 1400×850). Data: ${P} processes (50 hosts, 1000+ pids) × 24 h of 1-minute \`sluice/stats\` samples, 16 metrics each = ${stored.toLocaleString('en')} rows in the stats table (${loadNote}). Page: \`/processes?since=${since}&until=${until}\` (a fixed day, the same 24 h range as \`since=24h\`), served in-process by \`buildQueryApi\` (no alerting: its \`/v1/alerts/history\` request answers 404 and the page carries on).

| | median | runs |
| --- | ---: | --- |
| navigation → every chart drawn (${last.charts} charts, \`data-drawn\`) | ${median(runs.map(r => r.drawn)).toFixed(0)} ms | ${runs.map(r => r.drawn.toFixed(0)).join(', ')} |
| bytes on the wire, all responses | ${mb(median(runs.map(r => r.bytes)))} | ${runs.map(r => mb(r.bytes)).join(', ')} |
| of which \`/v1/stats\` (${last.statsRequests} requests, step ${last.step} s) | ${mb(median(runs.map(r => r.statsBytes)))} | |
| requests (of which answered 503 by the event-loop guard and retried by the page) | ${median(runs.map(r => r.requests))} (${median(runs.map(r => r.retried))}) | ${runs.map(r => `${r.requests} (${r.retried})`).join(', ')} |
| the same ${asked.length} \`/v1/stats\` requests from Node over HTTP, one after another (body read, not parsed) | ${median(apiRuns).toFixed(0)} ms | ${apiRuns.map(x => x.toFixed(0)).join(', ')} |
| baseline: the ${asked.length} plain \`/v1/stats\` statements (every series, no top/keys) straight to ClickHouse, one after another (JSONEachRow, parsed) | ${median(sqlRuns).toFixed(0)} ms | ${sqlRuns.map(x => x.toFixed(0)).join(', ')} |
| for comparison: the same ${points.toLocaleString('en')} points in one statement (\`metric IN …\`) | ${median(oneRuns).toFixed(0)} ms | ${oneRuns.map(x => x.toFixed(0)).join(', ')} |

The page asked for: ${asked.map(q => `${q.get('metric')} (${q.get('agg')}${q.has('top') ? `, top=${q.get('top')}` : q.has('keys') ? ', keys' : ''}${q.has('band') ? ', band' : ''})`).join(', ')}; every series of these would be ${points.toLocaleString('en')} points (${(points / asked.length / P).toFixed(0)} per series); the page draws the top 10 processes per chart and a min–max band for the other ${P - 10}, and that is what the server sends. The \`/v1/stats\` bodies are ${mb(rawBytes)} of JSON (each point \`["2026-11-21T00:10:00.000Z",123.4]\`), ${mb(gzBytes)} gzipped; the server sends answers of 1 KiB or more br or gzip to a client that accepts it (the browser prefers br), so the bytes on the wire above are compressed ones.${last.bad.length > 0 ? ` Failed requests: ${[...new Set(last.bad)].join(', ')}.` : ''}

Where the bytes and the time go: the page asks \`/v1/stats\` for its ranking metric with \`top=10&band=minmax\` (the 10 series, one band, every process listed in rank order), then for each other metric with \`keys=<those 10>&band=minmax\` (two requests in flight, the API's per-client limit), at the chart's step (${last.step} s for a ${last.width} px chart over 24 h). So each answer holds 10 series, one band and the list of ${P} processes (for the legend's count, the pin search and restart markers); the bytes grow with the pixels and only the list grows with the processes. Time = the statements (each still reads and groups every process's samples of its metric, then ranks them with window functions) + the shorter answers + drawing. The machine is shared (see the load average): compare within a run.
`
const resultsPath = path.join(root, 'bench', 'RESULTS.md')
const old = fs.readFileSync(resultsPath, 'utf8')
const re = /## Processes page\n[\s\S]*?(?=\n## |$)/
fs.writeFileSync(resultsPath, re.test(old) ? old.replace(re, () => section) : `${old.trimEnd()}\n\n${section}`)
log('wrote the Processes page section of bench/RESULTS.md')
process.exit(0)
