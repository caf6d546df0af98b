// Done-when #1: `sluice ship` SIGKILLed 5 times while 200,000 numbered lines are written
// (the writer often leaves the file ending inside a line). After draining, the logs table
// holds every line exactly once: checkpoints only move after Kafka acks, replays after a
// crash carry the same (source, offset) identity, and no fragment is ever shipped.
import fs from 'node:fs'
import path from 'node:path'
import { spawn } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { topicsFor } from '../../schemas/topics.js'
import { root, runCli, stopChild, tempDir, uniquePrefix, waitFor, type Running } from '../helpers/env.js'
import { lineCounts, startSink, type Sink } from '../helpers/sink.js'

const total = 200_000
const rate = 8_000 // lines/s: the write takes ~25 s, long enough for 5 kill cycles
const kills = 5

function checkpointSum (file: string): number {
  try {
    const cp = JSON.parse(fs.readFileSync(file, 'utf8')) as { sources: Record<string, { offset: number }> }
    return Object.values(cp.sources).reduce((s, c) => s + c.offset, 0)
  } catch { return 0 }
}

describe('shipper survives SIGKILL', () => {
  const dir = tempDir('kill')
  const logDir = path.join(dir, 'logs', 'killtest')
  const dataDir = path.join(dir, 'data')
  const prefix = uniquePrefix('kill')
  const brokers = [inject('kafkaBrokers')]
  const env = { KAFKA_BROKERS: brokers[0], SLUICE_DATA_DIR: dataDir, SLUICE_TOPIC_PREFIX: prefix }
  const cpFile = path.join(dataDir, 'shipper', 'checkpoints.json')
  let sink: Sink
  let shipper: Running | undefined

  beforeAll(async () => {
    fs.mkdirSync(logDir, { recursive: true })
    sink = await startSink('kill', brokers, topicsFor(prefix))
  })
  afterAll(async () => {
    if (shipper !== undefined) await stopChild(shipper)
    await sink?.stop()
  })

  it(`delivers all ${total} lines exactly once across ${kills} SIGKILLs`, async () => {
    const file = path.join(logDir, 'app.log')
    const writer = spawn(process.execPath, [path.join(root, 'test/fixtures/numbered-writer.mjs'), file, String(total), String(rate), 'split'], { stdio: ['ignore', 'pipe', 'inherit'] })
    let wrote = ''
    writer.stdout.on('data', d => { wrote += String(d) })
    const writerDone = new Promise<number | null>(resolve => writer.once('exit', resolve))

    const args = ['ship', '--path', path.join(dir, 'logs', '*', '*.log')]
    let killed = 0
    for (let k = 0; k < kills; k++) {
      const before = checkpointSum(cpFile)
      shipper = runCli(args, env)
      const s = shipper
      // kill only once this incarnation has shipped something: every kill lands mid-stream
      await waitFor(`shipper #${k + 1} to advance its checkpoint`, async () => {
        if (s.child.exitCode !== null) throw new Error(`shipper exited ${s.child.exitCode}: ${s.stderr()}`)
        return checkpointSum(cpFile) > before
      }, 60_000, 50)
      await new Promise(resolve => setTimeout(resolve, 300 + Math.floor(Math.random() * 1200)))
      s.child.kill('SIGKILL')
      await s.exited
      killed++
    }
    shipper = runCli(args, env)
    expect(await writerDone).toBe(0)
    expect(wrote.trim()).toBe(`wrote ${total}`)

    let last = { final: 0, distinct: 0, raw: 0 }
    await waitFor(`${total} lines in ClickHouse`, async () => {
      last = await lineCounts(sink)
      return last.final >= total
    }, 150_000, 1000, () => JSON.stringify(last))
    // let anything still in flight land, then count once more
    await new Promise(resolve => setTimeout(resolve, 3000))
    last = await lineCounts(sink)
    const [{ lo, hi, flagged }] = await sink.rows<{ lo: number, hi: number, flagged: number }>(
      "SELECT min(JSONExtractInt(fields, 'n')) AS lo, max(JSONExtractInt(fields, 'n')) AS hi, countIf(length(flags) > 0) AS flagged FROM sluice.logs FINAL")
    console.log(`[shipper-sigkill] kills=${killed} final=${last.final} distinct=${last.distinct} raw(without FINAL)=${last.raw} flagged=${flagged}`)
    expect(killed).toBe(kills)
    expect(last.final).toBe(total)
    expect(last.distinct).toBe(total)
    expect([Number(lo), Number(hi)]).toEqual([0, total - 1])
    // a fragment would be flagged not_json: none may exist
    expect(Number(flagged)).toBe(0)
    expect(await stopChild(shipper)).toBe(0)
    shipper = undefined
  })
})
