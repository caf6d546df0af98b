// Issue #6, done-when 3: `sluice up` (collector + API + evaluator) is killed with SIGKILL
// while an alert is firing and started again on the same data: no duplicate notification.
// Then the reporting process is killed: the no-data rule fires, exactly once.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { startUp, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { startReceiver, type Receiver } from '../helpers/webhook.js'
import { api, sleep, spawnFixture, type Child } from '../helpers/alerts.js'

interface Alert { rule_id: string, state: string, pid: number, last_sample: string, transition_id: string }

describe('alerts: evaluator restart while firing, and a process that stops reporting', () => {
  const dataDir = tempDir('alerts-restart')
  const prefix = uniquePrefix('alerts-restart')
  let up: Awaited<ReturnType<typeof startUp>> | undefined
  let receiver: Receiver
  let child: Child | undefined
  const start = async (): Promise<Awaited<ReturnType<typeof startUp>>> => await startUp({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(await freePort()), SLUICE_TOPIC_PREFIX: prefix, SLUICE_ALERT_EVAL_MS: '250', SLUICE_ALERT_WEBHOOK_ALLOW: '127.0.0.1', SLUICE_ALERT_WEBHOOK: receiver.url })

  beforeAll(async () => {
    receiver = await startReceiver()
    up = await start()
  })
  afterAll(async () => {
    child?.child.kill('SIGKILL')
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
    await receiver?.stop()
  })

  it('sends no duplicate after SIGKILL + restart, then raises no-data once', async () => {
    expect((await api(up!.url, 'POST', '/v1/alerts/rules', { id: 'loop-slow', name: 'event loop p99 above 1s', kind: 'threshold', metric: 'eventloop_delay_p99_ms', op: '>', threshold: 1000, for: '1s', service: ['steady'] })).status).toBe(201)
    expect((await api(up!.url, 'POST', '/v1/alerts/rules', { id: 'silent', name: 'stopped reporting', kind: 'no_data', metric: 'eventloop_delay_p99_ms', for: '4s', severity: 'critical', service: ['steady'] })).status).toBe(201)
    child = spawnFixture('stats-series.mjs', ['live', path.join(dataDir, 'spool'), 'steady', 'steady-host', 'eventloop_delay_p99_ms', '1500', '500'])
    const pid = child.pid

    await waitFor('the firing webhook', async () => receiver.received.length >= 1, 90_000, 200, () => up!.stderr().slice(-1500))
    expect(receiver.received.map(r => [r.body.rule_id, r.body.state, r.body.pid])).toEqual([['loop-slow', 'firing', pid]])
    const firingId = receiver.received[0].body.transition_id

    // kill -9 the evaluator (and everything `sluice up` holds) while the alert is firing
    expect(await stopChild(up!, 'SIGKILL')).toBe(null)
    const killedAt = Date.now()
    await sleep(2000)
    up = await start()

    // the restarted evaluator keeps evaluating fresh samples (written while it was down and
    // after), still firing, without notifying again
    const fresh = await waitFor('samples newer than the restart', async () => {
      const a = (await api<{ alerts: Alert[] }>(up!.url, 'GET', '/v1/alerts')).body.alerts.find(x => x.rule_id === 'loop-slow')
      return a !== undefined && Date.parse(a.last_sample) > killedAt + 2000 ? a : undefined
    }, 120_000, 250, () => up!.stderr().slice(-1500))
    expect(fresh).toMatchObject({ state: 'firing', pid, transition_id: firingId })
    await sleep(2000)
    expect(receiver.received).toHaveLength(1)
    // the restarted evaluator resumed from the persisted state: it derived no transition at all
    // (the claim would have stopped a re-derived one; here it was not even needed)
    const metrics = await (await fetch(`${up!.url}/metrics`)).text()
    expect(metrics).not.toMatch(/^sluice_alert_transitions_total\{/m)
    expect(metrics).toMatch(/^sluice_alert_evaluations_total\{result="ok"\} [1-9]/m)

    // the process stops reporting: no-data fires once, for that host and pid
    child.child.kill('SIGKILL')
    await child.exited
    await waitFor('the no-data webhook', async () => receiver.received.length >= 2, 60_000, 200, () => up!.stderr().slice(-1500))
    await sleep(3000)
    expect(receiver.received.map(r => [r.body.rule_id, r.body.state, r.body.host, r.body.pid])).toEqual([['loop-slow', 'firing', 'steady-host', pid], ['silent', 'firing', 'steady-host', pid]])
    expect(receiver.received[1].body).toMatchObject({ kind: 'no_data', severity: 'critical', threshold: 4, value: 4, previous_state: 'inactive' })

    const history = (await api<{ transitions: Array<{ rule_id: string, to_state: string }> }>(up!.url, 'GET', '/v1/alerts/history')).body.transitions
    expect(history.map(t => [t.rule_id, t.to_state]).reverse()).toEqual([['loop-slow', 'pending'], ['loop-slow', 'firing'], ['silent', 'firing']])
    const current = (await api<{ alerts: Alert[] }>(up!.url, 'GET', '/v1/alerts')).body.alerts
    expect(current.map(a => [a.rule_id, a.state, a.pid])).toEqual([['loop-slow', 'firing', pid], ['silent', 'firing', pid]])
  })
})
