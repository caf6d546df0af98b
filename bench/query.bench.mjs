// Query API benchmarks (run by hand: `npx tsc -p . && node bench/query.bench.mjs [lines]`).
// Every number is a ratio against a baseline measured in the same run on the same data:
//   1. search over N lines (default 10M): API over HTTP vs the same SQL straight to ClickHouse
//      (searchLogs through @clickhouse/client, no fastify) vs ripgrep over the same rows as NDJSON
//   2. tail latency write→SSE at 5,000 lines/s (`sluice serve` as a child, real Kafka broker)
//   3. 200 concurrent SSE clients at 5,000 lines/s: server RSS before, peak, after
// Writes the "## Query API" section of bench/RESULTS.md. Data lives in bench/data (gitignored).
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { requireTools } from './tools.mjs'
import { openLogsTable } from './lib/logs-table.mjs'

requireTools('bench/query.bench.mjs', ['rg']) // the search section's baseline

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = (p) => path.join(root, 'dist', p)
const { buildQueryApi } = await import(dist('query-api/server.js'))
const { searchLogs, buildWhere, lineColumns } = await import(dist('query-api/search.js'))
const { readSettings } = await import(dist('query-api/query-slots.js'))
const { toLogQuery } = await import(dist('query-api/logs-route.js'))
const { startLocalKafka, freePort } = await import(dist('platform/kafka-launcher.js'))
const { createKafka, prepareKafka } = await import(dist('platform/kafka.js'))
const { topicsFor } = await import(dist('schemas/topics.js'))

const N = Number(process.argv[2] ?? 10_000_000)
const reps = 7
// the schema version is in the name: data loaded under older migrations (other codecs) is not reused
const dataDir = path.join(root, 'bench', 'data', `query-${N}-v6`)
const ndjson = path.join(dataDir, 'logs.ndjson')
const t0 = Date.parse('2026-11-21T00:00:00.000Z')
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))] }
const ms = (x) => `${x.toFixed(1)} ms`
const log = (s) => process.stderr.write(`bench: ${s}\n`)
// settings the bench's own statements rely on, stated in full (chDB keeps them per session)
const loadSettings = { max_execution_time: 0, max_rows_to_read: 0, max_insert_threads: 2, output_format_json_escape_forward_slashes: 0 }

// ---- 1. search -------------------------------------------------------------------------
// N lines over 24 h from 20 hosts; a rare token in every 1,000,003rd line
const linesSelect = `SELECT fromUnixTimestamp64Milli(toInt64({t0:Int64} + intDiv(number * 86400000, {n:UInt64})), 'UTC'), concat('host-', toString(number % 20)),
  ['api', 'checkout', 'search', 'auth'][number % 4 + 1], 1000 + number % 20, if(number % 50 = 0, 'error', 'info'), if(number % 50 = 0, 50, 30),
  concat('request ', toString(number), ' user=u', toString(number % 9973), ' path=/v1/items/', toString(number % 1000), ' took ', toString(number % 500), 'ms', if(number % 1000003 = 7, ' zqrare7token', '')),
  concat('{"reqId":"', lower(hex(sipHash64(number))), '","n":', toString(number), '}'), lower(hex(160 + number % 20)), '/var/log/app.log', intDiv(number, 20) * 120, []
FROM numbers({n:UInt64})`
const { ch, loadSeconds } = await openLogsTable({ dataDir, n: N, t0, select: linesSelect, settings: loadSettings })
if (loadSeconds !== null) {
  log(`loaded ${N} lines in ${loadSeconds.toFixed(1)} s`)
  fs.rmSync(ndjson, { force: true })
}
// indexes added by later migrations cover only new parts; build them for the loaded data
const unbuilt = await (await ch.client.query({ query: "SELECT name FROM system.data_skipping_indices WHERE database = 'sluice' AND table = 'logs' AND data_compressed_bytes = 0", format: 'JSONEachRow', clickhouse_settings: loadSettings })).json()
for (const { name } of unbuilt) {
  const m0 = Date.now()
  await ch.client.command({ query: `ALTER TABLE sluice.logs MATERIALIZE INDEX ${name}`, clickhouse_settings: { ...loadSettings, mutations_sync: 2 } })
  log(`materialized index ${name} in ${((Date.now() - m0) / 1000).toFixed(1)} s`)
}
if (!fs.existsSync(ndjson)) {
  const e0 = Date.now()
  await ch.client.command({ query: `SELECT ts, host, service, pid, level, msg, fields, source, offset FROM sluice.logs INTO OUTFILE '${ndjson}' FORMAT JSONEachRow`, clickhouse_settings: loadSettings })
  log(`exported NDJSON (${(fs.statSync(ndjson).size / 1e9).toFixed(2)} GB) in ${((Date.now() - e0) / 1000).toFixed(1)} s`)
}

const app = await buildQueryApi({ clickhouse: ch.client, database: 'sluice', tokens: [], registries: [] })
await app.listen({ port: 0, host: '127.0.0.1' })
const base = `http://127.0.0.1:${app.server.address().port}`
// newest first, as the API's default was when these numbers were first taken
const window = { since: '2026-11-21T00:00:00Z', until: '2026-11-22T00:00:00Z', order: 'desc' }
const limits = { maxExecutionSeconds: 60, maxRowsToRead: 1_000_000_000 }

const cases = [
  { name: 'rare token (w=true)', qs: { q: 'zqrare7token', w: 'true' }, rg: ['-w', '-F', 'zqrare7token'] },
  { name: 'rare token as substring', qs: { q: 'zqrare7token' }, rg: ['-F', 'zqrare7token'] },
  { name: 'substring', qs: { q: 'user=u4242 path' }, rg: ['-F', 'user=u4242 path'] },
  { name: 'regex', qs: { regex: 'user=u42[0-9]{2} path=/v1/items/77[0-9] ' }, rg: ['-e', 'user=u42[0-9]{2} path=/v1/items/77[0-9] '] }
]
const searchRows = []
for (const c of cases) {
  const qs = new URLSearchParams({ ...window, ...c.qs, limit: '100' }).toString()
  const query = toLogQuery({ ...window, ...c.qs, w: c.qs.w === 'true', limit: 100 }, 31)
  const api = []; const direct = []; const rg = []; const plain = []
  let apiLines = 0; let directLines = 0; let rgLines = 0; let plainLines = 0
  // the plain statement: one query over the whole range, FINAL, every index consulted — what
  // the API sent before it searched in slices (for reference, not a target)
  const pparams = { limit: 101 }
  const plainSql = `SELECT ${lineColumns} FROM sluice.logs FINAL WHERE ${buildWhere(query, pparams).join(' AND ')} ORDER BY ts DESC, source DESC, offset DESC LIMIT {limit:UInt32}`
  for (let i = 0; i <= reps; i++) {
    let s = performance.now()
    const r = await fetch(`${base}/v1/logs?${qs}`)
    const body = await r.json()
    if (r.status !== 200) throw new Error(`${c.name}: HTTP ${r.status} ${JSON.stringify(body)}`)
    if (i > 0) api.push(performance.now() - s)
    apiLines = body.lines.length
    s = performance.now()
    const d = await searchLogs(ch.client, 'sluice', query, limits)
    if (i > 0) direct.push(performance.now() - s)
    directLines = d.rows.length
    s = performance.now()
    const pr = await (await ch.client.query({ query: plainSql, query_params: pparams, format: 'JSONEachRow', clickhouse_settings: readSettings(limits) })).json()
    if (i > 0) plain.push(performance.now() - s)
    plainLines = Math.min(pr.length, 100)
    s = performance.now()
    const g = spawnSync('rg', ['--no-filename', '-c', ...c.rg, ndjson], { encoding: 'utf8' })
    if (i > 0) rg.push(performance.now() - s)
    rgLines = Number(g.stdout.trim() || 0)
  }
  const row = { name: c.name, api: median(api), direct: median(direct), rg: median(rg), plain: median(plain), apiLines, directLines, rgLines, plainLines }
  searchRows.push(row)
  log(`${c.name}: API ${ms(row.api)} (${apiLines} lines), SQL ${ms(row.direct)}, rg ${ms(row.rg)} (${rgLines} matches), one plain statement ${ms(row.plain)} (${plainLines} lines)`)
}
await app.close()
await ch.close()

// ---- 2 + 3. tail ------------------------------------------------------------------------
const kafka = await startLocalKafka({ progress: (m) => log(m) })
const brokers = [kafka.brokers]
const topics = topicsFor(`bench-${process.pid}.`)
await prepareKafka(brokers, topics)
const port = await freePort()
const tailDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-tail-'))
// every bench client comes from 127.0.0.1: lift the per-client share of the tails
const server = spawn(process.execPath, [path.join(root, 'bin', 'sluice.js'), 'serve'], { env: { ...process.env, KAFKA_BROKERS: kafka.brokers, SLUICE_DATA_DIR: tailDir, SLUICE_PORT: String(port), SLUICE_TOPIC_PREFIX: topics.prefix, SLUICE_MAX_TAILS_PER_CLIENT: '256' }, stdio: ['ignore', 'pipe', 'inherit'] })
// a crash of the bench must not leave the server behind
process.on('exit', () => { if (server.exitCode === null) server.kill('SIGKILL') })
await new Promise((resolve, reject) => { server.stdout.on('data', (d) => { if (String(d).includes('Sluice query API')) resolve() }); server.once('exit', (c) => reject(new Error(`serve exited ${c}`))) })
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) / 1024
const producer = createKafka(brokers, 'bench-producer').producer({ allowAutoTopicCreation: false })
await producer.connect()

/** SSE clients recording write→receive latency from the t0 the producer put in each line. */
function clients (n, onLatency) {
  const reqs = []
  for (let i = 0; i < n; i++) {
    reqs.push(http.get(`http://127.0.0.1:${port}/v1/tail`, { headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
      // only every 20th client parses (the bench process shares 2 cores with the server); the
      // others read and discard, which is all the server can observe of a client
      if (i !== 0 && i % 20 !== 0) { res.on('data', () => {}); return }
      res.setEncoding('utf8')
      let buf = ''
      res.on('data', (chunk) => {
        buf += chunk
        let k
        while ((k = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, k); buf = buf.slice(k + 2)
          const d = block.indexOf('\ndata: ')
          if (block.includes('event: line') && d !== -1) onLatency(Date.now() - JSON.parse(block.slice(d + 7)).fields.t0)
        }
      })
    }))
  }
  return () => { for (const r of reqs) r.destroy() }
}

/** 5,000 lines/s for `seconds`: every 20 ms one message of 100 v1 lines per host-batch, like the shipper. */
async function produceAt (rate, seconds) {
  const tick = 20; const per = rate * tick / 1000
  const start = Date.now(); let off = 0
  for (let k = 0; k < seconds * 1000 / tick; k++) {
    const now = Date.now()
    const recs = []
    for (let j = 0; j < per; j++) recs.push(JSON.stringify({ v: 1, kind: 'log', ts: new Date(now).toISOString(), host: 'bench-host', service: 'api', pid: 1, level: 'info', msg: `request ${off} user=u${off % 9973} took ${off % 500}ms`, fields: { t0: now }, src: 'beef', path: '/a.log', off: off++ * 100, flags: [] }))
    await producer.send({ topic: topics.logs, messages: [{ key: 'bench-host', value: recs.join('\n') + '\n' }], acks: -1 })
    const due = start + (k + 1) * tick
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()))
  }
}

const tailRows = []
let cutBefore = 0
for (const n of [1, 200]) {
  const lat = []
  const rss0 = rssMb()
  const close = clients(n, (x) => lat.push(x))
  await new Promise((resolve) => setTimeout(resolve, 2000))
  let peak = rssMb()
  const sampler = setInterval(() => { peak = Math.max(peak, rssMb()) }, 200)
  await produceAt(5000, 10)
  await new Promise((resolve) => setTimeout(resolve, 2000))
  clearInterval(sampler)
  close()
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const metric = (name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN)
  const row = { clients: n, cut: metric('sluice_tail_slow_disconnects_total') - cutBefore, samples: lat.length, p50: pct(lat, 0.5), p99: pct(lat, 0.99), max: lat.reduce((a, b) => Math.max(a, b), 0), rss0, peak, rss1: rssMb() }
  tailRows.push(row)
  cutBefore += row.cut
  log(`tail ${n} client(s): cut ${row.cut}; p50 ${row.p50} ms p99 ${row.p99} ms (${row.samples} samples); RSS ${rss0.toFixed(0)} → peak ${peak.toFixed(0)} → ${row.rss1.toFixed(0)} MB`)
}
await producer.disconnect()
server.kill('SIGINT')
await new Promise((resolve) => server.once('exit', resolve))
await kafka.stop()
fs.rmSync(tailDir, { recursive: true, force: true })

// ---- RESULTS.md -------------------------------------------------------------------------
const rgVersion = spawnSync('rg', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]
const section = `## Query API

Measured ${new Date().toISOString()} on ${os.cpus().length} shared cores (load average ${os.loadavg().map(x => x.toFixed(2)).join(' ')} at the end), Node ${process.version}, embedded ClickHouse (chDB), ${rgVersion}.
Command: \`npx tsc -p . && node bench/query.bench.mjs ${N}\` (medians of ${reps} runs after one warm-up; baselines measured in the same run on the same ${N.toLocaleString('en')} lines).

| search (limit 100) | API over HTTP | same SQL straight to ClickHouse | API / SQL | rg over the same NDJSON (${(fs.statSync(ndjson).size / 1e9).toFixed(2)} GB, page cache) | API / rg | one plain statement (FINAL, whole range) | lines (API / SQL / rg matches / plain) |
| --- | --- | --- | --- | --- | --- | --- | --- |
${searchRows.map(r => `| ${r.name} | ${ms(r.api)} | ${ms(r.direct)} | ${(r.api / r.direct).toFixed(2)}× | ${ms(r.rg)} | ${(r.api / r.rg).toFixed(2)}× | ${ms(r.plain)} | ${r.apiLines} / ${r.directLines} / ${r.rgLines} / ${r.plainLines} |`).join('\n')}

Data: ${N.toLocaleString('en')} lines over one day from 20 hosts/sources (msg like \`request N user=uK path=/v1/items/M took Tms\`, fields \`{"reqId","n"}\`), one part per day after OPTIMIZE FINAL, msg and fields in LZ4 (migration 6). Every search asks for the newest 100 lines of the whole day, as \`sluice grep\` does; rg counts matches over the whole file (\`rg -c\`, one thread per file, page cache warm). "Same SQL straight to ClickHouse" is \`searchLogs()\` called without HTTP: the same time-sliced statements (query-api/search.ts: newest slice first, sized from the matches found, skip indexes the query cannot use ignored, replayed copies dropped in Node instead of FINAL), so API / SQL is the cost of fastify, JSON and the query slots. "One plain statement" is the single query over the whole day with FINAL and every index consulted that the API sent before slicing (same run), for reference. The rare token appears 10 times (every 1,000,003rd line); the substring and regex match about 1,000 lines spread over the day.

Tail: \`sluice serve\` as a child process reading a local Kafka broker; producer at 5,000 lines/s for 10 s (100-line messages every 20 ms); latency = SSE receive time − the time the producer stamped into the line (same clock); with 200 clients every 20th client is sampled.

| SSE clients | samples | p50 | p99 | max | clients cut off as too slow | server RSS before → peak → after clients left |
| --- | --- | --- | --- | --- | --- | --- |
${tailRows.map(r => `| ${r.clients} | ${r.samples} | ${r.p50} ms | ${r.p99} ms | ${r.max} ms | ${r.cut} | ${r.rss0.toFixed(0)} → ${r.peak.toFixed(0)} → ${r.rss1.toFixed(0)} MB |`).join('\n')}
`
const resultsPath = path.join(root, 'bench', 'RESULTS.md')
const old = fs.existsSync(resultsPath) ? fs.readFileSync(resultsPath, 'utf8') : '# Benchmark results\n'
const re = /## Query API\n[\s\S]*?(?=\n## |$)/
fs.writeFileSync(resultsPath, re.test(old) ? old.replace(re, section) : `${old.trimEnd()}\n\n${section}`)
log('wrote the Query API section of bench/RESULTS.md')
process.exit(0)
