// /v1/tail on a real broker: v1 messages produced like the shipper does (NDJSON batches,
// key = host) reach SSE clients complete and in order; Last-Event-ID resumes with no gap and
// no duplicate (from the hub's ring, and from Kafka when older than the ring); a client that
// stops reading is cut off at a bounded queue and resumes losslessly.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import type { Producer } from 'kafkajs'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { createKafka, prepareKafka } from '../../platform/kafka.js'
import { topicsFor } from '../../schemas/topics.js'
import { buildQueryApi } from '../../query-api/server.js'
import { tempDir, uniquePrefix, waitFor } from '../helpers/env.js'

interface Ev { event: string, id?: string, data: string }

/** A minimal SSE reader over node:http, so the test controls reading (pause) and headers. */
function sse (url: string, headers: Record<string, string> = {}): { events: Ev[], comments: string[], lastId: () => string | undefined, status: Promise<number>, res: Promise<http.IncomingMessage>, close: () => void, ended: Promise<void> } {
  const events: Ev[] = []
  const comments: string[] = []
  let lastId: string | undefined
  let buf = ''
  let resolveEnd!: () => void
  const ended = new Promise<void>(resolve => { resolveEnd = resolve })
  let req!: http.ClientRequest
  const res = new Promise<http.IncomingMessage>((resolve, reject) => {
    req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, r => {
      r.setEncoding('utf8')
      r.on('data', (chunk: string) => {
        buf += chunk
        let i
        while ((i = buf.indexOf('\n\n')) !== -1) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          const ev: Ev = { event: 'message', data: '' }
          let any = false
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line)
            else if (line.startsWith('event: ')) { ev.event = line.slice(7); any = true } else if (line.startsWith('id: ')) { ev.id = line.slice(4); any = true } else if (line.startsWith('data: ')) { ev.data += line.slice(6); any = true }
          }
          // like EventSource: an id field sets the last event id even on a block without data
          if (ev.id !== undefined) lastId = ev.id
          if (any && ev.event !== 'message') events.push(ev)
        }
      })
      r.on('end', resolveEnd)
      r.on('close', resolveEnd)
      resolve(r)
    })
    req.on('error', err => { reject(err); resolveEnd() })
  })
  return { events, comments, lastId: () => lastId, status: res.then(r => r.statusCode ?? 0), res, close: () => req.destroy(), ended }
}

const lineNumbers = (evs: Ev[], host?: string): number[] => evs.filter(e => e.event === 'line').map(e => JSON.parse(e.data) as { host: string, fields: { n: number } }).filter(l => host === undefined || l.host === host).map(l => l.fields.n)
const range = (a: number, b: number): number[] => [...Array(b - a).keys()].map(i => i + a)

describe('GET /v1/tail (SSE) on a real Kafka broker', () => {
  const brokers = [inject('kafkaBrokers')]
  const topics = topicsFor(uniquePrefix('tail'))
  let ch: ClickHouse
  let app: FastifyInstance
  let small: FastifyInstance
  let base: string
  let smallBase: string
  let producer: Producer
  const offsets = new Map<string, number>()
  const segLineBytes = new Map<number, number>()

  /** Sends `count` lines for `host` as NDJSON messages of `perMessage` v1 records, like the shipper. */
  async function produce (host: string, from: number, count: number, perMessage = 20, pad = ''): Promise<void> {
    const messages = []
    for (let i = from; i < from + count; i += perMessage) {
      const recs = []
      for (let n = i; n < Math.min(from + count, i + perMessage); n++) {
        const off = offsets.get(host) ?? 0
        offsets.set(host, off + 100)
        recs.push(JSON.stringify({ v: 1, kind: 'log', ts: new Date().toISOString(), host, service: 'api', pid: 1, level: n % 7 === 0 ? 'error' : 'info', msg: `line ${n} from ${host}${pad}`, fields: { n }, src: `fe${host.length}`, path: '/app.log', off, flags: [] }))
      }
      messages.push({ key: host, value: recs.join('\n') + '\n' })
    }
    await producer.send({ topic: topics.logs, messages, acks: -1 })
  }

  /** Sends `count` raw pino lines for `host` as log segments of `perMessage` lines, like the shipper. */
  async function produceSegments (host: string, from: number, count: number, perMessage: number): Promise<void> {
    const messages = []
    for (let i = from; i < from + count; i += perMessage) {
      const lines = []
      for (let n = i; n < Math.min(from + count, i + perMessage); n++) {
        lines.push(JSON.stringify({ level: n % 7 === 0 ? 50 : 30, time: Date.now(), hostname: host, msg: `seg line ${n} from ${host}`, n }))
        segLineBytes.set(n, Buffer.byteLength(lines[lines.length - 1]))
      }
      const body = lines.join('\n') + '\n'
      const off = offsets.get(host) ?? 0
      offsets.set(host, off + Buffer.byteLength(body))
      const header = JSON.stringify({ v: 1, kind: 'lines', host: 'shipper-host', service: 'api', src: `seg-${host}`, path: '/app.log', off, lines: lines.length, bytes: Buffer.byteLength(body), rt: new Date().toISOString() })
      messages.push({ key: host, value: `${header}\n${body}` })
    }
    await producer.send({ topic: topics.logs, messages, acks: -1 })
  }

  /** 2,000 lines/s: 100 lines every 50 ms. */
  async function produceAtRate (host: string, from: number, count: number): Promise<void> {
    const t0 = Date.now()
    for (let sent = 0; sent < count; sent += 100) {
      await produce(host, from + sent, Math.min(100, count - sent))
      const due = t0 + ((sent + 100) / 2000) * 1000
      if (due > Date.now()) await new Promise(resolve => setTimeout(resolve, due - Date.now()))
    }
  }

  beforeAll(async () => {
    await prepareKafka(brokers, topics)
    producer = createKafka(brokers, 'tail-test').producer({ allowAutoTopicCreation: false })
    await producer.connect()
    ch = await createClickHouse({ database: 'sluice', dataDir: tempDir('qtail') })
    app = await buildQueryApi({ clickhouse: ch.client, database: 'sluice', tokens: [], registries: [], tail: { brokers, topics, maxTails: 4, maxClientBytes: 256 * 1024, heartbeatMs: 300 } })
    await app.listen({ port: 0, host: '127.0.0.1' })
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    // a second server whose ring holds only 500 lines: older resumes come from Kafka itself
    small = await buildQueryApi({ clickhouse: ch.client, database: 'sluice', tokens: [], registries: [], tail: { brokers, topics, ringLines: 500 } })
    await small.listen({ port: 0, host: '127.0.0.1' })
    smallBase = `http://127.0.0.1:${(small.server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await producer?.disconnect()
    await app?.close()
    await small?.close()
    await ch?.close()
  })

  it('10,000 lines written at 2,000/s reach a client complete and in order; a resumed client sees no gap and no duplicate', async () => {
    const whole = sse(`${base}/v1/tail?host=h-rate`)
    expect(await whole.status).toBe(200)
    expect((await whole.res).headers['content-type']).toBe('text/event-stream; charset=utf-8')
    const part = sse(`${base}/v1/tail?host=h-rate`)
    expect(await part.status).toBe(200)
    const writing = produceAtRate('h-rate', 0, 10_000)
    await waitFor('the resumable client to get 3,000 lines', async () => lineNumbers(part.events).length >= 3000, 120_000)
    part.close()
    const got = part.events.filter(e => e.event === 'line')
    const lastId = got[got.length - 1].id!
    // resume while lines keep coming: the ring replays what was missed, then live follows
    const resumed = sse(`${base}/v1/tail?host=h-rate`, { 'last-event-id': lastId })
    expect(await resumed.status).toBe(200)
    await writing
    await waitFor('all 10,000 lines at the first client', async () => lineNumbers(whole.events).length >= 10_000, 120_000, 250, () => String(lineNumbers(whole.events).length))
    expect(lineNumbers(whole.events)).toEqual(range(0, 10_000))
    await waitFor('the resumed client to reach line 9,999', async () => lineNumbers(resumed.events).includes(9999), 120_000)
    expect([...lineNumbers(got), ...lineNumbers(resumed.events)]).toEqual(range(0, 10_000))
    // every event id is a resumable position
    expect(whole.events.every(e => e.event === 'line' && /^k1\.\d+-\d+-\d+(_\d+-\d+-\d+)*$/.test(e.id ?? ''))).toBe(true)
    whole.close(); resumed.close()
  })

  it('log segments reach clients line by line; a resume from inside a segment continues at the next line', async () => {
    const whole = sse(`${base}/v1/tail?host=h-seg`)
    expect(await whole.status).toBe(200)
    await produceSegments('h-seg', 0, 500, 50)
    await waitFor('500 segment lines', async () => lineNumbers(whole.events).length >= 500, 60_000, 100, () => String(lineNumbers(whole.events).length))
    expect(lineNumbers(whole.events)).toEqual(range(0, 500))
    const lines = whole.events.filter(e => e.event === 'line').map(e => JSON.parse(e.data) as { host: string, service: string, level: string, msg: string, source: string, offset: number, flags: string[] })
    expect(lines[7]).toMatchObject({ host: 'h-seg', service: 'api', level: 'error', msg: 'seg line 7 from h-seg', source: 'seg-h-seg', flags: [] })
    expect(lines[8].level).toBe('info')
    // offsets are the lines' byte positions in their file, across messages
    let off = 0
    for (let n = 0; n < 500; n++) {
      expect(lines[n].offset).toBe(off)
      off += segLineBytes.get(n)! + 1
    }
    // line 123 is the 24th line of the 3rd segment: resume right after it
    const id = whole.events.filter(e => e.event === 'line')[123].id!
    whole.close()
    const resumed = sse(`${base}/v1/tail?host=h-seg`, { 'last-event-id': id })
    expect(await resumed.status).toBe(200)
    await waitFor('the resumed client to reach line 499', async () => lineNumbers(resumed.events).includes(499), 60_000)
    expect(lineNumbers(resumed.events)).toEqual(range(124, 500))
    resumed.close()
  })

  it('filters (service, level, substring, whole word, RE2 regex) apply live, and idle streams get heartbeats', async () => {
    // three clients at once: wait until the last test's clients have left (the cap is 4)
    await waitFor('the slots to be released', async () => /^sluice_tail_clients 0$/m.test(await (await fetch(`${base}/metrics`)).text()), 30_000)
    const errs = sse(`${base}/v1/tail?host=h-filter&level=error&q=LINE%201&i=true`)
    const re = sse(`${base}/v1/tail?host=h-filter&regex=${encodeURIComponent('^LINE 1[0-9]?5 ')}&i=true`)
    const word = sse(`${base}/v1/tail?host=h-filter&q=${encodeURIComponent('line 19')}&w=true`)
    // the shared filter language, live: a field comparison, a level and a text excluded, the host in capitals
    const fields = sse(`${base}/v1/tail?host=H-FILTER&${new URLSearchParams({ field: 'n>=190', not_level: 'ERROR', v: 'line 195 ' }).toString()}`)
    for (const s of [errs, re, word, fields]) expect(await s.status).toBe(200)
    await produce('h-filter', 0, 200)
    const want = range(0, 200).filter(n => n % 7 === 0 && String(n).startsWith('1'))
    const wantRe = range(0, 200).filter(n => /^1[0-9]?5$/.test(String(n)))
    const wantFields = [190, 191, 192, 193, 194, 197, 198, 199]
    await waitFor('filtered lines', async () => lineNumbers(errs.events).length >= want.length && lineNumbers(re.events).length >= wantRe.length && lineNumbers(word.events).length >= 1 && lineNumbers(fields.events).length >= wantFields.length, 60_000)
    await waitFor('a heartbeat', async () => errs.comments.includes(': heartbeat'), 60_000)
    expect(lineNumbers(errs.events)).toEqual(want)
    expect(lineNumbers(re.events)).toEqual(wantRe)
    expect(lineNumbers(word.events)).toEqual([19])
    expect(lineNumbers(fields.events)).toEqual(wantFields)
    for (const s of [errs, re, word, fields]) s.close()
  })

  it('resuming from a position older than the ring reads the missed lines back from Kafka', async () => {
    const first = sse(`${smallBase}/v1/tail?host=h-old`)
    expect(await first.status).toBe(200)
    await produce('h-old', 0, 100)
    await waitFor('100 lines', async () => lineNumbers(first.events).length >= 100, 60_000)
    first.close()
    const lastId = first.events[first.events.length - 1].id!
    // 3,000 more lines push the resume point out of the 500-line ring (once the hub read them)
    const linesRead = async (): Promise<number> => Number(/^sluice_tail_lines_total (\d+)$/m.exec(await (await fetch(`${smallBase}/metrics`)).text())?.[1])
    const before = await linesRead()
    await produce('h-old', 100, 3000)
    await waitFor('the small hub to read the 3,000 lines', async () => await linesRead() >= before + 3000, 60_000)
    const resumed = sse(`${smallBase}/v1/tail?host=h-old`, { 'last-event-id': lastId })
    expect(await resumed.status).toBe(200)
    await waitFor('the resumed client to reach line 3,099', async () => lineNumbers(resumed.events).includes(3099), 120_000)
    await produce('h-old', 3100, 50)
    await waitFor('live lines after the catch-up', async () => lineNumbers(resumed.events).includes(3149), 60_000)
    expect(lineNumbers(resumed.events)).toEqual(range(100, 3150))
    const metrics = await (await fetch(`${smallBase}/metrics`)).text()
    expect(/^sluice_tail_kafka_catchups_total (\d+)$/m.exec(metrics)?.[1]).toBe('1')
    resumed.close()
  })

  it('a client that stops reading is cut off at its bounded queue with a dropped event, then resumes losslessly', async () => {
    const slow = sse(`${base}/v1/tail?host=h-slow`)
    const res = await slow.res
    res.pause() // stop reading: the socket and then the server-side queue fill up
    const pad = ' ' + 'x'.repeat(400)
    for (let i = 0; i < 40_000; i += 4000) await produce('h-slow', i, 4000, 50, pad)
    const queued = (m: string): number => Number(/^sluice_tail_queued_bytes (\d+)/m.exec(m)?.[1])
    const m1 = await waitFor('the slow client to be disconnected', async () => {
      const m = await (await fetch(`${base}/metrics`)).text()
      return /^sluice_tail_slow_disconnects_total 1$/m.test(m) ? m : undefined
    }, 120_000)
    // the queue is freed on disconnect; while it existed it was capped at maxClientBytes
    expect(queued(m1)).toBe(0)
    expect(Number(/^sluice_tail_dropped_lines_total (\d+)/m.exec(m1)?.[1])).toBeGreaterThan(0)
    res.resume()
    await slow.ended
    const last = slow.events[slow.events.length - 1]
    expect(last.event).toBe('dropped')
    expect(last.id).toBeUndefined()
    expect(JSON.parse(last.data)).toEqual({ count: expect.any(Number), reason: 'client too slow; reconnect with Last-Event-ID to resume' })
    const got = lineNumbers(slow.events)
    expect(got).toEqual(range(0, got.length))
    // a reader that is itself slow while catching up may be cut off again: like the CLI, it
    // reconnects with its Last-Event-ID until it has everything
    const after: number[] = []
    let resumeFrom = slow.lastId()!
    let reconnects = 0
    while (!after.includes(39_999)) {
      const again = sse(`${base}/v1/tail?host=h-slow`, { 'last-event-id': resumeFrom })
      expect(await again.status).toBe(200)
      await waitFor('more lines or a drop', async () => lineNumbers(again.events).includes(39_999) || again.events.some(e => e.event === 'dropped'), 120_000)
      again.close()
      await again.ended
      after.push(...lineNumbers(again.events))
      resumeFrom = again.lastId()!
      expect(++reconnects).toBeLessThan(20)
    }
    expect([...got, ...after]).toEqual(range(0, 40_000))
  })

  it('caps concurrent tails with 503 + Retry-After, and rejects bad ids and regexes with exact 400s', async () => {
    const open = [sse(`${base}/v1/tail`), sse(`${base}/v1/tail`), sse(`${base}/v1/tail`), sse(`${base}/v1/tail`)]
    for (const o of open) expect(await o.status).toBe(200)
    const over = await fetch(`${base}/v1/tail`)
    expect(over.status).toBe(503)
    expect(over.headers.get('retry-after')).toBe('5')
    expect(await over.json()).toEqual({ error: 'SLUICE_ERR_TOO_MANY_TAILS', message: 'too many concurrent tails (limit 4); retry later' })
    for (const o of open) o.close()
    await waitFor('the slots to be released', async () => /^sluice_tail_clients 0$/m.test(await (await fetch(`${base}/metrics`)).text()), 30_000)
    const badId = await fetch(`${base}/v1/tail`, { headers: { 'last-event-id': "k1.0-1-0'; DROP" } })
    expect(badId.status).toBe(400)
    expect(await badId.json()).toEqual({ error: 'SLUICE_ERR_BAD_CURSOR', message: 'invalid cursor: Last-Event-ID is not an event id sent by this API' })
    const re = await fetch(`${base}/v1/tail?regex=${encodeURIComponent('(a+)\\1')}`)
    expect(re.status).toBe(400)
    expect(await re.json()).toEqual({ error: 'SLUICE_ERR_BAD_PARAM', message: "invalid query parameter 'regex': is not a valid RE2 expression: invalid escape sequence: `\\1`" })
    const big = await fetch(`${base}/v1/tail?regex=${encodeURIComponent('a.{999}'.repeat(3))}`)
    expect(big.status).toBe(400)
    expect(await big.json()).toEqual({ error: 'SLUICE_ERR_BAD_PARAM', message: "invalid query parameter 'regex': is too complex for the live tail (RE2 program of 3002 instructions, at most 2000); simplify it, or search with /v1/logs" })
    const open2 = await fetch(`${base}/v1/tail?regex=${encodeURIComponent('line (1')}`)
    expect(open2.status).toBe(400)
    expect(await open2.json()).toEqual({ error: 'SLUICE_ERR_BAD_PARAM', message: "invalid query parameter 'regex': is not a valid RE2 expression: missing closing ): `line (1`" })
  })
})
