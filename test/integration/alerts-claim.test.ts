// The exactly-once claim with more than one evaluator: two evaluators (as two query-api
// processes would run, each with its own claim identity) share one real ClickHouse engine and
// evaluate the same stats at the same moments; a third one starts later with no memory of
// anything and re-derives the same transitions from the data. A real HTTP receiver must get
// exactly one webhook per transition. Stats rows are inserted as the collector writes them
// (the pipeline itself is covered by test/e2e/alerts-*.test.ts); log lines likewise, for the
// log-rate rule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Registry } from 'prom-client'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { createAlertEvaluator, type AlertEvaluator } from '../../alerts/evaluator.js'
import { parseAllowList } from '../../alerts/destination.js'
import { tempDir, waitFor } from '../helpers/env.js'
import { startReceiver, type Receiver } from '../helpers/webhook.js'

describe('alerts: one notification per transition across evaluators', () => {
  let ch: ClickHouse
  let receiver: Receiver
  const evaluators: AlertEvaluator[] = []
  const make = async (owner: string): Promise<AlertEvaluator> => {
    // a long interval: this test drives the rounds itself, at the same moments
    const e = createAlertEvaluator({ clickhouse: ch.client, database: ch.database, registry: new Registry(), evalIntervalMs: 60_000, defaultWebhook: receiver.url, notifier: { owner, policy: parseAllowList('127.0.0.1') } })
    await e.start()
    evaluators.push(e)
    return e
  }
  const base = Date.now() - 120_000
  const stats = async (pid: number, values: number[], from: number): Promise<void> => {
    await ch.client.insert({ table: `${ch.database}.stats`, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: `test:${pid}:${from}` },
      values: values.map((v, i) => ({ ts: new Date(base + (from + i) * 1000).toISOString(), host: 'h1', service: 'api', pid, metric: 'rss', value: v, source: 's', offset: from + i })) })
  }

  beforeAll(async () => {
    receiver = await startReceiver()
    ch = await createClickHouse({ database: 'sluice', dataDir: tempDir('alerts-claim') })
    await migrate(ch.client, ch.database, { retentionDays: 30 })
    await ch.client.insert({ table: `${ch.database}.alert_rules`, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'test-rules' },
      values: [{ id: 'rss', version: 1, deleted: 0, body: JSON.stringify({ id: 'rss', name: 'rss high', kind: 'threshold', metric: 'rss', op: '>', threshold: 100, for: '2s' }) },
        { id: 'errors', version: 1, deleted: 0, body: JSON.stringify({ id: 'errors', name: 'errors per minute', kind: 'log_rate', level: 'error', q: 'timeout', op: '>=', threshold: 3 }) }] })
  })
  afterAll(async () => {
    for (const e of evaluators) await e.stop()
    await ch?.close()
    await receiver?.stop()
  })

  it('two evaluators racing, then a third with no state: exactly one webhook per transition', async () => {
    const a = await make('evaluator-a')
    const b = await make('evaluator-b')
    await stats(7, [50, 150, 150, 150, 150], 0)
    expect((await Promise.all([a.tick(), b.tick()])).map(ts => ts.map(t => t.to))).toEqual([['pending', 'firing'], ['pending', 'firing']])
    await stats(7, [150, 20], 5)
    expect((await Promise.all([a.tick(), b.tick()])).map(ts => ts.map(t => t.to))).toEqual([['resolved'], ['resolved']])
    await Promise.all([a.notifier.idle(), b.notifier.idle()])
    expect(receiver.received.map(r => [r.body.state, r.body.pid, r.body.value])).toEqual([['firing', 7, 150], ['resolved', 7, 20]])

    // a late evaluator whose persisted state is gone re-reads the last 15 minutes: it derives
    // the same transitions with the same ids, and the claims keep it from notifying again
    await ch.client.command({ query: `TRUNCATE TABLE ${ch.database}.alert_state` })
    const c = await make('evaluator-c')
    const replayed = await c.tick()
    expect(replayed.map(t => t.to)).toEqual(['pending', 'firing', 'resolved'])
    expect(replayed.filter(t => t.to !== 'pending').map(t => t.id)).toEqual(receiver.received.map(r => r.body.transition_id))
    await c.notifier.idle()
    expect(receiver.received).toHaveLength(2)

    const claims = await (await ch.client.query({ query: `SELECT transition_id, owner FROM ${ch.database}.alert_claims ORDER BY claimed_at`, format: 'JSONEachRow' })).json<{ transition_id: string, owner: string }>()
    expect(claims.map(x => x.transition_id)).toEqual(receiver.received.map(r => r.body.transition_id))
    expect(new Set(claims.map(x => x.owner)).size).toBeLessThanOrEqual(2)
  })

  it('log-rate rule: matching lines per minute, on a fixed grid, notified once', async () => {
    const now = Date.now()
    const lines = Array.from({ length: 5 }, (_, i) => ({ ts: new Date(now - 30_000 + i * 1000).toISOString(), host: 'h2', service: 'web', pid: 9, level: i < 4 ? 'error' : 'warn', level_num: i < 4 ? 50 : 40, msg: i === 3 ? 'db ok' : 'upstream timeout', fields: '{}', source: 'src-lograte', path: '/x', offset: i, flags: [] }))
    await ch.client.insert({ table: `${ch.database}.logs`, values: lines, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'test-logs' } })
    const before = receiver.received.length
    // 3 error lines contain "timeout" (the warn one and "db ok" do not count): rate 3 >= 3
    await waitFor('the log-rate alert', async () => {
      await Promise.all(evaluators.map(async e => await e.tick()))
      return evaluators.every(e => e.alerts(false).some(x => x.rule_id === 'errors' && x.state === 'firing'))
    }, 60_000, 500)
    await Promise.all(evaluators.map(async e => await e.notifier.idle()))
    const sent = receiver.received.slice(before).map(r => r.body)
    expect(sent.map(s => [s.rule_id, s.state, s.service, s.host, s.pid, s.value])).toEqual([['errors', 'firing', 'web', 'h2', 9, 3]])
  })

  it('a transition recorded but never claimed (its evaluator died in between) is sent by the next one to start, once', async () => {
    const before = receiver.received.length
    const t = { id: 'deadbeefdeadbeefdeadbeefdeadbeef', ruleId: 'rss', key: 'api\u0000h3\u000042', service: 'api', host: 'h3', pid: 42, from: 'pending' as const, to: 'firing' as const, ts: Date.now() - 5000, since: Date.now() - 8000, value: 300, threshold: 100 }
    const a = evaluators[0]
    await a.store.recordTransitions([t], [], new Map([[(a.rule('rss'))!.id, a.rule('rss')!]]), new Map([[t.id, 'rss high firing on h3']]))
    const d = await make('evaluator-d')
    const e = await make('evaluator-e')
    await Promise.all([d.notifier.idle(), e.notifier.idle()])
    expect(receiver.received.slice(before).map(r => [r.body.transition_id, r.body.state, r.body.host, r.body.pid, r.body.message])).toEqual([[t.id, 'firing', 'h3', 42, 'rss high firing on h3']])
  })

  it('reads stats in pages without splitting a record (ratio rules need both metrics)', async () => {
    await ch.client.insert({ table: `${ch.database}.alert_rules`, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'test-rules-ratio' },
      values: [{ id: 'ratio', version: 1, deleted: 0, body: JSON.stringify({ id: 'ratio', name: 'heap ratio', kind: 'threshold', metric: 'heap_used', divide_by: 'heap_limit', op: '>', threshold: 0.5, service: ['paged'] }) }] })
    // 9 records x 2 metrics = 18 rows, read 7 at a time: every page ends inside a record
    const used = [10, 60, 70, 20, 80, 10, 90, 95, 10]
    await ch.client.insert({ table: `${ch.database}.stats`, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'test-paged' },
      values: used.flatMap((u, i) => [['heap_used', u], ['heap_limit', 100]].map(([metric, value]) => ({ ts: new Date(base + i * 1000).toISOString(), host: 'h4', service: 'paged', pid: 5, metric, value, source: 'p', offset: i }))) })
    const paged = createAlertEvaluator({ clickhouse: ch.client, database: ch.database, registry: new Registry(), evalIntervalMs: 60_000, statsPageRows: 7, notifier: { owner: 'evaluator-paged' } })
    await paged.start()
    evaluators.push(paged)
    const ts = (await paged.tick()).filter(t => t.ruleId === 'ratio')
    expect(ts.map(t => [t.to, t.value])).toEqual([['firing', 0.6], ['resolved', 0.2], ['firing', 0.8], ['resolved', 0.1], ['firing', 0.9], ['resolved', 0.1]])
  })
})
