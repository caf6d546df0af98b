// One webhook attempt against real local servers: the hard timeout holds through garbage
// collections (webhook_timeout_lost_after_gc: on Node 20 a timeout signal combined with
// AbortSignal.any() could be collected, and a silent receiver held an attempt for minutes),
// redirects are not followed, refused destinations are never connected to (so closed, open and
// non-HTTP ports read the same), credentials in the URL are sent as Basic auth.
import http from 'node:http'
import net from 'node:net'
import v8 from 'node:v8'
import vm from 'node:vm'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseAllowList } from '../../alerts/destination.js'
import { postWebhook } from '../../alerts/webhook-post.js'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

describe('webhook POST attempt', () => {
  const servers: Array<http.Server | net.Server> = []
  let silentUrl = '', redirectUrl = '', okUrl = '', garbageUrl = '', closedUrl = ''
  let hits = 0
  let lastAuth = ''
  const sockets = new Set<net.Socket>()
  const listen = async (s: http.Server | net.Server): Promise<number> => {
    servers.push(s)
    s.on('connection', (sock: net.Socket) => { sockets.add(sock); sock.once('close', () => sockets.delete(sock)) })
    await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
    return (s.address() as AddressInfo).port
  }
  const allowLoopback = parseAllowList('127.0.0.1')

  beforeAll(async () => {
    silentUrl = `http://127.0.0.1:${await listen(http.createServer(() => { hits++ }))}/hook`
    redirectUrl = `http://127.0.0.1:${await listen(http.createServer((_req, res) => { hits++; res.writeHead(302, { location: 'http://169.254.169.254/latest' }).end() }))}/hook`
    okUrl = `http://127.0.0.1:${await listen(http.createServer((req, res) => { hits++; lastAuth = req.headers.authorization ?? ''; req.resume(); req.on('end', () => res.writeHead(204).end()) }))}/hook`
    garbageUrl = `http://127.0.0.1:${await listen(net.createServer(sock => { hits++; sock.end('SSH-2.0-OpenSSH_9.6\r\n') }))}/`
    const closed = net.createServer()
    const port = await listen(closed)
    await new Promise<void>(resolve => closed.close(() => resolve()))
    servers.splice(servers.indexOf(closed), 1)
    closedUrl = `http://127.0.0.1:${port}/`
  })
  afterAll(async () => {
    for (const sock of sockets) sock.destroy()
    await Promise.all(servers.map(async s => await new Promise(resolve => s.close(resolve))))
  })

  it('webhook_timeout_lost_after_gc: a silent receiver is cut at the timeout, garbage collections or not', async () => {
    const collect = setInterval(() => { gc() }, 20)
    const t0 = Date.now()
    try {
      const r = await postWebhook(silentUrl, '{}', { policy: allowLoopback, timeoutMs: 400 })
      expect(r).toEqual({ ok: false, status: 0, error: 'timed out after 400 ms', result: 'timeout', retry: true })
    } finally { clearInterval(collect) }
    // generous: the bound is the timeout, the failure mode was minutes
    expect(Date.now() - t0).toBeLessThan(5000)
  })

  it('does not follow a redirect', async () => {
    expect(await postWebhook(redirectUrl, '{}', { policy: allowLoopback, timeoutMs: 2000 })).toEqual({ ok: false, status: 302, error: "redirect not followed (HTTP 302, Location host '169.254.169.254')", result: 'redirect', retry: false })
  })

  it('sends URL credentials as Basic auth', async () => {
    const withAuth = okUrl.replace('http://', 'http://ops:hunter%202@')
    expect(await postWebhook(withAuth, '{}', { policy: allowLoopback, timeoutMs: 2000 })).toEqual({ ok: true, status: 204, error: '', result: 'ok', retry: false })
    expect(lastAuth).toBe(`Basic ${Buffer.from('ops:hunter 2').toString('base64')}`)
  })

  it('allowed destinations: a closed port is ECONNREFUSED, a non-HTTP answer one generic class', async () => {
    expect(await postWebhook(closedUrl, '{}', { policy: allowLoopback, timeoutMs: 2000 })).toEqual({ ok: false, status: 0, error: 'ECONNREFUSED', result: 'network_error', retry: true })
    expect(await postWebhook(garbageUrl, '{}', { policy: allowLoopback, timeoutMs: 2000 })).toEqual({ ok: false, status: 0, error: 'invalid answer or connection error', result: 'network_error', retry: true })
  })

  it('refused destinations: never connected to, the same answer for every port', async () => {
    const before = hits
    const none = parseAllowList('')
    const answers = await Promise.all([silentUrl, okUrl, garbageUrl, closedUrl].map(async u => await postWebhook(u, '{}', { policy: none, timeoutMs: 2000 })))
    for (const a of answers) expect(a).toEqual({ ok: false, status: 0, error: "refused: destination '127.0.0.1' is a loopback address; allow it with SLUICE_ALERT_WEBHOOK_ALLOW", result: 'refused', retry: false })
    expect(hits).toBe(before)
  })

  it('a host that does not resolve is a network error, retried', async () => {
    expect(await postWebhook('http://no-such-host.invalid/hook', '{}', { policy: parseAllowList(''), timeoutMs: 3000 })).toMatchObject({ ok: false, status: 0, result: 'network_error', retry: true })
  })
})
