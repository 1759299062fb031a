// The account pages in a real browser (Debian's Chromium through playwright-core), as a user meets them: the
// mailed link is opened as sent (the configured address, http://localhost:8081, is served by the test server on
// its random port), after a mail scanner's prefetch; the form is filled by its labels and submitted with no script;
// the outcome page is checked by its text and a screenshot. A missing Chromium is a failure, not a skip.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import type { CapturedMail } from './fakes/smtp.ts'
import { slow, startServer, type TestServer } from './harness.ts'
import { freshEmail, login, OPERATOR, PASSWORD } from './helpers.ts'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
const BROWSER_TIMEOUT = 60_000
const VIEWPORT = { width: 800, height: 600 }

let s: TestServer
let browser: Browser | undefined
const shots = mkdtempSync(join(tmpdir(), 'gotrue-pages-browser-'))
afterAll(() => rmSync(shots, { recursive: true, force: true }))

const linkOf = (mail: CapturedMail): string => {
  const m = /href="([^"]+)"/.exec(mail.html)
  if (!m?.[1]) throw new Error(`no link in mail ${mail.subject}`)
  return m[1].replace(/&amp;/g, '&')
}

/** A page whose requests to the mailed address go to the test server; every failed request or 5xx noted. */
async function newPage(): Promise<{ page: Page; problems: string[] }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with \`apt-get update && apt-get install -y chromium\``)
  browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
  const page = await browser.newPage({ viewport: VIEWPORT })
  const problems: string[] = []
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`))
  page.on('requestfailed', (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`))
  page.on('response', (r) => { if (r.status() >= 500) problems.push(`${r.url()}: ${r.status()}`) })
  // CSP violations land here; a 4xx page the test asks for (a typo in the form) is reported here too and is no problem.
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`) })
  // Fetched and fulfilled (not continued to another URL), so that the document's origin stays the mailed one and
  // the pages' CSP ('self') is tested as a browser applies it.
  await page.route('http://localhost:8081/**', async (route) => {
    const u = new URL(route.request().url())
    await route.fulfill({ response: await route.fetch({ url: `${s.url}${u.pathname}${u.search}`, maxRedirects: 0 }) })
  })
  return { page, problems }
}

/** A screenshot of the whole page: a real PNG of the viewport's width, with something drawn on it. */
async function checkedScreenshot(page: Page, name: string) {
  const file = join(shots, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  const png = readFileSync(file)
  expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE)
  expect(png.readUInt32BE(16)).toBe(VIEWPORT.width) // IHDR width
  expect(png.readUInt32BE(20)).toBeGreaterThanOrEqual(VIEWPORT.height)
  expect(png.length).toBeGreaterThan(5_000) // a blank page compresses to far less
}

slow.describe('the account pages in Chromium', () => {
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_SITE_URL: '' } }) })
  afterAll(async () => {
    await browser?.close()
    await s.stop()
  })

  test('confirm a signup: prefetched link, one button, the outcome page', async () => {
    const email = freshEmail('browser')
    expect((await s.req('/signup', { method: 'POST', json: { email, password: PASSWORD } })).status).toBe(200)
    const link = linkOf(await s.smtp.waitForMail(email))
    expect(link).toStartWith('http://localhost:8081/account/confirm?confirmation_token=')
    expect((await s.req(link.replace('http://localhost:8081', ''))).status).toBe(200) // the mail scanner's GET

    const { page, problems } = await newPage()
    const res = await page.goto(link)
    expect(res?.status()).toBe(200)
    expect(await page.title()).toBe('Confirm your email address')
    expect(await page.locator('h1').allInnerTexts()).toEqual(['Confirm your email address'])
    const button = page.getByRole('button', { name: 'Confirm my email address' })
    expect(await button.evaluate((b) => b === document.activeElement)).toBe(true) // autofocus: Enter confirms
    // The stylesheet applied (served from this API under the CSP): the button is not the browser default.
    expect(await button.evaluate((b) => getComputedStyle(b).backgroundColor)).toBe('rgb(29, 78, 216)')
    await checkedScreenshot(page, 'confirm-form')

    await Promise.all([page.waitForURL('**/account/confirm'), button.click()])
    expect(await page.locator('[role=status]').innerText()).toContain('Your email address is confirmed.')
    await checkedScreenshot(page, 'confirm-done')
    expect((await login(s, email)).status).toBe(200)
    expect(problems).toEqual([])
    await page.close()
  }, BROWSER_TIMEOUT)

  test('accept an invite: labelled fields in tab order, a typo re-shows the form, then the password is set', async () => {
    const email = freshEmail('browser-invitee')
    expect((await s.req('/invite', { method: 'POST', headers: OPERATOR, json: { email } })).status).toBe(200)
    const link = linkOf(await s.smtp.waitForMail(email))
    const { page, problems } = await newPage()
    expect((await page.goto(link))?.status()).toBe(200)
    // autofocus lands once the browser has run its focus steps, which may come after the load event
    await page.waitForFunction(() => document.activeElement?.id === 'password', undefined, { timeout: 5000 }).catch(() => {})
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password')
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password-again')
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Accept the invitation')

    await page.getByLabel('Password', { exact: true }).fill('a-new-password-1')
    await page.getByLabel('Password again').fill('a-new-password-2')
    await page.getByRole('button', { name: 'Accept the invitation' }).click()
    expect(await page.getByRole('alert').innerText()).toContain('The two passwords differ')

    await page.getByLabel('Password', { exact: true }).fill('a-new-password-1')
    await page.getByLabel('Password again').fill('a-new-password-1')
    await page.getByRole('button', { name: 'Accept the invitation' }).click()
    expect(await page.locator('[role=status]').innerText()).toContain('Your invitation is accepted')
    await checkedScreenshot(page, 'invite-done')
    expect((await login(s, email, 'a-new-password-1')).status).toBe(200)
    expect(problems).toEqual([])
    await page.close()
  }, BROWSER_TIMEOUT)

  test('a used link shows a clear page, not an error dump', async () => {
    const { page } = await newPage()
    const res = await page.goto('http://localhost:8081/account/confirm?confirmation_token=used-or-unknown')
    expect(res?.status()).toBe(200)
    await page.getByRole('button', { name: 'Confirm my email address' }).click()
    expect(await page.getByRole('alert').innerText()).toBe('This link is invalid or has already been used.')
    await checkedScreenshot(page, 'invalid')
    await page.close()
  }, BROWSER_TIMEOUT)
})
