// Regression (issue 15): one line of deeply nested JSON in a spool file stopped `sluice up` for
// good ("collect: consumer error (Maximum call stack size exceeded); not restarting", exit 1, and
// again on every restart). Real stack: `sluice up` (its own shipper, collector, live tail and
// embedded ClickHouse) on the test broker. Lines nested 10, 1,000 and 100,000 levels deep and a
// 5 MB line among 1,000 valid lines; then a SIGKILL and a restart. Also identity (item 6): a
// line's own host/service do not override the pipeline's, and lines outside the retention are
// stored at their receive time, flagged.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { openEngine, scalar } from '../helpers/collector.js'
import { startUp, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'

interface Line { ts: string, host: string, service: string, level: string, msg: string, fields: Record<string, unknown>, flags: string[] }

/** the `line` events of GET /v1/tail, as they arrive */
function tail (url: string): { lines: Line[], close: () => void } {
  const lines: Line[] = []
  const ac = new AbortController()
  void (async () => {
    const res = await fetch(`${url}/v1/tail`, { headers: { accept: 'text/event-stream' }, signal: ac.signal })
    const dec = new TextDecoder()
    let buf = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk, { stream: true })
      let i
      while ((i = buf.indexOf('\n\n')) !== -1) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        if (!block.split('\n').includes('event: line')) continue
        const data = block.split('\n').find(l => l.startsWith('data: '))
        if (data !== undefined) lines.push(JSON.parse(data.slice(6)) as Line)
      }
    }
  })().catch(() => {})
  return { lines, close: () => ac.abort() }
}

async function logs (url: string, q: string): Promise<Line[]> {
  const all: Line[] = []
  let cursor: string | null = null
  do {
    const qs = new URLSearchParams({ q, since: '1h', limit: '5000' })
    if (cursor !== null) qs.set('cursor', cursor)
    const res = await fetch(`${url}/v1/logs?${qs.toString()}`)
    if (res.status !== 200) throw new Error(`/v1/logs: ${res.status} ${await res.text()}`)
    const body = await res.json() as { lines: Line[], nextCursor: string | null }
    all.push(...body.lines)
    cursor = body.nextCursor
  } while (cursor !== null)
  return all
}

const nested = (d: number, now: number): string => `{"time":${now},"level":30,"a":${'['.repeat(d)}${']'.repeat(d)},"msg":"nested-${d}"}`
const tooDeep = 'line nests objects/arrays deeper than 64 levels (limit maxJsonDepth)'

describe('poison lines on the real stack (sluice up)', () => {
  const dataDir = tempDir('poison')
  const env = (port: number): Record<string, string> => ({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(port), SLUICE_TOPIC_PREFIX: prefix })
  const prefix = uniquePrefix('poison')
  let up: Awaited<ReturnType<typeof startUp>> | undefined
  afterAll(async () => { if (up !== undefined) await stopChild(up, 'SIGKILL') })

  it('dead-letters deep lines, keeps every valid line exactly once, never stops, and does not loop after a SIGKILL', async () => {
    const port = await freePort()
    up = await startUp(env(port))
    const live = tail(up.url)
    await waitFor('the tail to connect', async () => /sluice_tail_clients 1/.test(await (await fetch(`${up!.url}/metrics`)).text()), 30_000)

    const spool = path.join(dataDir, 'spool', 'poison')
    fs.mkdirSync(spool, { recursive: true })
    const file = path.join(spool, 'app.ndjson')
    const now = Date.now()
    const day = 86_400_000
    const valid = (i: number): string => `{"time":${now},"level":30,"n":${i},"msg":"valid-${i}"}`
    const lines: string[] = []
    for (let i = 0; i < 500; i++) lines.push(valid(i))
    lines.push(nested(10, now), nested(1000, now), nested(100_000, now))
    lines.push(`{"time":${now},"level":30,"msg":"big-line ${'x'.repeat(5 * 1024 * 1024)}"}`)
    // identity: a line claiming another host and service, and a line in the transport's layout
    lines.push(`{"time":${now},"level":60,"host":"db-primary","service":"payments","msg":"claims-identity"}`)
    lines.push(`{"service":"poison","host":"app-7","pid":42,"level":30,"time":${now},"pid":42,"hostname":"app-7","host":"db-primary","service":"payments","msg":"transport-claims-identity"}`)
    // timestamps outside the retention (default 30 days) or a day ahead
    lines.push(`{"time":${now - 40 * day},"level":30,"msg":"old-40-days"}`, `{"time":0,"level":30,"msg":"old-time-zero"}`, `{"time":${now + 3 * day},"level":30,"msg":"old-future"}`)
    for (let i = 500; i < 1000; i++) lines.push(valid(i))
    fs.writeFileSync(file, lines.join('\n') + '\n')

    const exactlyOnce = async (want: number): Promise<Line[]> => {
      let seen = 0
      return await waitFor(`${want} valid lines in /v1/logs`, async () => {
        const got = (await logs(up!.url, 'valid-')).filter(l => l.msg.startsWith('valid-'))
        seen = got.length
        return got.length >= want ? got : undefined
      }, 120_000, 500, () => `${seen} lines; stderr: ${up!.stderr().slice(-1500)}`)
    }
    const got = await exactlyOnce(1000)
    expect(got.map(l => l.fields.n as number).sort((a, b) => a - b)).toEqual([...Array(1000).keys()])
    // the live tail went on past the bad lines
    await waitFor('the tail to show valid-999', async () => live.lines.some(l => l.msg === 'valid-999'), 60_000)
    const tailed = live.lines.filter(l => l.msg.startsWith('valid-')).map(l => l.fields.n as number)
    expect(tailed).toEqual([...Array(1000).keys()])
    // the deep lines are not shown (nested-1000 and nested-100000); nested-10 is
    expect(live.lines.filter(l => l.msg.includes('nested-')).map(l => l.msg)).toEqual(['nested-10'])
    live.close()

    expect((await logs(up.url, 'nested-')).map(l => l.msg)).toEqual(['nested-10'])
    // the 5 MB line: cut at the shipper's --max-line-bytes (256 KiB) and flagged, as before
    const big = await logs(up.url, 'big-line')
    expect(big.map(l => [l.flags, Buffer.byteLength(l.msg)])).toEqual([[['truncated', 'not_json', 'no_ts'], 256 * 1024]])

    const claims = await logs(up.url, 'claims-identity')
    expect(claims.map(l => [l.msg, l.host, l.service, l.level, l.fields]).sort()).toEqual([
      ['claims-identity', os.hostname(), 'poison', 'fatal', { host: 'db-primary', service: 'payments' }],
      ['transport-claims-identity', 'app-7', 'poison', 'info', { service: 'payments', host: 'db-primary' }]
    ])
    const old = await logs(up.url, 'old-')
    const iso = (ms: number): string => new Date(ms).toISOString()
    expect(old.map(l => [l.msg, l.flags, l.fields]).sort()).toEqual([
      ['old-40-days', ['ts_out_of_range'], { ts_original: iso(now - 40 * day) }],
      ['old-future', ['ts_out_of_range'], { ts_original: iso(now + 3 * day) }],
      ['old-time-zero', ['ts_out_of_range'], { ts_original: '1970-01-01T00:00:00.000Z' }]
    ])
    for (const l of old) expect(Math.abs(Date.parse(l.ts) - now)).toBeLessThan(10 * 60_000)

    expect(up.child.exitCode).toBe(null)
    expect(up.stderr()).not.toContain('consumer error')

    // SIGKILL and restart: nothing loops, nothing is stored twice. (Killed once the shipper has
    // checkpointed the whole file, so what comes again is the collector's own replay.)
    const size = fs.statSync(file).size
    await waitFor('the shipper to checkpoint the whole file', async () => {
      try {
        const cp = JSON.parse(fs.readFileSync(path.join(dataDir, 'shipper', 'checkpoints.json'), 'utf8')) as { sources: Record<string, { offset: number, path: string }> }
        return Object.values(cp.sources).some(s => s.path === file && s.offset === size)
      } catch { return false }
    }, 60_000)
    up.child.kill('SIGKILL')
    await up.exited
    up = await startUp(env(await freePort()))
    fs.appendFileSync(file, [1000, 1001, 1002].map(valid).join('\n') + '\n')
    const after = await exactlyOnce(1003)
    expect(after.map(l => l.fields.n as number).sort((a, b) => a - b)).toEqual([...Array(1003).keys()])
    expect(up.child.exitCode).toBe(null)
    expect(await stopChild(up)).toBe(0)
    up = undefined

    const ch = await openEngine(dataDir)
    try {
      const dead = await (await ch.client.query({ query: 'SELECT reason, length(raw) AS n, count() AS c FROM sluice.dead_letters FINAL GROUP BY reason, n ORDER BY n', format: 'JSONEachRow' })).json<{ reason: string, n: number, c: string }>()
      expect(dead.map(d => [d.reason, Number(d.n), Number(d.c)])).toEqual([[tooDeep, nested(1000, now).length, 1], [tooDeep, 64 * 1024, 1]])
      expect(await scalar(ch, "SELECT count() FROM sluice.logs FINAL WHERE msg LIKE 'valid-%'")).toBe(1003)
      expect(await scalar(ch, "SELECT uniqExact(source, offset) FROM sluice.logs WHERE msg LIKE 'valid-%'")).toBe(1003)
    } finally { await ch.close() }
  }, 400_000)
})
