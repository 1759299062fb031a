// The API docs page in a real browser: Debian's Chromium, driven by playwright-core, against the real server.
// Swagger UI must load its bundle from our own /openapi/assets (no CDN), fetch /openapi/json and render every
// route. A missing Chromium is a failure, not a skip: .ci/run installs it (apt-get install -y chromium).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { slow, startServer, type TestServer } from './harness.ts'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
const BROWSER_TIMEOUT = 60_000

let s: TestServer
let browser: Browser | undefined
const shots = mkdtempSync(join(tmpdir(), 'gotrue-browser-'))

afterAll(() => rmSync(shots, { recursive: true, force: true })) // created in every tier

slow.describe('the API docs page in Chromium', () => {
  beforeAll(async () => { s = await startServer() })
  afterAll(async () => {
    await browser?.close()
    await s.stop()
  })

  interface Docs { page: Page; hosts: Set<string>; problems: string[] }

  /** Opens /openapi in a fresh page and waits until Swagger UI has rendered the operations. */
  async function openDocs(): Promise<Docs> {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install it with \`apt-get update && apt-get install -y chromium\` (.ci/run does)`)
    }
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    const hosts = new Set<string>()
    const problems: string[] = []
    page.on('request', (r) => hosts.add(new URL(r.url()).host))
    page.on('pageerror', (e) => problems.push(`script error: ${e.message}`))
    page.on('requestfailed', (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`))
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.url()}: ${r.status()}`) })
    const res = await page.goto(`${s.url}/openapi`, { waitUntil: 'networkidle' })
    expect(res?.status()).toBe(200)
    await page.locator('.opblock-summary-path').first().waitFor({ state: 'visible', timeout: 20_000 })
    return { page, hosts, problems }
  }

  const pathsShown = async (page: Page) =>
    (await page.locator('.opblock-summary-path').allInnerTexts()).map((p) => p.replace(/\u200b/g, '').trim())

  describe('GET /openapi in Chromium', () => {
    test('Swagger UI renders the GoTrue API with the /health and /settings routes', async () => {
      const { page } = await openDocs()
      expect(await page.title()).toBe('GoTrue')
      expect(await page.locator('.information-container .title').innerText()).toContain('GoTrue')
      const paths = await pathsShown(page)
      expect(paths).toContain('/health')
      expect(paths).toContain('/settings')
      expect(paths.filter((p) => p.startsWith('/openapi'))).toEqual([]) // the docs do not document themselves

      const file = join(shots, 'openapi.png')
      await page.screenshot({ path: file, fullPage: true })
      const png = readFileSync(file)
      expect(png.length).toBeGreaterThan(10_000)
      expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE)
      await page.close()
    }, BROWSER_TIMEOUT)

    test('every asset comes from this server (no CDN), with no failed request or script error', async () => {
      const { page, hosts, problems } = await openDocs()
      expect([...hosts]).toEqual([new URL(s.url).host])
      expect(problems).toEqual([])
      await page.close()
    }, BROWSER_TIMEOUT)

    test('"Try it out" on GET /health calls the server and shows its JSON', async () => {
      const { page, problems } = await openDocs()
      const op = page.locator('.opblock', { has: page.locator('.opblock-summary-path', { hasText: /^\/health$/ }) })
      await op.locator('.opblock-summary').click()
      await op.locator('button.try-out__btn').click()
      await op.locator('button.execute').click()
      const live = op.locator('.live-responses-table .response')
      await live.first().waitFor({ state: 'visible', timeout: 20_000 })
      expect((await live.locator('.response-col_status').first().innerText()).trim()).toBe('200')
      expect(await live.locator('.microlight, pre').first().innerText()).toContain('"name": "GoTrue"')
      expect(problems).toEqual([])
      await page.close()
    }, BROWSER_TIMEOUT)

    const operation = (page: Page, method: string, path: string) =>
      page.locator(`.opblock-${method}`, { has: page.locator('.opblock-summary-path', { hasText: new RegExp(`^${path}$`) }) })

    test('GET /user shows a real user as the example of its 200 (not "string"), and a GoTrue error per status', async () => {
      const { page, problems } = await openDocs()
      const op = operation(page, 'get', '/user')
      await op.locator('.opblock-summary').click()
      const ok = op.locator('tr.response[data-code="200"]')
      await ok.waitFor({ state: 'visible', timeout: 20_000 })
      const example = ok.locator('.example, .microlight').first()
      const text = await example.innerText()
      expect(text).toContain('"email": "ada@example.com"')
      expect(text).toContain('"id": "5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13"')
      expect(text).not.toContain('"string"')
      expect(await op.locator('tr.response[data-code="401"] .microlight').first().innerText()).toContain('"code": 401')
      const file = join(shots, 'user-200.png')
      await example.screenshot({ path: file })
      const png = readFileSync(file)
      expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE)
      // the rendered example is an image of some size (several lines of JSON), not an empty box
      expect(png.readUInt32BE(16)).toBeGreaterThan(200) // width
      expect(png.readUInt32BE(20)).toBeGreaterThan(100) // height
      expect(problems).toEqual([])
      await page.close()
    }, BROWSER_TIMEOUT)

    test('"Try it out" on POST /signup creates the user on the running server', async () => {
      const { page, problems } = await openDocs()
      const op = operation(page, 'post', '/signup')
      await op.locator('.opblock-summary').click()
      await op.locator('button.try-out__btn').click()
      const email = `swagger-${crypto.randomUUID().slice(0, 8)}@example.com`
      await op.locator('textarea.body-param__text').fill(JSON.stringify({ email, password: 'correct-horse-battery' }))
      await op.locator('button.execute').click()
      const live = op.locator('.live-responses-table .response')
      await live.first().waitFor({ state: 'visible', timeout: 20_000 })
      expect((await live.locator('.response-col_status').first().innerText()).trim()).toBe('200')
      expect(await live.locator('.microlight, pre').first().innerText()).toContain(`"email": "${email}"`)
      expect(problems).toEqual([])
      await page.close()
    }, BROWSER_TIMEOUT)
  })
})
