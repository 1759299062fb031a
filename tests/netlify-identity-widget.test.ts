// netlify-identity-widget@2.0.3 (the npm bundle, unmodified) in Debian's Chromium against the real server: a
// page served from another origin loads the widget and points it at our API (cross-origin, so CORS and the
// X-Nf-Client preflight are exercised). Sign up through the modal's form, then open the mailed confirmation
// link (`#confirmation_token=…`) and the widget logs the user in. A missing Chromium is a failure, not a skip.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { body, slow, startServer, tokenFromMail, type TestServer } from './harness.ts'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const BUNDLE = join(import.meta.dir, '..', 'node_modules', 'netlify-identity-widget', 'build', 'netlify-identity-widget.js')
const BROWSER_TIMEOUT = 60_000

let s: TestServer
let site: ReturnType<typeof Bun.serve>
let browser: Browser | undefined

/** The site: one page that loads the bundle and initialises it with our API URL before the widget's own
 *  DOMContentLoaded auto-init (which then finds the iframe and does nothing). Widget events are recorded. */
const page = (apiUrl: string) => `<!doctype html><html><head><meta charset="utf-8"><title>site</title></head><body>
<script src="/netlify-identity-widget.js"></script>
<script>
  window.widgetEvents = [];
  for (const e of ['init', 'login', 'logout', 'error']) {
    netlifyIdentity.on(e, (x) => widgetEvents.push([e, x ? (x.email || x.message || null) : null]));
  }
  netlifyIdentity.init({ APIUrl: ${JSON.stringify(apiUrl)} });
</script></body></html>`

slow.describe('netlify-identity-widget@2.0.3 against this server', () => {
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'false' } })
    const html = page(s.url)
    site = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch(req) {
        const { pathname } = new URL(req.url)
        if (pathname === '/') return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } })
        if (pathname === '/favicon.ico') return new Response(null, { status: 204 })
        if (pathname === '/netlify-identity-widget.js') return new Response(Bun.file(BUNDLE), { headers: { 'content-type': 'text/javascript' } })
        return new Response('not found', { status: 404 })
      },
    })
  })
  afterAll(async () => {
    await browser?.close()
    await site?.stop(true)
    await s.stop()
  })

  interface Opened { page: Page; api: string[]; problems: string[] }

  /** Loads the site (optionally with a URL fragment) and records every API call and every failure. */
  async function openSite(hash = ''): Promise<Opened> {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install -y chromium\``)
    browser ??= await chromium.launch({ executablePath: CHROMIUM, args: ARGS })
    const p = await browser.newPage()
    const api: string[] = []
    const problems: string[] = []
    p.on('request', (r) => { if (r.url().startsWith(s.url)) api.push(`${r.method()} ${new URL(r.url()).pathname}`) })
    p.on('pageerror', (e) => problems.push(`script error: ${e.message}`))
    p.on('requestfailed', (r) => problems.push(`${r.url()}: ${r.failure()?.errorText}`))
    p.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()} (${m.location().url})`) })
    const res = await p.goto(`http://127.0.0.1:${site.port}/${hash}`)
    expect(res?.status()).toBe(200)
    return { page: p, api, problems }
  }

  const widget = (p: Page) => p.frameLocator('#netlify-identity-widget')
  const events = (p: Page) => p.evaluate(() => (window as unknown as { widgetEvents: [string, string | null][] }).widgetEvents)

  describe('netlify-identity-widget in Chromium', () => {
    const email = `widget-${Date.now()}@example.com`

    test('sign up through the modal: the user reaches our server and the confirmation mail is sent', async () => {
      const { page: p, api, problems } = await openSite()
      await p.evaluate(() => (window as unknown as { netlifyIdentity: { open(a: string): void } }).netlifyIdentity.open('signup'))
      const w = widget(p)
      await w.locator('input[name="name"]').fill('Widget User')
      await w.locator('input[name="email"]').fill(email)
      await w.locator('input[name="password"]').fill('widget password 1')
      await w.locator('form button[type="submit"]').click()
      await w.getByText('A confirmation message was sent to your email, click the link there to continue.').waitFor({ timeout: 20_000 })

      expect(api).toContain('GET /settings')
      expect(api).toContain('POST /signup')
      expect(problems).toEqual([])
      const mail = await s.smtp.waitForMail(email)
      expect(mail.subject).toBe('Confirm Your Signup')
      const row = await s.db.get<{ email: string; confirmed_at: string | null; raw_user_meta_data: string }>(
        'SELECT email, confirmed_at, raw_user_meta_data FROM {users} WHERE email = ?', [email])
      expect(row?.confirmed_at).toBeNull()
      expect(JSON.parse(row?.raw_user_meta_data ?? '{}')).toEqual({ full_name: 'Widget User' })
      await p.close()
    }, BROWSER_TIMEOUT)

    test('the confirmation link (#confirmation_token=…) logs the user in through the widget', async () => {
      const token = tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')
      const { page: p, api, problems } = await openSite(`#confirmation_token=${token}`)
      await p.waitForFunction(() => (window as unknown as { widgetEvents: string[][] }).widgetEvents.some(([e]) => e === 'login'), undefined, { timeout: 20_000 })
      expect((await events(p)).filter(([e]) => e === 'login')).toEqual([['login', email]])
      expect(api).toContain('POST /verify')
      expect(api).toContain('GET /user')
      expect(problems).toEqual([])
      // Opening the widget now shows the logged-in view, named from user_metadata.full_name.
      await p.evaluate(() => (window as unknown as { netlifyIdentity: { open(a: string): void } }).netlifyIdentity.open('login'))
      await widget(p).getByText('Logged in as').waitFor({ timeout: 20_000 })
      await widget(p).getByText('Widget User').waitFor({ timeout: 20_000 })
      const stored = await p.evaluate(() => localStorage.getItem('gotrue.user'))
      const saved = JSON.parse(stored ?? '{}') as { email?: string; token?: { access_token?: string } }
      expect(saved.email).toBe(email)
      const me = await s.req('/user', { headers: { authorization: `Bearer ${saved.token?.access_token}` } })
      expect(me.status).toBe(200)
      expect((await body(me)).confirmed_at).toBeString()
      await p.close()
    }, BROWSER_TIMEOUT)
  })
})
