// Issue #6, done-when 4: a webhook receiver that is down, then slow, never blocks evaluation
// and never grows memory without limit: the notification queue is bounded (3 here), the
// overflow is dropped and counted, each accepted notification is retried with backoff
// (3 attempts) and every attempt's outcome is recorded and visible.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { startUp, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { startReceiver, type Receiver } from '../helpers/webhook.js'
import { api, spawnFixture } from '../helpers/alerts.js'

interface Delivery { transition_id: string, status: string, attempt: number, http_status: number, error: string, target: string }
const pids = Array.from({ length: 12 }, (_, i) => 1001 + i)

describe('alerts: webhook receiver down or slow', () => {
  const dataDir = tempDir('alerts-down')
  let up: Awaited<ReturnType<typeof startUp>>
  let receiver: Receiver

  beforeAll(async () => {
    receiver = await startReceiver()
    await receiver.stop()
    up = await startUp({
      KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(await freePort()), SLUICE_TOPIC_PREFIX: uniquePrefix('alerts-down'),
      SLUICE_ALERT_EVAL_MS: '250', SLUICE_ALERT_WEBHOOK_ALLOW: '127.0.0.1', SLUICE_ALERT_WEBHOOK: receiver.url, SLUICE_ALERT_QUEUE: '3', SLUICE_ALERT_WEBHOOK_TIMEOUT_MS: '500', SLUICE_ALERT_WEBHOOK_ATTEMPTS: '3', SLUICE_ALERT_WEBHOOK_BACKOFF_MS: '200'
    })
  })
  afterAll(async () => {
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
    await receiver?.stop()
  })

  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${up.url}/metrics`)).text()
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
    return m === null ? 0 : Number(m[1])
  }
  const deliveries = async (): Promise<Delivery[]> => (await api<{ deliveries: Delivery[] }>(up.url, 'GET', '/v1/alerts/notifications?limit=1000')).body.deliveries
  const emit = async (value: number, forPids: number[]): Promise<void> => {
    const c = spawnFixture('stats-series.mjs', ['series', path.join(dataDir, 'spool'), 'fleet', 'fleet-host', 'fds', String(value), '1000', forPids.join(',')])
    expect(await c.exited).toBe(0)
  }
  /** transitions with a final outcome (delivered or failed), by id */
  const finals = (ds: Delivery[]): Map<string, Delivery[]> => {
    const by = new Map<string, Delivery[]>()
    for (const d of [...ds].sort((a, b) => a.attempt - b.attempt)) by.set(d.transition_id, [...(by.get(d.transition_id) ?? []), d])
    return new Map([...by].filter(([, list]) => list.some(d => d.status !== 'retrying')))
  }

  it('keeps evaluating, bounds the queue, retries and records every outcome', async () => {
    expect((await api(up.url, 'POST', '/v1/alerts/rules', { id: 'fds', name: 'many fds', kind: 'threshold', metric: 'fds', op: '>', threshold: 100, resolve_threshold: 50, service: ['fleet'] })).status).toBe(201)

    // 1. receiver down: 12 processes cross at once
    await emit(500, pids)
    const firing = await waitFor('12 firing alerts', async () => {
      const a = (await api<{ alerts: Array<{ state: string, pid: number }> }>(up.url, 'GET', '/v1/alerts')).body.alerts
      return a.length === 12 ? a : undefined
    }, 90_000, 200, () => up.stderr().slice(-1500))
    expect(firing.map(a => [a.state, a.pid])).toEqual(pids.map(p => ['firing', p]))
    // one evaluation round made 12 transitions: 2 went to the senders, 3 into the queue, 7 dropped
    await waitFor('5 refused deliveries to end', async () => finals(await deliveries()).size === 5, 60_000)
    expect(await metric('sluice_alert_notifications_dropped_total')).toBe(7)
    for (const list of finals(await deliveries()).values()) {
      expect(list.map(d => [d.attempt, d.status, d.http_status, d.error, d.target])).toEqual([[1, 'retrying', 0, 'ECONNREFUSED', receiver.url], [2, 'retrying', 0, 'ECONNREFUSED', receiver.url], [3, 'failed', 0, 'ECONNREFUSED', receiver.url]])
    }

    // 2. receiver up but slower than the 500 ms timeout: the 12 alerts resolve all the same
    receiver.delayMs = 3000
    await receiver.start()
    await emit(10, pids)
    await waitFor('12 resolved alerts', async () => {
      const a = (await api<{ alerts: Array<{ state: string }> }>(up.url, 'GET', '/v1/alerts?all=true')).body.alerts
      return a.length === 12 && a.every(x => x.state === 'resolved')
    }, 90_000, 200)
    await waitFor('5 timed-out deliveries to end', async () => finals(await deliveries()).size === 10, 60_000)
    expect(await metric('sluice_alert_notifications_dropped_total')).toBe(14)
    const all = finals(await deliveries())
    const timedOut = [...all.values()].filter(list => list[0].error.startsWith('timed out'))
    expect(timedOut).toHaveLength(5)
    for (const list of timedOut) expect(list.map(d => [d.attempt, d.status, d.error])).toEqual([[1, 'retrying', 'timed out after 500 ms'], [2, 'retrying', 'timed out after 500 ms'], [3, 'failed', 'timed out after 500 ms']])
    expect(receiver.hits()).toBe(15)
    expect(receiver.received).toHaveLength(0)
    expect(await metric('sluice_alert_notify_queue_depth')).toBe(0)

    // 3. receiver healthy again: the next transition is delivered on the first attempt
    receiver.delayMs = 0
    await emit(500, [1001])
    await waitFor('a delivered webhook', async () => receiver.received.length >= 1, 60_000)
    const last = receiver.received[0].body
    expect(last).toMatchObject({ rule_id: 'fds', state: 'firing', pid: 1001, host: 'fleet-host', value: 500, threshold: 100 })
    await waitFor('its delivery record', async () => (await deliveries()).some(d => d.transition_id === last.transition_id && d.status === 'delivered'), 30_000)
    expect((await deliveries()).filter(d => d.transition_id === last.transition_id).map(d => [d.attempt, d.status, d.http_status])).toEqual([[1, 'delivered', 200]])
    expect(receiver.received).toHaveLength(1)
    expect(await metric('sluice_alert_notifications_dropped_total')).toBe(14)
  })
})
