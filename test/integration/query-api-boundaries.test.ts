// Issue 15 (items 9, 10) on the real engine and broker: the Host check that stops DNS
// rebinding on a loopback bind, the case-insensitive Bearer scheme, per-client caps on live
// tails (by address without tokens, by token with them) and query slots, an SSE tail that
// outlives the request timeout, and --metrics-port's token check beyond loopback.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import type { Producer } from 'kafkajs'
import { Counter, Registry } from 'prom-client'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { createKafka, prepareKafka } from '../../platform/kafka.js'
import { serveMetrics } from '../../platform/metrics-http.js'
import { topicsFor } from '../../schemas/topics.js'
import { migrate } from '../../schemas/migrations.js'
import { buildQueryApi } from '../../query-api/server.js'
import { createQuerySlots } from '../../query-api/query-slots.js'
import { tempDir, uniquePrefix, waitFor } from '../helpers/env.js'

interface Res { status: number, headers: http.IncomingHttpHeaders, body: string }

/** GET with full control of Host and the local address (a second "client" is 127.0.0.2). */
function get (url: string, headers: Record<string, string> = {}, localAddress?: string): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, localAddress }, r => {
      let body = ''
      r.setEncoding('utf8')
      r.on('data', (d: string) => { body += d })
      r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body }))
    })
    req.on('error', reject)
  })
}

/** An SSE request held open; resolves its status once the headers arrive. */
function openTail (url: string, headers: Record<string, string> = {}, localAddress?: string): { status: Promise<number>, text: () => string, close: () => void } {
  let text = ''
  let req!: http.ClientRequest
  const status = new Promise<number>((resolve, reject) => {
    req = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, localAddress }, r => {
      r.setEncoding('utf8')
      r.on('data', (d: string) => { text += d })
      resolve(r.statusCode ?? 0)
    })
    req.on('error', reject)
  })
  return { status, text: () => text, close: () => req.destroy() }
}

describe('query API boundaries: Host check, bearer scheme, per-client caps, request timeout', () => {
  const brokers = [inject('kafkaBrokers')]
  const topics = topicsFor(uniquePrefix('bounds'))
  let ch: ClickHouse
  let open: FastifyInstance
  let tokened: FastifyInstance
  let openBase: string
  let tokBase: string
  let producer: Producer

  beforeAll(async () => {
    await prepareKafka(brokers, topics)
    producer = createKafka(brokers, 'bounds-test').producer({ allowAutoTopicCreation: false })
    await producer.connect()
    ch = await createClickHouse({ database: 'sluice', dataDir: tempDir('qbounds') })
    await migrate(ch.client, 'sluice', { retentionDays: 30 })
    // no tokens, loopback (the default Host check), a 1 s request timeout, 4 tails (2 per client)
    open = await buildQueryApi({ clickhouse: ch.client, database: 'sluice', tokens: [], registries: [], allowedHosts: ['sluice.internal'], requestTimeoutMs: 1000, tail: { brokers, topics, maxTails: 4, heartbeatMs: 300 } })
    await open.listen({ port: 0, host: '127.0.0.1' })
    openBase = `http://127.0.0.1:${(open.server.address() as AddressInfo).port}`
    tokened = await buildQueryApi({ clickhouse: ch.client, database: 'sluice', tokens: ['tok-a', 'tok-b'], registries: [], tail: { brokers, topics, maxTails: 4 } })
    await tokened.listen({ port: 0, host: '127.0.0.1' })
    tokBase = `http://127.0.0.1:${(tokened.server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await producer?.disconnect()
    await open?.close()
    await tokened?.close()
    await ch?.close()
  })

  it('dns rebinding: a loopback server without tokens answers Host: evil.example with 421; loopback names and SLUICE_ALLOWED_HOSTS names pass', async () => {
    const evil = await get(`${openBase}/v1/logs?since=1h`, { host: 'evil.example' })
    expect(evil.status).toBe(421)
    expect(JSON.parse(evil.body)).toEqual({ error: 'SLUICE_ERR_HOST_NOT_ALLOWED', message: 'Host "evil.example" is not allowed on a loopback bind (protection against DNS rebinding); to allow it, add it to SLUICE_ALLOWED_HOSTS (comma-separated host names)' })
    const evilPort = await get(`${openBase}/healthz`, { host: 'evil.example:7070' })
    expect(evilPort.status).toBe(421)
    for (const host of ['127.0.0.1:7070', 'localhost', 'LOCALHOST:1', '[::1]:7070', 'sluice.internal:7070', 'Sluice.Internal']) {
      const ok = await get(`${openBase}/healthz`, { host })
      expect([host, ok.status, ok.body]).toEqual([host, 200, '{"status":"ok"}'])
    }
  })

  it('bearer scheme is case-insensitive (RFC 7235); a wrong token is still 401', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
      const r = await get(`${tokBase}/v1/logs?since=1h`, { authorization: `${scheme} tok-a` })
      expect([scheme, r.status, JSON.parse(r.body)]).toEqual([scheme, 200, { lines: [], nextCursor: null }])
    }
    const bad = await get(`${tokBase}/v1/logs?since=1h`, { authorization: 'bearer tok-c' })
    expect([bad.status, JSON.parse(bad.body)]).toEqual([401, { error: 'SLUICE_ERR_UNAUTHORIZED', message: 'missing or invalid bearer token (set Authorization: Bearer <token> from SLUICE_TOKENS)' }])
  })

  it('per-client tail cap: one address holds at most half of the tails (429 + Retry-After), another address gets the rest', async () => {
    const url = `${openBase}/v1/tail?host=h-cap`
    const mine = [openTail(url), openTail(url)]
    for (const t of mine) expect(await t.status).toBe(200)
    const third = await get(url, { accept: 'text/event-stream' })
    expect([third.status, third.headers['retry-after'], JSON.parse(third.body)]).toEqual([429, '5', { error: 'SLUICE_ERR_CLIENT_LIMIT', message: 'this client already holds 2 live tails (the per-client limit); retry later or finish the others first' }])
    const theirs = [openTail(url, {}, '127.0.0.2'), openTail(url, {}, '127.0.0.2')]
    for (const t of theirs) expect(await t.status).toBe(200)
    const over = await get(url, { accept: 'text/event-stream' }, '127.0.0.3')
    expect([over.status, JSON.parse(over.body).error]).toEqual([503, 'SLUICE_ERR_TOO_MANY_TAILS'])
    const m = await (await fetch(`${openBase}/metrics`)).text()
    expect(/^sluice_tail_client_limit_refused_total (\d+)$/m.exec(m)?.[1]).toBe('1')
    for (const t of [...mine, ...theirs]) t.close()
    await waitFor('the tails to be released', async () => /^sluice_tail_clients 0$/m.test(await (await fetch(`${openBase}/metrics`)).text()), 30_000)
  })

  it('per-token tail cap: with tokens the cap follows the token, not the address', async () => {
    const url = `${tokBase}/v1/tail?host=h-cap`
    const a = [openTail(url, { authorization: 'Bearer tok-a' }), openTail(url, { authorization: 'bearer tok-a' })]
    for (const t of a) expect(await t.status).toBe(200)
    const a3 = await get(url, { accept: 'text/event-stream', authorization: 'Bearer tok-a' })
    expect([a3.status, JSON.parse(a3.body).error]).toEqual([429, 'SLUICE_ERR_CLIENT_LIMIT'])
    const b = openTail(url, { authorization: 'Bearer tok-b' })
    expect(await b.status).toBe(200)
    for (const t of [...a, b]) t.close()
  })

  it('per-client query slots: one client holds at most its share; another client still gets a slot', async () => {
    const reg = new Registry()
    const slots = createQuerySlots(4, reg)
    const gates: Array<() => void> = []
    const hold = (client: string): Promise<string> => slots.run(async () => { await new Promise<void>(resolve => gates.push(resolve)); return client }, client)
    const held = [hold('addr:a'), hold('addr:a')]
    await expect(slots.run(async () => 'x', 'addr:a')).rejects.toMatchObject({ code: 'SLUICE_ERR_CLIENT_LIMIT', statusCode: 429, message: 'this client already holds 2 concurrent queries (the per-client limit); retry later or finish the others first' })
    const other = [hold('addr:b'), hold('addr:b')]
    await expect(slots.run(async () => 'x', 'addr:c')).rejects.toMatchObject({ code: 'SLUICE_ERR_OVERLOADED', message: 'server overloaded (too many concurrent queries (limit 4)); retry later' })
    for (const g of gates) g()
    expect(await Promise.all([...held, ...other])).toEqual(['addr:a', 'addr:a', 'addr:b', 'addr:b'])
    expect(await slots.run(async () => 'again', 'addr:a')).toBe('again')
    expect(await reg.getSingleMetricAsString('sluice_query_client_limit_refused_total')).toMatch(/^sluice_query_client_limit_refused_total 1$/m)
  })

  it('an SSE tail stays open past the request timeout and keeps streaming', async () => {
    const t = openTail(`${openBase}/v1/tail?host=h-long`)
    expect(await t.status).toBe(200)
    await new Promise(resolve => setTimeout(resolve, 3000)) // three request timeouts
    await producer.send({ topic: topics.logs, messages: [{ key: 'h-long', value: JSON.stringify({ v: 1, kind: 'log', ts: new Date().toISOString(), host: 'h-long', service: 'api', pid: 1, level: 'info', msg: 'still here', fields: {}, src: 'fe1', path: '/a.log', off: 0, flags: [] }) + '\n' }], acks: -1 })
    await waitFor('the line on the long-lived tail', async () => t.text().includes('"msg":"still here"'), 30_000)
    t.close()
  })

  it('--metrics-port beyond loopback asks for the same bearer token as the API', async () => {
    const reg = new Registry()
    new Counter({ name: 'sluice_probe_total', help: 'probe', registers: [reg] }).inc()
    const srv = await serveMetrics([reg], 0, '0.0.0.0', ['tok-a'])
    try {
      const url = `http://127.0.0.1:${srv.port}/metrics`
      const none = await get(url)
      expect([none.status, JSON.parse(none.body)]).toEqual([401, { error: 'SLUICE_ERR_UNAUTHORIZED', message: 'missing or invalid bearer token (set Authorization: Bearer <token> from SLUICE_TOKENS)' }])
      const ok = await get(url, { authorization: 'bearer tok-a' })
      expect(ok.status).toBe(200)
      expect(ok.body).toMatch(/^sluice_probe_total 1$/m)
    } finally { await srv.close() }
    // on loopback it stays open, as before
    const local = await serveMetrics([reg], 0, '127.0.0.1', ['tok-a'])
    try { expect((await get(`http://127.0.0.1:${local.port}/metrics`)).status).toBe(200) } finally { await local.close() }
  })
})
