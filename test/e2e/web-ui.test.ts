// The Explorer in a real browser (Debian's Chromium via playwright-core) against a real
// `sluice up`: two hosts log 10,000 lines through pino + sluice/transport, and each test does
// what a person would — types, clicks, scrolls — and checks what the page then shows.
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { freePort } from '../../platform/kafka-launcher.js'
import { logFromTwoHosts, root, runCli, runNode, startUp, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { launchBrowser, newPage, screenshot } from '../helpers/browser.js'

const perHost = 5000
const needle = 'kq9needle2718'
const needleAt = 3141
const fixture = path.join(root, 'test', 'fixtures', 'log-lines.mjs')

interface Row { ts: string, level: string, host: string, service: string, msg: string }

async function rows (page: Page): Promise<Row[]> {
  return await page.$$eval('.results .row .line', els => els.map(e => ({
    ts: e.querySelector('.ts')?.textContent ?? '',
    level: e.querySelector('.lvl')?.textContent ?? '',
    host: e.querySelector('.host')?.textContent ?? '',
    service: e.querySelector('.svc')?.textContent ?? '',
    msg: e.querySelector('.msg')?.textContent ?? ''
  })))
}

async function apiCount (url: string, params: Record<string, string>): Promise<number> {
  const res = await fetch(`${url}/v1/facets?${new URLSearchParams(params).toString()}`)
  expect(res.status).toBe(200)
  return (await res.json() as { total: number }).total
}

describe('Explorer: search, histogram, facets, context, URL state, live tail', () => {
  const dataDir = tempDir('web')
  const spool = path.join(dataDir, 'spool')
  let up: Awaited<ReturnType<typeof startUp>>
  let upEnv: Record<string, string>
  let browser: Browser
  let page: Page
  // every API answer the page got, in order: a read refused for the client's share of query slots
  // (429; the page queues its reads, but a query it aborted may still run on the server) is retried
  const answers: Array<[string, number]> = []

  beforeAll(async () => {
    const port = await freePort()
    upEnv = { KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(port), SLUICE_TOPIC_PREFIX: uniquePrefix('web') }
    up = await startUp(upEnv)
    browser = await launchBrowser()
    page = (await newPage(browser)).page
    page.on('response', r => { if (r.url().includes('/v1/')) answers.push([r.url(), r.status()]) })
  }, 120_000)
  afterAll(async () => {
    // the browser first: an open EventSource would hold the server's close
    await browser?.close()
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
  })

  it('shows how to send logs (the pino snippet) while Sluice holds none', async () => {
    await page.goto(up.url)
    await page.getByText('No logs yet').waitFor({ timeout: 20_000 })
    expect(await page.locator('.first-run pre').textContent()).toContain("transport: { target: 'sluice/transport', options: { service: 'api' } }")
    expect(await page.locator('.results').count()).toBe(0)
    await screenshot(page, 'web-01-first-run')
  })

  it('finds a needle logged by one of two hosts among 10,000 lines by typing it', async () => {
    const [a, b] = await logFromTwoHosts(dataDir, perHost, needleAt, needle)
    expect(a).toEqual({ code: 0, stderr: '' })
    expect(b).toEqual({ code: 0, stderr: '' })
    await waitFor('10,000 lines to be queryable', async () => await apiCount(up.url, { since: '1h' }) === 2 * perHost, 90_000, 500)
    // the first-run page comes alive by itself once lines exist
    await page.locator('.results .row').first().waitFor({ timeout: 20_000 })
    expect(await page.getByText('No logs yet').count()).toBe(0)

    await page.goto(up.url)
    await page.locator('.results .row').first().waitFor({ timeout: 20_000 })
    await page.waitForFunction(() => document.querySelector('.facet-total')?.textContent === '10,000 lines', undefined, { timeout: 20_000 })
    const first = await rows(page)
    // newest first, as the API orders them
    const newest = await (await fetch(`${up.url}/v1/logs?since=1h&order=desc&limit=30`)).json() as { lines: Array<{ host: string, msg: string, fields: { n: number } }> }
    expect(first.slice(0, 30).map(r => [r.host, r.msg])).toEqual(newest.lines.map(l => [l.host, `${l.msg} n=${l.fields.n}`]))
    await screenshot(page, 'web-02-timeline')
    const firstLinesMs = await page.evaluate(() => performance.getEntriesByName('sluice:first-lines')[0]?.startTime)
    process.stderr.write(`timeline: first lines on screen ${Math.round(firstLinesMs ?? -1)} ms after navigation (10,000 stored lines)\n`)

    await page.getByLabel('search text').pressSequentially(needle)
    await page.waitForFunction(() => document.querySelectorAll('.results .row').length === 1 && document.querySelector('.facet-total')?.textContent === '1 line', undefined, { timeout: 20_000 })
    const found = await rows(page)
    expect(found.map(r => [r.level, r.host, r.service, r.msg])).toEqual([['INFO', 'host-a', 'checkout', `line ${needleAt} from host-a ${needle} n=${needleAt}`]])
    expect(await page.locator('.results mark').allTextContents()).toEqual([needle])
    expect(page.url()).toBe(`${up.url}/?q=${needle}`)
    await screenshot(page, 'web-03-needle')
  })

  it('shows a bad regular expression with the API\'s own message next to the search box', async () => {
    await page.goto(`${up.url}/?regex=${encodeURIComponent('line (')}`)
    const err = page.locator('.field-error[data-param="regex"]')
    await err.waitFor({ timeout: 20_000 })
    expect(await err.textContent()).toMatch(/^invalid query parameter 'regex': is not a valid RE2 expression: /)
    expect(await page.locator('.search-field.invalid').count()).toBe(1)
    await screenshot(page, 'web-04-bad-regex')
  })

  it('draws a histogram whose bar counts add up to the API\'s total', async () => {
    await page.goto(`${up.url}/?since=1h`)
    await page.locator('.histogram .hbar').first().waitFor({ timeout: 20_000 })
    const counts = await page.$$eval('.histogram .hbar', els => els.map(e => Number(e.getAttribute('data-count'))))
    expect(counts.length).toBeGreaterThanOrEqual(50)
    expect(counts.length).toBeLessThanOrEqual(120)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2 * perHost)
    const api = await (await fetch(`${up.url}/v1/histogram?since=1h&buckets=100`)).json() as { total: number }
    expect(api.total).toBe(2 * perHost)
    expect(await page.locator('.histogram .axis').textContent()).toContain('10,000 lines')
    await screenshot(page, 'web-04b-histogram')

    // a click on the fullest bar zooms into it: the view then holds exactly that bar's lines
    const fullest = counts.indexOf(Math.max(...counts))
    await page.locator('.histogram .hbar').nth(fullest).click()
    await page.waitForFunction(() => new URLSearchParams(location.search).has('until'))
    const zoomed = new URL(page.url()).searchParams
    expect(zoomed.get('since')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(zoomed.get('until')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.999Z$/)
    await page.waitForFunction((n) => document.querySelector('.facet-total')?.textContent === `${n.toLocaleString('en-US')} lines`, counts[fullest], { timeout: 20_000 })
    const shownFor = async (): Promise<string> => await page.waitForFunction(() => {
      const h = document.querySelector('.histogram')
      const p = new URLSearchParams(location.search)
      const f = new URLSearchParams(h?.getAttribute('data-for') ?? '')
      return f.get('since') === p.get('since') && f.get('until') === p.get('until') && h?.getAttribute('data-total')
    }, undefined, { timeout: 20_000 }).then(async h => String(await h.jsonValue()))
    expect(await shownFor()).toBe(String(counts[fullest]))

    // dragging across bars zooms into that stretch: again exactly the lines of those bars
    const zoomedCounts = await page.$$eval('.histogram .hbar', els => els.map(e => Number(e.getAttribute('data-count'))))
    const filled = zoomedCounts.flatMap((n, i) => n > 0 ? [i] : [])
    const from = Math.max(0, filled[0] - 1)
    const to = filled[filled.length - 1]
    const want = zoomedCounts.slice(from, to + 1).reduce((a, b) => a + b, 0)
    expect(want).toBe(counts[fullest])
    const box = async (i: number): Promise<{ x: number, y: number }> => { const b = (await page.locator('.histogram .hbar').nth(i).boundingBox())!; return { x: b.x + b.width / 2, y: b.y + b.height / 2 } }
    const a = await box(from)
    const b = await box(to)
    await page.mouse.move(a.x, a.y)
    await page.mouse.down()
    await page.mouse.move((a.x + b.x) / 2, a.y, { steps: 5 })
    await page.mouse.move(b.x, b.y, { steps: 5 })
    await page.mouse.up()
    await page.waitForFunction((n) => document.querySelector('.facet-total')?.textContent === `${n.toLocaleString('en-US')} ${n === 1 ? 'line' : 'lines'}`, want, { timeout: 20_000 })
    const dragged = new URL(page.url()).searchParams
    expect([dragged.get('since'), dragged.get('until')]).not.toEqual([zoomed.get('since'), zoomed.get('until')])
    expect(await shownFor()).toBe(String(want))
  })

  it('filters to exactly one host\'s lines when its facet is clicked, and excludes it on alt-click', async () => {
    await page.goto(`${up.url}/?since=1h`)
    await page.locator('.facet[data-facet="host"] .facet-value[data-value="host-b"]').click()
    await page.waitForFunction(() => document.querySelector('.facet-total')?.textContent === '5,000 lines', undefined, { timeout: 20_000 })
    expect(page.url()).toBe(`${up.url}/?host=host-b`)
    expect(await page.locator('.chip').allTextContents()).toEqual(['host: host-b×'])
    const facetHosts = await page.$$eval('.facet[data-facet="host"] .facet-value', els => els.map(e => e.getAttribute('data-value')))
    expect(facetHosts).toEqual(['host-b'])
    // the page's lines and the whole result by the API: host-b's 5,000, nothing else
    await page.waitForFunction(() => document.querySelectorAll('.results .host').length > 0 && [...document.querySelectorAll('.results .host')].every(e => e.textContent === 'host-b'), undefined, { timeout: 20_000 })
    const shown = await rows(page)
    expect(shown.length).toBeGreaterThan(20)
    expect(new Set(shown.map(r => r.host))).toEqual(new Set(['host-b']))
    expect(shown[0].msg).toBe(`line ${perHost - 1} from host-b n=${perHost - 1}`)
    expect(await apiCount(up.url, { since: '1h', host: 'host-b' })).toBe(perHost)
    await screenshot(page, 'web-05-host-facet')

    await page.locator('.chip button').click()
    await page.locator('.facet[data-facet="host"] .facet-value[data-value="host-b"]').click({ modifiers: ['Alt'] })
    await page.waitForFunction(() => document.querySelector('.facet-total')?.textContent === '5,000 lines' && location.search.includes('not_host=host-b') && document.querySelectorAll('.results .host').length > 0 && [...document.querySelectorAll('.results .host')].every(e => e.textContent === 'host-a'), undefined, { timeout: 20_000 })
    expect(new Set((await rows(page)).map(r => r.host))).toEqual(new Set(['host-a']))
    expect(await page.locator('.chip').allTextContents()).toEqual(['NOT host: host-b×'])

    // a field filter typed by hand, and a text exclusion (Shift+Enter)
    await page.locator('.chip button').click()
    await page.getByLabel('field filter').fill('n>=4995')
    await page.getByLabel('field filter').press('Enter')
    await page.waitForFunction(() => document.querySelector('.facet-total')?.textContent === '10 lines', undefined, { timeout: 20_000 })
    await page.getByLabel('search text').fill('from host-b')
    await page.getByLabel('search text').press('Shift+Enter')
    await page.waitForFunction(() => document.querySelector('.facet-total')?.textContent === '5 lines', undefined, { timeout: 20_000 })
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ field: 'n>=4995', v: 'from host-b' })
    expect(await page.locator('.chip').allTextContents()).toEqual(['field n>=4995×', 'NOT text: from host-b×'])
    expect((await rows(page)).map(r => r.msg)).toEqual([4999, 4998, 4997, 4996, 4995].map(n => `line ${n} from host-a n=${n}`))
  })

  it('shows exactly the 5 lines before and after from the same source while another host logged in between', async () => {
    expect(await runNode(path.join(root, 'test', 'fixtures', 'interleaved-hosts.mjs'), [spool, '30', 'ctx-x', 'ctx-y'])).toEqual({ code: 0, stderr: '' })
    await waitFor('the interleaved lines to be queryable', async () => await apiCount(up.url, { since: '1h', service: 'ctx-ctx-x,ctx-ctx-y' }) === 60, 60_000, 500)
    await page.goto(`${up.url}/?q=${encodeURIComponent('turn 10 of ctx-x')}&since=1h`)
    await page.waitForFunction(() => document.querySelectorAll('.results .row').length === 1, undefined, { timeout: 20_000 })
    await page.locator('.results .row .line').first().click()
    await page.locator('.detail-actions').getByText('show context').click()
    await page.waitForFunction(() => document.querySelectorAll('.ctx-lines .ctx-line').length === 11, undefined, { timeout: 20_000 })
    const ctx = await page.$$eval('.ctx-lines .ctx-line', els => els.map(e => ({ anchor: e.classList.contains('anchor'), host: e.querySelector('.host')?.textContent, msg: e.querySelector('.msg')?.textContent, ts: e.querySelector('.ts')?.textContent ?? '' })))
    expect(ctx.map(c => c.msg)).toEqual([...Array(11).keys()].map(i => `turn ${5 + i} of ctx-x n=${5 + i}`))
    expect(ctx.map(c => c.host)).toEqual(Array(11).fill('ctx-x'))
    expect(ctx.map(c => c.anchor)).toEqual([...Array(11).keys()].map(i => i === 5))
    // meanwhile the other host logged 10 lines: the context is by source, not by time
    const range = new URLSearchParams({ host: 'ctx-y', since: ctx[0].ts.replace(' ', 'T') + 'Z', until: ctx[10].ts.replace(' ', 'T') + 'Z', limit: '100', order: 'asc' })
    const meanwhile = await (await fetch(`${up.url}/v1/logs?${range.toString()}`)).json() as { lines: Array<{ msg: string }> }
    expect(meanwhile.lines.map(l => l.msg)).toEqual([...Array(10).keys()].map(i => `turn ${5 + i} of ctx-y`))
    await screenshot(page, 'web-06-context')

    // "every machine": both hosts' lines around that moment, in time order
    await page.locator('.context-panel').getByText('every machine ±5 s').click()
    await page.waitForFunction(() => [...document.querySelectorAll('.ctx-lines .host')].some(e => e.textContent === 'ctx-y'), undefined, { timeout: 20_000 })
    const fleet = await page.$$eval('.ctx-lines .ctx-line .msg', els => els.map(e => e.textContent ?? ''))
    const turn = fleet.filter(m => m.startsWith('turn '))
    expect(turn.slice(0, 4)).toEqual(['turn 0 of ctx-x n=0', 'turn 0 of ctx-y n=0', 'turn 1 of ctx-x n=1', 'turn 1 of ctx-y n=1'])
    expect(turn.length).toBe(60)
    await screenshot(page, 'web-06b-context-fleet')
    await page.locator('.context-panel').getByText('same source').click()

    await page.locator('.context-panel').getByText('10 more above').click()
    await page.waitForFunction(() => document.querySelectorAll('.ctx-lines .ctx-line').length === 16, undefined, { timeout: 20_000 })
    expect(await page.locator('.ctx-lines .ctx-line .msg').first().textContent()).toBe('turn 0 of ctx-x n=0')
    await page.keyboard.press('Escape')
    expect(await page.locator('.context-panel').count()).toBe(0)
  })

  it('opens the exact view of a URL with q, since and host, and walks back and forward', async () => {
    await page.goto(`${up.url}/?q=${encodeURIComponent('from host')}&since=15m&host=host-a`)
    await page.waitForFunction(() => document.querySelector('.facet-total')?.textContent === '5,000 lines' && document.querySelectorAll('.results .row').length > 0, undefined, { timeout: 20_000 })
    expect(await page.getByLabel('search text').inputValue()).toBe('from host')
    expect(await page.locator('.preset.on').allTextContents()).toEqual(['15m'])
    expect(await page.locator('.chip').allTextContents()).toEqual(['host: host-a×'])
    const shown = await rows(page)
    expect(new Set(shown.map(r => r.host))).toEqual(new Set(['host-a']))
    expect(shown[0].msg).toBe(`line ${perHost - 1} from host-a n=${perHost - 1}`)
    expect(await page.locator('.results mark').first().textContent()).toBe('from host')
    await screenshot(page, 'web-07-url-state')

    await page.locator('.preset', { hasText: '6h' }).click()
    await page.waitForFunction(() => location.search.includes('since=6h'))
    await page.goBack()
    await page.waitForFunction(() => document.querySelector('.preset.on')?.textContent === '15m')
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ q: 'from host', since: '15m', host: 'host-a' })
    await page.goForward()
    await page.waitForFunction(() => document.querySelector('.preset.on')?.textContent === '6h' && document.querySelectorAll('.results .row').length > 3)

    // the keyboard: / focuses the search, j/k move, Enter expands, c opens context, ? the help
    await page.keyboard.press('/')
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('search text')
    await page.keyboard.press('Escape')
    await page.keyboard.press('j')
    await page.keyboard.press('j')
    await page.keyboard.press('j')
    await page.keyboard.press('k')
    const second = (await rows(page))[1]
    expect(await page.locator('.row.selected .msg').textContent()).toBe(second.msg)
    await page.keyboard.press('Enter')
    const json = JSON.parse(await page.locator('.row.selected .detail .json').textContent() ?? '') as { host: string, msg: string, fields: { n: number } }
    expect(`${json.msg} n=${json.fields.n}`).toBe(second.msg)
    expect(json.host).toBe('host-a')
    await page.keyboard.press('c')
    await page.locator('.ctx-line.anchor').waitFor({ timeout: 20_000 })
    expect(await page.locator('.ctx-line.anchor .msg').textContent()).toBe(second.msg)
    await page.keyboard.press('Escape')
    await page.keyboard.press('?')
    await page.getByRole('dialog', { name: 'keyboard shortcuts' }).waitFor()
    await screenshot(page, 'web-08-keyboard-help')
    await page.keyboard.press('Escape')
    expect(await page.getByRole('dialog').count()).toBe(0)
    await page.emulateMedia({ colorScheme: 'dark' })
    await screenshot(page, 'web-09-dark')
    await page.emulateMedia({ colorScheme: 'light' })

    // oldest first, from the URL too
    await page.goto(`${up.url}/?q=${encodeURIComponent('from host')}&host=host-a&order=asc`)
    await page.waitForFunction(() => document.querySelector('.results .row .msg')?.textContent === 'line 0 from host-a n=0', undefined, { timeout: 20_000 })
    expect((await rows(page)).slice(0, 3).map(r => r.msg)).toEqual(['line 0 from host-a n=0', 'line 1 from host-a n=1', 'line 2 from host-a n=2'])
    expect(await page.getByRole('button', { name: '↑ oldest first' }).count()).toBe(1)
  })

  it('live tail shows a newly logged line, pauses visibly when scrolled away, and resumes', async () => {
    await page.goto(`${up.url}/?tail=1`)
    await page.getByText('● live', { exact: true }).first().waitFor({ timeout: 20_000 })
    await page.locator('.tail-bar .tail-state', { hasText: 'live' }).waitFor({ timeout: 20_000 })
    const t0 = Date.now()
    expect(await runNode(fixture, [spool, 'checkout', 'host-c', '1', '0', 'tailneedle'])).toEqual({ code: 0, stderr: '' })
    await page.locator('.results .msg', { hasText: 'line 0 from host-c tailneedle' }).waitFor({ timeout: 30_000 })
    process.stderr.write(`live tail: a line logged by a new process was on the page ${Date.now() - t0} ms after it was started\n`)
    await screenshot(page, 'web-10-tail')

    expect(await runNode(fixture, [spool, 'checkout', 'host-d', '300'])).toEqual({ code: 0, stderr: '' })
    await page.waitForFunction(() => document.querySelectorAll('.results .row').length > 30, undefined, { timeout: 30_000 })
    await page.locator('.results').evaluate(e => { e.scrollTop = 400; e.dispatchEvent(new Event('scroll')) })
    await page.locator('.tail-bar.paused').waitFor({ timeout: 5000 })
    const before = (await rows(page)).map(r => r.msg)
    expect(await runNode(fixture, [spool, 'checkout', 'host-e', '50'])).toEqual({ code: 0, stderr: '' })
    await page.locator('.tail-bar', { hasText: 'paused — 50 new lines — resume' }).waitFor({ timeout: 30_000 })
    // paused means the list does not move under the reader
    expect((await rows(page)).map(r => r.msg)).toEqual(before)
    await screenshot(page, 'web-11-tail-paused')
    await page.locator('.tail-bar').getByText('resume').click()
    await page.locator('.tail-bar .tail-state', { hasText: 'live' }).waitFor({ timeout: 5000 })
    const top = await rows(page)
    expect(top[0].msg).toBe('line 49 from host-e n=49')
    expect(top[0].host).toBe('host-e')

    // the server restarts while a host logs: the browser reconnects with Last-Event-ID, and
    // every line logged meanwhile arrives exactly once
    expect(await stopChild(up)).toBe(0)
    expect(await runNode(fixture, [spool, 'checkout', 'host-f', '20'])).toEqual({ code: 0, stderr: '' })
    up = await startUp(upEnv)
    await page.waitForFunction(() => [...document.querySelectorAll('.results .host')].filter(e => e.textContent === 'host-f').length >= 20, undefined, { timeout: 60_000 })
    expect(await runNode(fixture, [spool, 'checkout', 'host-g', '1'])).toEqual({ code: 0, stderr: '' })
    await page.locator('.results .host', { hasText: 'host-g' }).waitFor({ timeout: 30_000 })
    // newest first and rendered from the top: host-g's line, host-f's 20, then host-e's last ones
    const after = (await rows(page)).slice(0, 31).map(r => r.msg)
    expect(after).toEqual([
      'line 0 from host-g n=0',
      ...[...Array(20).keys()].reverse().map(i => `line ${i} from host-f n=${i}`),
      ...[...Array(10).keys()].map(i => `line ${49 - i} from host-e n=${49 - i}`)
    ])
    await page.locator('.tail-bar .tail-state', { hasText: 'live' }).waitFor({ timeout: 5000 })
  })

  it('retried every read refused for its client\'s share of the query slots (429) until it was answered', () => {
    const refused = answers.flatMap(([url, status], i) => status === 429 ? [{ url, i }] : [])
    console.log(`web-ui: ${answers.length} API answers, ${refused.length} of them 429`)
    expect(refused.filter(r => !answers.slice(r.i + 1).some(([url, status]) => url === r.url && status === 200))).toEqual([])
  })
})

describe('Explorer with SLUICE_TOKENS: login, session cookie, and sluice demo', () => {
  const dataDir = tempDir('web-auth')
  const token = 'web-test-token-5e7f'
  let up: Awaited<ReturnType<typeof startUp>>
  let browser: Browser

  beforeAll(async () => {
    const port = await freePort()
    up = await startUp({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(port), SLUICE_TOPIC_PREFIX: uniquePrefix('webauth'), SLUICE_TOKENS: token })
    browser = await launchBrowser()
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
  })

  it('sluice demo feeds a fleet through the real transport and shipper', async () => {
    const demo = runCli(['demo', '--duration', '6s', '--rate', '200', '--stats-every', '1s'], { SLUICE_DATA_DIR: dataDir })
    expect(await demo.exited).toBe(0)
    expect(demo.stdout()).toContain('sluice demo: 6 hosts × 3 services (18 processes) logging through sluice/transport into ' + path.join(dataDir, 'spool'))
    expect(demo.stdout()).toMatch(/sluice demo: stopped after \d+ request lines/)
    const sent = Number(/stopped after (\d+) request lines/.exec(demo.stdout())![1])
    // request lines plus debug lines and start/stop lines: at least the request lines arrive
    await waitFor('the demo lines to be queryable', async () => {
      const res = await fetch(`${up.url}/v1/facets?since=1h`, { headers: { authorization: `Bearer ${token}` } })
      return res.status === 200 && (await res.json() as { total: number }).total >= sent
    }, 90_000, 500)
  })

  it('asks for a token, works after login with an HttpOnly cookie, and the API refuses requests without it', async () => {
    expect((await fetch(`${up.url}/v1/logs?since=1h`)).status).toBe(401)
    expect((await fetch(`${up.url}/v1/tail`)).status).toBe(401)
    expect((await fetch(`${up.url}/`)).status).toBe(200)
    const { context, page } = await newPage(browser)
    await page.goto(up.url)
    await page.getByText('This Sluice requires a token').waitFor({ timeout: 20_000 })
    await screenshot(page, 'web-12-login')
    await page.locator('input[name="token"]').fill('not-the-token')
    await page.getByRole('button', { name: 'Log in' }).click()
    expect(await page.locator('.login .field-error').textContent()).toBe('That token is not one of SLUICE_TOKENS.')
    await page.locator('input[name="token"]').fill(token)
    await page.getByRole('button', { name: 'Log in' }).click()

    // the demo's fleet: its hosts, services and levels
    await page.locator('.facet[data-facet="host"] .facet-value').first().waitFor({ timeout: 20_000 })
    const values = async (facet: string): Promise<string[]> => await page.$$eval(`.facet[data-facet="${facet}"] .facet-value`, els => els.map(e => e.getAttribute('data-value') ?? '').sort())
    expect(await values('host')).toEqual(['api-1', 'api-2', 'web-1', 'web-2', 'web-3', 'worker-1'])
    expect(await values('service')).toEqual(['billing', 'checkout', 'search'])
    expect(await values('level')).toEqual(expect.arrayContaining(['debug', 'error', 'info', 'warn']))
    expect(await values('fields')).toEqual(expect.arrayContaining(['req', 'res', 'responseTime']))
    await page.locator('.results .row').first().waitFor({ timeout: 20_000 })
    await screenshot(page, 'web-13-demo-after-login')

    const cookies = await context.cookies()
    expect(cookies.map(c => [c.name, c.httpOnly, c.sameSite, c.path])).toEqual([['sluice_session', true, 'Strict', '/']])
    expect(cookies[0].value).not.toContain(token)
    // the cookie serves GETs (and the EventSource); a mutating request also needs the CSRF header
    const status = async (url: string, init?: RequestInit): Promise<number> => await page.evaluate(async ([u, i]) => (await fetch(u as string, i as RequestInit)).status, [url, init ?? {}] as const)
    expect(await status('/v1/logs?since=1h&limit=1')).toBe(200)
    expect(await status('/v1/session', { method: 'DELETE' })).toBe(401)
    await page.goto(`${up.url}/?tail=1`)
    await page.locator('.tail-bar .tail-state', { hasText: 'live' }).waitFor({ timeout: 20_000 })
    // a forged or foreign cookie, or none: refused
    expect((await fetch(`${up.url}/v1/logs?since=1h`, { headers: { cookie: `sluice_session=${cookies[0].value.slice(0, -2)}xx` } })).status).toBe(401)
    expect((await fetch(`${up.url}/v1/logs?since=1h`, { headers: { cookie: `sluice_session=${cookies[0].value}` } })).status).toBe(200)
    expect((await fetch(`${up.url}/v1/logs?since=1h`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
    expect(await status('/v1/session', { method: 'DELETE', headers: { 'x-sluice-csrf': '1' } })).toBe(200)
    expect(await status('/v1/logs?since=1h&limit=1')).toBe(401)
    await context.close()
  })
})
