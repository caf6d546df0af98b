// `sluice demo` — a small simulated fleet logging into this Sluice, so a newcomer sees it work:
//   18 pino loggers (6 hosts × 3 services), each writing through sluice/transport (host set per
//   simulated host) ──▶ $SLUICE_DATA_DIR/spool ──▶ the shipper of `sluice up` ──▶ Kafka ──▶ ClickHouse
// pino-http style request lines with responseTime, errors with stacks, slow-request warnings,
// process stats every few seconds; one process leaks heap, one leaks file descriptors.
import { parseArgs } from 'node:util'
import path from 'node:path'
import pino, { type Logger } from 'pino'
import type { Writable } from 'node:stream'
import sluiceTransport from '../transport/transport.js'
import { loadConfig } from '../platform/config.js'
import { errors } from '../platform/errors.js'
import { info } from '../platform/log.js'
import { spoolRootOf } from '../schemas/spool-layout.js'
import { parseDurationMs } from '../query-api/time.js'

export const demoHosts = ['web-1', 'web-2', 'web-3', 'api-1', 'api-2', 'worker-1']
export const demoServices = ['checkout', 'search', 'billing']

const routes: Record<string, string[]> = {
  checkout: ['GET /cart', 'POST /cart/items', 'POST /checkout', 'GET /orders/:id'],
  search: ['GET /search?q=shoes', 'GET /search?q=red+dress', 'GET /suggest?q=sn', 'GET /products/:id'],
  billing: ['POST /invoices', 'GET /invoices/:id', 'POST /payments', 'POST /refunds']
}
const failures = [
  ['connect ECONNREFUSED 10.0.3.7:5432', 'Client.connect (/app/node_modules/pg/lib/client.js:132:16)'],
  ['upstream timeout after 3000 ms: payments-gateway', 'PaymentsClient.charge (/app/src/payments/client.ts:88:11)'],
  ["Cannot read properties of undefined (reading 'sku')", 'priceLine (/app/src/cart/price.ts:41:23)']
]

interface Proc { host: string, service: string, pid: number, logger: Logger, stream: Writable, heap: number, fds: number, reqs: number, leak: 'heap' | 'fds' | null }

const help = `Usage: sluice demo [--duration 5m] [--rate N] [--stats-every 5s] [--data-dir DIR]

Feeds the running Sluice (sluice up with the same SLUICE_DATA_DIR) a simulated fleet:
6 hosts × 3 services logging through pino + sluice/transport into $SLUICE_DATA_DIR/spool,
where the shipper of \`sluice up\` picks the lines up. Request lines (pino-http style, with
responseTime), errors with stacks, slow-request warnings and process stats; billing on api-2
leaks heap, search on worker-1 leaks file descriptors. Ctrl-C (or --duration) stops it.
  --duration D     stop after D (e.g. 90s, 5m); default: until Ctrl-C
  --rate N         request lines per second over the whole fleet, default 40
  --stats-every D  process stats interval, default 5s`

function pick<T> (xs: T[]): T { return xs[Math.floor(Math.random() * xs.length)] }

export async function demoCommand (argv: string[]): Promise<number | undefined> {
  const { values } = parseArgs({ args: argv, options: { duration: { type: 'string' }, rate: { type: 'string' }, 'stats-every': { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true })
  if (values.help === true) { console.log(help); return }
  const cfg = loadConfig(process.env, values['data-dir'] !== undefined ? { 'data-dir': values['data-dir'] } : {})
  const durationMs = values.duration === undefined ? null : parseDurationMs(values.duration)
  if (durationMs === null && values.duration !== undefined) throw errors.CONFIG_INVALID('--duration', values.duration, 'expected a duration like 90s or 5m')
  const rate = values.rate === undefined ? 40 : Number(values.rate)
  if (!Number.isFinite(rate) || rate <= 0 || rate > 100_000) throw errors.CONFIG_INVALID('--rate', values.rate ?? '', 'expected lines per second, 1-100000')
  const statsMs = values['stats-every'] === undefined ? 5000 : parseDurationMs(values['stats-every'])
  if (statsMs === null || statsMs < 500) throw errors.CONFIG_INVALID('--stats-every', values['stats-every'] ?? '', 'expected a duration of at least 500ms, like 5s')
  const dir = spoolRootOf(cfg.dataDir)

  const procs: Proc[] = []
  let pid = 4100
  for (const host of demoHosts) {
    for (const service of demoServices) {
      // spool files are named <ms>-<pid>-<seq> with seq per writer: two writers of one process
      // started in the same millisecond would share a file, so each starts in its own
      await new Promise(resolve => setTimeout(resolve, 3))
      const stream = await sluiceTransport({ service, host, dir })
      // pino's own pid and hostname would describe this one process; each simulated one has its own
      const logger = pino({ base: { pid: ++pid }, level: 'debug' }, stream)
      const leak = host === 'api-2' && service === 'billing' ? 'heap' : host === 'worker-1' && service === 'search' ? 'fds' : null
      procs.push({ host, service, pid, logger, stream, heap: 40e6 + Math.random() * 20e6, fds: 30 + Math.floor(Math.random() * 10), reqs: 0, leak })
    }
  }
  console.log(`sluice demo: ${demoHosts.length} hosts × ${demoServices.length} services (${procs.length} processes) logging through sluice/transport into ${dir}`)
  console.log(`  ~${rate} request lines/s, process stats every ${statsMs / 1000} s; billing@api-2 leaks heap, search@worker-1 leaks file descriptors`)
  console.log(`  open http://${cfg.bind.includes(':') ? `[${cfg.bind}]` : cfg.bind}:${cfg.port}/ (the shipper of \`sluice up\` with this SLUICE_DATA_DIR ships the lines); Ctrl-C stops${durationMs !== null ? `, or after ${values.duration}` : ''}`)

  let sent = 0
  const request = (p: Proc): void => {
    p.reqs++
    const [method, url] = pick(routes[p.service]).split(' ')
    const id = `${p.host}-${p.pid}-${p.reqs}`
    const slow = Math.random() < 0.03
    const responseTime = Math.round(slow ? 1000 + Math.random() * 4000 : 5 + Math.random() * Math.random() * 300)
    const req = { id, method, url, remoteAddress: `10.0.${Math.floor(Math.random() * 8)}.${Math.floor(Math.random() * 250)}` }
    if (Math.random() < 0.02) {
      const [message, frame] = pick(failures)
      const err = { type: 'Error', message, stack: `Error: ${message}\n    at ${frame}\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)\n    at async handler (/app/src/routes/${p.service}.ts:27:5)` }
      p.logger.error({ req, res: { statusCode: 500 }, err, responseTime }, 'request errored')
    } else if (slow) {
      p.logger.warn({ req, res: { statusCode: 200 }, responseTime }, 'request completed slowly')
    } else {
      p.logger.info({ req, res: { statusCode: Math.random() < 0.05 ? 404 : 200 }, responseTime }, 'request completed')
    }
    if (Math.random() < 0.05) p.logger.debug({ cacheHit: Math.random() < 0.8, key: `${p.service}:${p.reqs % 97}` }, 'cache lookup')
    sent++
  }
  const stats = (p: Proc): void => {
    if (p.leak === 'heap') p.heap += 6e6 + Math.random() * 2e6
    else p.heap = Math.max(30e6, p.heap + (Math.random() - 0.5) * 4e6)
    if (p.leak === 'fds') p.fds += 7
    const fdLimit = 1024
    if (p.leak === 'heap' && Math.random() < 0.3) p.logger.warn({ heapUsed: Math.round(p.heap), cacheEntries: Math.round(p.heap / 2000) }, 'session cache keeps growing')
    if (p.leak === 'fds' && p.fds > fdLimit * 0.8) p.logger.error({ err: { type: 'Error', code: 'EMFILE', message: `EMFILE: too many open files, open '/app/index/segment-${p.fds}.bin'`, stack: `Error: EMFILE: too many open files, open '/app/index/segment-${p.fds}.bin'\n    at Object.openSync (node:fs:573:18)\n    at SegmentReader.open (/app/src/index/reader.ts:52:17)` } }, 'cannot open index segment')
    p.logger.info({
      sluice_stats: {
        heap_used: Math.round(p.heap), heap_total: Math.round(p.heap * 1.3), heap_limit: 2_197_815_296, rss: Math.round(p.heap * 1.9 + 40e6), external: 2_500_000, array_buffers: 180_000,
        connections: p.service === 'checkout' ? 20 + Math.floor(Math.random() * 30) : 5 + Math.floor(Math.random() * 10),
        fds: Math.min(p.fds, fdLimit), fd_limit: fdLimit,
        eventloop_delay_p50_ms: 10 + Math.random() * 2, eventloop_delay_p99_ms: 12 + Math.random() * 30, eventloop_delay_max_ms: 20 + Math.random() * 80,
        eventloop_utilization: 0.05 + Math.random() * 0.3, gc_count: Math.floor(Math.random() * 12), gc_ms: Math.random() * 20, interval_ms: statsMs
      }
    }, 'process stats')
  }

  for (const p of procs) p.logger.info({ node: process.version, port: 3000 }, `${p.service} listening on :3000`)
  const tickMs = 100
  let owed = 0
  const tick = setInterval(() => {
    owed += rate * tickMs / 1000
    for (; owed >= 1; owed--) request(pick(procs))
  }, tickMs)
  const statsTimer = setInterval(() => { for (const p of procs) stats(p) }, statsMs)
  const report = setInterval(() => { info(`demo: ${sent} request lines sent so far`) }, 10_000)
  for (const p of procs) stats(p)

  await new Promise<void>(resolve => {
    const done = (): void => { process.removeListener('SIGINT', done); process.removeListener('SIGTERM', done); resolve() }
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
    if (durationMs !== null) setTimeout(done, durationMs).unref()
  })
  clearInterval(tick); clearInterval(statsTimer); clearInterval(report)
  for (const p of procs) p.logger.info('shutting down')
  await Promise.all(procs.map(p => new Promise<void>(resolve => { p.stream.once('finish', () => resolve()); p.stream.end() })))
  console.log(`sluice demo: stopped after ${sent} request lines; they stay searchable in Sluice`)
  return 0
}
