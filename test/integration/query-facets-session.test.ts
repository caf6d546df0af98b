// /v1/facets on the real engine (embedded chDB): exact counts per host, service and level and
// the detected field keys, under the same filters as /v1/logs; and the Explorer's login:
// POST /v1/session cookie accepted for GETs, refused for other methods without the CSRF header.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { buildQueryApi } from '../../query-api/server.js'
import { tempDir } from '../helpers/env.js'

const base = Date.parse('2026-11-20T10:00:00.000Z')
const since = '2026-11-20T09:00:00Z'
const until = '2026-11-20T12:00:00Z'
const insertSettings = { max_execution_time: 0, max_rows_to_read: 0, max_insert_threads: 1 }
const token = 'facets-test-token'

describe('GET /v1/facets and POST /v1/session', () => {
  let ch: ClickHouse
  let app: FastifyInstance
  let open: FastifyInstance
  const db = 'sluice'

  beforeAll(async () => {
    ch = await createClickHouse({ database: db, dataDir: tempDir('qfacets') })
    await migrate(ch.client, db, { retentionDays: 3650 })
    // 3,000 lines: host h0/h1/h2 round robin, service api for even n and web for odd n,
    // level error on every 10th; fields {n, rt} everywhere and {err} on the errors
    await ch.client.command({
      query: `INSERT INTO ${db}.logs (ts, host, service, pid, level, level_num, msg, fields, source, path, offset, flags)
SELECT fromUnixTimestamp64Milli(toInt64({base:Int64} + number), 'UTC'), concat('h', toString(number % 3)), if(number % 2 = 0, 'api', 'web'), 1,
  if(number % 10 = 0, 'error', 'info'), if(number % 10 = 0, 50, 30), concat('request ', toString(number)),
  if(number % 10 = 0, concat('{"n":', toString(number), ',"rt":5,"err":{"code":"E1"}}'), concat('{"n":', toString(number), ',"rt":5}')),
  concat('s', toString(number % 3)), '/x.log', number * 100, []
FROM numbers(3000)`,
      query_params: { base },
      clickhouse_settings: insertSettings
    })
    app = await buildQueryApi({ clickhouse: ch.client, database: db, tokens: [token], registries: [] })
    open = await buildQueryApi({ clickhouse: ch.client, database: db, tokens: [], registries: [] })
  }, 60_000)
  afterAll(async () => {
    await app?.close()
    await open?.close()
    await ch?.close()
  })

  const facets = async (qs: string): Promise<{ status: number, body: Record<string, unknown> }> => {
    const res = await open.inject({ method: 'GET', url: `/v1/facets?since=${since}&until=${until}${qs}` })
    return { status: res.statusCode, body: res.json() }
  }

  it('counts hosts, services and levels exactly and lists the field keys', async () => {
    const { status, body } = await facets('')
    expect(status).toBe(200)
    expect(body).toEqual({
      total: 3000,
      host: [{ value: 'h0', count: 1000 }, { value: 'h1', count: 1000 }, { value: 'h2', count: 1000 }],
      service: [{ value: 'api', count: 1500 }, { value: 'web', count: 1500 }],
      level: [{ value: 'info', count: 2700 }, { value: 'error', count: 300 }],
      fields: [{ value: 'n', count: 3000 }, { value: 'rt', count: 3000 }, { value: 'err', count: 300 }],
      sampled: 3000
    })
  })

  it('applies the filters of /v1/logs: host, level, exclusions, field filters, text', async () => {
    expect((await facets('&host=h1&level=error')).body).toMatchObject({ total: 100, host: [{ value: 'h1', count: 100 }], level: [{ value: 'error', count: 100 }] })
    expect((await facets('&not_host=h1&not_level=error')).body).toMatchObject({ total: 1800, host: [{ value: 'h0', count: 900 }, { value: 'h2', count: 900 }] })
    expect((await facets('&field=err.code:E1&service=web')).body).toMatchObject({ total: 0, host: [], fields: [] })
    expect((await facets('&field=err%3F&service=api')).body).toMatchObject({ total: 300 })
    expect((await facets('&q=request%2029')).body).toMatchObject({ total: 111 })
    expect((await facets('&top=1')).body).toMatchObject({ total: 3000, host: [{ value: 'h0', count: 1000 }], fields: [{ value: 'n', count: 3000 }] })
  })

  it('answers bad input with the exact 400 of /v1/logs', async () => {
    expect(await facets('&regex=a(')).toEqual({ status: 400, body: { error: 'SLUICE_ERR_BAD_PARAM', message: expect.stringMatching(/^invalid query parameter 'regex': is not a valid RE2 expression: /) } })
    const r = await facets('&cursor=abc')
    expect(r.status).toBe(400)
    expect(r.body.error).toBe('SLUICE_ERR_BAD_PARAM')
    expect(String(r.body.message)).toMatch(/^invalid query parameter 'cursor'/)
  })

  it('logs a browser in with an HttpOnly cookie that GETs accept and mutations accept only with the CSRF header', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/facets' })).statusCode).toBe(401)
    const page = await app.inject({ method: 'GET', url: '/' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-security-policy']).toContain("default-src 'self'")
    expect(page.body).toContain('<link rel="icon" href="data:,">')
    expect((await app.inject({ method: 'GET', url: '/ui/main.js' })).statusCode).toBe(200)

    const wrong = await app.inject({ method: 'POST', url: '/v1/session', payload: { token: 'nope' } })
    expect([wrong.statusCode, wrong.json().error, wrong.headers['set-cookie']]).toEqual([401, 'SLUICE_ERR_UNAUTHORIZED', undefined])
    const login = await app.inject({ method: 'POST', url: '/v1/session', payload: { token } })
    expect(login.statusCode).toBe(200)
    const setCookie = String(login.headers['set-cookie'])
    expect(setCookie).toMatch(/^sluice_session=v1\.\d{13}\.[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=43200$/)
    expect(setCookie).not.toContain(token)
    const cookie = setCookie.split(';')[0]

    expect((await app.inject({ method: 'GET', url: `/v1/facets?since=${since}&until=${until}`, headers: { cookie } })).json()).toMatchObject({ total: 3000 })
    expect((await app.inject({ method: 'GET', url: '/v1/logs', headers: { cookie: `${cookie.slice(0, -3)}abc` } })).statusCode).toBe(401)
    expect((await app.inject({ method: 'DELETE', url: '/v1/session', headers: { cookie } })).statusCode).toBe(401)
    const out = await app.inject({ method: 'DELETE', url: '/v1/session', headers: { cookie, 'x-sluice-csrf': '1' } })
    expect([out.statusCode, out.headers['set-cookie']]).toEqual([200, 'sluice_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0'])
    // a server with other tokens does not accept this cookie
    const other = await buildQueryApi({ clickhouse: ch.client, database: db, tokens: ['another-token'], registries: [] })
    expect((await other.inject({ method: 'GET', url: '/v1/logs', headers: { cookie } })).statusCode).toBe(401)
    await other.close()
  })
})
