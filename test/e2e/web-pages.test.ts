// The Processes, Heatmap and Alerts pages in a real browser (Debian's Chromium via playwright-core)
// against a real `sluice up`: a writer logs known process stats and request lines through pino +
// sluice/transport, and each test does what a person would and checks what the page shows.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { freePort } from '../../platform/kafka-launcher.js'
import { root, runNode, startUp, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { launchBrowser, newPage, screenshot } from '../helpers/browser.js'
import { spawnFixture } from '../helpers/alerts.js'
// @ts-expect-error a plain .mjs fixture shared with the writer child process
import { requestLines, statsSamples } from '../fixtures/fleet-data.mjs'

interface StatsBody { step: number, series: Array<{ host: string, service: string, pid: number, points: Array<[string, number]> }> }
interface HeatmapBody { since: string, until: string, step: number, start: string, columns: number, y: Array<{ lo: number, hi: number }>, cells: number[][], total: number }
interface ReqLine { host: string, time: number, responseTime: number, msg: string }

const minute = 60_000

describe('web pages: processes, heatmap, alerts', () => {
  const dataDir = tempDir('web-pages')
  let up: Awaited<ReturnType<typeof startUp>>
  let browser: Browser
  let page: Page
  const now = Date.now()
  // minute-aligned, so every sample starts a stats step of the page
  const statsBase = Math.floor((now - 35 * minute) / minute) * minute
  const reqBase = Math.floor((now - 25 * minute) / minute) * minute
  const requests = requestLines(reqBase) as ReqLine[]

  beforeAll(async () => {
    const port = await freePort()
    up = await startUp({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(port), SLUICE_TOPIC_PREFIX: uniquePrefix('webpages') })
    const writer = await runNode(path.join(root, 'test', 'fixtures', 'fleet-writer.mjs'), [path.join(dataDir, 'spool'), String(statsBase), String(reqBase)])
    expect(writer).toEqual({ code: 0, stderr: '' })
    const samples = (statsSamples(statsBase) as Array<{ stats: Record<string, number> }>).filter(s => s.stats.heap_used !== undefined).length
    await waitFor('stats and request lines to be queryable', async () => {
      const s = await (await fetch(`${up.url}/v1/stats?metric=heap_used&since=1h&step=1m`)).json() as StatsBody
      const f = await (await fetch(`${up.url}/v1/facets?service=shop&since=1h`)).json() as { total: number }
      const alive = await (await fetch(`${up.url}/v1/facets?service=api&since=1h&q=alive`)).json() as { total: number }
      return s.series.reduce((n, x) => n + x.points.length, 0) === samples && f.total === requests.length && alive.total === 90
    }, 90_000, 500)
    browser = await launchBrowser()
    page = (await newPage(browser)).page
  }, 180_000)
  afterAll(async () => {
    await browser?.close()
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
  })

  it('draws one heap line per process, the restart, and at a hovered instant the values /v1/stats gives', async () => {
    await page.goto(`${up.url}/processes?service=api&since=1h`)
    const legend = page.locator('.proc-legend')
    await legend.waitFor({ timeout: 30_000 })
    const keys = await page.locator('.proc-legend .proc').evaluateAll(els => els.map(e => e.getAttribute('data-key')))
    expect([...keys].sort()).toEqual(['web-1/api/101', 'web-1/api/111', 'web-2/api/202', 'web-3/api/303'])
    expect(await page.locator('.restart').allTextContents()).toEqual([expect.stringMatching(/^↻ web-1\/api restarted \d\d:\d\d:\d\dZ: pid 101 → 111$/)])
    expect(await page.locator('.restart').getAttribute('data-t')).toBe(new Date(statsBase + 15 * minute).toISOString())
    const step = Number(await legend.getAttribute('data-step'))
    expect(step).toBeGreaterThanOrEqual(10)
    expect(step).toBeLessThanOrEqual(60)

    // hover the heap chart at minute 20 of the samples: every chart shows that instant
    const heap = page.locator('.pchart[data-chart="heap"]')
    const min = Number(await heap.getAttribute('data-min'))
    const max = Number(await heap.getAttribute('data-max'))
    const over = (await heap.locator('.u-over').boundingBox())!
    const at = statsBase + 20 * minute
    await page.mouse.move(over.x + (at / 1000 - min) / (max - min) * over.width, over.y + over.height / 2)
    const want = new Date(at).toISOString()
    await page.waitForFunction((t) => [...document.querySelectorAll('.pchart .readout')].every(r => r.getAttribute('data-t') === t), want, { timeout: 10_000 })
    const shown = await heap.locator('.readout .rv[data-key]').evaluateAll(els => els.map(e => [e.getAttribute('data-key'), e.getAttribute('data-value')]))
    const api = await (await fetch(`${up.url}/v1/stats?metric=heap_used&service=api&since=1h&step=${step}s`)).json() as StatsBody
    expect(api.series.length).toBe(4)
    const expected = api.series.map(s => [`${s.host}/${s.service}/${s.pid}`, String(s.points.find(p => p[0] === want)?.[1] ?? '')])
    expect(new Map(shown)).toEqual(new Map(expected))
    // at minute 20 the restarted process and the two others report; pid 101 stopped at minute 14
    expect(new Map(shown).get('web-1/api/101')).toBe('')
    expect(Number(new Map(shown).get('web-1/api/111'))).toBe((20 + 5) * 1024 * 1024)
    expect(await page.locator('.pchart').count()).toBe(9)
    await screenshot(page, 'web-10-processes')

    // a click on the graph opens the Explorer on the page's range and filter, its list at that minute
    await page.mouse.click(over.x + (at / 1000 - min) / (max - min) * over.width, over.y + over.height / 2)
    await page.waitForURL(u => u.pathname === '/', { timeout: 10_000 })
    const url = new URL(page.url())
    const minuteIso = new Date(at).toISOString().replace('.000Z', 'Z')
    expect([url.searchParams.get('service'), url.searchParams.get('since'), url.searchParams.get('until'), url.searchParams.get('at')]).toEqual(['api', '1h', null, minuteIso])
    const minuteText = minuteIso.replace('T', ' ').slice(0, 16)
    await page.waitForFunction((m) => document.querySelector('.results .row .ts')?.textContent?.startsWith(m) === true, minuteText, { timeout: 20_000 })
    // newest first up to the end of that minute: its 3 lines first, then the minute before
    const ts = await page.locator('.results .row .ts').allTextContents()
    expect(ts.slice(0, 4).map(t => t.slice(0, 16))).toEqual([minuteText, minuteText, minuteText, new Date(at - 60_000).toISOString().replace('T', ' ').slice(0, 16)])
    expect((await page.locator('.results .row .msg').allTextContents()).slice(0, 3).sort()).toEqual(['api pid 111 alive', 'api pid 202 alive', 'api pid 303 alive'])
  })

  it('with 200 processes draws the top 10 by heap and the other 190 as a min–max band', async () => {
    await page.goto(`${up.url}/processes?service=batch&since=1h&metric=heap_used`)
    const legend = page.locator('.proc-legend')
    await legend.waitFor({ timeout: 30_000 })
    expect(await legend.getAttribute('data-processes')).toBe('200')
    const keys = await page.locator('.proc-legend .proc').evaluateAll(els => els.map(e => e.getAttribute('data-key')))
    expect(keys).toEqual(Array.from({ length: 10 }, (_, i) => `b-10/batch/${700 - i}`))
    expect(await legend.textContent()).toContain('200 processes: top 10 by heap_used, the other 190 as a grey min–max band')
    // 20 pids side by side on each host are workers, not restarts of each other
    expect(await page.locator('.restart').count()).toBe(0)
    const heap = page.locator('.pchart[data-chart="heap"]')
    const min = Number(await heap.getAttribute('data-min'))
    const max = Number(await heap.getAttribute('data-max'))
    const over = (await heap.locator('.u-over').boundingBox())!
    const at = statsBase + 10 * minute
    await page.mouse.move(over.x + (at / 1000 - min) / (max - min) * over.width, over.y + over.height / 2)
    await page.waitForFunction((t) => document.querySelector('.pchart[data-chart="heap"] .readout')?.getAttribute('data-t') === t, new Date(at).toISOString(), { timeout: 10_000 })
    // at minute 10 the band runs from n = 1 (20.5 MiB) to n = 190 (115 MiB)
    expect(await heap.locator('.readout .band').textContent()).toBe('others 20.5 MiB – 115.0 MiB')
    expect(await heap.locator('.readout .rv[data-key]').count()).toBe(10)
    const stats = await page.evaluate(() => (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).filter(e => e.name.includes('/v1/stats?')))
    const bytes = stats.reduce((n, e) => n + e.encodedBodySize, 0)
    process.stderr.write(`processes page: 200 processes × 1 h, ${stats.length} /v1/stats requests, ${bytes} bytes of JSON bodies\n`)
    await screenshot(page, 'web-10b-processes-band')
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.goto(`${up.url}/processes?service=api&since=1h`)
    await page.locator('.pchart[data-chart="gc"]').waitFor({ timeout: 20_000 })
    await screenshot(page, 'web-10c-processes-dark')
    await page.emulateMedia({ colorScheme: 'light' })
  })

  it('shows the fast and the slow band, isolates the slow host in its hue, and a slow cell opens exactly its lines', async () => {
    await page.goto(`${up.url}/heatmap?field=responseTime&service=shop&since=1h`)
    const canvas = page.locator('canvas.heatmap')
    await canvas.waitFor({ timeout: 30_000 })
    const geometry = async (): Promise<{ left: number, top: number, colW: number, rowH: number, row1: number, query: string, since: string, until: string }> => await canvas.evaluate(c => ({
      left: Number(c.dataset.left), top: Number(c.dataset.top), colW: Number(c.dataset.colW), rowH: Number(c.dataset.rowH), row1: Number(c.dataset.row1), query: c.dataset.query ?? '', since: c.dataset.since ?? '', until: c.dataset.until ?? ''
    }))
    const bodyOf = async (): Promise<HeatmapBody> => {
      const g = await geometry()
      const q = new URLSearchParams(g.query); q.set('since', g.since); q.set('until', g.until)
      return await (await fetch(`${up.url}/v1/heatmap?${q.toString()}`)).json() as HeatmapBody
    }
    const pixel = async (i: number, j: number): Promise<number[]> => {
      const g = await geometry()
      return await canvas.evaluate((c, p) => [...(c as HTMLCanvasElement).getContext('2d')!.getImageData(Math.round(p.x * devicePixelRatio), Math.round(p.y * devicePixelRatio), 1, 1).data], { x: g.left + (i + 0.5) * g.colW, y: g.top + (g.row1 - j + 0.5) * g.rowH })
    }
    const body = await bodyOf()
    expect(body.total).toBe(requests.length)
    const slowRow = body.y.findIndex(b => b.lo === 800)
    expect(body.y[slowRow].hi).toBe(850)
    const fastRows = new Set(body.cells.filter(c => body.y[c[1]].lo < 100).map(c => c[1]))
    const slowCells = body.cells.filter(c => c[1] === slowRow)
    expect(slowCells.reduce((n, c) => n + c[2], 0)).toBe(60)
    expect(body.cells.filter(c => !fastRows.has(c[1]) && c[1] !== slowRow)).toEqual([])
    const slow = slowCells.reduce((a, b) => b[2] > a[2] ? b : a)
    const fast = body.cells.find(c => fastRows.has(c[1]) && c[0] === slow[0])!
    const emptyRow = body.y.findIndex(b => b.lo === 300)
    // both bands are drawn (blue), the rows between them are not
    const [fr, , fb, fa] = await pixel(fast[0], fast[1])
    const [sr, , sb] = await pixel(slow[0], slow[1])
    const empty = await pixel(slow[0], emptyRow)
    const bg = await pixel(slow[0], body.y.findIndex(b => b.lo === 400))
    expect(fa).toBe(255)
    expect(fb).toBeGreaterThan(fr)
    expect(sb).toBeGreaterThan(sr)
    expect(empty).toEqual(bg)
    expect(await page.locator('.heat-summary').textContent()).toContain(`${requests.length.toLocaleString('en-US')} lines`)
    await screenshot(page, 'web-11-heatmap')

    // isolate host h-3: the slow band turns to the isolate hue, the fast band stays mostly blue
    await page.getByLabel('isolate by').selectOption('host')
    await page.getByLabel('isolate', { exact: true }).selectOption('h-3')
    await page.waitForFunction(() => (document.querySelector('canvas.heatmap') as HTMLElement | null)?.dataset.query?.includes('isolate=h-3') === true && document.querySelector('.heat-summary')?.textContent?.includes('host h-3') === true, undefined, { timeout: 20_000 })
    expect(new URL(page.url()).searchParams.get('isolate')).toBe('h-3')
    const isolated = await bodyOf()
    expect(isolated.cells.filter(c => c[1] === slowRow).every(c => c[3] === c[2])).toBe(true)
    const [ir, , ib] = await pixel(slow[0], slow[1])
    expect(ir).toBeGreaterThan(ib)
    const [fr2, , fb2] = await pixel(fast[0], fast[1])
    expect(fb2).toBeGreaterThan(fr2)
    await screenshot(page, 'web-12-heatmap-isolate')
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.reload()
    await canvas.waitFor({ timeout: 20_000 })
    await page.waitForFunction(() => document.querySelector('.heat-summary')?.textContent?.includes('host h-3') === true, undefined, { timeout: 20_000 })
    await screenshot(page, 'web-12b-heatmap-isolate-dark')
    await page.emulateMedia({ colorScheme: 'light' })
    await page.reload()
    await page.waitForFunction(() => document.querySelector('.heat-summary')?.textContent?.includes('host h-3') === true, undefined, { timeout: 20_000 })

    // click the fullest slow cell: the Explorer lists exactly that bucket's slow lines
    const g = await geometry()
    const box = (await canvas.boundingBox())!
    await page.mouse.click(box.x + g.left + (slow[0] + 0.5) * g.colW, box.y + g.top + (g.row1 - slow[1] + 0.5) * g.rowH)
    await page.waitForURL(u => u.pathname === '/' && u.searchParams.has('until'), { timeout: 10_000 })
    const url = new URL(page.url())
    expect(url.searchParams.getAll('field')).toEqual(['responseTime>=800', 'responseTime<850'])
    expect(url.searchParams.getAll('host')).toEqual(['h-3'])
    expect(url.searchParams.getAll('service')).toEqual(['shop'])
    const from = Date.parse(url.searchParams.get('since')!)
    const to = Date.parse(url.searchParams.get('until')!)
    const want = requests.filter(r => r.host === 'h-3' && r.responseTime >= 800 && r.responseTime < 850 && r.time >= from && r.time <= to).map(r => r.msg).sort()
    expect(want.length).toBe(slow[2])
    await page.waitForFunction((n) => document.querySelector('.facet-total')?.textContent === `${n} line${n === 1 ? '' : 's'}`, want.length, { timeout: 20_000 })
    const msgs = await page.$$eval('.results .row .line .msg', els => els.map(e => (e.textContent ?? '').split(' ')[0]))
    expect(msgs.sort()).toEqual(want)
    await screenshot(page, 'web-13-heatmap-click-through')
  })

  it('creates threshold rules through the form: listed, one firing on a growing heap (page and graph marker), toggled; a bad one shows the API\'s exact 400', async () => {
    await page.goto(`${up.url}/alerts`)
    await page.getByText('No rules yet').waitFor({ timeout: 20_000 })
    await page.getByLabel('name', { exact: true }).fill('heap above half its limit')
    await page.getByLabel('id', { exact: true }).fill('heap-half')
    await page.getByLabel('metric', { exact: true }).fill('heap_used')
    await page.getByLabel('divide by').fill('heap_limit')
    await page.getByLabel('threshold', { exact: true }).fill('0.5')
    await page.getByLabel('for', { exact: true }).fill('1m')
    await page.getByRole('button', { name: 'create rule' }).click()
    const row = page.locator('table.rules tr[data-rule="heap-half"]')
    await row.waitFor({ timeout: 10_000 })
    expect(await row.locator('.cond').textContent()).toBe('heap_used / heap_limit > 0.5 for 1m')
    expect(await page.locator('.notice').textContent()).toBe('created heap-half')
    const listed = await (await fetch(`${up.url}/v1/alerts/rules`)).json() as { rules: Array<Record<string, unknown>> }
    expect(listed.rules.find(r => r.id === 'heap-half')).toMatchObject({ name: 'heap above half its limit', kind: 'threshold', metric: 'heap_used', divide_by: 'heap_limit', op: '>', threshold: 0.5, for: '1m', enabled: true, origin: 'api' })

    // a second rule, on a growing heap of service grow: it fires, on the Alerts page and as a marker on the heap graph
    await page.getByLabel('name', { exact: true }).fill('grow heap above 100 MB')
    await page.getByLabel('id', { exact: true }).fill('grow-heap')
    await page.getByLabel('metric', { exact: true }).fill('heap_used')
    await page.getByLabel('threshold', { exact: true }).fill('100000000')
    await page.getByLabel('for', { exact: true }).fill('3s')
    await page.getByLabel('services').fill('grow')
    await page.getByRole('button', { name: 'create rule' }).click()
    await page.locator('table.rules tr[data-rule="grow-heap"]').waitFor({ timeout: 10_000 })
    expect(await page.locator('table.rules tr[data-rule="grow-heap"] .cond').textContent()).toBe('heap_used > 100000000 for 3s · service grow')
    const grower = spawnFixture('stats-series.mjs', ['series', path.join(dataDir, 'spool'), 'grow', 'grow-1', 'heap_used', '50000000,80000000,120000000,140000000,160000000,180000000,200000000,220000000', '1000', '4242'])
    expect(await grower.exited).toBe(0)
    const firing = page.locator('table.alerts-now tr.st-firing[data-rule="grow-heap"]')
    await firing.waitFor({ timeout: 30_000 })
    expect(await firing.locator('td').nth(2).textContent()).toBe('grow-1/grow pid 4242')
    await page.locator('table.history td', { hasText: 'grow heap above 100 MB' }).first().waitFor({ timeout: 10_000 })
    await screenshot(page, 'web-14a-alerts-firing')
    const history = await (await fetch(`${up.url}/v1/alerts/history?rule=grow-heap`)).json() as { transitions: Array<{ to_state: string, ts: string }> }
    const fired = history.transitions.find(t => t.to_state === 'firing')!
    await page.goto(`${up.url}/processes?service=grow&since=15m`)
    const mark = page.locator('.alert-mark.firing[data-rule="grow-heap"]')
    await mark.waitFor({ timeout: 20_000 })
    expect(await mark.getAttribute('data-t')).toBe(fired.ts)
    expect(await mark.textContent()).toBe(`▲ grow heap above 100 MB firing on grow-1/grow/4242 at ${fired.ts.slice(11, 19)}Z`)
    await screenshot(page, 'web-14b-processes-alert-marker')
    await page.goto(`${up.url}/alerts`)
    await page.locator('table.rules tr[data-rule="heap-half"]').waitFor({ timeout: 10_000 })

    // disable it from the list
    await page.getByLabel('enable heap-half').uncheck()
    await waitFor('the rule to be disabled', async () => ((await (await fetch(`${up.url}/v1/alerts/rules/heap-half`)).json()) as { rule: { enabled: boolean } }).rule.enabled === false, 10_000)
    await page.waitForSelector('table.rules tr.off[data-rule="heap-half"]', { timeout: 10_000 })
    expect(await page.locator('.builtins li').count()).toBe(3)
    expect(await page.locator('.alerts-page').textContent()).toContain('SLUICE_ALERT_DEFAULTS=1')
    await screenshot(page, 'web-14-alerts')

    // a bad rule: no name, a threshold that is not a number: the API's message, word for word
    await page.getByLabel('metric', { exact: true }).fill('heap_used')
    await page.getByLabel('threshold', { exact: true }).fill('lots')
    await page.getByRole('button', { name: 'create rule' }).click()
    const err = page.locator('.form-error')
    await err.waitFor({ timeout: 10_000 })
    const res = await fetch(`${up.url}/v1/alerts/rules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: '', kind: 'threshold', metric: 'heap_used', op: '>', threshold: 'lots', severity: 'warning' }) })
    expect(res.status).toBe(400)
    const api = await res.json() as { error: string, message: string }
    expect(api.error).toBe('SLUICE_ERR_BAD_RULE')
    expect(await err.textContent()).toBe(api.message)
    // under the first field it names, every field it names outlined
    expect(await page.locator('label.af:has(input[aria-label="name"]) .form-error').count()).toBe(1)
    expect(await page.locator('label.af.invalid input').evaluateAll(els => els.map(e => e.getAttribute('aria-label')))).toEqual(['name', 'threshold'])
    expect(((await (await fetch(`${up.url}/v1/alerts/rules`)).json()) as { rules: unknown[] }).rules.length).toBe(2)
    await screenshot(page, 'web-15-alerts-bad-rule')
  })
})
