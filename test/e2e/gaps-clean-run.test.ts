// Issue 21, done-when #1: a clean run reports no gap. 200,000 numbered lines from 4 hosts, each a
// real `sluice ship` child process tailing its own app.log, which the real logrotate renames
// (rename + create) every few seconds while a writer appends; `sluice up` (collector, query API,
// embedded ClickHouse) on the test's Kafka. During the run every shipper is SIGKILLed at least
// once (host 1 twice, once restarted on a checkpoint taken earlier: a deterministic replay of
// thousands of lines, across rotations) and the collector twice, each once a fixed share of the
// lines is written. Once everything is drained — every file acknowledged up to its end,
// then a progress report of every host stored after that, and the count steady — /v1/gaps and
// the real `sluice gaps` CLI (table and --json) report nothing and exit 0, and ClickHouse holds
// every (host, line number) exactly once.
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { openEngine } from '../helpers/collector.js'
import { root, runCli, startUp, stopChild, tempDir, uniquePrefix, waitFor, type Running } from '../helpers/env.js'
import { logrotate } from '../helpers/logrotate.js'

const hosts = ['clean-h1', 'clean-h2', 'clean-h3', 'clean-h4']
const perHost = 50_000
const total = hosts.length * perHost
const rate = 1_000 // lines/s per host: ~50 s of writing
const rotateEveryMs = 5_000
const service = 'cleanrun'
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

interface Range { from: number, to: number | null, bytes: number | null, class: string, reason?: string }
interface Gaps { complete: boolean, lost: boolean, bytes: Record<string, number>, sources: Array<{ source: string, host: string, path: string, ranges: Range[] }>, hosts: Array<{ host: string, last_progress: string, age_seconds: number, silent: boolean }> }

/** what happens once `at` of all lines are written (by the files' sizes): spread over the writing */
type Step = { at: number, what: 'snapshot' | 'kill-shipper' | 'kill-collector', host?: number, rewind?: boolean }
const schedule: Step[] = [
  { at: 0.05, what: 'snapshot', host: 0 },
  { at: 0.15, what: 'kill-shipper', host: 0, rewind: true },
  { at: 0.25, what: 'kill-collector' },
  { at: 0.35, what: 'kill-shipper', host: 1 },
  { at: 0.45, what: 'kill-shipper', host: 2 },
  { at: 0.6, what: 'kill-collector' },
  { at: 0.7, what: 'kill-shipper', host: 3 },
  { at: 0.85, what: 'kill-shipper', host: 0 }
]
/** bytes numbered-writer.mjs writes for lines 0..n-1 (a 13-digit time, n twice) */
const bytesOf = (n: number): number => { let b = 0; for (let i = 0; i < n; i++) b += 53 + 2 * String(i).length; return b }

describe('sluice gaps after a clean run with SIGKILLs, replays and rotation (issue 21)', () => {
  const dataDir = tempDir('gaps-clean')
  const prefix = uniquePrefix('gaps-clean')
  const brokers = inject('kafkaBrokers')
  let port = 0
  let up: (Running & { url: string }) | undefined
  const shippers: Array<Running | undefined> = hosts.map(() => undefined)
  /** every shipper started, for a failure message: what each said on stderr */
  const incarnations: Array<{ host: string, r: Running }> = []
  const shipperLogs = (): string => incarnations.map(({ host, r }) => `--- ${host} (${r.child.exitCode ?? r.child.signalCode ?? 'running'})\n${r.stderr()}`).join('\n').slice(-8000)
  /** a collector restart under way */
  let collectorBack: Promise<void> = Promise.resolve()
  afterAll(async () => {
    await collectorBack.catch(() => {})
    for (const s of shippers) if (s !== undefined) await stopChild(s, 'SIGKILL')
    if (up !== undefined) await stopChild(up, 'SIGKILL')
  })

  const base = tempDir('gaps-clean-hosts')
  const logDir = (h: number): string => path.join(base, hosts[h], service)
  const logFile = (h: number): string => path.join(logDir(h), 'app.log')
  const shipData = (h: number): string => path.join(base, hosts[h], 'data')
  const cpFile = (h: number): string => path.join(shipData(h), 'shipper', 'checkpoints.json')
  const upEnv = (): Record<string, string> => ({ KAFKA_BROKERS: brokers, SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(port), SLUICE_TOPIC_PREFIX: prefix, SLUICE_PROGRESS_INTERVAL_MS: '1000' })
  const startShip = (h: number): Running => {
    const r = runCli(['ship', '--path', logFile(h), '--host', hosts[h], '--service', service], { KAFKA_BROKERS: brokers, SLUICE_DATA_DIR: shipData(h), SLUICE_TOPIC_PREFIX: prefix, SLUICE_PROGRESS_INTERVAL_MS: '1000' })
    shippers[h] = r
    incarnations.push({ host: hosts[h], r })
    return r
  }
  const api = async <T>(route: string, q: Record<string, string>): Promise<T> => {
    const res = await fetch(`${up!.url}${route}?${new URLSearchParams(q).toString()}`)
    if (res.status !== 200) throw new Error(`${route}: ${res.status} ${await res.text()}`)
    return await res.json() as T
  }
  /** lines stored per host, as the query API counts them (FINAL: a replayed line once) */
  const storedByHost = async (): Promise<Record<string, number>> => {
    const body = await api<{ buckets: Array<{ counts: Record<string, number> }> }>('/v1/histogram', { service, since: '2h', by: 'host', buckets: '10' })
    const out: Record<string, number> = {}
    for (const b of body.buckets) for (const [h, n] of Object.entries(b.counts)) out[h] = (out[h] ?? 0) + n
    return out
  }
  const stored = async (): Promise<number> => Object.values(await storedByHost()).reduce((a, b) => a + b, 0)
  const gaps = async (): Promise<Gaps> => await api<Gaps>('/v1/gaps', {})
  /** the non-empty files in the host's log dir its checkpoint does not have acknowledged to their end */
  const behind = (h: number): string[] => {
    let cp: { sources: Record<string, { offset: number, ino?: number }> }
    try { cp = JSON.parse(fs.readFileSync(cpFile(h), 'utf8')) } catch { return ['(no checkpoint)'] }
    const entries = Object.values(cp.sources)
    return fs.readdirSync(logDir(h)).filter(name => {
      const st = fs.statSync(path.join(logDir(h), name))
      return st.size > 0 && !entries.some(e => e.ino === st.ino && e.offset === st.size)
    })
  }

  it('200,000 lines, 4 hosts, shippers and collector SIGKILLed, rotation: sluice gaps reports nothing and exits 0; every line stored once', async () => {
    const t0 = Date.now()
    port = await freePort()
    const conf = path.join(base, 'logrotate.conf')
    for (let h = 0; h < hosts.length; h++) { fs.mkdirSync(logDir(h), { recursive: true }); fs.writeFileSync(logFile(h), '') }
    fs.writeFileSync(conf, hosts.map((_, h) => `${logFile(h)} {\n  rotate 1000\n  missingok\n  ifempty\n  create\n  nocompress\n}\n`).join(''))
    up = await startUp(upEnv())
    for (let h = 0; h < hosts.length; h++) startShip(h)

    const writers = hosts.map((_, h) => {
      const w = spawn(process.execPath, [path.join(root, 'test/fixtures/numbered-writer.mjs'), logFile(h), String(perHost), String(rate), 'reopen'], { stdio: ['ignore', 'ignore', 'inherit'] })
      return new Promise<number | null>(resolve => w.once('exit', code => resolve(code)))
    })
    let writing = true
    const written = Promise.all(writers).then(codes => { writing = false; return codes })
    const rotateErrors: string[] = []
    const rotating = (async () => {
      // a shipper's first scan finds what is already rotated as history, not to ship: rotate
      // only once every shipper has been seen reading its first file
      await waitFor('lines of every host stored', async () => { const n = await storedByHost(); return hosts.every(h => (n[h] ?? 0) > 0) }, 120_000, 250)
      while (writing) {
        await sleep(rotateEveryMs)
        if (!writing) break
        const e = await logrotate(conf, path.join(base, 'logrotate.state'))
        if (e !== '') rotateErrors.push(e.trim())
      }
    })()

    // the faults, each once its share of the lines is written; stored: what the query API counted
    const allBytes = hosts.length * bytesOf(perHost)
    const writtenShare = (): number => hosts.reduce((sum, _, h) => sum + fs.readdirSync(logDir(h)).reduce((a, name) => a + fs.statSync(path.join(logDir(h), name)).size, 0), 0) / allBytes
    let snapshot = ''
    let replayedBytes = 0
    const done: string[] = []
    for (const step of schedule) {
      const share = await waitFor(`${step.at * 100}% of the lines written (for ${step.what})`, async () => { const w = writtenShare(); return w >= step.at ? w : false }, 240_000, 100)
      const seen = up === undefined ? NaN : await stored().catch(() => NaN)
      const h = step.host ?? 0
      if (step.what === 'snapshot') snapshot = fs.readFileSync(cpFile(h), 'utf8')
      else if (step.what === 'kill-shipper') {
        const s = shippers[h]!
        s.child.kill('SIGKILL')
        await s.exited
        if (step.rewind === true) {
          // restarted on the older checkpoint: what Kafka acknowledged since is sent again
          const now = (JSON.parse(fs.readFileSync(cpFile(h), 'utf8')) as { sources: Record<string, { offset: number }> }).sources
          const then = (JSON.parse(snapshot) as { sources: Record<string, { offset: number }> }).sources
          for (const [fp, c] of Object.entries(now)) replayedBytes += c.offset - (then[fp]?.offset ?? 0)
          fs.writeFileSync(cpFile(h), snapshot)
        }
        await sleep(500)
        startShip(h)
      } else {
        // restarted in the background: the shippers' faults keep to their schedule meanwhile
        await collectorBack
        const dead = up!
        up = undefined
        collectorBack = (async () => { await stopChild(dead, 'SIGKILL'); up = await startUp(upEnv()) })()
      }
      done.push(`${step.what}${step.what === 'kill-collector' ? '' : ` ${hosts[h]}`}${step.rewind === true ? ` (rewound: ${replayedBytes} acknowledged bytes sent again)` : ''} at ${Math.round(share * total)} written, ${seen} stored`)
    }
    await collectorBack
    expect(await written).toEqual(hosts.map(() => 0))
    await rotating
    const writtenAt = Date.now()

    // drained: every file acknowledged to its end, then a progress report of each host stored
    // after that (it lands behind the host's lines: everything below its acked is stored), then
    // the count no longer moving
    await waitFor('every shipper acknowledged every file to its end', async () => hosts.every((_, h) => behind(h).length === 0), 120_000, 500, () => `files not acknowledged to their end: ${hosts.map((h, i) => `${h}: ${behind(i).join(',')}`).join('; ')}; logrotate errors: ${rotateErrors.slice(0, 3).join(' | ')}\n${shipperLogs()}`)
    const ackedAt = Date.now()
    await waitFor('a progress report of every host stored after that', async () => {
      const g = await gaps()
      return hosts.every(h => g.hosts.some(x => x.host === h && Date.parse(x.last_progress) > ackedAt + 100))
    }, 120_000, 500)
    let last = -1
    await waitFor('the stored count to stop growing', async () => { const n = await stored(); const same = n === last; last = n; return same }, 60_000, 1000)
    const drainedAt = Date.now()

    const byHost = await storedByHost()
    const body = await gaps()
    const table = runCli(['gaps'], { SLUICE_URL: up!.url })
    const tableCode = await table.exited
    const json = runCli(['gaps', '--json'], { SLUICE_URL: up!.url })
    const jsonCode = await json.exited
    const files = hosts.map((_, h) => fs.readdirSync(logDir(h)).length)
    console.log(`[gaps-clean-run] faults: ${done.join('; ')}; rotations per host (files): ${files.join(',')}; logrotate errors: ${rotateErrors.length}; written in ${Math.round((writtenAt - t0) / 1000)} s, drained in ${Math.round((drainedAt - writtenAt) / 1000)} s`)
    if (!body.complete) console.log(`[gaps-clean-run] /v1/gaps: ${JSON.stringify(body.sources).slice(0, 4000)}\n${shipperLogs()}`)

    expect(byHost).toEqual(Object.fromEntries(hosts.map(h => [h, perHost])))
    expect(body).toMatchObject({ complete: true, lost: false, bytes: { lost: 0, in_flight: 0, dropped: 0, dead_lettered: 0 }, sources: [] })
    expect(body.hosts.filter(h => hosts.includes(h.host)).map(h => [h.host, h.silent])).toEqual(hosts.map(h => [h, false]))
    expect(body.hosts.filter(h => h.silent)).toEqual([])
    expect(table.stdout().split('\n')[0]).toBe('complete: no byte range missing')
    expect(tableCode).toBe(0)
    const j = JSON.parse(json.stdout()) as Gaps
    expect(j).toMatchObject({ complete: true, lost: false, bytes: { lost: 0, in_flight: 0, dropped: 0, dead_lettered: 0 }, sources: [] })
    expect(j.hosts.filter(h => h.silent)).toEqual([])
    expect(jsonCode).toBe(0)
    expect(files.every(n => n >= 4)).toBe(true) // app.log and at least 3 rotated files per host
    expect(replayedBytes).toBeGreaterThan(0) // the run did replay lines already in Kafka

    // the table itself: every (source, offset) once, every host's line numbers 0..49,999 once
    await stopChild(up!, 'SIGINT')
    up = undefined
    const ch = await openEngine(dataDir)
    try {
      const q = async <T>(sql: string): Promise<T[]> => await (await ch.client.query({ query: sql, format: 'JSONEachRow' })).json<T>()
      const where = `service = '${service}'`
      const [ids] = await q<{ ids: string, raw: string }>(`SELECT uniqExact(source, offset) AS ids, count() AS raw FROM sluice.logs WHERE ${where}`)
      const perHostRows = await q<{ host: string, c: string, n: string, lo: string, hi: string }>(`SELECT host, count() AS c, uniqExact(JSONExtractInt(fields, 'n')) AS n, min(JSONExtractInt(fields, 'n')) AS lo, max(JSONExtractInt(fields, 'n')) AS hi FROM sluice.logs FINAL WHERE ${where} GROUP BY host ORDER BY host`)
      console.log(`[gaps-clean-run] rows: ${ids.ids} identities, ${ids.raw} raw (replayed copies not merged yet: ${Number(ids.raw) - Number(ids.ids)}); test ${Math.round((Date.now() - t0) / 1000)} s`)
      expect(Number(ids.ids)).toBe(total)
      expect(perHostRows.map(r => [r.host, Number(r.c), Number(r.n), Number(r.lo), Number(r.hi)])).toEqual(hosts.map(h => [h, perHost, perHost, 0, perHost - 1]))
    } finally { await ch.close() }
  }, 600_000)
})
