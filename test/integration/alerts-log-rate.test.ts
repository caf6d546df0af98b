// Log-rate rules are counted by one query for all of them (issue 15 item 8: one query per rule
// made every round cost rules × a scan). Each rule still sees exactly its own lines: level,
// substring, service and host filters per rule, a line replayed twice counted once, a group
// with no matching line not reported to that rule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Registry } from 'prom-client'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { createAlertEvaluator, type AlertEvaluator } from '../../alerts/evaluator.js'
import { tempDir, waitFor } from '../helpers/env.js'

describe('alerts: log-rate rules counted together', () => {
  let ch: ClickHouse
  let e: AlertEvaluator
  const rule = (id: string, extra: Record<string, unknown>): Record<string, unknown> => ({ id, version: 1, deleted: 0, body: JSON.stringify({ id, name: id, kind: 'log_rate', op: '>=', threshold: 1, ...extra }) })

  beforeAll(async () => {
    ch = await createClickHouse({ database: 'sluice', dataDir: tempDir('alerts-log-rate') })
    await migrate(ch.client, ch.database, { retentionDays: 30 })
    await ch.client.insert({ table: `${ch.database}.alert_rules`, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'rules' },
      values: [rule('all', {}), rule('errors', { level: 'error' }), rule('timeouts', { q: 'timeout' }), rule('web-errors', { level: 'error', service: ['web'] }), rule('h9', { host: ['h9'] }), rule('nothing', { q: 'no such text' })] })
    const now = Date.now()
    const line = (i: number, service: string, host: string, level: 'info' | 'error', msg: string): Record<string, unknown> =>
      ({ ts: new Date(now - 30_000 + i * 100).toISOString(), host, service, pid: 1, level, level_num: level === 'error' ? 50 : 30, msg, fields: '{}', source: `src-${service}-${host}`, path: '/x', offset: i, flags: [] })
    const lines = [
      line(0, 'web', 'h1', 'error', 'upstream timeout'), line(1, 'web', 'h1', 'error', 'db refused'), line(2, 'web', 'h1', 'info', 'timeout retried'),
      line(3, 'api', 'h1', 'error', 'timeout'), line(4, 'api', 'h1', 'info', 'ok'), line(5, 'api', 'h9', 'info', 'ok')
    ]
    // the first web line twice (a replay not yet merged away): counted once
    await ch.client.insert({ table: `${ch.database}.logs`, values: [...lines, lines[0]], format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'lines' } })
    e = createAlertEvaluator({ clickhouse: ch.client, database: ch.database, registry: new Registry(), evalIntervalMs: 60_000 })
    await e.start()
  })
  afterAll(async () => { await e?.stop(); await ch?.close() })

  it('each rule counts its own lines, in one query for all', async () => {
    const alerts = await waitFor('the log-rate alerts', async () => {
      await e.tick()
      const a = e.alerts(false)
      return a.length === 9 ? a : undefined
    }, 60_000, 500)
    expect(alerts.map(a => [a.rule_id, a.service, a.host, a.value, a.state])).toEqual([
      ['all', 'api', 'h1', 2, 'firing'], ['all', 'api', 'h9', 1, 'firing'], ['all', 'web', 'h1', 3, 'firing'],
      ['errors', 'api', 'h1', 1, 'firing'], ['errors', 'web', 'h1', 2, 'firing'],
      ['h9', 'api', 'h9', 1, 'firing'],
      ['timeouts', 'api', 'h1', 1, 'firing'], ['timeouts', 'web', 'h1', 2, 'firing'],
      ['web-errors', 'web', 'h1', 2, 'firing']
    ])
  })
})
