// `--metrics-port N` for the roles that run without the query API (`sluice ship`,
// `sluice collect`): their prom-client registries over plain node:http, so a host agent
// can be scraped without pulling fastify into it. (`sluice up` serves the same registries
// from the query API's /metrics.)
//   GET /metrics → Prometheus text · anything else → 404
// Bound beyond loopback with tokens, it asks for the same bearer token as the query API.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry } from 'prom-client'
import { bearerToken } from './auth.js'
import { isLoopback } from './config.js'
import { errors } from './errors.js'

export interface MetricsServer { readonly port: number, readonly url: string, close (): Promise<void> }

export async function serveMetrics (registries: Registry[], port: number, host = '127.0.0.1', tokens: readonly string[] = []): Promise<MetricsServer> {
  const auth = tokens.length > 0 && !isLoopback(host) ? new Set(tokens) : null
  const server = http.createServer((req, res) => {
    if (auth !== null && !auth.has(bearerToken(req.headers.authorization) ?? '')) {
      const e = errors.UNAUTHORIZED()
      res.writeHead(401, { 'content-type': 'application/json; charset=utf-8', 'www-authenticate': 'Bearer' }).end(JSON.stringify({ error: e.code, message: e.message }))
      return
    }
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n')
      return
    }
    // merged per scrape: roles may register metrics after the server started
    const reg = registries.length === 1 ? registries[0] : Registry.merge(registries)
    reg.metrics().then(text => {
      res.writeHead(200, { 'content-type': reg.contentType }).end(text)
    }, (err: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`)
    })
  })
  // a scraper holding connections open must not keep a stopping role alive, and a flood of
  // scrapers must not pile up sockets
  server.keepAliveTimeout = 5000
  server.maxConnections = 16
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  const actual = (server.address() as AddressInfo).port
  let closing: Promise<void> | null = null
  return {
    port: actual,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}/metrics`,
    close () {
      closing ??= new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
      return closing
    }
  }
}
