// Alert evaluation cost with the rule cap filled (run by hand: `npx tsc -p . && node bench/alerts-eval.bench.mjs [rules] [lines]`).
// Embedded ClickHouse in a temp dir; `lines` log lines (default 50 000) over the last two
// minutes from 24 processes; `rules` log_rate rules (default 100, the default cap) with
// different levels and substrings. Each sample is the first round of a fresh evaluator (one
// log-rate grid step, as every 10 s in production); prints the median and max of 7 rounds
// with no rules and with the rules.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Registry } from 'prom-client'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const dist = (p) => path.join(root, 'dist', p)
const { createClickHouse } = await import(dist('platform/clickhouse.js'))
const { migrate } = await import(dist('schemas/migrations.js'))
const { createAlertEvaluator } = await import(dist('alerts/evaluator.js'))

const R = Number(process.argv[2] ?? 100)
const N = Number(process.argv[3] ?? 50_000)
const reps = 7
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-alerts-'))
const ch = await createClickHouse({ database: 'sluice', dataDir: dir })
await migrate(ch.client, ch.database, { retentionDays: 30 })
const now = Date.now()
const levels = ['debug', 'info', 'warn', 'error']
const levelNum = { debug: 20, info: 30, warn: 40, error: 50 }
const words = ['timeout', 'refused', 'slow', 'retry', 'ok', 'done']
const rows = Array.from({ length: N }, (_, i) => {
  const level = levels[i % 4]
  return { ts: new Date(now - 120_000 + Math.floor(i * 120_000 / N)).toISOString(), host: `h${i % 4}`, service: `s${i % 3}`, pid: 100 + (i % 2), level, level_num: levelNum[level], msg: `request ${i} ${words[i % words.length]}`, fields: '{}', source: `src${i % 24}`, path: '/x', offset: i, flags: [] }
})
await ch.client.insert({ table: `${ch.database}.logs`, values: rows, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'bench-logs' } })

async function rounds () {
  const out = []
  for (let i = 0; i < reps; i++) {
    const e = createAlertEvaluator({ clickhouse: ch.client, database: ch.database, registry: new Registry(), evalIntervalMs: 60_000, maxRules: Math.max(100, R) })
    await e.start()
    const t = performance.now()
    await e.tick()
    out.push(performance.now() - t)
    await e.stop()
  }
  return out
}

const empty = await rounds()
const rules = Array.from({ length: R }, (_, i) => ({ id: `r${i}`, version: 1, deleted: 0, body: JSON.stringify({ id: `r${i}`, name: `rule ${i}`, kind: 'log_rate', level: levels[i % 4], q: words[i % words.length], op: '>', threshold: 1_000_000, ...(i % 5 === 0 ? { service: [`s${i % 3}`] } : {}) }) }))
await ch.client.insert({ table: `${ch.database}.alert_rules`, values: rules, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: `bench-rules-${R}` } })
const full = await rounds()
const f = (xs) => `median ${median(xs).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`
console.log(`alert round, ${N} log lines: 0 rules ${f(empty)}; ${R} log_rate rules ${f(full)}`)
await ch.close()
fs.rmSync(dir, { recursive: true, force: true })
