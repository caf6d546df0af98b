// The OpenAPI document served at /docs/json, of the server `sluice serve` builds (alerting and
// gaps wired in, so every route is there), checked by a real OpenAPI validator
// (@seriousme/openapi-schema-validator) and against the routes fastify registered.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance, RouteOptions } from 'fastify'
import { Validator } from '@seriousme/openapi-schema-validator'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { loadConfig } from '../../platform/config.js'
import { migrate } from '../../schemas/migrations.js'
import { buildQueryApi } from '../../query-api/server.js'
import { queryApiOptions } from '../../cli/roles.js'
import { alertsFromEnv } from '../../cli/alerts.js'
import { tempDir } from '../helpers/env.js'

interface OpenApiDoc { openapi: string, paths: Record<string, Record<string, unknown>> }

describe('the OpenAPI document of sluice serve', () => {
  let ch: ClickHouse
  let app: FastifyInstance
  const routes: Array<{ method: string, url: string, hidden: boolean }> = []

  beforeAll(async () => {
    const env = { SLUICE_ALERTS: '1', SLUICE_DATA_DIR: tempDir('openapi') }
    const cfg = loadConfig(env)
    const alerts = alertsFromEnv(env)
    ch = await createClickHouse({ database: 'sluice', dataDir: cfg.dataDir })
    await migrate(ch.client, 'sluice', { retentionDays: 30 })
    const onRoute = (r: RouteOptions): void => {
      const hidden = (r.schema as { hide?: boolean } | undefined)?.hide === true
      for (const method of [r.method].flat()) routes.push({ method: method.toLowerCase(), url: r.url, hidden })
    }
    // as `sluice serve` builds it (cli/main.ts serve → listenQueryApi), without listening
    app = await buildQueryApi({ ...queryApiOptions(cfg, ch, [alerts.registry], undefined, alerts.api, null), onRoute })
  })
  afterAll(async () => {
    await app?.close()
    await ch?.close()
  })

  const served = async (): Promise<OpenApiDoc> => {
    const r = await app.inject({ method: 'GET', url: '/docs/json' })
    expect(r.statusCode).toBe(200)
    return JSON.parse(r.body) as OpenApiDoc
  }

  it('is valid OpenAPI 3 by a real validator', async () => {
    const doc = await served()
    expect(doc.openapi).toMatch(/^3\./)
    const validator = new Validator()
    const result = await validator.validate(doc as unknown as Record<string, unknown>)
    expect(result.errors, JSON.stringify(result.errors, null, 2)).toBeUndefined()
    expect(result.valid).toBe(true)
    expect(validator.version).toBe(doc.openapi.split('.').slice(0, 2).join('.'))
  })

  it('lists every route fastify registered (HEAD and hidden web pages aside)', async () => {
    const doc = await served()
    const listed = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map(m => `${m} ${p}`))
    const expected = routes.filter(r => !r.hidden && r.method !== 'head').map(r => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`)
    expect(new Set(expected).size).toBeGreaterThan(20)
    expect(expected.filter(r => !listed.includes(r))).toEqual([])
    // and nothing listed that the server does not serve
    expect(listed.filter(r => !expected.includes(r))).toEqual([])
    for (const p of ['/healthz', '/readyz', '/metrics', '/v1/logs', '/v1/tail', '/v1/stats', '/v1/gaps', '/v1/alerts/rules']) expect(Object.keys(doc.paths)).toContain(p)
  })
})
