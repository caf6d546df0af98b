// Issue 15 against `sluice up` with tokens on loopback (real broker, embedded ClickHouse):
// a logged line whose field key holds a newline and a fake line, and whose message holds
// terminal controls, prints as ONE escaped line in text/plain, `sluice grep` and `sluice tail`
// (the JSON keeps the key); `Authorization: bearer` (lower case) is accepted; a POST that
// trickles its body is cut at SLUICE_REQUEST_TIMEOUT_MS while the SSE tail stays open past it.
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { runCli, startUp, stopChild, tempDir, uniquePrefix, waitFor, type Running } from '../helpers/env.js'

interface Line { ts: string, host: string, service: string, level: string, msg: string, fields: Record<string, unknown> }

const token = 'e2e-escape-token'
const forgedKey = '\n2026-12-05T00:00:00.000Z db-1 payments FATAL forged line'
const rawMsg = 'zq8escape bell\u0007 clear\u001b[2J cr\r done \u202eevil\u2069'
// what every text rendering prints for them
const escapedMsg = 'zq8escape bell\\x07 clear\\x1b[2J cr\\r done \\u202eevil\\u2069'
const escapedFields = '\\n2026-12-05T00:00:00.000Z db-1 payments FATAL forged line=x note=a\\x9bb\\u2066c\\x7f'
const requestTimeoutMs = 1500

describe('escaped text output, bearer scheme and request timeout against sluice up', () => {
  const dataDir = tempDir('e2e-escape')
  let up: Awaited<ReturnType<typeof startUp>>
  let tail: Running
  let env: Record<string, string>
  const auth = { authorization: `bearer ${token}` }

  beforeAll(async () => {
    const port = await freePort()
    up = await startUp({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(port), SLUICE_TOPIC_PREFIX: uniquePrefix('e2eesc'), SLUICE_TOKENS: token, SLUICE_REQUEST_TIMEOUT_MS: String(requestTimeoutMs) })
    env = { SLUICE_URL: up.url, SLUICE_TOKEN: token }
    tail = runCli(['tail', '--q', 'zq8escape'], env)
    await waitFor('the tail client to connect', async () => /^sluice_tail_clients 1$/m.test(await (await fetch(`${up.url}/metrics`, { headers: auth })).text()), 60_000)
    // the tail is older than the request timeout before its line arrives
    await new Promise(resolve => setTimeout(resolve, 2 * requestTimeoutMs))
    const dir = path.join(dataDir, 'spool', 'payments')
    fs.mkdirSync(dir, { recursive: true })
    fs.writeFileSync(path.join(dir, 'app.ndjson'), JSON.stringify({ level: 30, time: Date.now(), pid: 1, msg: rawMsg, [forgedKey]: 'x', note: 'a\u009bb\u2066c\u007f' }) + '\n')
    await waitFor('the line to be queryable', async () => {
      const r = await fetch(`${up.url}/v1/logs?since=1h&q=zq8escape`, { headers: auth })
      return (await r.json() as { lines: Line[] }).lines.length === 1
    }, 120_000)
  })
  afterAll(async () => {
    if (tail !== undefined) await stopChild(tail, 'SIGTERM')
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
  })

  it('forged-key line: JSON keeps the key; text/plain, sluice grep and sluice tail print one escaped line (lower-case bearer accepted)', async () => {
    const js = await fetch(`${up.url}/v1/logs?since=1h&q=zq8escape`, { headers: auth })
    expect(js.status).toBe(200)
    const [l] = (await js.json() as { lines: Line[] }).lines
    expect([l.service, l.level, l.msg, l.fields]).toEqual(['payments', 'info', rawMsg, { [forgedKey]: 'x', note: 'a\u009bb\u2066c\u007f' }])

    const tx = await fetch(`${up.url}/v1/logs?since=1h&q=zq8escape`, { headers: { ...auth, accept: 'text/plain' } })
    expect(await tx.text()).toBe(`${l.ts} ${l.host} payments INFO ${escapedMsg} ${escapedFields}\n`)

    const grep = runCli(['grep', 'zq8escape', '--since', '1h'], env)
    expect(await grep.exited).toBe(0)
    expect(grep.stderr()).toBe('')
    expect(grep.stdout()).toBe(`${l.ts} ${l.host} payments INFO  ${escapedMsg} ${escapedFields}\n`)

    // the tail connected more than twice the request timeout before this line was written
    await waitFor('the tail to print the line', async () => tail.stdout() !== '', 60_000)
    expect(tail.stdout()).toBe(`${l.ts} ${l.host} payments INFO  ${escapedMsg} ${escapedFields}\n`)
    expect(tail.stderr()).toBe('')
  })

  it('a missing or wrong-scheme token is still refused', async () => {
    const none = await fetch(`${up.url}/v1/logs?since=1h`)
    expect(none.status).toBe(401)
    const basic = await fetch(`${up.url}/v1/logs?since=1h`, { headers: { authorization: `Basic ${token}` } })
    expect(await basic.json()).toEqual({ error: 'SLUICE_ERR_UNAUTHORIZED', message: 'missing or invalid bearer token (set Authorization: Bearer <token> from SLUICE_TOKENS)' })
  })

  it('an authenticated POST trickling one byte at a time is cut with 408 at SLUICE_REQUEST_TIMEOUT_MS', async () => {
    const u = new URL(up.url)
    const sock = net.connect(Number(u.port), u.hostname)
    let got = ''
    sock.setEncoding('utf8')
    sock.on('data', (d: string) => { got += d })
    const closed = new Promise<void>(resolve => sock.once('close', () => resolve()))
    sock.on('error', () => {})
    const t0 = Date.now()
    sock.write(`POST /v1/alerts/rules HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`)
    const drip = setInterval(() => { if (!sock.destroyed) sock.write(' ') }, 200)
    await Promise.race([closed, new Promise(resolve => setTimeout(resolve, 30_000))])
    clearInterval(drip)
    const heldMs = Date.now() - t0
    console.log(`trickled POST cut after ${heldMs} ms (requestTimeout ${requestTimeoutMs} ms)`)
    expect(sock.destroyed).toBe(true)
    const body = `{"error":"SLUICE_ERR_REQUEST_TIMEOUT","message":"the request was not received in full within ${requestTimeoutMs} ms (SLUICE_REQUEST_TIMEOUT_MS); the connection is closed"}`
    expect(got).toBe(`HTTP/1.1 408 Request Timeout\r\nContent-Length: ${body.length}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`)
  })
})
