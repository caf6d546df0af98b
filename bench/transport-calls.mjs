// Child of bench/shipper.bench.mjs: main-thread cost per pino log call with the given transport
// (argv: pino|sluice dir calls). Only the time inside logger calls is counted, two ways:
//   wall — hrtime around each burst of 1,000 calls (includes time the main thread was
//          preempted by other threads or processes on the same core);
//   cpu  — the main thread's own on-CPU time over the same bursts, from the kernel's
//          /proc/self/task/<pid>/schedstat (ns; Linux), i.e. what the calls themselves cost.
// Prints {"wall": µs per call, "cpu": µs per call}.
import fs from 'node:fs'
import pino from 'pino'
const [kind, dir, n] = process.argv.slice(2)
const target = kind === 'sluice' ? { target: 'sluice/transport', options: { service: 'bench', dir } } : { target: 'pino/file', options: { destination: dir + '/pino.log', mkdir: true } }
const logger = pino({ transport: target })
await new Promise(r => setTimeout(r, 500)) // worker up
// the main thread's task id is the process id
const schedFd = fs.openSync(`/proc/self/task/${process.pid}/schedstat`, 'r')
const schedBuf = Buffer.alloc(128)
const onCpuNs = () => { const k = fs.readSync(schedFd, schedBuf, 0, 128, 0); return BigInt(schedBuf.toString('latin1', 0, k).split(' ')[0]) }
let ns = 0n
let cpuNs = 0n
for (let i = 0; i < Number(n); i += 1000) {
  const c0 = onCpuNs()
  const t0 = process.hrtime.bigint()
  for (let k = 0; k < 1000; k++) logger.info({ reqId: 'r-' + i, orderId: i + k }, 'payment accepted')
  ns += process.hrtime.bigint() - t0
  cpuNs += onCpuNs() - c0
  await new Promise(r => setImmediate(r)) // a real app yields; the worker drains meanwhile
}
process.stdout.write(JSON.stringify({ wall: Number(ns) / Number(n) / 1000, cpu: Number(cpuNs) / Number(n) / 1000 }))
