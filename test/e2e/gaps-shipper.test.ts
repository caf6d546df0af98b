// Issue 21, cases (d) and (a) on the real stack: `sluice up` (collector, query API, embedded
// ClickHouse) and a separate `sluice ship --path` process as host gap-host, on the test's Kafka.
// (d) the shipper stops sending (SIGSTOP) while its host keeps writing: /v1/gaps shows the host
//     silent, its file's unshipped end as an open-ended in_flight range (host_silent); nothing is
//     lost, so `sluice gaps` exits 0 yet prints the silence.
// (a) that shipper is then killed with unshipped bytes in the file, the file is rotated and the
//     rotated file deleted before it returns: the source's missing tail is reported from the
//     acknowledged offset, open-ended (the shipper cannot know how far the file grew), dropped
//     with reason deleted, with its path; said first (DROPPED: …), exit 0, and exit 1 with
//     --fail-on lost,dropped.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { runCli, startUp, stopChild, tempDir, uniquePrefix, waitFor, type Running } from '../helpers/env.js'

interface Range { from: number, to: number | null, bytes: number | null, class: string, reason?: string, before: string | null, after: string | null }
interface Gaps { complete: boolean, lost: boolean, sources: Array<{ source: string, state: string | null, ranges: Range[] }>, hosts: Array<{ host: string, last_progress: string, age_seconds: number, silent: boolean }> }

const base = Date.parse('2026-12-05T11:00:00.000Z')
const line = (i: number): string => `{"time":${base + i},"level":30,"n":${i},"msg":"line-${i}"}`
const iso = (i: number): string => new Date(base + i).toISOString()
const host = 'gap-host'
const service = 'gapship'

describe('gaps when a shipper stops (SIGSTOP, then SIGKILL and its rotated file deleted)', () => {
  const dataDir = tempDir('gaps-up')
  const shipBase = tempDir('gaps-ship')
  const logDir = path.join(shipBase, 'logs', service)
  fs.mkdirSync(logDir, { recursive: true })
  const file = path.join(logDir, 'app.log')
  const cpFile = path.join(shipBase, 'data', 'shipper', 'checkpoints.json')
  const prefix = uniquePrefix('gaps-ship')
  let up: (Running & { url: string }) | undefined
  let ship: Running | undefined
  afterAll(async () => {
    if (ship !== undefined) await stopChild(ship, 'SIGKILL')
    if (up !== undefined) await stopChild(up, 'SIGKILL')
  })
  let size = 0
  const append = (from: number, to: number): void => {
    let text = ''
    for (let i = from; i < to; i++) text += line(i) + '\n'
    fs.appendFileSync(file, text)
    size += Buffer.byteLength(text)
  }
  const startShip = (): Running => runCli(['ship', '--path', file, '--host', host, '--service', service], { KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: path.join(shipBase, 'data'), SLUICE_TOPIC_PREFIX: prefix, SLUICE_PROGRESS_INTERVAL_MS: '1000' })
  const count = async (): Promise<number> => {
    const res = await fetch(`${up!.url}/v1/logs?${new URLSearchParams({ q: 'line-', service, since: '30d', limit: '5000' }).toString()}`)
    if (res.status !== 200) throw new Error(`/v1/logs: ${res.status} ${await res.text()}`)
    return (await res.json() as { lines: unknown[] }).lines.length
  }
  const gaps = async (): Promise<Gaps> => {
    const res = await fetch(`${up!.url}/v1/gaps?service=${service}&silent_after=3s`)
    if (res.status !== 200) throw new Error(`/v1/gaps: ${res.status} ${await res.text()}`)
    return await res.json() as Gaps
  }
  const cliGaps = async (extra: string[] = []): Promise<{ code: number | null, out: string }> => {
    const r = runCli(['gaps', '--service', service, '--silent-after', '3s', ...extra], { SLUICE_URL: up!.url })
    const code = await r.exited
    return { code, out: r.stdout() }
  }
  const gapHost = (g: Gaps): Gaps['hosts'][number] | undefined => g.hosts.find(h => h.host === host)
  let fp = ''
  let acked = 0

  it('(d) a shipper that stops sending while its host keeps writing: the host is silent, the unshipped end in flight; sluice gaps exits 0 and prints the silence', async () => {
    append(0, 300)
    up = await startUp({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(await freePort()), SLUICE_TOPIC_PREFIX: prefix, SLUICE_PROGRESS_INTERVAL_MS: '1000' })
    ship = startShip()
    await waitFor('300 lines stored', async () => await count() === 300, 60_000)
    // everything acknowledged and checkpointed, then a progress record made after that stored
    const cp = await waitFor('the checkpoint at the end of the file', async () => {
      const s = Object.entries((JSON.parse(fs.readFileSync(cpFile, 'utf8')) as { sources: Record<string, { offset: number }> }).sources)
      return s.length === 1 && s[0][1].offset === size ? s[0] : false
    }, 30_000)
    fp = cp[0]
    acked = size
    const t0 = Date.now()
    await waitFor('a complete report after the checkpoint', async () => {
      const g = await gaps()
      const h = gapHost(g)
      return g.complete && h !== undefined && Date.parse(h.last_progress) > t0 + 50 ? g : false
    }, 30_000)

    ship.child.kill('SIGSTOP')
    append(300, 400) // written while the shipper is stopped
    const silent = await waitFor('the host reported silent', async () => { const g = await gaps(); return gapHost(g)?.silent === true ? g : false }, 30_000)
    expect(silent).toMatchObject({ complete: false, lost: false })
    expect(silent.sources).toEqual([{ source: fp, host, service, path: file, state: 'active', acked, size: acked, line_bytes: Math.round(acked / 300), ranges: [{ from: acked, to: null, bytes: null, class: 'in_flight', reason: 'host_silent', before: iso(299), after: null }] }])
    // its age keeps growing: no report arrives while it is stopped
    const age = gapHost(silent)!.age_seconds
    const later = await waitFor('the age to grow', async () => { const g = await gaps(); return gapHost(g)!.age_seconds > age ? g : false }, 10_000)
    expect(gapHost(later)).toMatchObject({ host, silent: true, last_progress: gapHost(silent)!.last_progress })

    const cli = await cliGaps()
    expect(cli.code).toBe(0)
    expect(cli.out).toMatch(new RegExp(`\n${host} +${service} +${file.replace(/[.]/g, '\\.')} +${fp.slice(0, 12)} +${acked} +\\? +\\? +in_flight \\(host_silent\\) +${iso(299)} \\.\\. -\n`))
    expect(cli.out).toMatch(new RegExp(`\n${host} +${gapHost(later)!.last_progress} +[0-9.]+s +silent(\n|$)`))
  })

  it('(a) the shipper killed with unshipped bytes, its file rotated and deleted before it returns: the missing tail from the acknowledged offset, open-ended, dropped (deleted), with its path', async () => {
    await stopChild(ship!, 'SIGKILL')
    append(400, 450) // more after the kill: the size the shipper saw last does not matter
    fs.renameSync(file, `${file}.1`)
    fs.unlinkSync(`${file}.1`)
    ship = startShip()
    const body = await waitFor('the deleted tail reported', async () => { const g = await gaps(); return g.sources.some(s => s.state === 'deleted') && gapHost(g)?.silent === false ? g : false }, 60_000)
    expect(body).toMatchObject({ complete: false, lost: false })
    expect(body.sources).toEqual([{ source: fp, host, service, path: file, state: 'deleted', acked, size: acked, line_bytes: Math.round(acked / 300), ranges: [{ from: acked, to: null, bytes: null, class: 'dropped', reason: 'deleted', before: iso(299), after: null }] }])
    expect(await count()).toBe(300)
    const cli = await cliGaps()
    expect(cli.code).toBe(0)
    expect(cli.out).toMatch(new RegExp(`\n${host} +${service} +${file.replace(/[.]/g, '\\.')} +${fp.slice(0, 12)} +${acked} +\\? +\\? +dropped \\(deleted\\) +${iso(299)} \\.\\. -\n`))
    // dropped is said first, whatever the exit status; --fail-on dropped makes it exit 1
    expect(cli.out.split('\n')[0]).toBe('DROPPED: 1 range, size unknown (deleted) — never sent by the shipper: not in Sluice and never will be')
    const strict = await cliGaps(['--fail-on', 'lost,dropped'])
    expect(strict.code).toBe(1)
    // the same report (summary, ranges; the hosts' ages move on)
    expect(strict.out.split('\n\n').slice(0, 2)).toEqual(cli.out.split('\n\n').slice(0, 2))
    expect(ship.stderr()).toContain(`ship: lost the unread end of a rotated file: ${file} (source ${fp}) was read up to byte ${acked} and is no longer in its directory`)
  })
})
