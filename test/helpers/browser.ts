// Debian's Chromium driven by playwright-core, for the Explorer's end-to-end tests.
// Contexts run in UTC; screenshots go to test-artifacts/ (gitignored).
import fs from 'node:fs'
import path from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { root } from './env.js'

export const artifacts = path.join(root, 'test-artifacts')

export function chromiumPath (): string {
  const found = ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find(p => fs.existsSync(p))
  if (found === undefined) throw new Error('Chromium not found: apt-get install chromium (scripts/test.sh does)')
  return found
}

export async function launchBrowser (): Promise<Browser> {
  return await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run']
  })
}

export async function newPage (browser: Browser): Promise<{ context: BrowserContext, page: Page }> {
  const context = await browser.newContext({ timezoneId: 'UTC', viewport: { width: 1400, height: 850 } })
  const page = await context.newPage()
  page.on('pageerror', err => { process.stderr.write(`browser page error: ${err.message}\n`) })
  return { context, page }
}

export async function screenshot (page: Page, name: string): Promise<void> {
  fs.mkdirSync(artifacts, { recursive: true })
  await page.screenshot({ path: path.join(artifacts, `${name}.png`) })
}
