// Child of bench/shipper.bench.mjs: µs per sluice/stats sample with 100 open server connections.
import http from 'node:http'
import net from 'node:net'
import { monitorProcess } from 'sluice/stats'
const server = http.createServer((q, s) => s.end())
await new Promise(r => server.listen(0, '127.0.0.1', r))
const socks = []
for (let i = 0; i < 100; i++) socks.push(await new Promise(r => { const s = net.connect(server.address().port, '127.0.0.1', () => r(s)) }))
let logged = 0
const mon = monitorProcess({ info () { logged++ } }, { servers: [server], intervalMs: 60000 })
const n = 2000
for (let i = 0; i < 100; i++) await mon.sample() // warm up
const t0 = process.hrtime.bigint()
for (let i = 0; i < n; i++) await mon.sample()
const us = Number(process.hrtime.bigint() - t0) / n / 1000
const c0 = process.hrtime.bigint()
for (let i = 0; i < n; i++) await new Promise(r => server.getConnections(() => r()))
const connUs = Number(process.hrtime.bigint() - c0) / n / 1000
mon.stop(); for (const s of socks) s.destroy(); server.close()
process.stdout.write(JSON.stringify({ us, connUs, logged }))
