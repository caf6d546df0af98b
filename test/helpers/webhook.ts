// A real webhook receiver for alert tests: node:http on a loopback address (127.0.0.1 unless
// told) that records every POST. `delayMs` makes it slow, `silent` makes it accept the request
// and never answer, `redirectTo` answers every POST with that redirect; stop()/start() take it
// down and bring it back on the same port.
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received { at: number, body: Record<string, unknown>, url: string, authorization: string }

export interface Receiver {
  readonly url: string
  readonly received: Received[]
  /** POSTs that reached the handler, including ones answered late or never */
  readonly hits: () => number
  delayMs: number
  status: number
  silent: boolean
  redirectTo: { status: number, location: string } | null
  stop (): Promise<void>
  start (): Promise<void>
}

export async function startReceiver (host = '127.0.0.1'): Promise<Receiver> {
  const received: Received[] = []
  let hits = 0
  let port = 0
  let server: http.Server | null = null
  const r = {
    url: '',
    received,
    hits: () => hits,
    delayMs: 0,
    status: 200,
    silent: false,
    redirectTo: null as Receiver['redirectTo'],
    async start () {
      server = http.createServer((req, res) => {
        const chunks: Buffer[] = []
        req.on('data', c => chunks.push(c as Buffer))
        req.on('end', () => {
          hits++
          if (r.silent) return
          if (r.redirectTo !== null) { res.writeHead(r.redirectTo.status, { location: r.redirectTo.location }).end(); return }
          const answer = (): void => {
            if (res.destroyed) return
            if (r.status >= 200 && r.status < 300) received.push({ at: Date.now(), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>, url: req.url ?? '', authorization: req.headers.authorization ?? '' })
            res.writeHead(r.status, { 'content-type': 'text/plain' }).end('ok')
          }
          if (r.delayMs > 0) setTimeout(answer, r.delayMs).unref(); else answer()
        })
      })
      await new Promise<void>(resolve => server!.listen(port, host, resolve))
      port = (server.address() as AddressInfo).port
      r.url = `http://${host}:${port}/hook`
    },
    async stop () {
      if (server === null) return
      const s = server
      server = null
      s.closeAllConnections()
      await new Promise<void>(resolve => s.close(() => resolve()))
    }
  }
  await r.start()
  return r
}
