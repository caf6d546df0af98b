// Issue 21 in the Explorer and issue 20's rule editing, in a real browser (Debian's Chromium via
// playwright-core) against a real `sluice up` (its shipper, collector and query API on embedded
// ClickHouse, the test's Kafka broker). A file of 1,000 lines, one of them too deeply nested (the
// collector dead-letters it); then 10 lines deleted from ClickHouse behind Sluice's back. The
// Explorer marks both ranges on the histogram at their time and lists a row for each between the
// lines around it. The same stack serves the Alerts page, where a rule is edited through the form.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { freePort } from '../../platform/kafka-launcher.js'
import { openEngine } from '../helpers/collector.js'
import { startUp, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { launchBrowser, newPage, screenshot } from '../helpers/browser.js'

interface Range { from: number, to: number | null, bytes: number | null, class: string, reason?: string, before: string | null, after: string | null }
interface Gaps { sources: Array<{ source: string, host: string, path: string, line_bytes: number | null, ranges: Range[] }> }

// two hours ago, one line every 3 s: lines 100–999 all have the same length
const base = Math.floor((Date.now() - 2 * 3_600_000) / 60_000) * 60_000
const tsOf = (i: number): number => base + i * 3000
const iso = (i: number): string => new Date(tsOf(i)).toISOString()
const line = (i: number): string => `{"time":${tsOf(i)},"level":30,"n":${i},"msg":"line-${i}"}`
const deep = `{"time":${tsOf(514) + 1500},"level":30,"a":${'['.repeat(100)}${']'.repeat(100)},"msg":"deep"}`

describe('Explorer: missing ranges marked on the histogram and listed between the lines', () => {
  const dataDir = tempDir('web-gaps')
  const spool = path.join(dataDir, 'spool', 'gapsvc')
  const file = path.join(spool, 'app.ndjson')
  const prefix = uniquePrefix('webgaps')
  let port = 0
  const env = (): Record<string, string> => ({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(port), SLUICE_TOPIC_PREFIX: prefix, SLUICE_PROGRESS_INTERVAL_MS: '300' })
  let up: Awaited<ReturnType<typeof startUp>> | undefined
  let browser: Browser
  let page: Page
  /** offsets[i]: where line i starts in the file */
  const offsets: number[] = []
  let deepAt = 0
  let source = ''
  const gaps = async (q: Record<string, string>): Promise<Gaps> => {
    const res = await fetch(`${up!.url}/v1/gaps?${new URLSearchParams({ service: 'gapsvc', ...q }).toString()}`)
    if (res.status !== 200) throw new Error(`/v1/gaps: ${res.status} ${await res.text()}`)
    return await res.json() as Gaps
  }
  const stored = async (): Promise<number> => {
    const res = await fetch(`${up!.url}/v1/facets?service=gapsvc&q=line-&since=1d`)
    return (await res.json() as { total: number }).total
  }

  beforeAll(async () => {
    fs.mkdirSync(spool, { recursive: true })
    let text = ''
    let size = 0
    const add = (l: string): void => { text += l + '\n'; size += Buffer.byteLength(l) + 1 }
    for (let i = 0; i < 1000; i++) {
      offsets.push(size)
      add(line(i))
      if (i === 514) { deepAt = size; add(deep) }
    }
    fs.writeFileSync(file, text)
    port = await freePort()
    up = await startUp(env())
    const dead = await waitFor('1,000 lines stored and the deep one dead-lettered', async () => {
      if (await stored() !== 1000) return false
      const g = await gaps({})
      return g.sources.some(s => s.ranges.some(r => r.class === 'dead_lettered')) ? g : false
    }, 120_000)
    source = dead.sources[0].source
    // lines 500–509 removed behind Sluice's back
    await stopChild(up, 'SIGINT')
    const ch = await openEngine(dataDir)
    await ch.client.command({ query: `ALTER TABLE sluice.logs DELETE WHERE source = '${source}' AND offset BETWEEN ${offsets[500]} AND ${offsets[509]} SETTINGS mutations_sync = 2` })
    // and a host whose last heartbeat is 10 minutes old: silent
    await ch.client.command({ query: "INSERT INTO sluice.source_progress (host, source, service, path, size, acked, state, reason, dropped, ts) VALUES ('web-7', '', '', '', 0, 0, 'host', '', '', now64(3) - INTERVAL 10 MINUTE)" })
    await ch.close()
    up = await startUp(env())
    await waitFor('the deleted range reported', async () => (await gaps({})).sources.some(s => s.ranges.some(r => r.class === 'lost')), 60_000)
    browser = await launchBrowser()
    page = (await newPage(browser)).page
  }, 240_000)
  afterAll(async () => {
    await browser?.close()
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
  })

  it('marks the lost and the dead-lettered range at their buckets and lists each between its neighbouring lines', async () => {
    const since = iso(300)
    const until = iso(520)
    const answer = await gaps({ since, until })
    const lineBytes = Buffer.byteLength(line(500)) + 1
    const lostBytes = offsets[510] - offsets[500]
    expect(answer.sources).toEqual([{
      source, host: os.hostname(), service: 'gapsvc', path: file, state: 'active', acked: expect.any(Number), size: expect.any(Number), line_bytes: lineBytes,
      ranges: [
        { from: offsets[500], to: offsets[510], bytes: lostBytes, class: 'lost', before: iso(499), after: iso(510) },
        { from: deepAt, to: offsets[515], bytes: Buffer.byteLength(deep) + 1, class: 'dead_lettered', reason: 'line nests objects/arrays deeper than 64 levels (limit maxJsonDepth)', before: iso(514), after: iso(515) }
      ]
    }])

    await page.goto(`${up!.url}/?service=gapsvc&since=${since}&until=${until}`)
    const lostMark = page.locator('.histogram .hrange[data-kind="gap-lost"]')
    await lostMark.waitFor({ timeout: 30_000 })
    const deadMark = page.locator('.histogram .hrange[data-kind="gap-dead_lettered"]')
    expect(await page.locator('.histogram .hrange').count()).toBe(2)

    // the bucket each mark starts in is the one /v1/histogram puts the line before the range in
    const hist = await (await fetch(`${up!.url}/v1/histogram?${new URLSearchParams({ service: 'gapsvc', since, until, buckets: '100' }).toString()}`)).json() as { step: number, buckets: Array<{ t: string }> }
    const first = Date.parse(hist.buckets[0].t)
    const bucketOf = (t: number): number => Math.floor((t - first) / (hist.step * 1000))
    expect(Number(await lostMark.getAttribute('data-bucket'))).toBe(bucketOf(tsOf(499)))
    expect(Number(await deadMark.getAttribute('data-bucket'))).toBe(bucketOf(tsOf(514)))
    expect([await lostMark.getAttribute('data-t0'), await lostMark.getAttribute('data-t1')]).toEqual([String(tsOf(499)), String(tsOf(510))])
    // and it is drawn there: its left edge lies on that bar
    const bar = (await page.locator('.histogram .hbar').nth(bucketOf(tsOf(499))).boundingBox())!
    const mark = (await lostMark.boundingBox())!
    expect(mark.x).toBeGreaterThanOrEqual(bar.x - 2)
    expect(mark.x).toBeLessThanOrEqual(bar.x + bar.width + 1)
    expect(await lostMark.locator('.hrange-flag').getAttribute('title')).toBe(`${lostBytes.toLocaleString('en-US')} bytes (~10 lines) of ${os.hostname()}:${file} missing here — lost`)

    // the list: newest first, each gap row on the older side of the line after its range
    const lostRow = page.locator('.results .gap-row[data-class="lost"]')
    await lostRow.waitFor({ timeout: 20_000 })
    expect(await lostRow.locator('.gap-text').textContent()).toBe(`${lostBytes.toLocaleString('en-US')} bytes (~10 lines) of ${os.hostname()}:${file} missing here — lost`)
    expect([await lostRow.getAttribute('data-bytes'), await lostRow.getAttribute('data-source'), await lostRow.getAttribute('data-from')]).toEqual([String(lostBytes), source, String(offsets[500])])
    const deadRow = page.locator('.results .gap-row[data-class="dead_lettered"]')
    expect(await deadRow.locator('.gap-text').textContent()).toBe(`${Buffer.byteLength(deep) + 1} bytes of ${os.hostname()}:${file} missing here — dead-lettered: line nests objects/arrays deeper than 64 levels (limit maxJsonDepth)`)
    const order = await page.$$eval('.results .vrow', els => [...els]
      .sort((a, b) => Number(a.getAttribute('data-index')) - Number(b.getAttribute('data-index')))
      .map(e => e.querySelector('.gap-row')?.getAttribute('data-class') ?? (e.querySelector('.msg')?.textContent ?? '').split(' ')[0]))
    expect(order.slice(0, 20)).toEqual(['line-520', 'line-519', 'line-518', 'line-517', 'line-516', 'line-515', 'dead_lettered', 'line-514', 'line-513', 'line-512', 'line-511', 'line-510', 'lost', 'line-499', 'line-498', 'line-497', 'line-496', 'line-495', 'line-494', 'line-493'])
    // gap rows are notes, not lines: the log rows are exactly the stored lines in view
    expect(await page.locator('.results .gap-row .ts, .results .gap-row .lvl').count()).toBe(0)
    expect(await page.locator('.gap-notice .gap-sum').evaluateAll(els => els.map(e => [e.getAttribute('data-class'), e.textContent]))).toEqual([
      ['lost', `${lostBytes.toLocaleString('en-US')} bytes lost (1 range)`],
      ['dead_lettered', `${Buffer.byteLength(deep) + 1} bytes dead-lettered (1 range)`]
    ])
    // web-7 tails no file of gapsvc: its silence is not this view's
    expect(await page.locator('.gap-notice .silent').count()).toBe(0)
    await screenshot(page, 'web-16-explorer-gaps')
    await page.emulateMedia({ colorScheme: 'dark' })
    await screenshot(page, 'web-16b-explorer-gaps-dark')
    await page.emulateMedia({ colorScheme: 'light' })

    // every service: the silent host is named above the list
    await page.goto(`${up!.url}/?since=${since}&until=${until}`)
    const silent = page.locator('.gap-notice .silent[data-host="web-7"]')
    await silent.waitFor({ timeout: 30_000 })
    expect(await silent.textContent()).toMatch(/^⚠ web-7 has not reported for 1[0-9]m [0-9]+s: its newest lines may not have arrived$/)
    expect(await page.locator('.results .gap-row').count()).toBe(2)
    await screenshot(page, 'web-16c-explorer-silent-host')
  })

  it('edits a rule through the form: the new threshold saved, the rest kept; a bad edit shows the API\'s exact 400 next to the field', async () => {
    const created = await fetch(`${up!.url}/v1/alerts/rules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: 'heap-half', name: 'heap above half its limit', kind: 'threshold', metric: 'heap_used', divide_by: 'heap_limit', op: '>', threshold: 0.5, for: '1m', severity: 'critical', labels: { team: 'core' }, message: 'heap of {{service}} at {{value}}' }) })
    expect(created.status).toBe(201)
    await page.goto(`${up!.url}/alerts`)
    const row = page.locator('table.rules tr[data-rule="heap-half"]')
    await row.waitFor({ timeout: 20_000 })
    await row.getByRole('button', { name: 'heap above half its limit' }).click()
    expect(await page.locator('h2:has(+ .alert-form)').textContent()).toBe('Edit rule heap-half')
    const threshold = page.getByLabel('threshold', { exact: true })
    expect(await threshold.inputValue()).toBe('0.5')
    expect(await page.getByLabel('id', { exact: true }).isDisabled()).toBe(true)
    await threshold.fill('0.7')
    await page.getByRole('button', { name: 'save changes' }).click()
    await page.locator('.notice', { hasText: 'saved heap-half' }).waitFor({ timeout: 10_000 })
    await page.waitForFunction(() => document.querySelector('table.rules tr[data-rule="heap-half"] .cond')?.textContent === 'heap_used / heap_limit > 0.7 for 1m', undefined, { timeout: 10_000 })
    const listed = await (await fetch(`${up!.url}/v1/alerts/rules`)).json() as { rules: Array<Record<string, unknown>> }
    expect(listed.rules.filter(r => r.origin === 'api')).toEqual([{ id: 'heap-half', name: 'heap above half its limit', kind: 'threshold', metric: 'heap_used', divide_by: 'heap_limit', op: '>', threshold: 0.7, for: '1m', severity: 'critical', labels: { team: 'core' }, message: 'heap of {{service}} at {{value}}', enabled: true, origin: 'api' }])

    // a bad edit: the API's message, word for word, under the threshold field; nothing saved
    await page.getByLabel('edit heap-half').click()
    await page.getByLabel('threshold', { exact: true }).fill('lots')
    await page.getByRole('button', { name: 'save changes' }).click()
    const err = page.locator('label.af:has(input[aria-label="threshold"]) .af-error')
    await err.waitFor({ timeout: 10_000 })
    const res = await fetch(`${up!.url}/v1/alerts/rules/heap-half`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'heap above half its limit', kind: 'threshold', metric: 'heap_used', divide_by: 'heap_limit', op: '>', threshold: 'lots', for: '1m', severity: 'critical', labels: { team: 'core' }, message: 'heap of {{service}} at {{value}}', enabled: true }) })
    expect(res.status).toBe(400)
    const api = await res.json() as { error: string, message: string }
    expect(api.error).toBe('SLUICE_ERR_BAD_RULE')
    expect(await err.textContent()).toBe(api.message)
    expect(await page.locator('.form-error').count()).toBe(1)
    expect(await page.locator('label.af.invalid input').evaluateAll(els => els.map(e => e.getAttribute('aria-label')))).toEqual(['threshold'])
    expect(((await (await fetch(`${up!.url}/v1/alerts/rules/heap-half`)).json()) as { rule: { threshold: number } }).rule.threshold).toBe(0.7)
    await screenshot(page, 'web-17-alerts-edit-bad')
    await page.getByRole('button', { name: 'cancel' }).click()
    expect(await page.locator('h2:has(+ .alert-form)').textContent()).toBe('New rule')
  })
})
