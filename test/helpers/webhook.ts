// A real webhook receiver for alert tests: node:http on 127.0.0.1 that records every POST.
// `delayMs` makes it slow; stop()/start() take it down and bring it back on the same port.
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received { at: number, body: Record<string, unknown> }

export interface Receiver {
  readonly url: string
  readonly received: Received[]
  /** POSTs that reached the handler, including ones answered late or never */
  readonly hits: () => number
  delayMs: number
  status: number
  stop (): Promise<void>
  start (): Promise<void>
}

export async function startReceiver (): Promise<Receiver> {
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
    async start () {
      server = http.createServer((req, res) => {
        const chunks: Buffer[] = []
        req.on('data', c => chunks.push(c as Buffer))
        req.on('end', () => {
          hits++
          const answer = (): void => {
            if (res.destroyed) return
            if (r.status >= 200 && r.status < 300) received.push({ at: Date.now(), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> })
            res.writeHead(r.status, { 'content-type': 'text/plain' }).end('ok')
          }
          if (r.delayMs > 0) setTimeout(answer, r.delayMs).unref(); else answer()
        })
      })
      await new Promise<void>(resolve => server!.listen(port, '127.0.0.1', resolve))
      port = (server.address() as AddressInfo).port
      r.url = `http://127.0.0.1:${port}/hook`
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
