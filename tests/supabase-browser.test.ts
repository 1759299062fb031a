// @supabase/auth-js in a real browser (Debian's Chromium through playwright-core), cross-origin: the page is served
// from a second origin, so every call goes through the CORS preflight with the headers auth-js sends. The page
// (tests/pages/supabase-auth.ts, bundled here with Bun.build) signs up, signs in, refreshes, reads the user and
// signs out. A missing Chromium is a failure, not a skip.
import { afterAll, beforeAll, expect } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, chromium } from 'playwright-core'
import { slow, startServer, type TestServer } from './harness.ts'
import { freshEmail, PASSWORD } from './helpers.ts'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const BROWSER_TIMEOUT = 60_000

slow.describe('@supabase/auth-js in Chromium, cross-origin', () => {
  let s: TestServer
  let site: ReturnType<typeof Bun.serve>
  let browser: Browser | undefined

  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true' } })
    const built = await Bun.build({ entrypoints: [join(import.meta.dir, 'pages/supabase-auth.ts')], target: 'browser', format: 'esm' })
    if (!built.success) throw new Error(built.logs.join('\n'))
    const script = await built.outputs[0]!.text()
    // The second origin: localhost (the API is on 127.0.0.1) on a port of its own.
    site = Bun.serve({
      port: 0, hostname: '127.0.0.1',
      fetch: (req) => new URL(req.url).pathname === '/app.js'
        ? new Response(script, { headers: { 'content-type': 'text/javascript' } })
        : new Response('<!doctype html><title>app</title><script type="module" src="/app.js"></script>', { headers: { 'content-type': 'text/html' } }),
    })
  })
  afterAll(async () => {
    await browser?.close()
    site?.stop(true)
    await s?.stop()
  })

  slow.test('signs up, logs in, refreshes and signs out', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with \`apt-get update && apt-get install -y chromium\``)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('pageerror', (e) => problems.push(`script error: ${e.message}`))
    page.on('requestfailed', (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`))
    // The wrong password's 400 and the ended token's 401 are expected; a CORS refusal shows here as an error too.
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 40[01]/.test(m.text())) problems.push(`console: ${m.text()}`) })
    await page.goto(`http://localhost:${site.port}/`)
    await page.waitForFunction(() => typeof (globalThis as unknown as { flow?: unknown }).flow === 'function')
    const email = freshEmail('browser')
    const out = await page.evaluate(([url, e, p]) => (globalThis as unknown as { flow: (a: string, b: string, c: string) => Promise<unknown> }).flow(url, e, p), [s.url, email, PASSWORD] as const)
    expect(problems).toEqual([])
    expect(out).toEqual({
      signUp: { error: null, hasSession: true, meta: { from: 'browser' } },
      signIn: { error: null, email },
      refresh: { error: null, rotated: true, email },
      getUser: { error: null, email },
      wrong: { code: 'invalid_credentials' },
      signOut: { error: null, session: null },
      afterSignOut: 401,
    })
    // The calls were cross-origin (another host and port), so each went through the browser's CORS checks.
    expect(new URL(page.url()).origin).not.toBe(new URL(s.url).origin)
  }, BROWSER_TIMEOUT)
})
