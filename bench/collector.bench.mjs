// Kafka → ClickHouse rows/s: `sluice collect` (createCollector) vs ClickHouse's own Kafka table
// engine + materialized view into the same logs table, same topic contents, same run; then the
// collector's RSS while ClickHouse stalls for 60 s under a stream (SLUICE_FAULT_INSERT_FAIL_FILE).
//
//   npx tsc -p . && SLUICE_KAFKA_LIBS=… node bench/collector.bench.mjs [--records N] [--stall-s S] [--rounds R]
//
// Each contender runs in its own child process on a fresh embedded ClickHouse data dir (chDB:
// one engine per process), consuming the same topic with its own consumer group. Time is
// measured from the start of consumption to the last row visible / committed. Writes the
// `## Collector` section of bench/RESULTS.md.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'

const here = path.dirname(fileURLToPath(import.meta.url))
const dist = path.join(here, '..', 'dist')
const args = process.argv.slice(2)
const arg = (name, dflt) => { const i = args.indexOf(`--${name}`); return i === -1 ? dflt : args[i + 1] }

const role = arg('role', 'main')
const records = Number(arg('records', '1000000'))
const stallS = Number(arg('stall-s', '60'))
const rounds = Number(arg('rounds', '2'))

const kafkaOf = brokers => new Kafka({ clientId: 'sluice-bench', brokers: [brokers], logLevel: logLevel.NOTHING })
const hosts = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'b8']
const perMessage = 100

function record (h, n) {
  return { v: 1, kind: 'log', ts: new Date(Date.parse('2026-11-22T04:00:00Z') + n).toISOString(), host: h, service: 'checkout', pid: 4242, level: n % 10 === 0 ? 'warn' : 'info', msg: `GET /api/orders/${n} 200 in ${n % 97} ms`, fields: { orderId: n, route: '/api/orders/:id', status: 200 }, src: `src-${h}`, path: `/var/log/${h}.log`, off: n * 160, flags: [] }
}

// the same log line as it sits in the service's file (pino), for the log-segment run
function pinoLine (h, n) {
  return JSON.stringify({ level: n % 10 === 0 ? 40 : 30, time: Date.parse('2026-11-22T04:00:00Z') + n, pid: 4242, hostname: h, service: 'checkout', msg: `GET /api/orders/${n} 200 in ${n % 97} ms`, orderId: n, route: '/api/orders/:id', status: 200 })
}

async function produce (brokers, topic, count, { pauseMs = 0, stopAt = Infinity, segments = false } = {}) {
  const producer = kafkaOf(brokers).producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const perHost = Math.ceil(count / hosts.length)
  for (let n = 0; n < perHost && Date.now() < stopAt;) {
    const messages = []
    for (let k = 0; k < 10 && n < perHost; k++) {
      const end = Math.min(perHost, n + perMessage)
      for (const h of hosts) {
        const lines = []
        if (segments) {
          for (let i = n; i < end; i++) lines.push(pinoLine(h, i))
          // lines are < 256 bytes: a message of lines n… stays within bytes n * 256 … (n + 100) * 256
          const body = lines.join('\n') + '\n'
          const header = JSON.stringify({ v: 1, kind: 'lines', host: h, service: 'checkout', src: `src-${h}`, path: `/var/log/${h}.log`, off: n * 256, lines: end - n, bytes: Buffer.byteLength(body), rt: '2026-11-22T04:00:00.000Z' })
          messages.push({ key: h, value: `${header}\n${body}` })
        } else {
          for (let i = n; i < end; i++) lines.push(JSON.stringify(record(h, i)))
          messages.push({ key: h, value: lines.join('\n') + '\n' })
        }
      }
      n = end
    }
    await producer.send({ topic, acks: -1, messages })
    if (pauseMs > 0) await new Promise(resolve => setTimeout(resolve, pauseMs))
  }
  await producer.disconnect()
  return perHost * hosts.length
}

async function lagOf (admin, groupId, topic) {
  const high = await admin.fetchTopicOffsets(topic)
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
  let lag = 0
  for (const p of high) lag += Number(p.high) - Math.max(0, Number(committed.partitions.find(x => x.partition === p.partition)?.offset ?? -1))
  return lag
}

const rssOf = pid => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024

// ── child: the Sluice collector ────────────────────────────────────────────────────────────
async function runCollector () {
  const { createClickHouse } = await import(`${dist}/platform/clickhouse.js`)
  const { migrate } = await import(`${dist}/schemas/migrations.js`)
  const { createCollector } = await import(`${dist}/collector/collect.js`)
  const { topicsFor } = await import(`${dist}/schemas/topics.js`)
  const brokers = arg('brokers'); const topics = topicsFor(arg('prefix')); const expect = Number(arg('expect'))
  const ch = await createClickHouse({ database: 'sluice', dataDir: arg('data') })
  await migrate(ch.client, 'sluice', { retentionDays: 3650 })
  const groupId = `${topics.prefix}bench-collector-${process.pid}`
  const admin = kafkaOf(brokers).admin(); await admin.connect()
  const tuning = process.env.BENCH_TUNING === undefined ? {} : JSON.parse(process.env.BENCH_TUNING)
  const collector = createCollector({ brokers: [brokers], topics, clickhouse: ch.client, database: 'sluice', groupId, ...tuning })
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  await collector.start()
  if (process.env.BENCH_METRICS === '1') process.stderr.write(`started in ${(performance.now() - t0).toFixed(0)} ms\n`)
  while (await lagOf(admin, groupId, topics.logs) > 0) await new Promise(resolve => setTimeout(resolve, 100))
  const seconds = (performance.now() - t0) / 1000
  if (process.env.BENCH_METRICS === '1') { const c = process.cpuUsage(cpu0); process.stderr.write(`collector process CPU ${((c.user + c.system) / 1e6).toFixed(2)} s = ${((c.user + c.system) / 1e6 / seconds).toFixed(2)} cores\n`) }
  if (process.env.BENCH_METRICS === '1') process.stderr.write((await collector.registry.metrics()).split('\n').filter(l => /_(sum|count) |rows_total|replays|retries/.test(l)).join('\n') + '\n')
  await collector.stop()
  const rows = Number((await (await ch.client.query({ query: 'SELECT count() AS n FROM sluice.logs', format: 'JSONEachRow' })).json())[0].n)
  await admin.disconnect(); await ch.close()
  if (rows !== expect) throw new Error(`collector: ${rows} rows, expected ${expect}`)
  process.stdout.write(JSON.stringify({ rows, seconds }) + '\n')
}

// ── child: ClickHouse's Kafka table engine + materialized view into the same logs table ──
async function runKafkaEngine () {
  const { createClickHouse } = await import(`${dist}/platform/clickhouse.js`)
  const { migrate } = await import(`${dist}/schemas/migrations.js`)
  const { topicsFor } = await import(`${dist}/schemas/topics.js`)
  const brokers = arg('brokers'); const topics = topicsFor(arg('prefix')); const expect = Number(arg('expect'))
  const ch = await createClickHouse({ database: 'sluice', dataDir: arg('data') })
  await migrate(ch.client, 'sluice', { retentionDays: 3650 })
  const count = async () => Number((await (await ch.client.query({ query: 'SELECT count() AS n FROM sluice.logs', format: 'JSONEachRow' })).json())[0].n)
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  await ch.client.command({
    query: `CREATE TABLE sluice.logs_queue (v UInt8, kind String, ts String, host String, service String, pid UInt32, level String, msg String, fields String, src String, path String, off UInt64, flags Array(String))
ENGINE = Kafka SETTINGS kafka_broker_list = '${brokers}', kafka_topic_list = '${topics.logs}', kafka_group_name = '${topics.prefix}bench-engine-${process.pid}',
  kafka_format = 'JSONEachRow', kafka_max_block_size = 100000, kafka_flush_interval_ms = 500, input_format_json_read_objects_as_strings = 1`
  })
  await ch.client.command({
    query: `CREATE MATERIALIZED VIEW sluice.logs_queue_mv TO sluice.logs AS
SELECT parseDateTime64BestEffort(ts, 3, 'UTC') AS ts, host, service, pid, level,
  transform(level, ['trace', 'debug', 'info', 'warn', 'error', 'fatal'], [10, 20, 30, 40, 50, 60], 0) AS level_num,
  msg, fields, src AS source, path, off AS offset, flags
FROM sluice.logs_queue`
  })
  let n = 0
  while ((n = await count()) < expect) await new Promise(resolve => setTimeout(resolve, 100))
  const seconds = (performance.now() - t0) / 1000
  if (process.env.BENCH_METRICS === '1') { const c = process.cpuUsage(cpu0); process.stderr.write(`engine process CPU ${((c.user + c.system) / 1e6).toFixed(2)} s = ${((c.user + c.system) / 1e6 / seconds).toFixed(2)} cores\n`) }
  await ch.client.command({ query: 'DROP TABLE sluice.logs_queue_mv' })
  await ch.client.command({ query: 'DROP TABLE sluice.logs_queue' })
  await ch.close()
  process.stdout.write(JSON.stringify({ rows: n, seconds }) + '\n')
}

// ── child: the collector while ClickHouse stalls ───────────────────────────────────────────
async function runStall () {
  const { createClickHouse } = await import(`${dist}/platform/clickhouse.js`)
  const { migrate } = await import(`${dist}/schemas/migrations.js`)
  const { createCollector } = await import(`${dist}/collector/collect.js`)
  const { topicsFor } = await import(`${dist}/schemas/topics.js`)
  const brokers = arg('brokers'); const topics = topicsFor(arg('prefix'))
  const ch = await createClickHouse({ database: 'sluice', dataDir: arg('data') })
  await migrate(ch.client, 'sluice', { retentionDays: 3650 })
  const failFile = path.join(arg('data'), 'stall')
  const collector = createCollector({ brokers: [brokers], topics, clickhouse: ch.client, database: 'sluice', groupId: `${topics.prefix}bench-stall`, faults: { insertFailFile: failFile, crashAfterInsert: null } })
  await collector.start()
  await new Promise(resolve => setTimeout(resolve, 5000))
  const before = rssOf(process.pid)
  fs.writeFileSync(failFile, '')
  let max = 0
  const end = Date.now() + stallS * 1000
  while (Date.now() < end) { max = Math.max(max, rssOf(process.pid)); await new Promise(resolve => setTimeout(resolve, 500)) }
  fs.rmSync(failFile)
  const admin = kafkaOf(brokers).admin(); await admin.connect()
  const lagAtEnd = await lagOf(admin, `${topics.prefix}bench-stall`, topics.logs)
  await admin.disconnect()
  await collector.stop(); await ch.close()
  process.stdout.write(JSON.stringify({ rssBefore: before, rssMax: max, lagAtEnd }) + '\n')
}

function child (childRole, extra) {
  return new Promise((resolve, reject) => {
    const prof = process.env.BENCH_CPU_PROF === childRole ? ['--cpu-prof', `--cpu-prof-dir=${os.tmpdir()}/sluice-bench-prof`] : []
    const p = spawn(process.execPath, [...prof, fileURLToPath(import.meta.url), '--role', childRole, ...extra], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, SLUICE_QUIET: '1' } })
    let out = ''
    p.stdout.on('data', d => { out += d })
    p.once('exit', code => code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop())) : reject(new Error(`${childRole} exited ${code}`)))
  })
}

async function main () {
  const { startLocalKafka } = await import(`${dist}/platform/kafka-launcher.js`)
  const { prepareKafka } = await import(`${dist}/platform/kafka.js`)
  const { topicsFor } = await import(`${dist}/schemas/topics.js`)
  let brokers = process.env.KAFKA_BROKERS
  let kafka = null
  if (brokers === undefined || brokers === '') { kafka = await startLocalKafka({}); brokers = kafka.brokers }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-collector-'))
  try {
    const prefix = `bench-${process.pid}.`
    await prepareKafka([brokers], topicsFor(prefix))
    const total = await produce(brokers, topicsFor(prefix).logs, records)
    const results = []
    for (let r = 0; r < rounds; r++) {
      // alternate the order so neither contender always runs on a warmer machine
      const order = r % 2 === 0 ? ['collector', 'kafka-engine'] : ['kafka-engine', 'collector']
      for (const who of order) {
        const res = await child(who, ['--brokers', brokers, '--prefix', prefix, '--data', path.join(tmp, `${who}-${r}`), '--expect', String(total)])
        results.push({ who, round: r, ...res, rowsPerS: res.rows / res.seconds })
        process.stderr.write(`${who} round ${r}: ${res.rows} rows in ${res.seconds.toFixed(2)} s = ${(res.rows / res.seconds).toFixed(0)} rows/s\n`)
      }
    }
    // the shipper's own format since log segments: the same rows as raw pino lines behind a
    // segment header (ClickHouse's Kafka engine cannot read these into the table: no baseline)
    const segPrefix = `bench-seg-${process.pid}.`
    await prepareKafka([brokers], topicsFor(segPrefix))
    await produce(brokers, topicsFor(segPrefix).logs, records, { segments: true })
    const segResults = []
    for (let r = 0; r < rounds; r++) {
      const res = await child('collector', ['--brokers', brokers, '--prefix', segPrefix, '--data', path.join(tmp, `seg-${r}`), '--expect', String(total)])
      segResults.push({ ...res, rowsPerS: res.rows / res.seconds })
      process.stderr.write(`collector on segments round ${r}: ${res.rows} rows in ${res.seconds.toFixed(2)} s = ${(res.rows / res.seconds).toFixed(0)} rows/s\n`)
    }
    const stallPrefix = `bench-stall-${process.pid}.`
    await prepareKafka([brokers], topicsFor(stallPrefix))
    // a steady stream (~2,400 records/s) for the whole stall
    const stalling = child('stall', ['--brokers', brokers, '--prefix', stallPrefix, '--data', path.join(tmp, 'stall'), '--stall-s', String(stallS)])
    const streaming = produce(brokers, topicsFor(stallPrefix).logs, 10_000_000, { pauseMs: 300, stopAt: Date.now() + (stallS + 5) * 1000 })
    const stall = await stalling
    await streaming
    process.stderr.write(`stall: RSS ${(stall.rssBefore / 2 ** 20).toFixed(1)} MiB before, max ${(stall.rssMax / 2 ** 20).toFixed(1)} MiB during ${stallS} s; backlog ${stall.lagAtEnd} messages\n`)
    writeResults({ total, results, segResults, stall })
  } finally {
    if (kafka !== null) await kafka.stop()
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

function median (xs) { const s = [...xs].sort((a, b) => a - b); const h = Math.floor(s.length / 2); return s.length % 2 === 1 ? s[h] : (s[h - 1] + s[h]) / 2 }

function writeResults ({ total, results, segResults, stall }) {
  const col = results.filter(r => r.who === 'collector')
  const eng = results.filter(r => r.who === 'kafka-engine')
  const lines = [
    '## Collector',
    '',
    `${new Date().toISOString()} · ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), shared · Node ${process.version}`,
    '',
    `Command: \`npx tsc -p . && SLUICE_KAFKA_LIBS=docker/kafka/libs node bench/collector.bench.mjs ${args.join(' ')}\``,
    '',
    `Kafka → ClickHouse logs table, ${total.toLocaleString('en-US')} v1 log records (${perMessage} per message, ${hosts.length} hosts, 4 partitions), fresh embedded ClickHouse per run;`,
    'baseline = ClickHouse\'s own Kafka table engine (JSONEachRow) + materialized view into the same table, same topic, same run.',
    '',
    '| run | collector rows/s | Kafka engine rows/s | ratio |',
    '| --- | ---: | ---: | ---: |',
    ...col.map((c, i) => `| ${i + 1} | ${c.rowsPerS.toFixed(0)} (${c.seconds.toFixed(2)} s) | ${eng[i].rowsPerS.toFixed(0)} (${eng[i].seconds.toFixed(2)} s) | ${(c.rowsPerS / eng[i].rowsPerS).toFixed(2)}× |`),
    `| median | ${median(col.map(c => c.rowsPerS)).toFixed(0)} | ${median(eng.map(c => c.rowsPerS)).toFixed(0)} | ${(median(col.map(c => c.rowsPerS)) / median(eng.map(c => c.rowsPerS))).toFixed(2)}× |`,
    '',
    `The same ${total.toLocaleString('en-US')} rows as log segments (raw pino lines behind a segment header, what the shipper sends since log segments; the collector normalises each line): ${segResults.map(r => `${r.rowsPerS.toFixed(0)} (${r.seconds.toFixed(2)} s)`).join(', ')} rows/s, median ${median(segResults.map(r => r.rowsPerS)).toFixed(0)} = ${(median(segResults.map(r => r.rowsPerS)) / median(eng.map(c => c.rowsPerS))).toFixed(2)}× the engine's median on v1 records (the engine cannot read segments into this table).`,
    '',
    `ClickHouse stalled ${stallS} s (every insert fails) under a ~2,400 records/s stream: collector RSS ${(stall.rssBefore / 2 ** 20).toFixed(1)} MiB before, max ${(stall.rssMax / 2 ** 20).toFixed(1)} MiB during the stall; backlog left in Kafka at the end of the stall: ${stall.lagAtEnd} messages.`,
    ''
  ]
  const file = path.join(here, 'RESULTS.md')
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n\n'
  const re = /## Collector\n[\s\S]*?(?=\n## |$)/
  const next = re.test(old) ? old.replace(re, lines.join('\n')) : `${old.trimEnd()}\n\n${lines.join('\n')}`
  fs.writeFileSync(file, next.endsWith('\n') ? next : next + '\n')
  process.stderr.write(lines.join('\n') + '\n')
}

const roles = { main, collector: runCollector, 'kafka-engine': runKafkaEngine, stall: runStall }
roles[role]().then(() => process.exit(0), err => { process.stderr.write(`${role}: ${err.stack ?? err}\n`); process.exit(1) })
