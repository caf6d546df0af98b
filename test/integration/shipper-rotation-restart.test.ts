// Issue 16: lines lost on rotation + restart. Real logrotate (rename + create, every second),
// `sluice ship --path <dir>/app.log` as a child process SIGKILLed right after rotations, and
// the real collector into embedded ClickHouse. Every numbered line must arrive exactly once;
// a rotated file gzipped before the shipper returns is the one loss allowed, and it must be
// reported (stderr line, metrics) and be exactly the part of that file never read.
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { topicsFor } from '../../schemas/topics.js'
import { logrotate } from '../helpers/logrotate.js'
import { root, runCli, stopChild, tempDir, uniquePrefix, waitFor, type Running } from '../helpers/env.js'
import { startSink, type Sink } from '../helpers/sink.js'

const total = 50_000
const rate = 2_000 // lines/s: ~25 s of writing, a rotation every second

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

interface Delivered { final: number, raw: number, identities: number, numbers: number[] }

async function delivered (sink: Sink, service: string): Promise<Delivered> {
  const where = `service = '${service}'`
  const [f] = await sink.rows<{ c: number, ids: number }>(`SELECT count() AS c, uniqExact(source, offset) AS ids FROM sluice.logs FINAL WHERE ${where}`)
  const [r] = await sink.rows<{ c: number }>(`SELECT count() AS c FROM sluice.logs WHERE ${where}`)
  const rows = await sink.rows<{ n: number }>(`SELECT JSONExtractInt(fields, 'n') AS n FROM sluice.logs FINAL WHERE ${where}`)
  return { final: Number(f.c), raw: Number(r.c), identities: Number(f.ids), numbers: rows.map(x => Number(x.n)).sort((a, b) => a - b) }
}

/** every expected line number exactly once: compared as sorted lists, so a duplicate or a gap shows */
function expectExactly (got: number[], want: number[]): void {
  const dup = got.filter((n, i) => i > 0 && got[i - 1] === n)
  const have = new Set(got)
  const missing = want.filter(n => !have.has(n))
  expect({ duplicates: dup.slice(0, 10), missing: missing.slice(0, 10), missingCount: missing.length, count: got.length }).toEqual({ duplicates: [], missing: [], missingCount: 0, count: want.length })
  expect(got).toEqual(want)
}

/** missing line numbers as ranges, for a failure message */
function gaps (got: number[], total: number): string {
  const have = new Set(got)
  const out: string[] = []
  for (let n = 0; n < total; n++) {
    if (have.has(n)) continue
    let m = n
    while (m + 1 < total && !have.has(m + 1)) m++
    out.push(`${n}-${m}`)
    n = m
  }
  return out.join(',')
}

async function settle (sink: Sink, service: string, expected: number, logs: () => string = () => ''): Promise<Delivered> {
  let last: Delivered = { final: 0, raw: 0, identities: 0, numbers: [] }
  await waitFor(`${expected} rows of ${service} in ClickHouse`, async () => {
    last = await delivered(sink, service)
    return last.final >= expected
  }, 90_000, 1000, () => `final=${last.final} raw=${last.raw} missing=${gaps(last.numbers, expected)}\n${logs()}`)
  await sleep(3000) // anything still in flight (a replay) lands, then count once more
  return await delivered(sink, service)
}

describe('shipper: rotation + restart (issue 16)', () => {
  const prefix = uniquePrefix('rotkill')
  const brokers = [inject('kafkaBrokers')]
  let sink: Sink
  const children = new Set<Running>()
  /** every shipper started, for the failure message: what each said on stderr */
  const incarnations: Running[] = []
  const shipperLogs = (): string => incarnations.map((r, i) => `--- shipper #${i + 1}\n${r.stderr()}`).join('\n')

  beforeAll(async () => { sink = await startSink('rotkill', brokers, topicsFor(prefix)) })
  afterAll(async () => {
    for (const c of children) await stopChild(c)
    await sink?.stop()
  })

  function setup (service: string, logrotateOptions: string): { base: string, file: string, conf: string, state: string, ship: (extra?: string[], glob?: string) => Running, cpFile: string } {
    const base = tempDir(service)
    const logDir = path.join(base, service)
    fs.mkdirSync(logDir)
    const file = path.join(logDir, 'app.log')
    fs.writeFileSync(file, '')
    const conf = path.join(base, 'logrotate.conf')
    fs.writeFileSync(conf, `${file} {\n  rotate 1000\n  missingok\n  ifempty\n  create\n  ${logrotateOptions}\n}\n`)
    const dataDir = path.join(base, 'data')
    const env = { KAFKA_BROKERS: brokers[0], SLUICE_DATA_DIR: dataDir, SLUICE_TOPIC_PREFIX: prefix }
    return {
      base,
      file,
      conf,
      state: path.join(base, 'state'),
      cpFile: path.join(dataDir, 'shipper', 'checkpoints.json'),
      ship (extra = [], glob = file) {
        const r = runCli(['ship', '--path', glob, '--host', service, ...extra], env)
        children.add(r)
        incarnations.push(r)
        void r.exited.then(() => children.delete(r))
        return r
      }
    }
  }

  /** the writer runs while logrotate rotates every second; `onRotation(i)` runs right after rotation i */
  async function rotateWhileWriting (s: ReturnType<typeof setup>, onRotation: (i: number, rotatedAt: number) => void): Promise<{ rotations: number, errors: string[] }> {
    const writer = spawn(process.execPath, [path.join(root, 'test/fixtures/numbered-writer.mjs'), s.file, String(total), String(rate), 'reopen'], { stdio: ['ignore', 'ignore', 'inherit'] })
    let writing = true
    const writerDone = new Promise<number | null>(resolve => writer.once('exit', code => { writing = false; resolve(code) }))
    let rotations = 0
    const errors: string[] = []
    while (writing) {
      await sleep(1000)
      const e = await logrotate(s.conf, s.state)
      if (e !== '') { errors.push(e.trim()); continue }
      rotations++
      onRotation(rotations, Date.now())
    }
    expect(await writerDone).toBe(0)
    return { rotations, errors }
  }

  it('regression (issue 16, lines of rotated files lost when the shipper was killed): rotation every second, 5 SIGKILLs each right after a rotation, restart 1 s later: 50,000 lines exactly once', async () => {
    const s = setup('rr-kill', 'nocompress')
    let shipper = s.ship()
    const killDelays: number[] = []
    const restarts: Array<Promise<void>> = []
    const killAt = new Set([3, 7, 11, 15, 19])
    const { rotations, errors } = await rotateWhileWriting(s, (i, rotatedAt) => {
      if (!killAt.has(i)) return
      shipper.child.kill('SIGKILL')
      killDelays.push(Date.now() - rotatedAt)
      const dead = shipper
      restarts.push((async () => { await dead.exited; await sleep(1000); shipper = s.ship() })())
    })
    await Promise.all(restarts)
    const got = await settle(sink, 'rr-kill', total, shipperLogs)
    // replays (at-least-once into Kafka, collapsed by FINAL): which lines, from which source
    const replays = await sink.rows<{ source: string, lo: number, hi: number, c: number }>("SELECT source, min(JSONExtractInt(fields, 'n')) AS lo, max(JSONExtractInt(fields, 'n')) AS hi, count() AS c FROM (SELECT source, offset, any(fields) AS fields FROM sluice.logs WHERE service = 'rr-kill' GROUP BY source, offset HAVING count() > 1) GROUP BY source")
    console.log(`[shipper-rotation-restart] kill replays: ${replays.map(r => `${r.source}:${r.lo}-${r.hi}(${r.c})`).join(' ') || 'none'}`)
    console.log(`[shipper-rotation-restart] kill: rotations=${rotations} kills=${killDelays.length} kill-after-rotation-ms=${killDelays.join(',')} final=${got.final} identities=${got.identities} raw=${got.raw} logrotate-errors=${errors.length} files=${fs.readdirSync(path.dirname(s.file)).length}`)
    expect(killDelays).toHaveLength(5)
    expect(killDelays.every(ms => ms <= 200)).toBe(true)
    expect(got.final).toBe(total)
    expect(got.identities).toBe(total)
    expectExactly(got.numbers, Array.from({ length: total }, (_, i) => i))
    expect(await stopChild(shipper)).toBe(0)
    // bounded bookkeeping: at most one checkpoint entry per file still on disk
    const entries = Object.keys((JSON.parse(fs.readFileSync(s.cpFile, 'utf8')) as { sources: object }).sources).length
    expect(entries).toBeLessThanOrEqual(fs.readdirSync(path.dirname(s.file)).length)
  })

  it('regression (issue 16): the shipper stopped for 10 s across three rotations: 50,000 lines exactly once', async () => {
    const s = setup('rr-stop', 'nocompress')
    let shipper = s.ship()
    let down: { from: number, to: number } | null = null
    let restarted: Promise<void> = Promise.resolve()
    const rotatedAt: number[] = []
    const { rotations } = await rotateWhileWriting(s, (i, at) => {
      rotatedAt.push(at)
      if (i !== 4) return
      shipper.child.kill('SIGKILL')
      const dead = shipper
      down = { from: Date.now(), to: Infinity }
      restarted = (async () => { await dead.exited; await sleep(10_000); down!.to = Date.now(); shipper = s.ship() })()
    })
    await restarted
    const d = down as { from: number, to: number } | null
    const whileDown = rotatedAt.filter(t => d !== null && t > d.from && t < d.to).length
    const got = await settle(sink, 'rr-stop', total, shipperLogs)
    console.log(`[shipper-rotation-restart] stop: rotations=${rotations} rotations-while-down=${whileDown} final=${got.final} identities=${got.identities} raw=${got.raw}`)
    expect(whileDown).toBeGreaterThanOrEqual(3)
    expect(got.final).toBe(total)
    expect(got.identities).toBe(total)
    expectExactly(got.numbers, Array.from({ length: total }, (_, i) => i))
    expect(await stopChild(shipper)).toBe(0)
  })

  it('a rotated file gzipped before the shipper returns: the loss is reported with path and offset, counted, and every other line arrives exactly once', async () => {
    const s = setup('rr-gz', 'compress')
    const line = (n: number): string => `{"time":${Date.now()},"level":30,"n":${n},"msg":"line ${n}"}\n`
    const write = (from: number, to: number): void => { let d = ''; for (let n = from; n < to; n++) d += line(n); fs.appendFileSync(s.file, d) }
    write(0, 10_000)
    const glob = `${s.file}*` // matches the .gz too: it must be skipped, not shipped
    const first = s.ship([], glob)
    const ino = fs.statSync(s.file).ino
    const size = fs.statSync(s.file).size
    // caught up (acknowledged and written): the checkpoint is exactly what Kafka has
    const acked = await waitFor('the checkpoint to reach the end of app.log', async () => {
      const cp = JSON.parse(fs.readFileSync(s.cpFile, 'utf8')) as { sources: Record<string, { offset: number, ino?: number }> }
      const hit = Object.entries(cp.sources).find(([, c]) => c.ino === ino && c.offset === size)
      return hit === undefined ? undefined : { fp: hit[0], offset: hit[1].offset }
    }, 60_000, 100)
    first.child.kill('SIGKILL')
    await first.exited
    write(10_000, 20_000) // written while the shipper is down: never read
    expect(await logrotate(s.conf, s.state)).toBe('')
    const gz = `${s.file}.1.gz`
    expect(fs.existsSync(gz)).toBe(true)
    write(20_000, 30_000)
    const content = zlib.gunzipSync(fs.readFileSync(gz))
    const lostNumbers = [...content.subarray(acked.offset).toString().matchAll(/"n":(\d+)/g)].map(m => Number(m[1]))
    const lostBytes = content.length - acked.offset

    const second = s.ship(['--metrics-port', '0'], glob)
    const url = await waitFor('the metrics URL', async () => /metrics at (\S+)/.exec(second.stderr())?.[1], 60_000, 100)
    const want = Array.from({ length: 30_000 }, (_, i) => i).filter(n => !lostNumbers.includes(n))
    const got = await settle(sink, 'rr-gz', want.length)
    const metrics = await (await fetch(url)).text()
    const lossLines = second.stderr().split('\n').filter(l => l.includes('lost the unread end'))
    console.log(`[shipper-rotation-restart] gzip: acked=${acked.offset} lost-lines=${lostNumbers.length} lost-bytes=${lostBytes} final=${got.final}\n${lossLines.join('\n')}`)
    expect(lostNumbers).toEqual(Array.from({ length: 10_000 }, (_, i) => 10_000 + i))
    expect(lossLines).toEqual([`sluice: warning: ship: lost the unread end of a rotated file: ${gz} (source ${acked.fp}) was read up to byte ${acked.offset} and was compressed before the shipper could finish it; ${lostBytes} bytes lost — use logrotate's delaycompress, and keep rotated files longer than the shipper can be down`])
    expect(metrics).toContain(`sluice_shipper_lost_bytes_total{reason="compressed"} ${lostBytes}\n`)
    expect(metrics).toContain('sluice_shipper_lost_files_total{reason="compressed"} 1\n')
    expect(metrics).toContain('sluice_shipper_skipped_files_total{reason="compressed"} 1\n')
    expect(got.final).toBe(want.length)
    expect(got.identities).toBe(want.length)
    expectExactly(got.numbers, want)
    expect(await stopChild(second)).toBe(0)
  })
})
