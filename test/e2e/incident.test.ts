// Issue 18 "Done when" (first bullet): the incident replayed on the real stack (`sluice up`,
// the injected Kafka, embedded ClickHouse). 3 hosts × 2 services log through the real
// sluice/transport and report sluice/stats; the shipper carries them. web-2's api starts
// throwing ECONNRESET at BASE+185 s (replayed lines carry a fixed simulated timeline) while,
// live, its fds and heap grow. Each question is answered by ONE sluice command, its output
// asserted exactly (only times and values no test can know are normalised).
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { runCli, startUp, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { api, spawnFixture, type Child } from '../helpers/alerts.js'

const hosts = ['web-1', 'web-2', 'web-3']
const services = ['api', 'jobs']
// the replayed five minutes start on a whole minute ten minutes ago
const base = Math.floor(Date.now() / 60_000) * 60_000 - 10 * 60_000
const iso = (s: number): string => new Date(base + s * 1000).toISOString()
const range = ['--since', iso(0), '--until', iso(299.999)]
const econnreset = 'err={"type":"Error","message":"read ECONNRESET","code":"ECONNRESET","errno":-104,"syscall":"read"}'
const stack = [
  '    | Error: read ECONNRESET',
  '    |     at TCP.onStreamRead (node:internal/stream_base_commons:217:20)',
  '    |     at process.processTicksAndRejections (node:internal/process/task_queues:95:5)'
]
const failed = (s: number, responseTime: number): string[] => [`${iso(s)} web-2 api ERROR upstream request failed ${econnreset} responseTime=${responseTime}`, ...stack]

describe('incident replay: every question answered by one sluice command', () => {
  const dataDir = tempDir('incident')
  let up: Awaited<ReturnType<typeof startUp>>
  const children = new Map<string, Child>()
  const sluice = async (...args: string[]): Promise<{ code: number | null, out: string, err: string }> => {
    const r = runCli(args, { SLUICE_URL: up.url })
    const code = await r.exited
    return { code, out: r.stdout(), err: r.stderr() }
  }

  beforeAll(async () => {
    up = await startUp({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(await freePort()), SLUICE_TOPIC_PREFIX: uniquePrefix('incident'), SLUICE_ALERT_EVAL_MS: '250' })
    // the alert is set up before the incident, as an SRE would have it
    expect(await sluice('alerts', 'add', '--id', 'fds-grew', '--kind', 'increase', '--metric', 'fds', '--window', '4s', '--op', '>', '--threshold', '50', '--stale-after', '8s')).toEqual({
      code: 0, out: 'created fds-grew             on   api      warning   increase(fds, 4s) > 50  (fds-grew)\n', err: ''
    })
    // every process: replay, then 6 s live; web-2's api then leaks fds and heap for 6 s
    for (const host of hosts) for (const service of services) children.set(`${host}/${service}`, spawnFixture('incident-host.mjs', [path.join(dataDir, 'spool'), host, service, String(base), '6000', '6000']))
    for (const [name, c] of children) expect([name, await c.exited, c.stderr()]).toEqual([name, 0, ''])
    const q = new URLSearchParams({ since: iso(0), until: iso(299.999), buckets: '1' })
    // 3 × 30 api lines + web-2's 3 extra, 3 × 10 job lines
    await waitFor('all 123 replayed lines', async () => (await api<{ total: number }>(up.url, 'GET', `/v1/histogram?${q.toString()}`)).body.total === 123, 60_000, 250)
    await waitFor('the fds alert to fire and resolve as stale', async () => {
      const h = await api<{ transitions: unknown[] }>(up.url, 'GET', '/v1/alerts/history?rule=fds-grew&since=1h')
      return h.body.transitions.length >= 2
    }, 60_000, 250, () => up.stderr().slice(-1500))
    await waitFor('fds and heap of all six processes', async () => {
      for (const metric of ['fds', 'heap_used']) if ((await api<{ series: unknown[] }>(up.url, 'GET', `/v1/stats?metric=${metric}&since=5m`)).body.series.length !== 6) return false
      return true
    }, 30_000, 250)
  }, 150_000)
  afterAll(async () => {
    for (const c of children.values()) if (c.child.exitCode === null) c.child.kill('SIGKILL')
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
  })

  it('first host with errors, and when: grep --level error -m 1', async () => {
    expect(await sluice('grep', '--level', 'error', '-m', '1', ...range)).toEqual({ code: 0, out: failed(185, 500).join('\n') + '\n', err: '' })
    // the API's text/plain: the same layout (its field values with spaces or quotes are JSON-quoted)
    const q = new URLSearchParams({ level: 'error', limit: '1', since: iso(0), until: iso(299.999) })
    const res = await fetch(`${up.url}/v1/logs?${q.toString()}`, { headers: { accept: 'text/plain' } })
    expect([res.status, await res.text()]).toEqual([200, [`${iso(185)} web-2 api ERROR upstream request failed ${econnreset} responseTime=500`, ...stack].join('\n') + '\n'])
  })

  it('errors per host per minute: grep --level error --histogram --count-by host --step 1m', async () => {
    const r = await sluice('grep', '--level', 'error', '--histogram', '--count-by', 'host', '--step', '1m', ...range)
    const minute = (m: number): string => iso(m * 60).slice(0, 16) + 'Z'
    expect(r).toEqual({
      code: 0,
      err: '',
      out: [
        `10 lines from ${iso(0)} to ${iso(299.999)} (UTC), 1m per bar, by host`,
        `${minute(0)}                                          0`,
        `${minute(1)}                                          0`,
        `${minute(2)}                                          0`,
        `${minute(3)} ${'█'.repeat(17)}▏                       3  web-2=3`,
        `${minute(4)} ${'█'.repeat(40)} 7  web-2=6 web-3=1`
      ].join('\n') + '\n'
    })
  })

  it("web-2's lines with responseTime>=500: grep --host web-2 --field 'responseTime>=500'", async () => {
    const errors = [185, 205, 225, 245, 255, 265, 275, 285, 295].flatMap(s => failed(s, 500 + (s - 185) * 10))
    expect(await sluice('grep', '--host', 'web-2', '--field', 'responseTime>=500', ...range)).toEqual({
      code: 0, err: '', out: [`${iso(165)} web-2 api INFO  request completed route=/users responseTime=520`, ...errors].join('\n') + '\n'
    })
  })

  it("everything but 'request completed' on web-2 in the minute before: grep -v", async () => {
    expect(await sluice('grep', '-v', 'request completed', '--host', 'web-2', '--since', iso(125), '--until', iso(185))).toEqual({
      code: 0,
      err: '',
      out: [
        `${iso(130)} web-2 api WARN  slow upstream upstream=db responseTime=480`,
        `${iso(135)} web-2 jobs INFO  job done job=4 durationMs=104`,
        `${iso(150)} web-2 api WARN  connection pool exhausted pool=db waiting=12`,
        `${iso(165)} web-2 jobs INFO  job done job=5 durationMs=105`,
        `${iso(170)} web-2 api INFO  retrying upstream attempt=1`,
        ...failed(185, 500)
      ].join('\n') + '\n'
    })
  })

  for (const metric of ['fds', 'heap_used']) {
    it(`${metric} of web-2 vs the others: sluice stats ${metric}`, async () => {
      const r = await sluice('stats', metric, '--since', '5m')
      expect([r.code, r.err]).toEqual([0, ''])
      const [title, head, ...rows] = r.out.trimEnd().split('\n')
      expect(title).toMatch(new RegExp(`^${metric} \\(${metric === 'fds' ? 'count' : 'bytes'}\\), avg per 1m, \\S+Z to \\S+Z$`))
      expect(head.split(/\s+/)).toEqual(['HOST', 'SERVICE', 'PID', 'LAST', 'MIN', 'MAX', 'SERIES'])
      const cells = rows.map(l => l.split(/\s{2,}/))
      expect(cells.map(c => c.slice(0, 3))).toEqual(hosts.flatMap(h => services.map(s => [h, s, String(children.get(`${h}/${s}`)!.pid)])))
      const value = (s: string): number => metric === 'fds' ? Number(s) : Number(/^([\d.]+) MB$/.exec(s)?.[1])
      const last = cells.map(c => value(c[3]))
      expect(last.every(Number.isFinite)).toBe(true)
      const sick = last[2]
      expect(Math.max(...last.filter((_, i) => i !== 2)) < sick).toBe(true)
    })
  }

  it('the increase alert on fds fired for web-2 and resolved (stale) when it exited: sluice alerts history', async () => {
    const r = await sluice('alerts', 'history', '--rule', 'fds-grew', '--since', '1h')
    expect([r.code, r.err]).toEqual([0, ''])
    const pid = children.get('web-2/api')!.pid
    const values: number[] = []
    const normalised = r.out.replace(/^\S+Z /gm, 'T ').replace(/ value (\S+) /g, (_, v: string) => { values.push(Number(v)); return ' value V ' })
    expect(normalised).toBe([
      'TRANSITIONS (2, newest first)',
      `T RESOLVED  warning   fds-grew             web-2 api pid ${pid} value V threshold 50 (stale)`,
      `T FIRING    warning   fds-grew             web-2 api pid ${pid} value V threshold 50`
    ].join('\n') + '\n')
    expect(values[1]).toBeGreaterThan(50)
  })
})
