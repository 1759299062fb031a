// The account pages (features/pages.ts) over HTTP: the mailed link opens a page on this API when no site is
// configured; a GET (a mail scanner's prefetch) leaves the token usable; the form's POST completes each flow
// through the same step as /verify; bad, used or expired tokens get a clear HTML page with a 4xx, never a 500;
// the security headers are on every page; a cross-site POST is refused; the token never reaches the access log.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import type { CapturedMail } from './fakes/smtp.ts'
import { body, startServer, type TestServer } from './harness.ts'
import { bearer, confirmedUser, freshEmail, login, MFA_KEY, OPERATOR, PASSWORD, totp, userWithSession } from './helpers.ts'

const NEW_PASSWORD = 'a-brand-new-password'
const logFile = join(tmpdir(), `gotrue-pages-${crypto.randomUUID()}.log`)
let s: TestServer // no site of its own: SITE_URL at its default, the links open the pages
let r: TestServer // a site, with MAILER_URLPATHS_* pointing at the pages behind a proxy prefix
const API = 'https://id.example.com/.netlify/identity'

beforeAll(async () => {
  s = await startServer({ env: { ...MFA_KEY, GOTRUE_SITE_URL: '', GOTRUE_LOG_LEVEL: 'info', GOTRUE_LOG_FILE: logFile } })
  r = await startServer({
    env: {
      ...MFA_KEY,
      GOTRUE_MAILER_URLPATHS_CONFIRMATION: `${API}/account/confirm`, GOTRUE_MAILER_URLPATHS_INVITE: `${API}/account/invite`,
      GOTRUE_MAILER_URLPATHS_RECOVERY: `${API}/account/recover`, GOTRUE_MAILER_URLPATHS_EMAIL_CHANGE: `${API}/account/email-change`,
    },
  })
})
afterAll(async () => { await s.stop(); await r.stop() })

/** The link of a mail, as sent. */
function linkOf(mail: CapturedMail): URL {
  const m = /href="([^"]+)"/.exec(mail.html)
  if (!m?.[1]) throw new Error(`no link in mail ${mail.subject}`)
  return new URL(m[1].replace(/&amp;/g, '&'))
}
/** A user signed in with a verified TOTP factor: its secret, and an aal2 access token. */
async function withFactor(server: TestServer) {
  const u = await userWithSession(server)
  const h = bearer(u.session.access_token)
  const enrolled = await body<{ id: string; totp: { secret: string } }>(await server.req('/factors', { method: 'POST', headers: h, json: { factor_type: 'totp' } }))
  const ch = await body<{ id: string }>(await server.req(`/factors/${enrolled.id}/challenge`, { method: 'POST', headers: h }))
  const v = await server.req(`/factors/${enrolled.id}/verify`, { method: 'POST', headers: h, json: { challenge_id: ch.id, code: totp(enrolled.totp.secret, server.clock.now().getTime()) } })
  expect(v.status).toBe(200)
  return { ...u, factorId: enrolled.id, secret: enrolled.totp.secret }
}
const aalOf = (jwt: string) => (JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as { aal: string }).aal

/** The mailed link's page on the test server (its address has a random port, the link the configured one). */
const onServer = (server: TestServer, link: URL) => `${link.pathname.replace(/^\/\.netlify\/identity/, '')}${link.search}`
const post = (server: TestServer, path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  server.req(path, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() })

function expectPageHeaders(res: Response) {
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
  const csp = res.headers.get('content-security-policy') ?? ''
  expect(csp).toContain("default-src 'none'")
  expect(csp).toContain("style-src 'self'")
  expect(csp).toContain("form-action 'self'")
  expect(csp).toContain("frame-ancestors 'none'")
  expect(res.headers.get('x-frame-options')).toBe('DENY')
  expect(res.headers.get('referrer-policy')).toBe('no-referrer')
  expect(res.headers.get('cache-control')).toBe('no-store')
}
/** An accessible page: a language, one h1, every visible input labelled, no script. */
function expectAccessible(html: string) {
  expect(html).toMatch(/<html lang="en">/)
  expect(html.match(/<h1>/g)?.length).toBe(1)
  expect(html).not.toContain('<script')
  for (const [, id] of html.matchAll(/<input id="([^"]+)"/g)) expect(html).toContain(`<label for="${id}">`)
}

async function signupLink(server: TestServer, email = freshEmail('page')) {
  expect((await server.req('/signup', { method: 'POST', json: { email, password: PASSWORD } })).status).toBe(200)
  return { email, link: linkOf(await server.smtp.waitForMail(email)) }
}

describe('the mailed link with no site configured', () => {
  test('opens the confirm page on this API, with the token in the query', async () => {
    const { link } = await signupLink(s)
    expect(link.origin).toBe('http://localhost:8081') // SITE_URL's default: this API's own address
    expect(link.pathname).toBe('/account/confirm')
    expect(link.hash).toBe('')
    expect(link.searchParams.get('confirmation_token')).toMatch(/^[A-Za-z0-9_-]{20,}$/)
  })
})

describe('confirm signup', () => {
  test('GET shows the form and leaves the token usable; POST confirms; a second POST is a clear 404 page', async () => {
    const { email, link } = await signupLink(s)
    const token = link.searchParams.get('confirmation_token') as string
    for (let i = 0; i < 2; i++) { // a mail scanner, then the user
      const page = await s.req(onServer(s, link))
      expect(page.status).toBe(200)
      expectPageHeaders(page)
      const html = await page.text()
      expectAccessible(html)
      expect(html).toContain('<h1>Confirm your email address</h1>')
      expect(html).toContain(`name="token" value="${token}"`)
      expect(html).toContain('<form method="post" action="confirm">')
    }
    expect((await login(s, email)).status).toBe(400) // still unconfirmed after the GETs
    const done = await post(s, '/account/confirm', { token })
    expect(done.status).toBe(200)
    expectPageHeaders(done)
    expect(await done.text()).toContain('Your email address is confirmed.')
    expect((await login(s, email)).status).toBe(200)
    const again = await post(s, '/account/confirm', { token })
    expect(again.status).toBe(404)
    expectPageHeaders(again)
    expect(await again.text()).toContain('This link is invalid or has already been used.')
  })

  test('an unknown token, a missing one and an expired one get clear 4xx pages, never a 500', async () => {
    const unknown = await post(s, '/account/confirm', { token: 'no-such-token' })
    expect(unknown.status).toBe(404)
    expect(await unknown.text()).toContain('invalid or has already been used')
    const missing = await s.req('/account/confirm')
    expect(missing.status).toBe(400)
    expectPageHeaders(missing)
    expect(await missing.text()).toContain('This link is incomplete')
    expect((await post(s, '/account/confirm', {})).status).toBe(404)
    expect((await post(s, '/account/confirm', { token: 'x'.repeat(5000) })).status).toBe(404)
    const json = await s.req('/account/confirm', { method: 'POST', json: { token: ['a', 'b'] } })
    expect(json.status).toBe(404)

    const { link } = await signupLink(s)
    s.clock.advance(86400 + 60)
    try {
      const expired = await post(s, '/account/confirm', { token: link.searchParams.get('confirmation_token') as string })
      expect(expired.status).toBe(422)
      expectPageHeaders(expired)
      expect(await expired.text()).toContain('This link has expired')
    } finally { s.clock.reset() }
  })

  test('a cross-site POST is refused with 403 and leaves the token usable; our own form\'s Origin: null passes', async () => {
    const { link } = await signupLink(s)
    const token = link.searchParams.get('confirmation_token') as string
    const cross = await post(s, '/account/confirm', { token }, { 'sec-fetch-site': 'cross-site' })
    expect(cross.status).toBe(403)
    expectPageHeaders(cross)
    expect((await post(s, '/account/confirm', { token }, { origin: 'https://evil.example' })).status).toBe(403)
    expect((await post(s, '/account/confirm', { token }, { origin: 'null', 'sec-fetch-site': 'same-origin' })).status).toBe(200)
  })

  test('the stylesheet is served from this API (the CSP allows no inline style)', async () => {
    const css = await s.req('/account/style.css')
    expect(css.status).toBe(200)
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(await css.text()).toContain(':focus-visible')
  })
})

describe('accept an invite', () => {
  async function inviteLink(server: TestServer) {
    const email = freshEmail('invitee')
    expect((await server.req('/invite', { method: 'POST', headers: OPERATOR, json: { email } })).status).toBe(200)
    return { email, link: linkOf(await server.smtp.waitForMail(email)) }
  }

  test('GET shows two labelled password fields; mismatched or weak passwords re-show the form, token intact; then it completes', async () => {
    const { email, link } = await inviteLink(s)
    expect(link.pathname).toBe('/account/invite')
    const token = link.searchParams.get('invite_token') as string
    const page = await s.req(onServer(s, link))
    expect(page.status).toBe(200)
    const html = await page.text()
    expectAccessible(html)
    expect(html).toContain('autocomplete="new-password"')

    const differ = await post(s, '/account/invite', { token, password: NEW_PASSWORD, password_again: 'something-else' })
    expect(differ.status).toBe(422)
    expect(await differ.text()).toContain('The two passwords differ')
    const weak = await post(s, '/account/invite', { token, password: 'short', password_again: 'short' })
    expect(weak.status).toBe(422)
    const weakHtml = await weak.text()
    expect(weakHtml).toContain('role="alert"')
    expect(weakHtml).toContain(`value="${token}"`)

    const done = await post(s, '/account/invite', { token, password: NEW_PASSWORD, password_again: NEW_PASSWORD })
    expect(done.status).toBe(200)
    expect(await done.text()).toContain('Your invitation is accepted')
    expect((await login(s, email, NEW_PASSWORD)).status).toBe(200)
  })

  test('with a site: the POST redirects (303) to the site with the session in the fragment', async () => {
    const { email, link } = await inviteLink(r)
    expect(`${link.origin}${link.pathname}`).toBe(`${API}/account/invite`)
    const token = link.searchParams.get('invite_token') as string
    const page = await r.req(onServer(r, link))
    expect(page.status).toBe(200)
    expect(page.headers.get('content-security-policy')).toContain("form-action 'self' https://example.netlify.com;")
    const done = await post(r, '/account/invite', { token, password: NEW_PASSWORD, password_again: NEW_PASSWORD })
    expect(done.status).toBe(303)
    const to = new URL(done.headers.get('location') as string)
    expect(to.origin + to.pathname).toBe('https://example.netlify.com/')
    const frag = new URLSearchParams(to.hash.slice(1))
    expect(frag.get('token_type')).toBe('bearer')
    expect(frag.get('expires_in')).toBe('3600')
    expect(frag.get('refresh_token')).toBeTruthy()
    const me = await r.req('/user', { headers: bearer(frag.get('access_token') as string) })
    expect((await body<{ email: string }>(me)).email).toBe(email)
  })
})

describe('reset a password', () => {
  test('GET leaves the token usable; POST sets the new password and ends the other sessions', async () => {
    const u = await userWithSession(s)
    expect((await s.req('/recover', { method: 'POST', json: { email: u.email } })).status).toBe(200)
    const link = linkOf(await s.smtp.waitForMail(u.email))
    expect(link.pathname).toBe('/account/recover')
    const token = link.searchParams.get('recovery_token') as string
    expect((await s.req(onServer(s, link))).status).toBe(200)
    expect((await s.req(onServer(s, link))).status).toBe(200)
    const done = await post(s, '/account/recover', { token, password: NEW_PASSWORD, password_again: NEW_PASSWORD })
    expect(done.status).toBe(200)
    expect(await done.text()).toContain('Your new password is set.')
    expect((await login(s, u.email, PASSWORD)).status).toBe(400)
    expect((await login(s, u.email, NEW_PASSWORD)).status).toBe(200)
    const old = await s.req('/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${u.session.refresh_token}` })
    expect(old.status).toBe(400)
  })

  test('a user with a verified factor: the page confirms the link but leaves the password (GOTRUE_MFA_REQUIRE_AAL2_FOR_CHANGES)', async () => {
    const u = await withFactor(s)
    expect((await s.req('/recover', { method: 'POST', json: { email: u.email } })).status).toBe(200)
    const token = linkOf(await s.smtp.waitForMail(u.email)).searchParams.get('recovery_token') as string
    const done = await post(s, '/account/recover', { token, password: NEW_PASSWORD, password_again: NEW_PASSWORD })
    expect(done.status).toBe(200)
    const html = await done.text()
    expect(html).toContain('your password is not changed: your account is protected by a second factor')
    expect(html).not.toContain('Your new password is set.')
    expect((await login(s, u.email, NEW_PASSWORD)).status).toBe(400)
    expect((await login(s, u.email, PASSWORD)).status).toBe(200)
    // The link is spent.
    expect((await post(s, '/account/recover', { token, password: NEW_PASSWORD, password_again: NEW_PASSWORD })).status).toBe(404)
  })

  test('with a site, a user with a verified factor is sent there at aal1 and sets the password after the second factor', async () => {
    const u = await withFactor(r)
    expect((await r.req('/recover', { method: 'POST', json: { email: u.email } })).status).toBe(200)
    const token = linkOf(await r.smtp.waitForMail(u.email)).searchParams.get('recovery_token') as string
    const done = await post(r, '/account/recover', { token, password: NEW_PASSWORD, password_again: NEW_PASSWORD })
    expect(done.status).toBe(303)
    const frag = new URLSearchParams(new URL(done.headers.get('location') as string).hash.slice(1))
    expect(frag.get('type')).toBe('recovery')
    const access = frag.get('access_token') as string
    expect(aalOf(access)).toBe('aal1')
    expect((await login(r, u.email, NEW_PASSWORD)).status).toBe(400)
    // The site asks for the second factor, then sets the password.
    expect((await r.req('/user', { method: 'PUT', headers: bearer(access), json: { password: NEW_PASSWORD } })).status).toBe(403)
    r.clock.advance(30)
    const ch = await body<{ id: string }>(await r.req(`/factors/${u.factorId}/challenge`, { method: 'POST', headers: bearer(access) }))
    const v = await r.req(`/factors/${u.factorId}/verify`, { method: 'POST', headers: bearer(access), json: { challenge_id: ch.id, code: totp(u.secret, r.clock.now().getTime()) } })
    const aal2 = (await body<{ access_token: string }>(v)).access_token
    expect(aalOf(aal2)).toBe('aal2')
    expect((await r.req('/user', { method: 'PUT', headers: bearer(aal2), json: { password: NEW_PASSWORD } })).status).toBe(200)
    expect((await login(r, u.email, NEW_PASSWORD)).status).toBe(200)
  })

  test('POST /verify type=recovery still takes no password (the reference\'s contract)', async () => {
    const u = await confirmedUser(s)
    expect((await s.req('/recover', { method: 'POST', json: { email: u.email } })).status).toBe(200)
    const token = linkOf(await s.smtp.waitForMail(u.email)).searchParams.get('recovery_token') as string
    const res = await s.req('/verify', { method: 'POST', json: { type: 'recovery', token, password: NEW_PASSWORD } })
    expect(res.status).toBe(200)
    expect((await login(s, u.email, PASSWORD)).status).toBe(200)
  })
})

describe('confirm an email change', () => {
  test('GET leaves the token usable; POST moves the account to the new address', async () => {
    const u = await userWithSession(s)
    const to = freshEmail('moved')
    const put = await s.req('/user', { method: 'PUT', headers: bearer(u.session.access_token), json: { email: to } })
    expect(put.status).toBe(200)
    const link = linkOf(await s.smtp.waitForMail(to))
    expect(link.pathname).toBe('/account/email-change')
    const token = link.searchParams.get('email_change_token') as string
    const page = await s.req(onServer(s, link))
    expect(page.status).toBe(200)
    expectAccessible(await page.text())
    const done = await post(s, '/account/email-change', { token })
    expect(done.status).toBe(200)
    expect(await done.text()).toContain('Your new email address is confirmed.')
    expect((await login(s, to, PASSWORD)).status).toBe(200)
  })
})

describe('limits and logs', () => {
  test('the POST shares /verify\'s rate limit: over it, a 429 page with Retry-After', async () => {
    const t = await startServer({ env: { GOTRUE_SITE_URL: '', GOTRUE_RATE_LIMIT_VERIFY: '2' } })
    try {
      expect((await t.req('/verify', { method: 'POST', json: { type: 'signup', token: 'nope' } })).status).toBe(404)
      expect((await post(t, '/account/confirm', { token: 'nope' })).status).toBe(404)
      const limited = await post(t, '/account/confirm', { token: 'nope' })
      expect(limited.status).toBe(429)
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
      expectPageHeaders(limited)
      expect(await limited.text()).toContain('Too many attempts')
      expect((await t.req('/verify', { method: 'POST', json: { type: 'signup', token: 'nope' } })).status).toBe(429)
    } finally { await t.stop() }
  })

  test('the access log shows the page\'s path, never the token of its query', async () => {
    const { link } = await signupLink(s)
    const token = link.searchParams.get('confirmation_token') as string
    expect((await s.req(onServer(s, link))).status).toBe(200)
    await Bun.sleep(100)
    const log = readFileSync(logFile, 'utf8')
    expect(log).toContain('/account/confirm')
    expect(log).not.toContain(token)
  })
})

describe('page templates', () => {
  test('a pages/<name>.eta in GOTRUE_MAILER_TEMPLATES_DIR replaces the built-in page; one outside it (a symlink) is not read', async () => {
    const { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } = await import('node:fs')
    const dir = mkdtempSync(join(tmpdir(), 'gotrue-page-templates-'))
    const outside = mkdtempSync(join(tmpdir(), 'gotrue-outside-'))
    mkdirSync(join(dir, 'pages'))
    writeFileSync(join(dir, 'pages', 'confirm.eta'), '<p>Our own words for <%= it.title %>.</p><form method="post" action="<%= it.action %>"><input type="hidden" name="token" value="<%= it.token %>"><button>Go</button></form>')
    writeFileSync(join(outside, 'invite.eta'), '<p>read from outside</p>')
    symlinkSync(join(outside, 'invite.eta'), join(dir, 'pages', 'invite.eta'))
    const t = await startServer({ env: { GOTRUE_SITE_URL: '', GOTRUE_MAILER_TEMPLATES_DIR: dir } })
    try {
      const own = await (await t.req('/account/confirm?confirmation_token=abc')).text()
      expect(own).toContain('<p>Our own words for Confirm your email address.</p>')
      expect(own).toContain('<h1>Confirm your email address</h1>') // inside the built-in layout
      const invite = await (await t.req('/account/invite?invite_token=abc')).text()
      expect(invite).not.toContain('read from outside')
      expect(invite).toContain('<label for="password">')
    } finally {
      await t.stop()
      rmSync(dir, { recursive: true, force: true })
      rmSync(outside, { recursive: true, force: true })
    }
  })
})
