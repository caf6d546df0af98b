// A stale resolution is a transition like the others: two evaluators sharing one real
// ClickHouse engine judge the same silent group stale at the same place (last sample +
// stale_after), and a third one starting with no state re-derives it with the same id; a real
// HTTP receiver gets exactly one webhook for it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Registry } from 'prom-client'
import { createClickHouse, type ClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { createAlertEvaluator, type AlertEvaluator } from '../../alerts/evaluator.js'
import { parseAllowList } from '../../alerts/destination.js'
import { tempDir } from '../helpers/env.js'
import { startReceiver, type Receiver } from '../helpers/webhook.js'
import { sleep } from '../helpers/alerts.js'

describe('alerts: a stale group resolves once across evaluators', () => {
  let ch: ClickHouse
  let receiver: Receiver
  const evaluators: AlertEvaluator[] = []
  const make = async (owner: string): Promise<AlertEvaluator> => {
    // this test drives the rounds itself
    const e = createAlertEvaluator({ clickhouse: ch.client, database: ch.database, registry: new Registry(), evalIntervalMs: 60_000, defaultWebhook: receiver.url, notifier: { owner, policy: parseAllowList('127.0.0.1') } })
    await e.start()
    evaluators.push(e)
    return e
  }

  beforeAll(async () => {
    receiver = await startReceiver()
    ch = await createClickHouse({ database: 'sluice', dataDir: tempDir('alerts-stale-claim') })
    await migrate(ch.client, ch.database, { retentionDays: 30 })
    await ch.client.insert({ table: `${ch.database}.alert_rules`, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'test-rules' },
      values: [{ id: 'fds', version: 1, deleted: 0, body: JSON.stringify({ id: 'fds', name: 'fds high', kind: 'threshold', metric: 'fds', op: '>', threshold: 100, stale_after: '5s' }) }] })
  })
  afterAll(async () => {
    for (const e of evaluators) await e.stop()
    await ch?.close()
    await receiver?.stop()
  })

  it('firing, then resolved (stale) at last sample + stale_after, one webhook each', async () => {
    const a = await make('evaluator-a')
    const b = await make('evaluator-b')
    // a process that reported 3 samples, the last one 30 s ago, then went away
    const last = Date.now() - 30_000
    await ch.client.insert({ table: `${ch.database}.stats`, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'test-stats' },
      values: [150, 160, 170].map((v, i) => ({ ts: new Date(last - (2 - i) * 1000).toISOString(), host: 'h1', service: 'api', pid: 7, metric: 'fds', value: v, source: 's', offset: i })) })
    // not stale yet: an evaluator judges silence only once stale_after has passed since its start
    expect((await Promise.all([a.tick(), b.tick()])).map(ts => ts.map(t => [t.to, t.reason]))).toEqual([[['firing', null]], [['firing', null]]])
    await sleep(5100)
    const resolved = await Promise.all([a.tick(), b.tick()])
    expect(resolved.map(ts => ts.map(t => [t.to, t.reason, t.ts]))).toEqual([[['resolved', 'stale', last + 5000]], [['resolved', 'stale', last + 5000]]])
    expect(resolved[0][0].id).toBe(resolved[1][0].id)
    expect(await Promise.all([a.tick(), b.tick()])).toEqual([[], []])
    await Promise.all([a.notifier.idle(), b.notifier.idle()])
    expect(receiver.received.map(r => [r.body.state, r.body.reason, r.body.pid, r.body.value, r.body.ts])).toEqual([['firing', null, 7, 150, new Date(last - 2000).toISOString()], ['resolved', 'stale', 7, 170, new Date(last + 5000).toISOString()]])

    // an evaluator without the persisted states re-derives both with the same ids: no new webhook
    await ch.client.command({ query: `TRUNCATE TABLE ${ch.database}.alert_state` })
    const c = await make('evaluator-c')
    // a restarted evaluator blames silence only once rows ingested after its start arrive (the
    // pipeline caught up): another process reports now
    await ch.client.insert({ table: `${ch.database}.stats`, format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: 'test-stats-2' },
      values: [{ ts: new Date().toISOString(), host: 'h2', service: 'api', pid: 8, metric: 'fds', value: 10, source: 's2', offset: 0 }] })
    expect((await c.tick()).map(t => t.to)).toEqual(['firing'])
    await sleep(5100)
    const again = await c.tick()
    expect(again.map(t => [t.to, t.id])).toEqual([['resolved', resolved[0][0].id]])
    await c.notifier.idle()
    expect(receiver.received).toHaveLength(2)
    const history = await a.store.history(10, 'fds')
    expect(history.map(h => [h.from_state, h.to_state, h.reason])).toEqual([['firing', 'resolved', 'stale'], ['inactive', 'firing', null]])
  })
})
