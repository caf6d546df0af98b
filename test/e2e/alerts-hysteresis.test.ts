// Issue #6, done-when 2: a value oscillating around the threshold. The same stats from a
// real child process drive three rules: without hysteresis it flaps (every crossing is a
// notification); with resolve_threshold, or with keep_firing_for, it fires once and resolves
// once. Event times are 1 s apart, so every count below is exact.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { startUp, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { startReceiver, type Receiver } from '../helpers/webhook.js'
import { api, sleep, spawnFixture } from '../helpers/alerts.js'

//               0    1     2    3     4    5     6    7     8    9   10   11   12   13
const series = [100, 1100, 900, 1100, 900, 1100, 900, 1100, 900, 100, 100, 100, 100, 100]

describe('alerts: hysteresis on a value oscillating around the threshold', () => {
  const dataDir = tempDir('alerts-hyst')
  let up: Awaited<ReturnType<typeof startUp>>
  let receiver: Receiver

  beforeAll(async () => {
    receiver = await startReceiver()
    up = await startUp({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(await freePort()), SLUICE_TOPIC_PREFIX: uniquePrefix('alerts-hyst'), SLUICE_ALERT_EVAL_MS: '250', SLUICE_ALERT_WEBHOOK_ALLOW: '127.0.0.1', SLUICE_ALERT_WEBHOOK: receiver.url })
  })
  afterAll(async () => {
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
    await receiver?.stop()
  })

  it('flaps without hysteresis, notifies once each way with it', async () => {
    const common = { kind: 'threshold', metric: 'eventloop_delay_p99_ms', op: '>', threshold: 1000, service: ['osc'] }
    for (const r of [
      { id: 'flappy', name: 'no hysteresis', ...common },
      { id: 'hyst', name: 'resolve below 500', ...common, resolve_threshold: 500 },
      { id: 'keep', name: 'keep firing 3s', ...common, keep_firing_for: '3s' }
    ]) expect((await api(up.url, 'POST', '/v1/alerts/rules', r)).status).toBe(201)

    const child = spawnFixture('stats-series.mjs', ['series', path.join(dataDir, 'spool'), 'osc', 'osc-host', 'eventloop_delay_p99_ms', series.join(','), '1000', 'self'])
    expect(await child.exited).toBe(0)
    const expected = 8 + 2 + 2
    await waitFor(`${expected} webhooks`, async () => receiver.received.length >= expected, 90_000, 200, () => `${receiver.received.length}: ${JSON.stringify(receiver.received.map(r => [r.body.rule_id, r.body.state]))}`)
    // later rounds must add nothing
    await sleep(3000)
    expect(receiver.received.length).toBe(expected)

    const byRule = (id: string): Array<[string, number, number]> => receiver.received.map(r => r.body).filter(b => b.rule_id === id)
      .map(b => [b.state as string, Math.round((Date.parse(b.ts as string) - Date.parse(receiver.received[0].body.since as string)) / 1000), b.value as number])
    // [state, seconds after the first crossing (series index - 1), value]
    expect(byRule('flappy')).toEqual([['firing', 0, 1100], ['resolved', 1, 900], ['firing', 2, 1100], ['resolved', 3, 900], ['firing', 4, 1100], ['resolved', 5, 900], ['firing', 6, 1100], ['resolved', 7, 900]])
    expect(byRule('hyst')).toEqual([['firing', 0, 1100], ['resolved', 8, 100]])
    expect(byRule('keep')).toEqual([['firing', 0, 1100], ['resolved', 10, 100]])
    for (const r of receiver.received) expect(r.body).toMatchObject({ host: 'osc-host', service: 'osc', pid: child.pid })
    expect(receiver.received.filter(r => r.body.rule_id === 'hyst').map(r => r.body.threshold)).toEqual([1000, 500])
  })
})
