// `sluice collect --metrics-port N`: Prometheus text on GET /metrics over node:http (the
// collector alone has no fastify app; `sluice up` serves the same registry from the query API).
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Registry } from 'prom-client'

export interface MetricsServer { url: string, close (): Promise<void> }

export async function serveMetrics (registries: Registry[], port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const merged = (): Registry => Registry.merge(registries)
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url?.startsWith('/metrics?') !== true)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n')
      return
    }
    const reg = merged()
    reg.metrics().then(text => {
      res.writeHead(200, { 'content-type': reg.contentType }).end(text)
    }, (err: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`)
    })
  })
  // one scraper at a time is normal; a flood of them must not pile up sockets
  server.maxConnections = 16
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  const addr = server.address() as AddressInfo
  let closed: Promise<void> | null = null
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}/metrics`,
    close () {
      closed ??= new Promise<void>(resolve => { server.close(() => resolve()); server.closeAllConnections() })
      return closed
    }
  }
}
