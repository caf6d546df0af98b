// Issue 15 items 2 and 3 (webhook_held_hostage): four receivers for four rules — one that
// accepts the POST and never answers, one that redirects to 127.0.0.1 (not allowed), one that
// redirects to itself, and a healthy one whose URL carries credentials. Six processes of
// service `quiet` fire the first three rules (six notifications each) just before one process
// of `fleet` fires all four: the healthy receiver gets its firing while the silent one is still
// being tried; the silent one's attempts end at the configured timeout, each recorded; no
// redirect is followed; no credential appears in GET rules, /v1/alerts/notifications or stderr.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { startUp, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { startReceiver, type Receiver } from '../helpers/webhook.js'
import { api, readStream, spawnFixture } from '../helpers/alerts.js'

interface Delivery { transition_id: string, rule_id: string, status: string, attempt: number, http_status: number, error: string, target: string, at: string }

describe('alerts: hostile webhook receivers', () => {
  const dataDir = tempDir('alerts-hostile')
  let up: Awaited<ReturnType<typeof startUp>>
  // loopback addresses of their own, so the allow list can name them and leave 127.0.0.1 out
  let target: Receiver, healthy: Receiver, silent: Receiver, redirect: Receiver, loop: Receiver

  beforeAll(async () => {
    target = await startReceiver('127.0.0.1')
    healthy = await startReceiver('127.0.0.2')
    silent = await startReceiver('127.0.0.3')
    silent.silent = true
    redirect = await startReceiver('127.0.0.4')
    redirect.redirectTo = { status: 307, location: target.url }
    loop = await startReceiver('127.0.0.5')
    loop.redirectTo = { status: 302, location: loop.url }
    up = await startUp({
      KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(await freePort()), SLUICE_TOPIC_PREFIX: uniquePrefix('alerts-hostile'),
      SLUICE_ALERT_EVAL_MS: '250', SLUICE_ALERT_WEBHOOK_ALLOW: '127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5',
      SLUICE_ALERT_WEBHOOK_TIMEOUT_MS: '500', SLUICE_ALERT_WEBHOOK_ATTEMPTS: '3', SLUICE_ALERT_WEBHOOK_BACKOFF_MS: '200'
    })
  })
  afterAll(async () => {
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
    for (const r of [target, healthy, silent, redirect, loop]) await r?.stop()
  })

  const deliveries = async (): Promise<Delivery[]> => (await api<{ deliveries: Delivery[] }>(up.url, 'GET', '/v1/alerts/notifications?limit=1000')).body.deliveries
  const secretUrl = (): string => healthy.url.replace('http://', 'http://ops:hunter2@') + '?token=s3cret'
  const shownUrl = (): string => healthy.url.replace('http://', 'http://***@') + '?token=***'

  it('delivers to the healthy receiver while the others fail fast, follows no redirect, shows no credential', async () => {
    const rule = { name: 'many fds', kind: 'threshold', metric: 'fds', op: '>', threshold: 100, service: ['fleet', 'quiet'] }
    // 127.0.0.1 is not in the allow list: refused when the rule is written
    expect(await api(up.url, 'POST', '/v1/alerts/rules', { ...rule, id: 'direct', webhook: target.url })).toEqual({ status: 400, body: { error: 'SLUICE_ERR_BAD_RULE', message: "invalid alert rule: 'webhook' is refused: destination '127.0.0.1' is a loopback address; allow it with SLUICE_ALERT_WEBHOOK_ALLOW" } })
    // ids sort in evaluation order: the hostile receivers' notifications are queued first
    for (const [id, webhook] of [['a-silent', silent.url], ['b-redirect', redirect.url], ['c-loop', loop.url], ['d-healthy', secretUrl()]]) {
      expect((await api(up.url, 'POST', '/v1/alerts/rules', { ...rule, id, webhook, service: id === 'd-healthy' ? ['fleet'] : rule.service })).status).toBe(201)
    }
    const stream = readStream(up.url)
    await stream.ready
    // when each transition was published (SSE), to 10 ms
    const seenAt = new Map<unknown, number>()
    const watch = setInterval(() => { for (const e of stream.events) if (!seenAt.has(e.transition_id)) seenAt.set(e.transition_id, Date.now()) }, 10)
    const quiet = spawnFixture('stats-series.mjs', ['series', path.join(dataDir, 'spool'), 'quiet', 'fleet-host', 'fds', '500', '1000', '2001,2002,2003,2004,2005,2006'])
    expect(await quiet.exited).toBe(0)
    await waitFor('the quiet firings', async () => stream.events.filter(e => e.state === 'firing').length >= 18, 90_000, 50, () => up.stderr().slice(-1500))
    const c = spawnFixture('stats-series.mjs', ['series', path.join(dataDir, 'spool'), 'fleet', 'fleet-host', 'fds', '500', '1000', '1001'])
    expect(await c.exited).toBe(0)

    const firing = await waitFor('the healthy firing webhook', async () => healthy.received[0], 90_000, 50, () => up.stderr().slice(-1500))
    const published = stream.events.find(e => e.rule_id === 'd-healthy' && e.state === 'firing')
    await new Promise(resolve => setTimeout(resolve, 20))
    clearInterval(watch)
    stream.close()
    expect(published).toBeDefined()
    expect(firing.body).toMatchObject({ rule_id: 'd-healthy', service: 'fleet', state: 'firing', pid: 1001, value: 500, transition_id: published!.transition_id })
    // the credentials are used for sending
    expect([firing.url, firing.authorization]).toEqual(['/hook?token=s3cret', `Basic ${Buffer.from('ops:hunter2').toString('base64')}`])
    // the bound is 2 s from the transition; asserted generously (the machine is shared)
    const delay = firing.at - seenAt.get(published!.transition_id)!
    console.log(`WEBHOOK hostile: healthy firing arrived ${delay} ms after the transition was published`)
    expect(delay).toBeLessThan(5000)

    // the silent receiver: 7 transitions × 3 attempts, each ended by the 500 ms timeout and recorded
    const perTransition = (ds: Delivery[]): Delivery[][] => {
      const by = new Map<string, Delivery[]>()
      for (const d of [...ds].sort((a, b) => a.attempt - b.attempt)) by.set(d.transition_id, [...(by.get(d.transition_id) ?? []), d])
      return [...by.values()]
    }
    const rowsOf = async (id: string, final: number): Promise<Delivery[][]> => await waitFor(`${final} final ${id} deliveries`, async () => {
      const t = perTransition((await deliveries()).filter(x => x.rule_id === id))
      return t.length === final && t.every(l => l.some(d => d.status !== 'retrying')) ? t : undefined
    }, 90_000)
    const silentRows = await rowsOf('a-silent', 7)
    for (const list of silentRows) {
      expect(list.map(d => [d.attempt, d.status, d.http_status, d.error, d.target])).toEqual([
        [1, 'retrying', 0, 'timed out after 500 ms', silent.url], [2, 'retrying', 0, 'timed out after 500 ms', silent.url], [3, 'failed', 0, 'timed out after 500 ms', silent.url]
      ])
      // 3 × 500 ms + 200 + 400 ms of backoff (plus recording): generously under 10 s, where a
      // lost timeout held one attempt for minutes
      expect(Date.parse(list[2].at) - Date.parse(list[0].at)).toBeLessThan(10_000)
    }
    expect(silent.hits()).toBe(21)
    // delivered while the silent receiver was still being tried
    expect(firing.at).toBeLessThan(Math.max(...silentRows.map(l => Date.parse(l[2].at))))

    // redirects: one attempt per transition, not followed, not retried
    const targetHost = new URL(target.url).host
    for (const list of await rowsOf('b-redirect', 7)) expect(list.map(d => [d.attempt, d.status, d.http_status, d.error])).toEqual([[1, 'failed', 307, `redirect not followed (HTTP 307, Location host '${targetHost}')`]])
    for (const list of await rowsOf('c-loop', 7)) expect(list.map(d => [d.attempt, d.status, d.http_status, d.error])).toEqual([[1, 'failed', 302, `redirect not followed (HTTP 302, Location host '${new URL(loop.url).host}')`]])
    expect((await rowsOf('d-healthy', 1)).map(l => l.map(d => [d.attempt, d.status, d.http_status, d.target]))).toEqual([[[1, 'delivered', 200, shownUrl()]]])
    expect([redirect.hits(), loop.hits(), target.hits(), healthy.hits()]).toEqual([7, 7, 0, 1])

    // no credential anywhere it could be read
    const rules = await (await fetch(`${up.url}/v1/alerts/rules`)).text()
    const notifications = await (await fetch(`${up.url}/v1/alerts/notifications?limit=1000`)).text()
    for (const text of [rules, notifications, up.stderr(), up.stdout()]) {
      expect(text).not.toContain('hunter2')
      expect(text).not.toContain('s3cret')
    }
    expect(rules).toContain(shownUrl())
  })
})
