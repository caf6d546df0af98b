// Compression of the query API's answers on a real server, real ClickHouse and a real broker:
// whole JSON answers (and a /v1/logs page as NDJSON) go out gzip/br when the client accepts it,
// byte for byte the same once decoded; the SSE tail is never compressed, so each event arrives
// while the stream stays open.
import http from 'node:http'
import zlib from 'node:zlib'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import type { Producer } from 'kafkajs'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { createKafka, prepareKafka } from '../../platform/kafka.js'
import { migrate } from '../../schemas/migrations.js'
import { topicsFor } from '../../schemas/topics.js'
import { buildQueryApi } from '../../query-api/server.js'
import { tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { insertStatsFixture } from '../helpers/stats-fixture.js'

interface Answer { status: number, headers: http.IncomingHttpHeaders, body: Buffer }

/** GET over node:http: the body exactly as it crossed the wire (fetch would decode it). */
async function get (url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    http.get(url, { headers }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    }).on('error', reject)
  })
}

const stats = '/v1/stats?metric=heap_used&since=2026-11-20T10:00:00Z&until=2026-11-20T10:09:59Z&step=1m'

describe('compressed answers of the query API', () => {
  const brokers = [inject('kafkaBrokers')]
  const topics = topicsFor(uniquePrefix('gz'))
  const db = 'sluice'
  let ch: ClickHouse
  let app: FastifyInstance
  let base: string
  let producer: Producer

  beforeAll(async () => {
    await prepareKafka(brokers, topics)
    producer = createKafka(brokers, 'gz-test').producer({ allowAutoTopicCreation: false })
    await producer.connect()
    ch = await createClickHouse({ database: db, dataDir: tempDir('qgz') })
    await migrate(ch.client, db, { retentionDays: 3650 })
    await insertStatsFixture(ch.client, db)
    // 40 lines of one host for a /v1/logs page
    await ch.client.command({
      query: `INSERT INTO ${db}.logs (ts, host, service, pid, level, level_num, msg, fields, source, path, offset, flags)
SELECT fromUnixTimestamp64Milli(toInt64(1795564800000 + number * 1000), 'UTC'), 'gz-1', 'api', 9, 'info', 30, concat('request ', toString(number), ' served'),
  concat('{"n":', toString(number), '}'), 'gz-src', '/api.log', number * 80, []
FROM numbers(40)`,
      clickhouse_settings: { max_execution_time: 0, max_rows_to_read: 0 }
    })
    // heartbeats far apart: nothing but the line itself can push an event out
    app = await buildQueryApi({ clickhouse: ch.client, database: db, tokens: [], registries: [], tail: { brokers, topics, heartbeatMs: 600_000 } })
    await app.listen({ port: 0, host: '127.0.0.1' })
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await producer?.disconnect()
    await app?.close()
    await ch?.close()
  })

  it('/v1/stats: gzip or br when accepted, the same bytes once decoded; plain without accept-encoding', async () => {
    const plain = await get(`${base}${stats}`)
    expect(plain.status).toBe(200)
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(plain.body.length).toBeGreaterThan(1024)
    expect((JSON.parse(plain.body.toString('utf8')) as { series: unknown[] }).series.length).toBe(3)

    const gz = await get(`${base}${stats}`, { 'accept-encoding': 'gzip' })
    expect(gz.status).toBe(200)
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(gz.headers.vary).toBe('accept-encoding')
    expect(zlib.gunzipSync(gz.body).equals(plain.body)).toBe(true)
    expect(gz.body.length).toBeLessThan(plain.body.length / 3)

    // what a browser sends: brotli is preferred
    const br = await get(`${base}${stats}`, { 'accept-encoding': 'gzip, deflate, br' })
    expect(br.headers['content-encoding']).toBe('br')
    expect(zlib.brotliDecompressSync(br.body).equals(plain.body)).toBe(true)
  })

  it('an answer under 1 KiB goes out as it is', async () => {
    const small = await get(`${base}${stats.replace('step=1m', 'step=10m')}&host=web-2`, { 'accept-encoding': 'gzip' })
    expect(small.status).toBe(200)
    expect(small.headers['content-encoding']).toBeUndefined()
    expect(JSON.parse(small.body.toString('utf8'))).toMatchObject({ series: [{ host: 'web-2', pid: 202, points: [['2026-11-20T10:00:00.000Z', 64 * 1024 * 1024]] }] })
  })

  it('/v1/logs as NDJSON is one page, not a stream: compressed like JSON, the same lines once decoded', async () => {
    const url = `${base}/v1/logs?host=gz-1&since=2026-11-25T00:00:00Z&until=2026-11-25T01:00:00Z&limit=40`
    const plain = await get(url, { accept: 'application/x-ndjson' })
    expect(plain.status).toBe(200)
    const lines = plain.body.toString('utf8').trimEnd().split('\n').map(l => JSON.parse(l) as { msg: string })
    expect(lines.map(l => l.msg)).toEqual([...Array(40).keys()].map(n => `request ${n} served`))
    const gz = await get(url, { accept: 'application/x-ndjson', 'accept-encoding': 'gzip' })
    expect(gz.headers['content-type']).toBe('application/x-ndjson; charset=utf-8')
    expect(gz.headers['content-encoding']).toBe('gzip')
    expect(zlib.gunzipSync(gz.body).equals(plain.body)).toBe(true)
  })

  it('/v1/tail (SSE) with accept-encoding gzip: not compressed, a line arrives while the stream stays open', async () => {
    let buf = ''
    let ended = false
    const req = http.get(`${base}/v1/tail?host=gz-live`, { headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip, br' } })
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => { req.on('response', resolve); req.on('error', reject) })
    res.setEncoding('utf8')
    res.on('data', (c: string) => { buf += c })
    res.on('close', () => { ended = true })
    try {
      expect(res.statusCode).toBe(200)
      expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8')
      expect(res.headers['content-encoding']).toBeUndefined()
      const rec = { v: 1, kind: 'log', ts: new Date().toISOString(), host: 'gz-live', service: 'api', pid: 1, level: 'info', msg: 'one line, on its own', fields: {}, src: 'gz-live-src', path: '/app.log', off: 0, flags: [] }
      await producer.send({ topic: topics.logs, messages: [{ key: 'gz-live', value: JSON.stringify(rec) + '\n' }], acks: -1 })
      await waitFor('the line event', async () => buf.includes('event: line'), 60_000)
      expect(ended).toBe(false)
      const data = buf.split('\n').find(l => l.startsWith('data: '))!
      expect(JSON.parse(data.slice(6))).toMatchObject({ host: 'gz-live', msg: 'one line, on its own', source: 'gz-live-src', offset: 0 })
    } finally {
      req.destroy()
    }
  })
})
