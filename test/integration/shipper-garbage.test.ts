// Done-when #3: 1% garbage among 100,000 lines — invalid JSON, NUL bytes, invalid UTF-8 and
// one 5 MB line. Every valid line arrives untouched; every bad line arrives too, flagged, so
// it is counted (shipper metrics) and findable (flags column); nothing goes to dead letters.
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { topicsFor } from '../../schemas/topics.js'
import { createShipper } from '../../shipper/ship.js'
import { tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { startSink, type Sink } from '../helpers/sink.js'

const total = 100_000
const bigAt = 50_050
type Kind = 'ok' | 'json' | 'nul' | 'utf8' | 'big'

function kindOf (i: number): Kind {
  if (i === bigAt) return 'big'
  if (i % 100 !== 50) return 'ok'
  return (['json', 'nul', 'utf8'] as const)[Math.floor(i / 100) % 3]
}

function lineOf (i: number, now: number): Buffer {
  switch (kindOf(i)) {
    case 'ok': return Buffer.from(`{"time":${now},"level":30,"n":${i},"msg":"line ${i}"}\n`)
    case 'json': return Buffer.from(`{"time":${now},"level":30,"n":${i},"msg":"bad-json-${i}"\n`)
    case 'nul': return Buffer.from(`bad-nul-${i} \0\0\0 binary\n`)
    case 'utf8': return Buffer.concat([Buffer.from(`{"time":${now},"level":30,"n":${i},"msg":"bad-utf8-${i} `), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}\n')])
    case 'big': return Buffer.from(`{"time":${now},"level":30,"n":${i},"msg":"bad-big-${i} ${'x'.repeat(5 * 1024 * 1024)}"}\n`)
  }
}

describe('shipper with garbage lines', () => {
  const dir = tempDir('garbage')
  const prefix = uniquePrefix('garbage')
  const brokers = [inject('kafkaBrokers')]
  let sink: Sink

  beforeAll(async () => { sink = await startSink('garbage', brokers, topicsFor(prefix)) })
  afterAll(async () => { await sink?.stop() })

  it('delivers every valid line and counts and flags every bad one', async () => {
    const logDir = path.join(dir, 'garbage')
    fs.mkdirSync(logDir)
    const file = path.join(logDir, 'app.log')
    const fd = fs.openSync(file, 'w')
    const expected = { ok: 0, json: 0, nul: 0, utf8: 0, big: 0 }
    let okSum = 0
    const now = Date.now()
    let batch: Buffer[] = []
    for (let i = 0; i < total; i++) {
      const k = kindOf(i)
      expected[k]++
      if (k === 'ok') okSum += i
      batch.push(lineOf(i, now))
      if (batch.length === 1000) { fs.writeSync(fd, Buffer.concat(batch)); batch = [] }
    }
    fs.writeSync(fd, Buffer.concat(batch))
    fs.closeSync(fd)
    // 1% bad: 999 cycled through three kinds (the 5 MB line takes one utf8 slot) + the big one
    expect(expected).toEqual({ ok: 99_000, json: 334, nul: 333, utf8: 332, big: 1 })

    // zstd here, so the collector's zstd decoding is tested end to end; the other shipper tests
    // run the default gzip
    const shipper = createShipper({ brokers, topics: topicsFor(prefix), globs: [file], dataDir: path.join(dir, 'data'), host: 'garbage-host', compression: 'zstd' })
    await shipper.start()
    let seen = 0
    await waitFor(`${total} rows`, async () => {
      const [r] = await sink.rows<{ c: number }>('SELECT count() AS c FROM sluice.logs FINAL')
      seen = Number(r.c)
      return seen >= total
    }, 120_000, 1000, () => `${seen} rows`)
    await new Promise(resolve => setTimeout(resolve, 2000))

    const [c] = await sink.rows<Record<string, number>>(`SELECT
        count() AS total,
        countIf(length(flags) = 0) AS clean,
        uniqExactIf(JSONExtractInt(fields, 'n'), length(flags) = 0) AS clean_distinct,
        sumIf(JSONExtractInt(fields, 'n'), length(flags) = 0) AS clean_sum,
        countIf(length(flags) = 0 AND msg = concat('line ', toString(JSONExtractInt(fields, 'n')))) AS clean_exact,
        countIf(has(flags, 'not_json')) AS not_json,
        countIf(has(flags, 'invalid_utf8')) AS invalid_utf8,
        countIf(has(flags, 'truncated')) AS truncated,
        countIf(has(flags, 'not_json') AND startsWith(msg, '{"time"') AND position(msg, 'bad-json-') > 0) AS json_found,
        countIf(has(flags, 'not_json') AND startsWith(msg, 'bad-nul-') AND position(msg, '\\0\\0\\0') > 0) AS nul_found,
        countIf(has(flags, 'invalid_utf8') AND startsWith(msg, 'bad-utf8-') AND JSONExtractInt(fields, 'n') % 100 = 50) AS utf8_found,
        countIf(has(flags, 'truncated') AND position(msg, 'bad-big-${bigAt}') > 0 AND length(msg) <= 262144) AS big_found
      FROM sluice.logs FINAL`)
    const [dl] = await sink.rows<{ c: number }>('SELECT count() AS c FROM sluice.dead_letters')
    const metrics = await shipper.registry.getSingleMetricAsString('sluice_shipper_flagged_lines_total')
    const flaggedMetric = (flag: string): number => Number(new RegExp(`flag="${flag}"} (\\d+)`).exec(metrics)?.[1] ?? -1)
    await shipper.stop()
    const counts = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, Number(v)]))
    console.log(`[shipper-garbage] ${JSON.stringify(counts)} dead_letters=${dl.c} metrics not_json=${flaggedMetric('not_json')} invalid_utf8=${flaggedMetric('invalid_utf8')} truncated=${flaggedMetric('truncated')}`)

    expect(counts).toEqual({
      total,
      clean: 99_000,
      clean_distinct: 99_000,
      clean_sum: okSum,
      clean_exact: 99_000,
      not_json: 334 + 333 + 1, // invalid JSON, NUL lines, and the truncated 5 MB line (no longer JSON)
      invalid_utf8: 332,
      truncated: 1,
      json_found: 334,
      nul_found: 333,
      utf8_found: 332,
      big_found: 1
    })
    expect(Number(dl.c)).toBe(0)
    expect([flaggedMetric('not_json'), flaggedMetric('invalid_utf8'), flaggedMetric('truncated')]).toEqual([668, 332, 1])
  })
})
