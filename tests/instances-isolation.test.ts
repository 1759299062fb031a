// Operator (multi-instance) mode, seen from the sites: two sites in one server are fully isolated (the
// reference leaks across instances, spec §15 item 5): users, tokens, mails, admin API, audit, webhooks and
// external sign-ins, which land in the right site through /callback (it carries no x-nf-sign: the server-side
// OAuth state names the instance). Rate limits are per site, and no site can make the server read its files into
// a mail. The operator API itself: tests/instances-api.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeJwt } from 'jose'
import { signAccessToken, signHS256, verifyHS256 } from '../lib/jwt.ts'
import { clientId, clientSecret, type OAuthFake, REDIRECT_URI, startOAuthFake } from './fakes/oauth-provider.ts'
import { type SmtpCapture, startSmtpCapture } from './fakes/smtp.ts'
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.ts'
import { body, form, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { bearer, OPERATOR, PASSWORD } from './helpers.ts'

const MULTI = { GOTRUE_MULTIINSTANCEMODE: 'true', GOTRUE_DB_ENCRYPTION_KEY: 'encryption-key-for-instance-secrets-in-tests' }
type Json = Record<string, unknown>
interface Site { id: string; secret: string; smtp: SmtpCapture; url: string }

async function createSite(s: TestServer, config: Json): Promise<string> {
  const res = await s.req('/instances', { method: 'POST', headers: OPERATOR, json: { uuid: crypto.randomUUID(), config } })
  expect(res.status).toBe(201)
  return (await body(res)).id as string
}
/** A request to a site, with the x-nf-sign header the operator's proxy adds. */
const on = async (s: TestServer, id: string, path: string, init: RequestInit & { json?: unknown } = {}, claims: Json = {}) =>
  s.req(path, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-nf-sign': await signHS256({ id, ...claims }, 'operator-token-for-tests', undefined) } })
const signup = (s: TestServer, id: string, email: string, claims: Json = {}) =>
  on(s, id, '/signup', { method: 'POST', json: { email, password: PASSWORD } }, claims)
const systemToken = (secret: string) =>
  signAccessToken({ sub: '0', exp: Math.floor(Date.now() / 1000) + 600, email: '', app_metadata: null, user_metadata: null }, secret)

describe('two sites in one server', () => {
  let s: TestServer
  let fake: OAuthFake
  let hooks: WebhookReceiver
  let a: Site
  let b: Site
  const email = 'same.person@example.com'
  const users: Record<'a' | 'b', { id: string; access: string; refresh: string }> = {} as never

  beforeAll(async () => {
    fake = await startOAuthFake()
    hooks = startWebhookReceiver()
    s = await startServer({ env: { ...MULTI, GOTRUE_WEBHOOK_ALLOW_LOCAL: 'true' } })
    const site = async (tag: string): Promise<Site> => {
      const smtp = await startSmtpCapture()
      const secret = `jwt-secret-of-site-${tag}-long-enough-for-hs256`
      const url = `https://${tag}.example.org`
      const id = await createSite(s, {
        site_url: url, jwt: { secret }, smtp: { host: smtp.host, port: smtp.port, admin_email: `identity@${tag}.example.org` },
        external: { github: { enabled: true, client_id: clientId('github'), secret: clientSecret('github'), redirect_uri: REDIRECT_URI, url: `${fake.url}/github` } },
      })
      return { id, secret, smtp, url }
    }
    a = await site('a')
    b = await site('b')
  })
  afterAll(async () => {
    await s.stop()
    await a.smtp.stop()
    await b.smtp.stop()
    await fake.stop()
    await hooks.stop()
  })

  test('the same email signs up in both: two users, each confirmed by its own site\'s mail only', async () => {
    const ua = await body(await signup(s, a.id, email))
    const ub = await body(await signup(s, b.id, email))
    expect(ua.id).toBeString()
    expect(ub.id).toBeString()
    expect(ua.id).not.toBe(ub.id)
    const tokenA = tokenFromMail(await a.smtp.waitForMail(email), 'confirmation_token')
    const tokenB = tokenFromMail(await b.smtp.waitForMail(email), 'confirmation_token')
    expect(a.smtp.mailsTo(email)).toHaveLength(1)
    expect(b.smtp.mailsTo(email)).toHaveLength(1)
    expect(a.smtp.mailsTo(email)[0]?.from).toBe('identity@a.example.org')

    // A's link does nothing at B (and leaves it usable at A)
    const cross = await on(s, b.id, '/verify', { method: 'POST', json: { type: 'signup', token: tokenA } })
    expect(cross.status).toBe(404)
    expect(await body(cross)).toMatchObject({ code: 404, msg: 'User not found' })
    for (const [site, token, key] of [[a, tokenA, 'a'], [b, tokenB, 'b']] as const) {
      const res = await on(s, site.id, '/verify', { method: 'POST', json: { type: 'signup', token } })
      expect(res.status).toBe(200)
      const t = await body(res)
      const me = await body(await on(s, site.id, '/user', { headers: bearer(t.access_token as string) }))
      expect(me.id).toBe(key === 'a' ? ua.id : ub.id)
      users[key] = { id: me.id as string, access: t.access_token as string, refresh: t.refresh_token as string }
    }
    const rows = await s.db.all<{ instance_id: string }>('SELECT instance_id FROM {users} WHERE email_key = ? ORDER BY instance_id', [email])
    expect(rows.map((r) => r.instance_id)).toEqual([a.id, b.id].sort())
  })

  test('A\'s access token and refresh token are refused by B', async () => {
    const own = await on(s, a.id, '/user', { headers: bearer(users.a.access) })
    expect(own.status).toBe(200)
    const res = await on(s, b.id, '/user', { headers: bearer(users.a.access) })
    expect(res.status).toBe(401)
    expect((await body(res)).msg).toBe('Invalid token: signature is invalid')

    const refreshed = await on(s, b.id, '/token', form({ grant_type: 'refresh_token', refresh_token: users.a.refresh }))
    expect(refreshed.status).toBe(400)
    expect(await body(refreshed)).toEqual({ error: 'invalid_grant', error_description: 'Invalid Refresh Token' })
    const atA = await on(s, a.id, '/token', form({ grant_type: 'refresh_token', refresh_token: users.a.refresh }))
    expect(atA.status).toBe(200)
  })

  test('a recovery link mailed by A is refused by B\'s /verify', async () => {
    expect((await on(s, a.id, '/recover', { method: 'POST', json: { email } })).status).toBe(200)
    const token = tokenFromMail(await a.smtp.waitForMail(email, { count: 2 }), 'recovery_token')
    expect(b.smtp.mailsTo(email)).toHaveLength(1) // B sent nothing
    const res = await on(s, b.id, '/verify', { method: 'POST', json: { type: 'recovery', token } })
    expect(res.status).toBe(404)
    expect((await on(s, a.id, '/verify', { method: 'POST', json: { type: 'recovery', token } })).status).toBe(200)
  })

  test('an admin of A (a user with role admin, or sub 0 with A\'s secret) cannot list B\'s users', async () => {
    const promoted = await on(s, a.id, `/admin/users/${users.a.id}`, { method: 'PUT', headers: bearer(await systemToken(a.secret)), json: { role: 'admin' } })
    expect(promoted.status).toBe(200)
    const login = await body(await on(s, a.id, '/token', form({ grant_type: 'password', username: email, password: PASSWORD })))
    const adminOfA = login.access_token as string
    const listA = await on(s, a.id, '/admin/users', { headers: bearer(adminOfA) })
    expect(listA.status).toBe(200)
    expect(((await body(listA)).users as Json[]).map((u) => u.id)).toEqual([users.a.id])

    for (const token of [adminOfA, await systemToken(a.secret)]) {
      const res = await on(s, b.id, '/admin/users', { headers: bearer(token) })
      expect(res.status).toBe(401)
      expect((await body(res)).msg).toStartWith('Invalid token: ')
    }
  })

  test('B\'s admin API never shows A\'s users or audit entries', async () => {
    const admin = bearer(await systemToken(b.secret))
    const list = await body(await on(s, b.id, '/admin/users', { headers: admin }))
    expect((list.users as Json[]).map((u) => u.id)).toEqual([users.b.id])
    const got = await on(s, b.id, `/admin/users/${users.a.id}`, { headers: admin })
    expect(got.status).toBe(404)
    const audit = await on(s, b.id, '/admin/audit', { headers: admin })
    expect(audit.status).toBe(200)
    const entries = (await body<Json[]>(audit)).map((e) => e.payload as Json)
    expect(entries.length).toBeGreaterThan(0)
    expect(entries.map((p) => p.actor_id)).toContain(users.b.id)
    expect(JSON.stringify(entries)).not.toContain(users.a.id)
    const inA = await s.db.all<{ instance_id: string }>('SELECT instance_id FROM {audit_log_entries} WHERE payload LIKE ?', [`%${users.a.id}%`])
    expect(inA.length).toBeGreaterThan(0)
    expect(inA.every((r) => r.instance_id === a.id)).toBe(true)
  })

  test('a site_url claim in x-nf-sign changes the mail link of that request only', async () => {
    expect((await signup(s, a.id, 'preview@example.com', { site_url: 'https://deploy-preview-7--a.example.org' })).status).toBe(200)
    expect((await a.smtp.waitForMail('preview@example.com')).html).toContain('https://deploy-preview-7--a.example.org/#confirmation_token=')
    expect((await signup(s, a.id, 'main@example.com')).status).toBe(200)
    const mail = await a.smtp.waitForMail('main@example.com')
    expect(mail.html).toContain(`${a.url}/#confirmation_token=`)
    expect(mail.html).not.toContain('deploy-preview-7')
  })

  test('webhooks come from the site\'s own settings: A\'s receiver hears A\'s events, signed with A\'s secret', async () => {
    const put = await s.req(`/instances/${a.id}`, { method: 'PUT', headers: OPERATOR, json: { config: { webhook: { url: hooks.url, secret: 'hook-secret-of-a', events: ['validate'] } } } })
    expect(put.status).toBe(200)
    expect((await signup(s, a.id, 'hooked@example.com')).status).toBe(200)
    const [call] = await hooks.waitForCalls(1)
    expect(call?.json()).toMatchObject({ event: 'validate', instance_id: a.id, user: { email: 'hooked@example.com' } })
    const claims = await verifyHS256(call?.headers['x-webhook-signature'] ?? '', 'hook-secret-of-a', { requireExp: false })
    expect(claims).toMatchObject({ iss: 'gotrue', sub: a.id })
    expect((await signup(s, b.id, 'hooked@example.com')).status).toBe(200)
    await b.smtp.waitForMail('hooked@example.com')
    expect(hooks.calls).toHaveLength(1)
  })

  test("a site's session notifications go to its receiver with its instance id; B's sign-ins send nothing", async () => {
    const put = await s.req(`/instances/${a.id}`, { method: 'PUT', headers: OPERATOR, json: { config: { webhook: { url: hooks.url, secret: 'hook-secret-of-a', events: ['session_created'] } } } })
    expect(put.status).toBe(200)
    hooks.reset()
    const signIn = (id: string) => on(s, id, '/token', form({ grant_type: 'password', username: email, password: PASSWORD }))
    const atA = await signIn(a.id)
    expect(atA.status).toBe(200)
    const [call] = await hooks.waitForCalls(1)
    expect(call?.headers['x-netlify-event']).toBe('identity_session_created')
    const session = decodeJwt((await body(atA)).access_token as string).session_id
    expect(call?.json()).toMatchObject({ event: 'session_created', instance_id: a.id, user: { id: users.a.id }, session: { id: session } })
    expect(await verifyHS256(call?.headers['x-webhook-signature'] ?? '', 'hook-secret-of-a', { requireExp: false })).toMatchObject({ sub: a.id })
    expect((await signIn(b.id)).status).toBe(200)
    await Bun.sleep(150)
    expect(hooks.calls).toHaveLength(1)
  })

  test('a GitHub sign-in started on A ends, through /callback without x-nf-sign, in a user of A', async () => {
    fake.setProfile('github', { id: '4242', name: 'Ada', emails: [{ email: 'ada@example.com', verified: true, primary: true }] })
    const start = await on(s, a.id, '/authorize?provider=github', { redirect: 'manual' })
    expect(start.status).toBe(302)
    const back = await fake.approve(start.headers.get('location') ?? '')
    // The browser that started the flow brings back the state cookie it was given.
    const cookie = start.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
    const res = await s.req(`/callback?${back}`, { redirect: 'manual', headers: { cookie } })
    expect(res.status).toBe(302)
    const landing = new URL(res.headers.get('location') ?? '')
    expect(landing.origin).toBe(a.url)
    const hash = new URLSearchParams(landing.hash.slice(1))
    const me = await body(await on(s, a.id, '/user', { headers: bearer(hash.get('access_token') ?? '') }))
    expect(me).toMatchObject({ email: 'ada@example.com', app_metadata: { provider: 'github' } })
    const rows = await s.db.all<{ instance_id: string }>('SELECT instance_id FROM {users} WHERE email_key = ?', ['ada@example.com'])
    expect(rows).toEqual([{ instance_id: a.id }])
    const ids = await s.db.all<{ instance_id: string }>('SELECT instance_id FROM {identities} WHERE provider_id = ?', ['4242'])
    expect(ids).toEqual([{ instance_id: a.id }])
    // replaying the callback finds no flow state, so no site to serve it: GoTrue's JSON errors
    const replay = await s.req(`/callback?${back}`, { redirect: 'manual' })
    expect(replay.status).toBe(400)
    expect(await body(replay)).toEqual({ code: 400, msg: 'OAuth state is invalid: unknown or already used state' })
    expect(await body(await s.req('/callback?code=x', { redirect: 'manual' }))).toEqual({ code: 400, msg: 'OAuth state parameter missing' })
  })
})

describe('an instance cannot make the server read its files into a mail', () => {
  // A file only the server can read, planted where a leak would show: the process's secrets live in files like it.
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-secret-'))
  const secretFile = join(dir, 'secret.txt')
  writeFileSync(secretFile, 'SERVER-SIDE-SECRET GOTRUE_OPERATOR_TOKEN=operator-token-for-tests')
  let s: TestServer
  let smtp: SmtpCapture
  beforeAll(async () => {
    smtp = await startSmtpCapture()
    s = await startServer({ env: MULTI })
  })
  afterAll(async () => { await s.stop(); await smtp.stop(); rmSync(dir, { recursive: true, force: true }) })
  const base = () => ({
    site_url: 'https://files.example.org', jwt: { secret: 'jwt-secret-of-site-files-long-enough-for-hs256' },
    smtp: { host: smtp.host, port: smtp.port, admin_email: 'identity@files.example.org' }, mailer: { autoconfirm: true },
  })

  test('a file: or non-URL template is refused at create and update with 422 naming the field', async () => {
    const bad = [`file://${secretFile}`, 'file:///proc/self/environ', 'file:secret.txt', 'FILE:/etc/passwd', 'data:text/html,hi', 'gopher://x/', 'secret.txt']
    const id = await createSite(s, base())
    for (const ref of bad) {
      const config = { ...base(), mailer: { templates: { recovery: ref } } }
      const created = await s.req('/instances', { method: 'POST', headers: OPERATOR, json: { uuid: crypto.randomUUID(), config } })
      expect(created.status).toBe(422)
      expect(await body(created)).toEqual({ code: 422, msg: 'Invalid config: mailer.templates.recovery must be an http(s) URL or a path on site_url' })
      const updated = await s.req(`/instances/${id}`, { method: 'PUT', headers: OPERATOR, json: { config: { mailer: { templates: { recovery: ref } } } } })
      expect(updated.status).toBe(422)
      expect((await body(updated)).msg).toBe('Invalid config: mailer.templates.recovery must be an http(s) URL or a path on site_url')
    }
    const shown = await body(await s.req(`/instances/${id}`, { headers: OPERATOR }))
    expect(((shown.config as Json).mailer as Json).templates).toBeUndefined()
    for (const ref of ['https://files.example.org/mail/recovery.html', '/mail/recovery.html', '']) {
      expect((await s.req(`/instances/${id}`, { method: 'PUT', headers: OPERATOR, json: { config: { mailer: { templates: { recovery: ref } } } } })).status).toBe(200)
    }
  })

  test('a file: template already stored (written before this check) is never read: /recover mails the default', async () => {
    const id = await createSite(s, base())
    const row = await s.db.get<{ raw_base_config: string }>('SELECT raw_base_config FROM {instances} WHERE id = ?', [id])
    const stored = JSON.parse(row?.raw_base_config ?? '{}') as Json
    stored.mailer = { autoconfirm: true, templates: { recovery: `file://${secretFile}`, confirmation: 'file:///proc/self/environ' } }
    await s.db.run('UPDATE {instances} SET raw_base_config = ? WHERE id = ?', [JSON.stringify(stored), id])
    const email = 'reader@example.com'
    expect((await signup(s, id, email)).status).toBe(200)
    expect((await on(s, id, '/recover', { method: 'POST', json: { email } })).status).toBe(200)
    const mail = await smtp.waitForMail(email)
    expect(mail.subject).toBe('Reset Your Password')
    expect(mail.html).toContain('https://files.example.org/#recovery_token=')
    expect(mail.html).not.toContain('SERVER-SIDE-SECRET')
    expect(mail.html).not.toContain('operator-token-for-tests')
  })
})

describe('rate limits are per site', () => {
  test('GOTRUE_RATE_LIMIT_OTP=2: two signups on A use up A\'s budget, not B\'s', async () => {
    const s = await startServer({ env: { ...MULTI, GOTRUE_RATE_LIMIT_OTP: '2' } })
    try {
      const a = await createSite(s, { site_url: 'https://a.example.org', jwt: { secret: 'jwt-secret-of-site-a-long-enough-for-hs256' } })
      const b = await createSite(s, { site_url: 'https://b.example.org', jwt: { secret: 'jwt-secret-of-site-b-long-enough-for-hs256' } })
      const email = 'limited@example.com'
      for (let i = 0; i < 2; i++) expect((await signup(s, a, email)).status).toBe(200)
      const third = await signup(s, a, email)
      expect(third.status).toBe(429)
      expect(await body(third)).toMatchObject({ code: 429, msg: 'Rate limit exceeded' })
      for (let i = 0; i < 2; i++) expect((await signup(s, b, email)).status).toBe(200)
      expect((await signup(s, b, email)).status).toBe(429)
    } finally { await s.stop() }
  })
})
