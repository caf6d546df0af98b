// query-api/http-errors.ts on its own: every error reaches the client as a registered
// SLUICE_ERR_* code with its status and exact message; internals never leak.
import net from 'node:net'
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { errors } from '../../platform/errors.js'
import { httpErrorHandler, rawClientErrorHandler } from '../../query-api/http-errors.js'

const app = Fastify({ clientErrorHandler: rawClientErrorHandler(30_000) })
app.setErrorHandler(httpErrorHandler)
app.get('/sluice', async () => { throw errors.TOO_MANY_TAILS(3) })
app.get('/validated', { schema: { querystring: { type: 'object', properties: { limit: { type: 'integer' } }, additionalProperties: false } } }, async () => 'ok')
app.get('/clickhouse', async () => { throw Object.assign(new Error('Timeout exceeded: elapsed 30 s\nstack'), { code: '159' }) })
app.get('/bug', async () => { throw new Error('secret internals') })

beforeAll(async () => { await app.listen({ port: 0, host: '127.0.0.1' }) })
afterAll(async () => { await app.close() })

describe('http errors', () => {
  it('a SluiceError goes out as is, with Retry-After on 503', async () => {
    const r = await app.inject('/sluice')
    expect([r.statusCode, r.headers['retry-after'], r.json()]).toEqual([503, '5', { error: 'SLUICE_ERR_TOO_MANY_TAILS', message: 'too many concurrent tails (limit 3); retry later' }])
  })

  it('a validation failure is SLUICE_ERR_BAD_PARAM naming the parameter', async () => {
    const r = await app.inject('/validated?limit=x')
    expect([r.statusCode, r.json()]).toEqual([400, { error: 'SLUICE_ERR_BAD_PARAM', message: "invalid query parameter 'limit': must be integer" }])
  })

  it('a ClickHouse timeout is SLUICE_ERR_OVERLOADED with its first line', async () => {
    const r = await app.inject('/clickhouse')
    expect([r.statusCode, r.headers['retry-after'], r.json()]).toEqual([503, '5', { error: 'SLUICE_ERR_OVERLOADED', message: 'query timed out: Timeout exceeded: elapsed 30 s' }])
  })

  it('anything else is SLUICE_ERR_INTERNAL, details only in the server log', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const r = await app.inject('/bug')
    const logged = stderr.mock.calls.map(c => String(c[0]))
    stderr.mockRestore()
    expect([r.statusCode, r.json()]).toEqual([500, { error: 'SLUICE_ERR_INTERNAL', message: 'internal error; see the server log' }])
    expect(logged).toEqual(['sluice: query error: secret internals\n'])
  })

  it('a malformed HTTP request is answered SLUICE_ERR_BAD_REQUEST on the raw socket', async () => {
    const { port } = app.server.address() as net.AddressInfo
    const answer = await new Promise<string>((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('NOT HTTP AT ALL\r\n\r\n'))
      let got = ''
      s.on('data', d => { got += String(d) })
      s.on('close', () => resolve(got))
      s.on('error', reject)
    })
    const body = '{"error":"SLUICE_ERR_BAD_REQUEST","message":"malformed HTTP request"}'
    expect(answer).toBe(`HTTP/1.1 400 Bad Request\r\nContent-Length: ${body.length}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`)
  })
})
