// Issue 21: exact gap detection on the real stack (`sluice up`: its shipper, collector and query
// API on embedded ClickHouse, the test's Kafka broker). A clean run with a SIGKILL and restart in
// the middle (replays, duplicates) reports nothing; rows deleted behind Sluice's back are
// reported as exactly that byte range, lost, between the neighbouring lines' timestamps; a line
// the collector dead-letters is classed dead_lettered. A `gap` alert rule fires once for the
// deleted range (its webhook naming host, source and range) and never on the clean run.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { openEngine } from '../helpers/collector.js'
import { runCli, startUp, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { startReceiver, type Receiver } from '../helpers/webhook.js'

interface Gaps { complete: boolean, lost: boolean, sources: Array<{ source: string, path: string, ranges: Array<Record<string, unknown>> }>, hosts: Array<{ host: string }> }

const base = Date.parse('2026-12-05T10:00:00.000Z')
const line = (i: number): string => `{"time":${base + i},"level":30,"n":${i},"msg":"line-${i}"}`
const iso = (i: number): string => new Date(base + i).toISOString()
const deep = `{"time":${base + 5000},"level":30,"a":${'['.repeat(100)}${']'.repeat(100)},"msg":"deep"}`

async function count (url: string): Promise<number> {
  const res = await fetch(`${url}/v1/logs?${new URLSearchParams({ q: 'line-', service: 'gapsvc', since: '30d', limit: '5000' }).toString()}`)
  if (res.status !== 200) throw new Error(`/v1/logs: ${res.status} ${await res.text()}`)
  return (await res.json() as { lines: unknown[] }).lines.length
}

async function gaps (url: string): Promise<Gaps> {
  const res = await fetch(`${url}/v1/gaps?service=gapsvc`)
  if (res.status !== 200) throw new Error(`/v1/gaps: ${res.status} ${await res.text()}`)
  return await res.json() as Gaps
}

async function cliGaps (url: string): Promise<{ code: number | null, out: string }> {
  const r = runCli(['gaps', '--service', 'gapsvc'], { SLUICE_URL: url })
  const code = await r.exited
  return { code, out: r.stdout() }
}

describe('sluice gaps on the real stack', () => {
  const dataDir = tempDir('gaps')
  const prefix = uniquePrefix('gaps')
  let port = 0
  const rulesFile = path.join(dataDir, 'rules.json')
  const env = (): Record<string, string> => ({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(port), SLUICE_TOPIC_PREFIX: prefix, SLUICE_PROGRESS_INTERVAL_MS: '300', SLUICE_ALERT_RULES: rulesFile, SLUICE_ALERT_EVAL_MS: '250', SLUICE_ALERT_WEBHOOK_ALLOW: '127.0.0.1' })
  let up: Awaited<ReturnType<typeof startUp>> | undefined
  let receiver: Receiver
  beforeAll(async () => {
    receiver = await startReceiver()
    fs.writeFileSync(rulesFile, JSON.stringify([{ id: 'lost-bytes', name: 'gapsvc lost bytes', kind: 'gap', service: ['gapsvc'], severity: 'critical', webhook: receiver.url }]))
  })
  afterAll(async () => {
    if (up !== undefined) await stopChild(up, 'SIGKILL')
    await receiver?.stop()
  })
  const spool = path.join(dataDir, 'spool', 'gapsvc')
  const file = path.join(spool, 'app.ndjson')
  const offsets: number[] = []
  let size = 0
  const append = (text: string): void => { fs.appendFileSync(file, text + '\n'); offsets.push(size); size += Buffer.byteLength(text) + 1 }

  it('clean run with a SIGKILL and restart: /v1/gaps reports nothing, sluice gaps exits 0', async () => {
    port = await freePort()
    up = await startUp(env())
    fs.mkdirSync(spool, { recursive: true })
    for (let i = 0; i < 1000; i++) append(line(i))
    await waitFor('some lines stored', async () => await count(up!.url) > 0, 60_000)
    await stopChild(up, 'SIGKILL')
    for (let i = 1000; i < 2000; i++) append(line(i))
    up = await startUp(env())
    const body = await waitFor('2,000 lines stored and nothing missing', async () => {
      if (await count(up!.url) !== 2000) return false
      const g = await gaps(up!.url)
      return g.complete && g.hosts.length > 0 ? g : false
    }, 120_000)
    expect(body).toMatchObject({ complete: true, lost: false, sources: [] })
    const cli = await cliGaps(up.url)
    expect(cli.out.split('\n')[0]).toBe('complete: no byte range missing')
    expect(cli.code).toBe(0)
  })

  it('rows deleted behind Sluice\'s back: exactly that byte range, lost, with the neighbouring timestamps; exit 1', async () => {
    await stopChild(up!, 'SIGINT')
    const ch = await openEngine(dataDir)
    const source = String(((await (await ch.client.query({ query: "SELECT any(source) AS s FROM sluice.logs WHERE service = 'gapsvc'", format: 'JSONEachRow' })).json<{ s: string }>())[0]).s)
    await ch.client.command({ query: `ALTER TABLE sluice.logs DELETE WHERE source = '${source}' AND offset BETWEEN ${offsets[500]} AND ${offsets[509]} SETTINGS mutations_sync = 2` })
    await ch.close()
    up = await startUp(env())
    const want = { source, ranges: [{ from: offsets[500], to: offsets[510], bytes: offsets[510] - offsets[500], class: 'lost', before: iso(499), after: iso(510) }] }
    const body = await waitFor('the deleted range reported', async () => { const g = await gaps(up!.url); return g.sources.length > 0 ? g : false }, 60_000)
    expect(body.lost).toBe(true)
    expect(body.sources).toMatchObject([want])
    const cli = await cliGaps(up.url)
    expect(cli.code).toBe(1)
    expect(cli.out).toMatch(new RegExp(`gapsvc +${file.replace(/[.]/g, '\\.')} +${source.slice(0, 12)} +${offsets[500]} +${offsets[510]} +${offsets[510] - offsets[500]} +lost +${iso(499)} \\.\\. ${iso(510)}\n`))
    expect(cli.out).toContain(`missing bytes: ${offsets[510] - offsets[500]} lost\n`)
    // the gap rule fires for it; the clean run before did not make it fire
    const hook = await waitFor('the gap alert webhook', async () => receiver.received.length > 0 ? receiver.received : false, 60_000)
    const bytes = offsets[510] - offsets[500]
    expect(hook.map(h => h.body)).toMatchObject([{
      rule_id: 'lost-bytes', kind: 'gap', state: 'firing', previous_state: 'inactive', severity: 'critical', service: 'gapsvc', host: os.hostname(), pid: 0, value: bytes, threshold: 0, metric: null,
      gap: { source, path: file, from: offsets[500], to: offsets[510] },
      message: `gapsvc lost bytes firing: ${bytes} bytes of ${os.hostname()}:${file} lost (source ${source}, bytes ${offsets[500]}-${offsets[510]})`
    }])
  })

  it('a line the collector dead-letters is classed dead_lettered', async () => {
    append(deep)
    append(line(2000))
    const at = offsets[2000]
    const body = await waitFor('the dead-lettered line reported', async () => {
      const g = await gaps(up!.url)
      return g.sources.some(s => s.ranges.some(r => r.class === 'dead_lettered')) ? g : false
    }, 60_000)
    expect(body.sources[0].ranges).toEqual([
      { from: offsets[500], to: offsets[510], bytes: offsets[510] - offsets[500], class: 'lost', before: iso(499), after: iso(510) },
      { from: at, to: at + Buffer.byteLength(deep) + 1, bytes: Buffer.byteLength(deep) + 1, class: 'dead_lettered', reason: 'line nests objects/arrays deeper than 64 levels (limit maxJsonDepth)', before: iso(1999), after: iso(2000) }
    ])
    // the gap alert fired once: later evaluations (every 10 s) see the same range, firing already
    await new Promise(resolve => setTimeout(resolve, 11_000))
    expect(receiver.received.map(h => [h.body.rule_id, h.body.state])).toEqual([['lost-bytes', 'firing']])
  })
})
