// Issue 15 item 4 (resume storms): 40 concurrent /v1/tail with `Last-Event-ID: k1.0-0-0`
// used to open 40 Kafka consumers and parse the whole topic on the main thread at once.
// Now at most maxResumes (2) read back from Kafka at a time, 16 more wait, the rest get 503
// + Retry-After; every served client gets every line exactly once; /v1/logs keeps answering
// (its p99 is reported); the server (`sluice serve`, a child process) reports its RSS, V8 heap
// and external memory before, at the end of and a minute after the storm, and its memory maps
// go to a temp dir (smaps-*) to see which mappings grew; a minute after, RSS is within 10% of before; a resume further back than
// resumeMaxMessages is a 410 naming the oldest position offered, and resuming from it works.
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import type { Producer } from 'kafkajs'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { createKafka, prepareKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { migrate } from '../../schemas/migrations.js'
import { buildQueryApi } from '../../query-api/server.js'
import { runCli, stopChild, tempDir, uniquePrefix, waitFor, type Running } from '../helpers/env.js'

const lines = 20_000
const perMessage = 50
const clients = 40

interface Client { status: Promise<number>, body: () => string, numbers: () => number[], res: Promise<http.IncomingMessage>, close: () => void }

/** An SSE client that pauses its response until `hold` resolves (so the first resumes stay busy). */
function resumeClient (url: string, lastId: string, hold: Promise<void>): Client {
  let buf = ''
  let body = ''
  const numbers: number[] = []
  let req!: http.ClientRequest
  const res = new Promise<http.IncomingMessage>((resolve, reject) => {
    req = http.get(url, { headers: { accept: 'text/event-stream', 'last-event-id': lastId } }, r => {
      r.setEncoding('utf8')
      if (r.statusCode === 200) {
        r.pause()
        void hold.then(() => r.resume())
      }
      r.on('data', (d: string) => {
        if (r.statusCode !== 200) { body += d; return }
        buf += d
        let i
        while ((i = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          // the test process is also the server: a regex instead of JSON.parse keeps the 18
          // readers' share of the event loop small, so /v1/logs latency is mostly the server's
          const n = /^event: line\ndata: .*"fields":\{"n":(\d+)\}/m.exec(block)
          if (n !== null) numbers.push(Number(n[1]))
        }
      })
      resolve(r)
    })
    req.on('error', reject)
  })
  return { status: res.then(r => r.statusCode ?? 0), body: () => body, numbers: () => numbers, res, close: () => req.destroy() }
}

const metric = (text: string, name: string): number => Number(new RegExp(`^${name.replace(/[{}"]/g, c => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1])

describe('tail resume storm: bounded catch-up from Kafka', () => {
  const brokers = [inject('kafkaBrokers')]
  const topics = topicsFor(uniquePrefix('storm'))
  let ch: ClickHouse
  // the storm's server is `sluice serve` in a child process, so its memory is measured alone
  let server: Running
  let shallow: FastifyInstance
  let base: string
  let shallowBase: string
  let reportDir: string
  let producer: Producer

  beforeAll(async () => {
    await prepareKafka(brokers, topics)
    producer = createKafka(brokers, 'storm-test').producer({ allowAutoTopicCreation: false })
    await producer.connect()
    // the whole topic is written before the servers start: none of it is in a ring
    for (let m = 0; m < lines / perMessage; m += 50) {
      const messages = []
      for (let k = m; k < Math.min(lines / perMessage, m + 50); k++) {
        const recs = []
        for (let n = k * perMessage; n < (k + 1) * perMessage; n++) recs.push(JSON.stringify({ v: 1, kind: 'log', ts: new Date().toISOString(), host: 'h-storm', service: 'api', pid: 1, level: 'info', msg: `storm line ${n} ${'x'.repeat(150)}`, fields: { n }, src: 'fe-storm', path: '/app.log', off: n * 200, flags: [] }))
        messages.push({ key: 'h-storm', partition: 0, value: recs.join('\n') + '\n' })
      }
      await producer.send({ topic: topics.logs, messages, acks: -1 })
    }
    ch = await createClickHouse({ database: 'sluice', dataDir: tempDir('qstorm') })
    await migrate(ch.client, 'sluice', { retentionDays: 30 })
    reportDir = tempDir('qstorm-report')
    server = runCli(['serve'], { KAFKA_BROKERS: brokers.join(','), SLUICE_DATA_DIR: tempDir('qstorm-serve'), SLUICE_PORT: '0', SLUICE_TOPIC_PREFIX: topics.prefix, NODE_OPTIONS: `--report-on-signal --report-signal=SIGUSR2 --report-directory=${reportDir}` })
    base = await waitFor('sluice serve to print its URL', async () => {
      if (server.child.exitCode !== null) throw new Error(`sluice serve exited ${server.child.exitCode}: ${server.stderr()}`)
      return /Sluice query API: (\S+)/.exec(server.stdout())?.[1]
    }, 120_000)
    shallow = await buildQueryApi({ clickhouse: ch.client, database: 'sluice', tokens: [], registries: [], tail: { brokers, topics, resumeMaxMessages: 100 } })
    await shallow.listen({ port: 0, host: '127.0.0.1' })
    shallowBase = `http://127.0.0.1:${(shallow.server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await producer?.disconnect()
    if (server !== undefined) await stopChild(server)
    await shallow?.close()
    await ch?.close()
  })

  it(`${clients} concurrent resumes from the oldest position: 2 read Kafka at once, 16 wait, 22 get 503; each served client gets all ${lines} lines once; /v1/logs keeps answering`, async () => {
    const pid = server.child.pid!
    const rss = (): number => Math.round(Number(/^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024)
    // a Node diagnostic report of the server (SIGUSR2): its V8 heap next to its RSS
    const heap = async (label: string): Promise<string> => {
      const before = new Set(fs.readdirSync(reportDir))
      server.child.kill('SIGUSR2')
      const f = await waitFor('the report', async () => fs.readdirSync(reportDir).find(n => !before.has(n) && n.endsWith('.json')), 30_000)
      const r = await waitFor('the report to be written', async () => { try { return JSON.parse(fs.readFileSync(path.join(reportDir, f), 'utf8')) } catch { return null } }, 30_000)
      const mb = (n: number): number => Math.round(n / 1048576)
      const h = r.javascriptHeap
      const spaces = Object.entries(h.heapSpaces as Record<string, { used: number }>).map(([k, v]) => `${k}=${mb(v.used)}`).join(' ')
      const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
      fs.writeFileSync(path.join(reportDir, `smaps-${label.replace(/ /g, '-')}`), fs.readFileSync(`/proc/${pid}/smaps`))
      const kb = (k: string): number => Math.round(Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, 'm').exec(st)?.[1]) / 1024)
      const pm = await (await fetch(`${base}/metrics`)).text()
      return `${label}: idle GCs ${metric(pm, 'sluice_tail_resume_idle_gcs_total')}, external ${mb(metric(pm, 'nodejs_external_memory_bytes'))} MB; anon ${kb('RssAnon')} file ${kb('RssFile')} threads ${/^Threads:\s+(\d+)/m.exec(st)?.[1]}; rss ${mb(Number(r.resourceUsage.rss ?? 0))} heap used ${mb(h.usedMemory)} of ${mb(h.totalMemory)} MB (${spaces})`
    }
    console.log(await heap('before'))
    const rssBefore = rss()
    const probe = async (): Promise<number> => await new Promise<number>((resolve, reject) => http.get(`${base}/v1/logs?since=1h&limit=10`, { localAddress: '127.0.0.2' }, res => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) }).on('error', reject))
    const quiet: number[] = []
    for (let i = 0; i < 20; i++) { const t0 = performance.now(); expect(await probe()).toBe(200); quiet.push(performance.now() - t0) }
    let release!: () => void
    const hold = new Promise<void>(resolve => { release = resolve })
    const url = `${base}/v1/tail?host=h-storm`
    const cs = Array.from({ length: clients }, () => resumeClient(url, 'k1.0-0-0', hold))

    // /v1/logs, one request after another, for the whole storm (a second client address)
    const latencies: number[] = []
    const logStatuses = new Map<number, number>()
    let storming = true
    const prober = (async () => {
      while (storming) {
        const t0 = performance.now()
        const r = await probe()
        latencies.push(performance.now() - t0)
        logStatuses.set(r, (logStatuses.get(r) ?? 0) + 1)
        await new Promise(resolve => setTimeout(resolve, 20))
      }
    })()

    // the 2 running resumes are paused by their readers, so the queue fills and stays full
    const refused = cs.slice()
    await waitFor('22 refusals', async () => {
      const m = await (await fetch(`${base}/metrics`)).text()
      return metric(m, 'sluice_tail_resumes_refused_total{reason="busy"}') === clients - 18 && metric(m, 'sluice_tail_resumes_waiting') === 16
    }, 60_000)
    const mid = await (await fetch(`${base}/metrics`)).text()
    expect([metric(mid, 'sluice_tail_resumes_in_flight'), metric(mid, 'sluice_tail_resumes_waiting')]).toEqual([2, 16])
    release()

    const statuses = await Promise.all(cs.map(async c => await c.status))
    expect(statuses.filter(s => s === 200).length).toBe(18)
    expect(statuses.filter(s => s === 503).length).toBe(clients - 18)
    for (const [i, c] of refused.entries()) {
      if (statuses[i] !== 503) continue
      await new Promise<void>(resolve => { void c.res.then(r => { if (r.complete) resolve(); else r.on('end', () => resolve()) }) })
      const r = await c.res
      expect([r.headers['retry-after'], JSON.parse(c.body())]).toEqual(['5', { error: 'SLUICE_ERR_RESUME_BUSY', message: 'too many tails resuming from Kafka (2 running, 16 waiting); retry later' }])
    }
    const served = cs.filter((_, i) => statuses[i] === 200)
    await waitFor(`18 clients × ${lines} lines`, async () => served.every(c => c.numbers().length >= lines), 240_000, 500, () => served.map(c => c.numbers().length).join(','))
    storming = false
    await prober
    for (const c of served) expect(c.numbers()).toEqual([...Array(lines).keys()])
    const end = await (await fetch(`${base}/metrics`)).text()
    expect([metric(end, 'sluice_tail_resumes_in_flight_max'), metric(end, 'sluice_tail_resumes_in_flight'), metric(end, 'sluice_tail_resumes_waiting'), metric(end, 'sluice_tail_kafka_catchups_total')]).toEqual([2, 0, 0, 18])

    // /v1/logs answered every request of the storm
    expect([...logStatuses.keys()]).toEqual([200])
    const sorted = latencies.slice().sort((a, b) => a - b)
    const p = (q: number, xs = sorted): number => Math.round(xs[Math.min(xs.length - 1, Math.floor(q * xs.length))])
    quiet.sort((a, b) => a - b)
    const rssPeak = rss()
    console.log(await heap('end of storm'))
    for (const c of cs) c.close()
    await waitFor('the tails to close', async () => /^sluice_tail_clients 0$/m.test(await (await fetch(`${base}/metrics`)).text()), 30_000)
    await new Promise(resolve => setTimeout(resolve, 60_000))
    console.log(await heap('a minute after'))
    const rssAfter = rss()
    console.log(`resume storm: /v1/logs before it p50 ${p(0.5, quiet)} ms, max ${p(1, quiet)} ms; during it ${latencies.length} requests, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms; RSS of the server (sluice serve) ${rssBefore} MB before, ${rssPeak} MB at the end of the storm, ${rssAfter} MB a minute after`)
    // the two idle GCs ran once the read-back tails had closed (5 s and 30 s later), and the
    // server's memory is back within 10% of where it was before the storm
    expect(metric(await (await fetch(`${base}/metrics`)).text(), 'sluice_tail_resume_idle_gcs_total')).toBe(2)
    expect(rssAfter).toBeLessThanOrEqual(Math.round(rssBefore * 1.1))
  }, 420_000)

  it('a resume further back than resumeMaxMessages is a 410 naming the oldest position offered; resuming from it replays from there', async () => {
    const old = await fetch(`${shallowBase}/v1/tail?host=h-storm`, { headers: { 'last-event-id': 'k1.0-0-0' } })
    expect(old.status).toBe(410)
    const oldest = `k1.0-${lines / perMessage - 100}-0_1-0-0_2-0-0_3-0-0`
    expect(await old.json()).toEqual({ error: 'SLUICE_ERR_RESUME_TOO_OLD', message: `Last-Event-ID is more than 100 Kafka messages behind the live tail on some partition; the oldest position offered is ${oldest} (reconnect with it as Last-Event-ID; older lines are in /v1/logs)`, oldest })
    const c = resumeClient(`${shallowBase}/v1/tail?host=h-storm`, oldest, Promise.resolve())
    expect(await c.status).toBe(200)
    await waitFor('the last 100 messages', async () => c.numbers().length >= 100 * perMessage, 60_000)
    expect(c.numbers()).toEqual([...Array(100 * perMessage).keys()].map(i => i + lines - 100 * perMessage))
    c.close()
    const m = await (await fetch(`${shallowBase}/metrics`)).text()
    expect(metric(m, 'sluice_tail_resumes_refused_total{reason="too_old"}')).toBe(1)
  })
})
