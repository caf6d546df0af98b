// The Explorer's tail reader (web/lib/sse.ts) against a real HTTP server: events split at any
// byte, the last id resent on every reconnect (after a close, a 503 and a 410), and a 410
// resumed from the oldest position the server offers.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { followSse } from '../../web/lib/sse.js'

describe('followSse', () => {
  const seen: Array<string | undefined> = []
  let server: http.Server
  let url = ''
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const n = seen.push(req.headers['last-event-id'] as string | undefined)
      if (n === 2) { res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' }); res.end('{"message":"restarting"}'); return }
      if (n === 3) { res.writeHead(410, { 'content-type': 'application/json' }); res.end('{"message":"too old","oldest":"p9"}'); return }
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      // one stream per connection, written in awkward pieces; the first ends after two lines
      const body = n === 1
        ? 'id: p0\nretry: 50\n\nid: p1\nevent: line\ndata: {"n":1}\n\n: heartbeat\n\nid: p2\nevent: line\ndata: {"n":2}\n\n'
        : 'id: p10\nevent: line\ndata: {"n":10}\n\nevent: dropped\ndata: {"count":3}\n\n'
      const cut = [5, 17, 18, 40, 41]
      let at = 0
      for (const c of cut) { res.write(body.slice(at, c)); at = c }
      res.write(body.slice(at))
      if (n === 1) res.end()
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/tail`
  })
  afterAll(async () => { server.closeAllConnections(); await new Promise(resolve => server.close(resolve)) })

  it('delivers every event once and resumes from the last id after each interruption', async () => {
    const events: string[] = []
    const statuses: string[] = []
    const gaps: string[] = []
    const stop = followSse(url, {
      onEvent: (name, data) => events.push(`${name} ${data}`),
      onStatus: (s, why) => statuses.push(why === undefined ? s : `${s}: ${why}`),
      onGap: why => gaps.push(why)
    })
    const deadline = Date.now() + 10_000
    while (events.length < 4 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    stop()
    expect(events).toEqual(['line {"n":1}', 'line {"n":2}', 'line {"n":10}', 'dropped {"count":3}'])
    expect(seen).toEqual([undefined, 'p2', 'p2', 'p9'])
    expect(gaps).toEqual(['too old'])
    expect(statuses.filter(s => s !== 'reconnecting')).toEqual(['live', 'reconnecting: restarting', 'live'])
  })
})
