// Child of bench/shipper.bench.mjs: main-thread µs per pino log call with the given transport
// (argv: pino|sluice dir calls). Only the time inside logger calls is counted.
import pino from 'pino'
const [kind, dir, n] = process.argv.slice(2)
const target = kind === 'sluice' ? { target: 'sluice/transport', options: { service: 'bench', dir } } : { target: 'pino/file', options: { destination: dir + '/pino.log', mkdir: true } }
const logger = pino({ transport: target })
await new Promise(r => setTimeout(r, 500)) // worker up
let ns = 0n
for (let i = 0; i < Number(n); i += 1000) {
  const t0 = process.hrtime.bigint()
  for (let k = 0; k < 1000; k++) logger.info({ reqId: 'r-' + i, orderId: i + k }, 'payment accepted')
  ns += process.hrtime.bigint() - t0
  await new Promise(r => setImmediate(r)) // a real app yields; the worker drains meanwhile
}
process.stdout.write(String(Number(ns) / Number(n) / 1000))
