// The Explorer's graph strip and time-axis marks in a real browser (Debian's Chromium via
// playwright-core) against a real `sluice up`: known process stats written through pino +
// sluice/transport (fleet-writer.mjs), an alert rule firing on a growing heap; each test does
// what a person would on a 1280×800 screen and checks what the page shows.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Browser, Page, Response } from 'playwright-core'
import { freePort } from '../../platform/kafka-launcher.js'
import { root, runNode, startUp, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { launchBrowser, newPage, screenshot } from '../helpers/browser.js'
import { api, spawnFixture } from '../helpers/alerts.js'
// @ts-expect-error a plain .mjs fixture shared with the writer child process
import { statsSamples } from '../fixtures/fleet-data.mjs'

interface StatsBody { step: number, series: Array<{ host: string, service: string, pid: number, points: Array<[string, number]> }> }
interface Box { x: number, y: number, width: number, height: number }

const minute = 60_000
const isoOf = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z')

describe('web: the Explorer\'s graph strip and alert marks', () => {
  const dataDir = tempDir('web-strip')
  let up: Awaited<ReturnType<typeof startUp>>
  let browser: Browser
  let page: Page
  const now = Date.now()
  const statsBase = Math.floor((now - 35 * minute) / minute) * minute
  const reqBase = Math.floor((now - 25 * minute) / minute) * minute

  /** The histogram's axis as the page shows it, and the x (viewport px) of an instant on it,
   *  measured from the bar that holds the instant (not from the page's own scale code). */
  const histogramAxis = async (): Promise<{ start: number, end: number, step: number, xOf: (t: number) => Promise<number> }> => {
    const bars = page.locator('.histogram .bars')
    const start = Number(await bars.getAttribute('data-start'))
    const end = Number(await bars.getAttribute('data-end'))
    const n = await page.locator('.histogram .hbar').count()
    const step = (end - start) / n
    const xOf = async (t: number): Promise<number> => {
      const i = Math.floor((t - start) / step)
      const b = (await page.locator('.histogram .hbar').nth(i).boundingBox())!
      return b.x + (t - start - i * step) / step * b.width
    }
    return { start, end, step, xOf }
  }

  beforeAll(async () => {
    const port = await freePort()
    up = await startUp({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(port), SLUICE_TOPIC_PREFIX: uniquePrefix('webstrip') })
    const writer = await runNode(path.join(root, 'test', 'fixtures', 'fleet-writer.mjs'), [path.join(dataDir, 'spool'), String(statsBase), String(reqBase)])
    expect(writer).toEqual({ code: 0, stderr: '' })
    const samples = (statsSamples(statsBase) as Array<{ stats: Record<string, number> }>).filter(s => s.stats.heap_used !== undefined).length
    await waitFor('stats and log lines to be queryable', async () => {
      const s = await (await fetch(`${up.url}/v1/stats?metric=heap_used&since=1h&step=1m`)).json() as StatsBody
      const alive = await (await fetch(`${up.url}/v1/facets?service=api&since=1h&q=alive`)).json() as { total: number }
      return s.series.reduce((n, x) => n + x.points.length, 0) === samples && alive.total === 90
    }, 90_000, 500)
    browser = await launchBrowser()
    page = (await newPage(browser)).page
    await page.setViewportSize({ width: 1280, height: 800 })
  }, 180_000)
  afterAll(async () => {
    await browser?.close()
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
  })

  it('draws one line per process on the histogram\'s axis with /v1/stats\' values; a click lists that minute; a hovered line is a rule at its instant', async () => {
    await page.goto(`${up.url}/?service=api&since=1h`)
    const heap = page.locator('.strip .pchart[data-chart="strip-heap"]')
    await heap.waitFor({ timeout: 30_000 })
    const keys = await page.locator('.strip-legend .proc').evaluateAll(els => els.map(e => e.getAttribute('data-key')))
    expect([...keys].sort()).toEqual(['web-1/api/101', 'web-1/api/111', 'web-2/api/202', 'web-3/api/303'])
    expect(await page.locator('.strip .pchart').count()).toBe(2)

    // the strip's step is the histogram's bucket, and its plot spans exactly the bars
    const axis = await histogramAxis()
    const step = Number(await page.locator('.strip-charts').getAttribute('data-step'))
    expect(step * 1000).toBe(axis.step)
    expect(step).toBe(60)
    const bars = (await page.locator('.histogram .bars').boundingBox())!
    const over: Box = (await heap.locator('.u-over').boundingBox())!
    expect(Math.abs(over.x - bars.x)).toBeLessThanOrEqual(1)
    expect(Math.abs(over.width - bars.width)).toBeLessThanOrEqual(1)
    expect([Number(await heap.getAttribute('data-min')) * 1000, Number(await heap.getAttribute('data-max')) * 1000]).toEqual([axis.start, axis.end])

    // hover minute 20 of the samples (its step's middle, over its bar): both graphs show that step
    const at = statsBase + 20 * minute
    const x = await axis.xOf(at + axis.step / 2)
    await page.mouse.move(x, over.y + over.height / 2)
    const want = new Date(at).toISOString()
    await page.waitForFunction((t) => [...document.querySelectorAll('.strip .readout')].every(r => r.getAttribute('data-t') === t), want, { timeout: 10_000 })
    const q = `service=api&since=${isoOf(axis.start)}&until=${isoOf(axis.end - 1)}&step=60s`
    for (const [chart, metric, agg] of [['strip-heap', 'heap_used', 'avg'], ['strip-eld', 'eventloop_delay_p99_ms', 'max']]) {
      const shown = await page.locator(`.strip .pchart[data-chart="${chart}"] .readout .rv[data-key]`).evaluateAll(els => els.map(e => [e.getAttribute('data-key'), e.getAttribute('data-value')]))
      const body = await (await fetch(`${up.url}/v1/stats?metric=${metric}&agg=${agg}&${q}`)).json() as StatsBody
      expect(body.series.length).toBe(4)
      expect(new Map(shown)).toEqual(new Map(body.series.map(s => [`${s.host}/${s.service}/${s.pid}`, String(s.points.find(p => p[0] === want)?.[1] ?? '')])))
    }
    const heapShown = new Map(await heap.locator('.readout .rv[data-key]').evaluateAll(els => els.map(e => [e.getAttribute('data-key'), e.getAttribute('data-value')])))
    expect(heapShown.get('web-1/api/111')).toBe(String((20 - 15 + 20) * 1024 * 1024))
    expect(heapShown.get('web-1/api/101')).toBe('')
    // the histogram shows the hovered instant too, where its bar is
    const ruleAt = page.locator('.histogram .time-rule')
    expect(await ruleAt.getAttribute('data-t')).toBe(new Date(at + axis.step / 2).toISOString())
    expect(Math.abs((await ruleAt.boundingBox())!.x - x)).toBeLessThanOrEqual(1)
    await screenshot(page, 'web-20-strip-hover')

    // a click on the graph: the list starts at that minute, the histogram keeps its range
    await page.mouse.click(x, over.y + over.height / 2)
    await page.waitForURL(u => u.searchParams.get('at') === isoOf(at), { timeout: 10_000 })
    await page.locator('.at-bar').waitFor({ timeout: 10_000 })
    await page.waitForFunction((m) => document.querySelector('.results .row .ts')?.textContent?.startsWith(m) === true, want.replace('T', ' ').slice(0, 16), { timeout: 20_000 })
    const firstTs = await page.locator('.results .row .ts').first().textContent()
    expect(firstTs).toBe(new Date(at + 1000).toISOString().replace('T', ' ').replace('Z', ''))
    expect((await page.locator('.results .row .msg').allTextContents()).slice(0, 3).sort()).toEqual(['api pid 111 alive', 'api pid 202 alive', 'api pid 303 alive'])
    expect(Number(await page.locator('.histogram .bars').getAttribute('data-start'))).toBe(axis.start)
    expect(await page.locator('.hmark.k-at').getAttribute('data-t')).toBe(want)

    // hover a log line: a rule at its instant on the histogram and on the strip, where its bar is
    const row = page.locator('.results .row').nth(3)
    const rowTs = Date.parse(`${(await row.locator('.ts').textContent())!.replace(' ', 'T')}Z`)
    await row.hover()
    const ruleH = page.locator('.histogram .time-rule')
    const ruleS = page.locator('.strip .time-rule')
    await ruleS.waitFor({ timeout: 5000 })
    expect(await ruleH.getAttribute('data-t')).toBe(new Date(rowTs).toISOString())
    const barX = await axis.xOf(rowTs)
    expect(Math.abs((await ruleH.boundingBox())!.x - barX)).toBeLessThanOrEqual(1)
    expect(Math.abs((await ruleS.boundingBox())!.x - barX)).toBeLessThanOrEqual(1)
    // the list is not crowded out: most of a 1280×800 screen is lines
    const list = (await page.locator('.results').boundingBox())!
    expect(list.height).toBeGreaterThanOrEqual(400)
    await screenshot(page, 'web-21-strip-jump-and-rule')

    // collapsed, remembered across a reload
    await page.locator('.strip-toggle').click()
    expect(await page.locator('.strip .pchart').count()).toBe(0)
    await page.reload()
    await page.locator('.strip-toggle').waitFor({ timeout: 20_000 })
    expect(await page.locator('.strip-toggle').getAttribute('aria-expanded')).toBe('false')
    expect(await page.locator('.strip .pchart').count()).toBe(0)
    await screenshot(page, 'web-22-strip-collapsed')
    await page.locator('.strip-toggle').click()
    await heap.waitFor({ timeout: 20_000 })

    // 200 processes: the top 5 by heap as lines, the other 195 as a band
    await page.emulateMedia({ colorScheme: 'dark' })
    await page.goto(`${up.url}/?service=batch&since=1h`)
    await heap.waitFor({ timeout: 30_000 })
    expect(await page.locator('.strip-legend').getAttribute('data-processes')).toBe('200')
    expect(await page.locator('.strip-legend .proc').evaluateAll(els => els.map(e => e.getAttribute('data-key')))).toEqual(Array.from({ length: 5 }, (_, i) => `b-10/batch/${700 - i}`))
    expect(await page.locator('.strip-legend').textContent()).toContain('+ 195 more as a grey band')
    await screenshot(page, 'web-22b-strip-band-dark')
    await page.emulateMedia({ colorScheme: 'light' })
  })

  it('shows a rule firing on a growing heap as a marker on the histogram, its tooltip naming the rule, value and state', async () => {
    const created = await api(up.url, 'POST', '/v1/alerts/rules', { id: 'grow-heap', name: 'grow heap above 100 MB', kind: 'threshold', metric: 'heap_used', op: '>', threshold: 100_000_000, for: '3s', service: ['grow'] })
    expect(created.status).toBe(201)
    const grower = spawnFixture('stats-series.mjs', ['series', path.join(dataDir, 'spool'), 'grow', 'grow-1', 'heap_used', '50000000,80000000,120000000,140000000,160000000,180000000,200000000,220000000', '1000', '4242'])
    expect(await grower.exited).toBe(0)
    const fired = await waitFor('the rule to fire', async () => {
      const h = (await api<{ transitions: Array<{ to_state: string, ts: string, value: number }> }>(up.url, 'GET', '/v1/alerts/history?rule=grow-heap')).body
      return h.transitions.find(t => t.to_state === 'firing')
    }, 60_000, 500)

    await page.goto(`${up.url}/?service=grow&since=15m`)
    const mark = page.locator('.histogram .hmark.k-firing')
    await mark.waitFor({ timeout: 30_000 })
    expect(await page.locator('.histogram .hmark').count()).toBe(1)
    expect(await mark.getAttribute('data-t')).toBe(fired.ts)
    const axis = await histogramAxis()
    const glyph = (await mark.boundingBox())!
    expect(Math.abs(glyph.x + glyph.width / 2 - await axis.xOf(Date.parse(fired.ts)))).toBeLessThanOrEqual(1)
    await mark.hover()
    const tip = mark.locator('.tip')
    await tip.waitFor({ state: 'visible', timeout: 5000 })
    expect(await tip.textContent()).toBe(`${fired.ts.slice(11, 19)} grow heap above 100 MB firing on grow-1/grow pid 4242: value ${fired.value.toLocaleString('en-US')} (threshold 100,000,000)`)
    // the heap graph of the strip shows the grower
    await page.locator('.strip .pchart[data-chart="strip-heap"]').waitFor({ timeout: 20_000 })
    expect(await page.locator('.strip-legend .proc').evaluateAll(els => els.map(e => e.getAttribute('data-key')))).toEqual(['grow-1/grow/4242'])
    await screenshot(page, 'web-23-histogram-alert-marker')
    // another service's view does not show it
    await page.goto(`${up.url}/?service=api&since=15m`)
    await page.locator('.strip .pchart[data-chart="strip-heap"]').waitFor({ timeout: 30_000 })
    // once the transitions of this range are in (the same list that held the grower's firing)
    await page.locator('.histogram[data-marks-loaded="1"]').waitFor({ timeout: 30_000 })
    expect(await page.locator('.histogram .hmark').count()).toBe(0)
  })

  it('strip fetches every series (issue 20): with 200 processes it receives the top 5 and one band, compressed', async () => {
    const asked: Array<{ url: URL, encoding: string | undefined, body: StatsBody & { band?: { count: number }, processes?: unknown[] } }> = []
    const seen = (r: Response): void => {
      const url = new URL(r.url())
      if (url.pathname === '/v1/stats') void r.json().then(body => asked.push({ url, encoding: r.headers()['content-encoding'], body }))
    }
    page.on('response', seen)
    await page.goto(`${up.url}/?service=batch&since=1h`)
    await page.locator('.strip .pchart[data-chart="strip-heap"]').waitFor({ timeout: 30_000 })
    await waitFor('both strip answers', async () => asked.length >= 2, 10_000, 100)
    page.off('response', seen)
    const top5 = Array.from({ length: 5 }, (_, i) => `b-10/batch/${700 - i}`)
    const heap = asked.find(a => a.url.searchParams.get('metric') === 'heap_used')!
    expect([heap.url.searchParams.get('top'), heap.url.searchParams.get('band'), heap.url.searchParams.get('keys')]).toEqual(['5', 'minmax', null])
    expect(heap.body.series.map(x => `${x.host}/${x.service}/${x.pid}`)).toEqual(top5)
    expect([heap.body.band?.count, heap.body.processes?.length]).toEqual([195, 200])
    expect(heap.encoding).toBe('br')
    const eld = asked.find(a => a.url.searchParams.get('metric') === 'eventloop_delay_p99_ms')!
    expect([eld.url.searchParams.get('keys'), eld.url.searchParams.get('band'), eld.url.searchParams.get('top')]).toEqual([top5.join(','), 'minmax', null])
    expect(asked.length).toBe(2)
  })
})
