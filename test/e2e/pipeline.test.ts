// End to end on the real broker and engine: two processes log through pino +
// sluice/transport as two hosts; `sluice up` (its own shipper, collector, query API and
// embedded ClickHouse) must return exactly those lines, newest first.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { logFromTwoHosts, startUp, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'

interface Line { ts: string, host: string, service: string, level: string, msg: string, fields: Record<string, unknown>, source: string, offset: number }

const perHost = 10_000
const token = 'zq7needle4815'

describe('pipeline: transport → ship → Kafka → collect → ClickHouse → /v1/logs', () => {
  const dataDir = tempDir('e2e')
  let up: Awaited<ReturnType<typeof startUp>>

  beforeAll(async () => {
    const port = await freePort()
    up = await startUp({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(port), SLUICE_TOPIC_PREFIX: uniquePrefix('e2e') })
  })
  afterAll(async () => {
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
  })

  it('returns exactly the 20,000 logged lines, newest first, and finds a unique token', async () => {
    const [a, b] = await logFromTwoHosts(dataDir, perHost, 7777, token)
    expect(a).toEqual({ code: 0, stderr: '' })
    expect(b).toEqual({ code: 0, stderr: '' })

    const fetchAll = async (): Promise<Line[]> => {
      const all: Line[] = []
      let cursor: string | null = null
      do {
        const qs = new URLSearchParams({ limit: '5000', since: '1h', order: 'desc' })
        if (cursor !== null) qs.set('cursor', cursor)
        const res = await fetch(`${up.url}/v1/logs?${qs.toString()}`)
        expect(res.status).toBe(200)
        const body = await res.json() as { lines: Line[], nextCursor: string | null }
        all.push(...body.lines)
        cursor = body.nextCursor
      } while (cursor !== null)
      return all
    }
    let seenCount = 0
    const lines = await waitFor('20,000 lines to be queryable', async () => {
      const all = await fetchAll()
      seenCount = all.length
      return all.length >= 2 * perHost ? all : undefined
    }, 90_000, 500, () => `${seenCount} lines; sluice up stderr: ${up.stderr().slice(-2000)}`)

    expect(lines.length).toBe(2 * perHost)
    const seen = new Map<string, number>()
    for (const l of lines) {
      const n = l.fields.n as number
      const expected = l.host === 'host-a' && n === 7777 ? `line ${n} from host-a ${token}` : `line ${n} from ${l.host}`
      expect(l.msg).toBe(expected)
      expect(l.service).toBe('checkout')
      expect(l.level).toBe('info')
      const k = `${l.host}/${n}`
      seen.set(k, (seen.get(k) ?? 0) + 1)
    }
    expect(seen.size).toBe(2 * perHost)
    for (const host of ['host-a', 'host-b']) for (let n = 0; n < perHost; n++) expect(seen.get(`${host}/${n}`)).toBe(1)
    // newest first: timestamps never increase; within one host's file, line numbers strictly fall
    for (let i = 1; i < lines.length; i++) expect(Date.parse(lines[i].ts)).toBeLessThanOrEqual(Date.parse(lines[i - 1].ts))
    for (const host of ['host-a', 'host-b']) {
      const ns = lines.filter(l => l.host === host).map(l => l.fields.n as number)
      expect(ns).toEqual([...Array(perHost).keys()].reverse())
    }

    const res = await fetch(`${up.url}/v1/logs?q=${token}&since=1h`)
    expect(res.status).toBe(200)
    const found = await res.json() as { lines: Line[], nextCursor: string | null }
    expect(found.nextCursor).toBeNull()
    expect(found.lines.map(l => [l.host, l.msg, l.fields.n])).toEqual([['host-a', `line 7777 from host-a ${token}`, 7777]])
  })
})
