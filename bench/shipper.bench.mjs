// Shipper benchmarks (run by hand, not in CI): `npm run bench -- shipper`
// Needs kcat; KAFKA_BROKERS or Java for a local broker. Every number is set against a baseline
// measured in the same run on the same machine, median of RUNS:
//   1. file → Kafka (bench/lib/file-to-kafka.mjs): every contender is a whole process, spawned
//      onto a fresh 4-partition topic, timed from spawn to its last acknowledged line, over one
//      file of LINES pino lines: `sluice ship`, plain `kcat -P`, kcat with the shipper's own
//      settings (the headline baseline) and the OpenTelemetry Collector (filelog → kafka, built
//      on first use by bench/otelcol.mjs; skipped with a line saying why where Go is missing)
//   2. main-thread µs per log call: pino + sluice/transport vs pino + pino/file (both worker threads),
//      as wall time inside the calls and as the main thread's own CPU time (Linux schedstat)
//   3. sluice/stats: cost of one sample (what every interval pays)
// Results go into bench/RESULTS.md, section "## Shipper" (replaced on each run).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { requireTools } from './tools.mjs'
import { measureProcess } from './lib/file-to-kafka.mjs'
import { ensureOtelcol, otelcolConfig } from './otelcol.mjs'

// kcat is the baseline of the file → Kafka section, and reads every contender's topic back
if ((process.env.ONLY ?? 'ship,calls,stats').split(',').includes('ship')) requireTools('bench/shipper.bench.mjs', ['kcat'])

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const childEnv = { ...process.env }
const dist = p => path.join(root, 'dist', p)
const RUNS = Number(process.env.RUNS ?? 3)
const ONLY = process.env.ONLY ?? 'ship,calls,stats' // sections to run while tuning; the report needs all three
const LINES = Number(process.env.LINES ?? 1_000_000)
// untimed rounds first: the broker's JIT and page cache warm up for every contender
const WARMUP = Number(process.env.WARMUP ?? 1)
const CALLS = Number(process.env.CALLS ?? 200_000)
// OTEL=0 leaves the collector out; OTEL_DEFAULTS=0 skips the one run with its default queue
const OTEL = process.env.OTEL !== '0'
const OTEL_DEFAULTS = process.env.OTEL_DEFAULTS !== '0'
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'))

const { startLocalKafka } = await import(dist('platform/kafka-launcher.js'))
const { prepareKafka, createKafka } = await import(dist('platform/kafka.js'))
const { topicsFor } = await import(dist('schemas/topics.js'))
const { isSegment, parseSegment } = await import(dist('schemas/segment.js'))

// interrupted: exit, so that the broker's and the running contender's exit handlers end them
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130))
let kafka = null
let brokers = process.env.KAFKA_BROKERS
if (brokers === undefined || brokers === '') { kafka = await startLocalKafka({ dataDir: path.join(work, 'kafka') }); brokers = kafka.brokers }
const brokerPid = kafka?.process.pid

// 1. file → Kafka ---------------------------------------------------------------------------
// pino lines as a service writes them: request logs with req/res objects, some warnings and
// errors with an err object, varied messages; deterministic, so every run ships the same bytes
const file = path.join(work, 'svc', 'app.log')
fs.mkdirSync(path.dirname(file))
{
  const fd = fs.openSync(file, 'w')
  const t0 = Date.parse('2026-12-05T12:00:00.000Z')
  const paths = ['/v1/orders', '/v1/orders/:id', '/v1/cart', '/v1/payments', '/healthz', '/v1/users/:id/addresses']
  const methods = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE']
  let seed = 42
  const rnd = n => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
  let chunk = ''
  for (let i = 0; i < LINES; i++) {
    const r = rnd(1000)
    const base = `"time":${t0 + i * 3 + rnd(3)},"pid":${4242 + (i % 4)},"hostname":"web-${1 + (i % 8)}","reqId":"req-${(i * 2654435761 >>> 0).toString(36)}"`
    const url = paths[rnd(paths.length)].replace(':id', String(rnd(100000)))
    if (r < 900) {
      const status = r < 860 ? 200 : r < 890 ? 404 : 201
      chunk += `{"level":30,${base},"req":{"method":"${methods[rnd(methods.length)]}","url":"${url}","remoteAddress":"10.0.${rnd(256)}.${rnd(256)}"},"res":{"statusCode":${status}},"responseTime":${rnd(900)}.${rnd(10)},"msg":"request completed"}\n`
    } else if (r < 980) {
      chunk += `{"level":40,${base},"orderId":${rnd(1e6)},"attempt":${1 + rnd(3)},"msg":"payment provider slow, retrying order ${rnd(1e6)}"}\n`
    } else {
      chunk += `{"level":50,${base},"err":{"type":"Error","message":"connect ECONNREFUSED 10.0.3.7:5432","stack":"Error: connect ECONNREFUSED 10.0.3.7:5432\\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)","code":"ECONNREFUSED"},"msg":"db query failed"}\n`
    }
    if (i % 10_000 === 9_999) { fs.writeSync(fd, chunk); chunk = '' }
  }
  fs.writeSync(fd, chunk)
  fs.closeSync(fd)
}
const fileBytes = fs.statSync(file).size

const admin = createKafka([brokers], 'bench-poll').admin()
const shipOn = ONLY.includes('ship')
if (shipOn) await admin.connect()
const otel = shipOn && OTEL ? ensureOtelcol() : { bin: null, why: 'otelcol left out (OTEL=0)' }
if (otel.bin === null && shipOn) process.stderr.write(`${otel.why}\n`)

// the shipper's own settings on the kcat side: acks=all, gzip level 1, batches of ≤ 8192 lines
// and ≤ 2 MiB. Its pipeline shape (no linger, two batches in flight) is left to librdkafka's
// defaults: as linger.ms=0 and max.in.flight=2 they made kcat slower and costlier, not closer
// (docs/design/2026-12-05-shipper-bench-fairness.md), and the baseline is kcat at its best
const kcatShipSettings = ['-X', 'acks=all', '-z', 'gzip', '-X', 'compression.level=1', '-X', 'batch.num.messages=8192', '-X', 'batch.size=2097152', '-X', 'message.max.bytes=2097152']
const contenders = {
  kcat: { label: '`kcat -P -l` (librdkafka defaults: acks=all, no compression, 1 message per line)', run: t => ({ cmd: 'kcat', args: ['-P', '-b', brokers, '-t', t.logs, '-l', file] }) },
  kcatGzip: { label: '`kcat -P -l -X acks=all -z gzip` (librdkafka defaults otherwise: gzip level -1, linger 5 ms, 10,000-message batches)', run: t => ({ cmd: 'kcat', args: ['-P', '-b', brokers, '-t', t.logs, '-l', '-X', 'acks=all', '-z', 'gzip', file] }) },
  kcatShip: { label: `\`kcat -P -l ${kcatShipSettings.join(' ')}\``, run: t => ({ cmd: 'kcat', args: ['-P', '-b', brokers, '-t', t.logs, '-l', ...kcatShipSettings, file] }) },
  sluice: { label: '`sluice ship --path FILE` (defaults: acks=all, gzip level 1, log segments, checkpoints)', run: (t, dir) => ({ cmd: path.join(root, 'bin', 'sluice'), args: ['ship', '--path', file, '--host', 'bench'], env: { KAFKA_BROKERS: brokers, SLUICE_DATA_DIR: dir, SLUICE_TOPIC_PREFIX: t.prefix, SLUICE_QUIET: '1' } }) }
}
const otelRun = matched => (t, dir) => {
  fs.mkdirSync(path.join(dir, 'storage'), { recursive: true })
  const config = path.join(dir, 'otelcol.yaml')
  fs.writeFileSync(config, otelcolConfig({ file, brokers, topic: t.logs, storageDir: path.join(dir, 'storage'), matched }))
  return { cmd: otel.bin, args: [`--config=${config}`] }
}
if (otel.bin !== null) contenders.otelcol = { label: 'OpenTelemetry Collector: filelog (start_at beginning, file_storage) → kafka (`encoding: raw`, 1 message per line, acks=all, gzip level 1, sending_queue block_on_overflow, batches of 8192)', run: otelRun(true) }
const names = Object.keys(contenders)

async function runOne (name, tag, run) {
  const topics = topicsFor(`bench-${name}-${tag}-${Date.now()}.`)
  await prepareKafka([brokers], topics)
  const dir = path.join(work, `${name}-${tag}`)
  fs.mkdirSync(dir, { recursive: true })
  const c = run(topics, dir)
  const r = await measureProcess({ cmd: c.cmd, args: c.args, env: { ...childEnv, ...c.env }, topic: topics.logs, brokers, admin, brokerPid, isSegment, parseSegment })
  if (process.env.BENCH_DEBUG === '1') process.stderr.write(`${name}: ${JSON.stringify(r)}\n`)
  if (r.failed) throw new Error(`${name} failed (${JSON.stringify(r.exit)}): ${r.stderr}`)
  return r
}
// every line delivered: as many lines, and as many bytes of line text, as the file holds
const whole = r => r.delivered === LINES && r.bytes === fileBytes
const fmtRun = (name, r) => `${name} ${Math.round(r.wholeRate)} (steady ${Math.round(r.steadyRate)}) lines/s, ${r.cpuS.toFixed(2)} s CPU${whole(r) ? '' : `, DELIVERED ${r.delivered} of ${LINES} lines, ${r.bytes} of ${fileBytes} bytes`}`
const res = Object.fromEntries(names.map(n => [n, []]))
const rounds = shipOn ? WARMUP + RUNS : 0
for (let i = 0; i < rounds; i++) {
  const counted = i >= WARMUP
  // each round starts with a different contender, so none always runs on the warmer machine
  const order = names.map((_, k) => names[(k + i) % names.length])
  const out = []
  for (const name of order) {
    const r = await runOne(name, String(i), contenders[name].run)
    if (counted) res[name].push(r)
    out.push(fmtRun(name, r))
  }
  process.stderr.write(`file→Kafka ${counted ? `run ${i - WARMUP + 1}/${RUNS}` : `warm-up ${i + 1}/${WARMUP} (not counted)`}: ${out.join('; ')}\n`)
}
// once: the collector with its exporter's default sending queue (drops when it is full)
let otelDefaults = null
if (otel.bin !== null && OTEL_DEFAULTS && rounds > 0) {
  otelDefaults = await runOne('otelcol-defaults', 'd', otelRun(false))
  process.stderr.write(`file→Kafka otelcol with its default sending queue: ${fmtRun('otelcol-defaults', otelDefaults)}\n`)
}
if (shipOn) await admin.disconnect()

// 2. transport main-thread cost (child process per run; only the time inside logger calls) --
const callBench = path.join(root, 'bench', 'transport-calls.mjs')
function callCost (kind, run) {
  const dir = path.join(work, `calls-${kind}-${run}`)
  const r = spawnSync(process.execPath, [callBench, kind, dir, String(CALLS)], { cwd: root, encoding: 'utf8', env: childEnv })
  if (r.status !== 0) throw new Error(`${kind} call bench failed: ${r.stderr}`)
  return JSON.parse(r.stdout)
}
const calls = { pinoFile: [], sluice: [], pinoFileCpu: [], sluiceCpu: [] }
for (let run = 0; run < (ONLY.includes('calls') ? RUNS : 0); run++) {
  // alternate which side goes first, so neither always runs on the warmer machine
  const order = run % 2 === 0 ? ['pino', 'sluice'] : ['sluice', 'pino']
  for (const kind of order) {
    const c = callCost(kind, run)
    calls[kind === 'pino' ? 'pinoFile' : 'sluice'].push(c.wall)
    calls[kind === 'pino' ? 'pinoFileCpu' : 'sluiceCpu'].push(c.cpu)
  }
  process.stderr.write(`log call run ${run + 1}/${RUNS}: pino/file ${calls.pinoFile.at(-1).toFixed(3)} µs (cpu ${calls.pinoFileCpu.at(-1).toFixed(3)}), sluice/transport ${calls.sluice.at(-1).toFixed(3)} µs (cpu ${calls.sluiceCpu.at(-1).toFixed(3)})\n`)
}

// 3. stats sampling cost ------------------------------------------------------------------
const statsBench = path.join(root, 'bench', 'stats-sample.mjs')
const stats = []
for (let run = 0; run < (ONLY.includes('stats') ? RUNS : 0); run++) {
  const r = spawnSync(process.execPath, [statsBench], { cwd: root, encoding: 'utf8', env: childEnv })
  if (r.status !== 0) throw new Error(`stats bench failed: ${r.stderr}`)
  stats.push(JSON.parse(r.stdout))
}

if (ONLY !== 'ship,calls,stats') { if (kafka !== null) await kafka.stop(); fs.rmSync(work, { recursive: true, force: true }); process.exit(0) }
// report -------------------------------------------------------------------------------------
const m = { pinoFile: median(calls.pinoFile), sluice: median(calls.sluice), pinoFileCpu: median(calls.pinoFileCpu), sluiceCpu: median(calls.sluiceCpu), stats: median(stats.map(s => s.us)), conn: median(stats.map(s => s.connUs)) }
const fmt = n => Math.round(n).toLocaleString('en-US')
const med = (name, key) => median(res[name].map(r => r[key]))
// ratios within each round (contenders minutes apart, not rounds apart: the machine is shared),
// then their median
const paired = (name, key, against = 'kcatShip') => median(res[name].map((r, i) => r[key] / res[against][i][key]))
const pairedList = (name, key, against = 'kcatShip') => res[name].map((r, i) => (r[key] / res[against][i][key]).toFixed(2)).join(', ')
const delivered = rs => rs.every(whole) ? `all ${fmt(LINES)}` : `**${rs.map(r => `${fmt(r.delivered)} lines, ${fmt(r.bytes)} bytes`).join('; ')}**`
const shipRow = name => {
  const rs = res[name]
  const cpu = med(name, 'cpuS')
  const broker = rs.every(r => r.brokerCpuS !== null) ? `${med(name, 'brokerCpuS').toFixed(2)} s` : '–'
  return `| ${contenders[name].label} | ${fmt(med(name, 'wholeRate'))} | ${paired(name, 'wholeRate').toFixed(2)}× | ${fmt(med(name, 'steadyRate'))} | ${paired(name, 'steadyRate').toFixed(2)}× | ${med(name, 'firstS').toFixed(2)} s | ${cpu.toFixed(2)} s | ${paired(name, 'cpuS').toFixed(2)}× | ${fmt(LINES / cpu)} | ${broker} | ${delivered(rs)} | ${fmt(median(rs.map(r => r.messages)))} |`
}
const otelVsSluice = res.otelcol === undefined ? '' : `\n\nThe OpenTelemetry Collector against \`sluice ship\`, within each round: ${paired('otelcol', 'wholeRate', 'sluice').toFixed(2)}× its lines/s whole (per round ${pairedList('otelcol', 'wholeRate', 'sluice')}), ${paired('otelcol', 'steadyRate', 'sluice').toFixed(2)}× from the first acknowledgement, at ${paired('otelcol', 'cpuS', 'sluice').toFixed(2)}× its CPU time (per round ${pairedList('otelcol', 'cpuS', 'sluice')}).`
const ratioRuns = names.filter(n => n !== 'kcatShip').map(n => `${n} ${pairedList(n, 'wholeRate')} (from the first acknowledgement ${pairedList(n, 'steadyRate')})`).join('; ')
const rawRuns = names.map(n => `${n}: ${res[n].map(r => `${fmt(r.wholeRate)} / ${fmt(r.steadyRate)} lines/s, ${r.cpuS.toFixed(2)} s CPU`).join('; ')}`).join(' — ')
const defaultsLine = otelDefaults === null
  ? (otel.bin === null ? `The OpenTelemetry Collector was not measured: ${otel.why}.` : 'The OpenTelemetry Collector with its default sending queue was not run (OTEL_DEFAULTS=0).')
  : `The OpenTelemetry Collector with the exporter's default sending queue (no \`block_on_overflow\`, no queue batching; the same receiver, gzip level 1 and acks=all), one run: delivered ${fmt(otelDefaults.delivered)} of ${fmt(LINES)} lines (${otelDefaults.delivered === LINES ? 'none dropped' : `${(100 * (1 - otelDefaults.delivered / LINES)).toFixed(1)}% dropped`}) in ${otelDefaults.wholeS.toFixed(2)} s, ${otelDefaults.cpuS.toFixed(2)} s CPU${/sending queue is full/i.test(otelDefaults.stderr) ? '; its log says "sending queue is full" for the batches it dropped' : ''}.`
const section = `## Shipper

Run ${new Date().toISOString()} on ${os.cpus().length} cores (${os.cpus()[0].model}), load average ${os.loadavg().map(x => x.toFixed(2)).join(' ')} at the end, Node ${process.version}, ${kafka === null ? `Kafka ${brokers}` : 'a local single-node Kafka broker (project launcher)'}.
Command: \`npm run build && RUNS=${RUNS} LINES=${LINES} CALLS=${CALLS} WARMUP=${WARMUP} node bench/shipper.bench.mjs\` (\`npm run bench -- shipper\` runs the same) — medians of ${RUNS} rounds after ${WARMUP} untimed warm-up round${WARMUP === 1 ? '' : 's'}; each round runs every contender once, starting with a different one. Method: [docs/design/2026-12-05-shipper-bench-fairness.md](../docs/design/2026-12-05-shipper-bench-fairness.md).

File → Kafka: ${fmt(LINES)} pino lines (${(fileBytes / 1048576).toFixed(1)} MiB, one file for all), each contender a whole process on a fresh 4-partition topic, from spawn to the poll (every 50 ms) that saw its last line acknowledged; every line read back and counted. Baseline: kcat with the shipper's settings; "vs baseline" is the median of the ratios within each round. Lines/s and CPU are medians over the rounds.

| contender | lines/s, whole process | vs baseline | lines/s from the first acknowledgement | vs baseline | first acknowledgement after | CPU (user+sys) | vs baseline | lines per CPU second | broker CPU | lines delivered | messages |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${names.map(shipRow).join('\n')}${otelVsSluice}

${defaultsLine}

| benchmark | baseline (same run) | Sluice | ratio |
| --- | --- | --- | --- |
| main-thread cost per log call, ${fmt(CALLS)} calls: wall time inside the calls | pino + \`pino/file\` transport: ${m.pinoFile.toFixed(3)} µs | pino + \`sluice/transport\`: ${m.sluice.toFixed(3)} µs | ${(m.sluice / m.pinoFile).toFixed(3)}× |
| same calls: the main thread's own CPU time (schedstat) | ${m.pinoFileCpu.toFixed(3)} µs | ${m.sluiceCpu.toFixed(3)} µs | ${(m.sluiceCpu / m.pinoFileCpu).toFixed(3)}× |
| \`sluice/stats\` one sample (100 open server connections) | one \`server.getConnections()\` round: ${m.conn.toFixed(1)} µs | \`monitor.sample()\`: ${m.stats.toFixed(1)} µs = ${(100 * m.stats / 60e6).toExponential(1)} % of a 60 s interval | ${(m.stats / m.conn).toFixed(1)}× |

Raw runs (whole / from first acknowledgement) — ${rawRuns}. Per-round ratios to the baseline, whole process: ${ratioRuns}. Log calls — pino/file: ${calls.pinoFile.map(x => x.toFixed(3)).join(', ')} µs (CPU ${calls.pinoFileCpu.map(x => x.toFixed(3)).join(', ')}); sluice/transport: ${calls.sluice.map(x => x.toFixed(3)).join(', ')} µs (CPU ${calls.sluiceCpu.map(x => x.toFixed(3)).join(', ')}); stats sample: ${stats.map(s => s.us.toFixed(1)).join(', ')} µs.
`
const resultsFile = path.join(root, 'bench', 'RESULTS.md')
let doc = fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8') : '# Benchmark results\n\nEach section is regenerated by its own script in bench/.\n'
const re = /## Shipper\n[\s\S]*?(?=\n## |$)/
doc = re.test(doc) ? doc.replace(re, section) : `${doc.trimEnd()}\n\n${section}`
fs.writeFileSync(resultsFile, doc)
process.stdout.write(section)
if (kafka !== null) await kafka.stop()
fs.rmSync(work, { recursive: true, force: true })
process.exit(0)
