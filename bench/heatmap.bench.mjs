// The latency heatmap (run by hand: `npx tsc -p . && node bench/heatmap.bench.mjs [lines]`).
// On N lines (default 10M) over 24 h of request lines (95% ~20 ms from 20 hosts, a slow band at
// ~800 ms from host-7), GET /v1/heatmap over HTTP vs the same SQL (planHeatmap's statement) sent
// straight to ClickHouse, alternating which goes first; medians of RUNS (default 5) after one
// untimed warm-up. Writes the "## Heatmap" section of bench/RESULTS.md. Data in bench/data (gitignored).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { openLogsTable } from './lib/logs-table.mjs'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = (p) => path.join(root, 'dist', p)
const { buildQueryApi } = await import(dist('query-api/server.js'))
const { planHeatmap } = await import(dist('query-api/heatmap-route.js'))

const N = Number(process.argv[2] ?? 10_000_000)
const reps = Number(process.env.RUNS ?? 5)
const dataDir = path.join(root, 'bench', 'data', `heatmap-${N}-v1`)
const t0 = Date.parse('2026-11-21T00:00:00.000Z')
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const log = (s) => process.stderr.write(`bench: ${s}\n`)
const loadSettings = { max_execution_time: 0, max_rows_to_read: 0, max_insert_threads: 2 }

// the layout of bench/query-filters.bench.mjs (20 hosts, 4 services, reqId/responseTime/statusCode
// fields, every 997th line an error) with a heatmap's shape: responseTime 15.0–24.9 ms, and on
// every 20th line host-7 answering in 800.0–849.9 ms; every 499th line has no responseTime
const linesSelect = `SELECT fromUnixTimestamp64Milli(toInt64({t0:Int64} + intDiv(number * 86400000, {n:UInt64})), 'UTC'), if(number % 20 = 7, 'host-7', concat('host-', toString(number % 20))),
  ['api', 'checkout', 'search', 'auth'][number % 4 + 1], 1000 + number % 20, if(number % 997 = 0, 'error', 'info'), if(number % 997 = 0, 50, 30),
  if(number % 997 = 0, 'request failed', 'request completed'),
  concat('{"reqId":"', lower(hex(sipHash64(number))), '"',
    if(number % 499 = 0, '', concat(',"responseTime":', toString(if(number % 20 = 7, 800 + (sipHash64(number, 1) % 500) / 10, 15 + (sipHash64(number, 1) % 100) / 10)))),
    ',"statusCode":', if(number % 997 = 0, '502', '200'), '}'),
  lower(hex(160 + number % 20)), '/var/log/app.log', intDiv(number, 20) * 160, []
FROM numbers({n:UInt64})`
const { ch, loadSeconds } = await openLogsTable({ dataDir, n: N, t0, select: linesSelect, settings: loadSettings })
const loadNote = loadSeconds === null ? 'reused from an earlier run' : `generated in ${loadSeconds.toFixed(1)} s`
if (loadSeconds !== null) log(`loaded ${N} lines: ${loadNote}`)

const app = await buildQueryApi({ clickhouse: ch.client, database: 'sluice', tokens: [], registries: [], queryTimeoutSeconds: 300 })
await app.listen({ port: 0, host: '127.0.0.1' })
const base = `http://127.0.0.1:${app.server.address().port}`
const window = { since: '2026-11-21T00:00:00Z', until: '2026-11-21T23:59:59.999Z' }
const limits = { maxExecutionSeconds: 300, maxRowsToRead: 1_000_000_000 }
let lastMs = 0
// a 503 from the event-loop guard (a busy shared machine) is retried, as the CLI does
const get = async (qs) => {
  for (let i = 0; ; i++) {
    const s0 = performance.now()
    const r = await fetch(`${base}/v1/heatmap?${new URLSearchParams(qs).toString()}`)
    const body = await r.json()
    lastMs = performance.now() - s0
    if (r.status === 503 && i < 20) { await new Promise(resolve => setTimeout(resolve, 500)); continue }
    if (r.status !== 200) throw new Error(`/v1/heatmap: HTTP ${r.status} ${JSON.stringify(body)}`)
    return body
  }
}
const direct = async (qs) => {
  const plan = planHeatmap(qs, { database: 'sluice', maxRangeDays: 31, limits })
  const s0 = performance.now()
  const rs = await ch.client.query({ query: plan.sql, query_params: plan.params, format: 'JSONEachRow', clickhouse_settings: plan.settings })
  const rows = await rs.json()
  return [performance.now() - s0, rows.length]
}

const cases = [
  { name: '`field=responseTime`, 100 buckets', qs: { ...window, field: 'responseTime', buckets: '100' } },
  { name: '`… &by=host&isolate=host-7`', qs: { ...window, field: 'responseTime', buckets: '100', by: 'host', isolate: 'host-7' } }
]
const rows = []
for (const c of cases) {
  const api = []; const sql = []
  let body = null; let sqlRows = 0
  for (let i = 0; i <= reps; i++) {
    // alternate which side goes first: a warm cache should not always favour the same one
    for (const side of i % 2 === 0 ? ['api', 'sql'] : ['sql', 'api']) {
      if (side === 'api') {
        body = await get(c.qs)
        if (i > 0) api.push(lastMs)
      } else {
        const [t, k] = await direct(c.qs)
        if (i > 0) sql.push(t)
        sqlRows = k
      }
    }
  }
  if (body.total !== N) throw new Error(`${c.name}: total ${body.total} != ${N}`)
  const row = { ...c, api: median(api), sql: median(sql), api_: api, sql_: sql, cells: body.cells.length, sqlRows, body }
  rows.push(row)
  log(`${c.name}: API ${row.api.toFixed(0)} ms vs SQL ${row.sql.toFixed(0)} ms (${(row.api / row.sql).toFixed(2)}×), ${row.cells} cells`)
}
await app.close()
await ch.close()

const load = os.loadavg().map(x => x.toFixed(2)).join(' ')
const b = rows[0].body
const f = (x) => `${x.toFixed(0)} ms`
const section = `## Heatmap

Run ${new Date().toISOString()} on ${os.cpus().length} cores, load average ${load} at the end, Node ${process.version}, embedded chDB.
Command: \`npx tsc -p . && RUNS=${reps} node bench/heatmap.bench.mjs ${N}\` — medians of ${reps} runs per side after 1 untimed warm-up, the API and the direct SQL alternating which goes first; ${N.toLocaleString('en')} lines over 24 h (20 hosts; data ${loadNote}), \`fields\` like \`{"reqId":…,"responseTime":15.0–24.9,"statusCode":200}\` with a slow band (800.0–849.9) on host-7's every-20th line and every 499th line without \`responseTime\`.

| query | same SQL straight to ClickHouse | /v1/heatmap over HTTP | ratio | cells |
| --- | ---: | ---: | ---: | ---: |
${rows.map(r => `| ${r.name} | ${f(r.sql)} | ${f(r.api)} | ${(r.api / r.sql).toFixed(2)}× | ${r.cells} |`).join('\n')}

Raw API / SQL runs: ${rows.map(r => `${r.name}: ${r.api_.map(x => x.toFixed(0)).join(', ')} / ${r.sql_.map(x => x.toFixed(0)).join(', ')} ms`).join('; ')}.
Response: ${b.columns} time buckets of ${b.step} s × ${b.y.length} value buckets; total ${b.total.toLocaleString('en')}, below ${b.below}, above ${b.above}, nonNumeric ${b.nonNumeric.toLocaleString('en')}.

Notes: "same SQL" is the statement \`planHeatmap()\` builds (\`FINAL\`, the value read with \`toFloat64OrNull(JSONExtractRaw(…))\` behind a \`position()\` check for the key, bucketed with \`roundDown\` over the bounds), sent with the same settings through the same client and parsed (JSONEachRow), so API / SQL is the cost of fastify, validation, assembling the cells and JSON over HTTP. Every line holds the key, so the prefilter skips nothing here: this is a JSON parse of every line of the day. The machine is shared (see the load average): compare the ratio within a run.
`
const resultsPath = path.join(root, 'bench', 'RESULTS.md')
const old = fs.readFileSync(resultsPath, 'utf8')
const start = old.indexOf('## Heatmap')
const next = start === -1 ? -1 : old.indexOf('\n## ', start + 5)
const updated = start === -1 ? `${old.trimEnd()}\n\n${section}` : `${old.slice(0, start)}${section}${next === -1 ? '' : old.slice(next + 1)}`
fs.writeFileSync(resultsPath, updated)
log('wrote bench/RESULTS.md')
