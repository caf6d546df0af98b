// `sluice ship --metrics-port N`: the shipper's prom-client registry over plain node:http,
// so a host's shipper can be scraped without pulling fastify into the shipper role.
//   GET /metrics → Prometheus text · anything else → 404
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'

export interface MetricsServer { readonly port: number, close (): Promise<void> }

export async function serveMetrics (registry: Registry, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n')
      return
    }
    registry.metrics().then(text => {
      res.writeHead(200, { 'content-type': registry.contentType }).end(text)
    }, (err: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`)
    })
  })
  // a scraper holding connections open must not keep a stopping shipper alive
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  let closing: Promise<void> | null = null
  return {
    port: (server.address() as AddressInfo).port,
    close () {
      closing ??= new Promise<void>(resolve => { server.closeAllConnections(); server.close(() => resolve()) })
      return closing
    }
  }
}
