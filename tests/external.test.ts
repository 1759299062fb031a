// External sign-in: the OAuth state, where the callback lands, errors, account linking, invites and the PKCE code
// flow (spec §7.7, §14 external_test and invite_test External parts). Our deliberate differences from the
// reference (the headers of features/authorize.ts, features/callback.ts and lib/oauth-flow.ts): the state is a
// random single-use server-side value (not a JWT signed with the operator token), so tampering, replay and expiry
// are all refused; existing accounts are linked only by a VERIFIED provider email (also with autoconfirm) and the
// link is stored; an unverified email never reaches an existing account (access_denied / Email from external
// provider is not verified; a new account from one: tests/external-unverified.test.ts); an unconfirmed password
// account confirmed through a provider loses its password; invite acceptance needs a verified matching email.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { type FakeEmail, type FakeProviderName, type OAuthFake, startOAuthFake } from './fakes/oauth-provider.ts'
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.ts'
import { body, form, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { login, newUser, OPERATOR } from './helpers.ts'

const SITE = 'https://example.netlify.com'

let fake: OAuthFake
beforeAll(async () => { fake = await startOAuthFake() })
afterAll(async () => { await fake.stop() })

const authorize = (s: TestServer, query: string, headers: Record<string, string> = {}) =>
  s.req(`/authorize?${query}`, { redirect: 'manual', headers })
/** The browser's side of each flow: the state cookie /authorize set, by the state it goes with. */
const jar = new Map<string, string>()
const stateCookie = (res: Response) => /^(gotrue-oauth-state=[^;]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? ''
/** /authorize → the fake provider: the parameters the provider sends back to /callback (code and state). */
async function begin(s: TestServer, query: string, headers: Record<string, string> = {}): Promise<URLSearchParams> {
  const res = await authorize(s, query, headers)
  if (res.status !== 302) throw new Error(`/authorize ${query}: ${res.status} ${await res.text()}`)
  const back = await fake.approve(res.headers.get('location') ?? '')
  jar.set(back.get('state') ?? '', stateCookie(res))
  return back
}
/** The provider's redirect back, from the browser that started the flow (it carries that flow's cookie). */
const callback = (s: TestServer, params: URLSearchParams) =>
  s.req(`/callback?${params}`, { redirect: 'manual', headers: { cookie: jar.get(params.get('state') ?? '') ?? '' } })
const signIn = async (s: TestServer, query: string, headers: Record<string, string> = {}) => callback(s, await begin(s, query, headers))
/** The redirect target and its fragment parameters. */
function landing(res: Response): { url: URL; hash: Record<string, string> } {
  expect(res.status).toBe(302)
  const url = new URL(res.headers.get('location') ?? '')
  return { url, hash: Object.fromEntries(new URLSearchParams(url.hash.slice(1))) }
}
const me = async (s: TestServer, accessToken: string | undefined) =>
  body(await s.req('/user', { headers: { authorization: `Bearer ${accessToken}` } }))
const emails = (...list: [string, boolean][]): FakeEmail[] => list.map(([email, verified], i) => ({ email, verified, primary: i === 0 }))
const profile = (p: FakeProviderName, id: string, list: FakeEmail[]) =>
  fake.setProfile(p, { id, name: 'Grace Hopper', avatar: `https://avatars.example.com/${id}.png`, emails: list })
const usersWith = (s: TestServer, email: string) => s.db.all<{ id: string }>('SELECT id FROM {users} WHERE email_key = ?', [email.toLowerCase()])
const identitiesOf = (s: TestServer, userId: string) =>
  s.db.all<{ provider: string; provider_id: string }>('SELECT provider, provider_id FROM {identities} WHERE user_id = ?', [userId])
const s256 = (v: string) => createHash('sha256').update(v).digest('base64url')

describe('/callback: state, errors and where it lands', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: fake.env() }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => { fake.reset(); s.clock.reset() })

  test('a Referer on the site host is where the session lands; another host is ignored', async () => {
    profile('github', '1', emails(['referer@example.com', true]))
    const admin = landing(await signIn(s, 'provider=github', { referer: `${SITE}/admin?tab=users` }))
    expect(`${admin.url.origin}${admin.url.pathname}${admin.url.search}`).toBe(`${SITE}/admin?tab=users`)
    expect(admin.hash.access_token).toBeString()
    for (const referer of ['https://evil.example.org/admin', 'not a url', `${SITE}/${'x'.repeat(3000)}`]) {
      const other = landing(await signIn(s, 'provider=github', { referer }))
      expect(`${other.url.origin}${other.url.pathname}`).toBe(`${SITE}/`)
      expect(other.hash.access_token).toBeString()
    }
  })

  test('a Referer with another scheme, port, userinfo or odd syntax → the session lands on SITE_URL', async () => {
    profile('github', '11', emails(['strict-referer@example.com', true]))
    for (const referer of [
      'http://example.netlify.com:9999/x', 'http://example.netlify.com/x', 'https://example.netlify.com:8443/x',
      'javascript://example.netlify.com/%0aalert(document.cookie)', 'data://example.netlify.com/x', '//example.netlify.com/x',
      'https://example.netlify.com@evil.example.org/x', 'https://user:pw@example.netlify.com/x', 'https://example.netlify.com\\@evil.example.org/x',
      'https://example.netlify.com.evil.example.org/x',
    ]) {
      const { url, hash } = landing(await signIn(s, 'provider=github', { referer }))
      expect([referer, url.toString().replace(/#.*$/, '')]).toEqual([referer, `${SITE}/`])
      expect(hash.access_token).toBeString()
    }
    // the default port spelled out is the same origin
    const same = landing(await signIn(s, 'provider=github', { referer: 'https://example.netlify.com:443/account' }))
    expect(same.url.toString().replace(/#.*$/, '')).toBe(`${SITE}/account`)
  })

  test('the state cookie /authorize sets: HttpOnly, SameSite=Lax, Secure (https callback), scoped to the callback path, short-lived', async () => {
    const res = await authorize(s, 'provider=github')
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^gotrue-oauth-state=[A-Za-z0-9_-]{20,};/)
    const attrs = cookie.split(';').slice(1).map((a) => a.trim())
    expect(attrs).toContain('HttpOnly')
    expect(attrs).toContain('SameSite=Lax')
    expect(attrs).toContain('Secure')
    expect(attrs).toContain('Path=/.netlify/identity/callback') // the path of GOTRUE_EXTERNAL_*_REDIRECT_URI
    expect(attrs).toContain('Max-Age=300')
    // the value is not the state itself (a leaked callback URL does not give the cookie)
    const state = new URL(res.headers.get('location') ?? '').searchParams.get('state') ?? ''
    expect(cookie).not.toContain(state)
  })

  test('a callback from another browser (no state cookie, or another flow\'s) → no session; the owner\'s browser still signs in', async () => {
    profile('github', '12', emails(['bound@example.com', true]))
    const back = await begin(s, 'provider=github', { referer: `${SITE}/login` })
    const other = await begin(s, 'provider=github')
    for (const cookie of ['', jar.get(other.get('state') ?? '') ?? '', 'gotrue-oauth-state=forged']) {
      const res = await s.req(`/callback?${back}`, { redirect: 'manual', headers: { cookie } })
      const { url, hash } = landing(res)
      expect(`${url.origin}${url.pathname}`).toBe(`${SITE}/login`)
      expect(hash).toEqual({ error: 'invalid_request', error_description: 'OAuth state does not belong to this browser' })
      expect(url.search).toBe('')
    }
    expect(fake.calls('github', 'token')).toHaveLength(0)
    expect(await usersWith(s, 'bound@example.com')).toHaveLength(0)
    const ok = await callback(s, back)
    expect((await me(s, landing(ok).hash.access_token)).email).toBe('bound@example.com')
    // the cookie is cleared by the callback that used it
    expect(ok.headers.get('set-cookie') ?? '').toMatch(/^gotrue-oauth-state=;.*Max-Age=0/)
  })

  test('the provider refusing → its error and description in the fragment, at the referrer', async () => {
    fake.denyNext('gitlab', 'access_denied', 'The resource owner denied the request.')
    const back = await begin(s, 'provider=gitlab', { referer: `${SITE}/login` })
    expect(back.get('code')).toBeNull()
    const { url, hash } = landing(await callback(s, back))
    expect(`${url.origin}${url.pathname}`).toBe(`${SITE}/login`)
    expect(hash).toEqual({ error: 'access_denied', error_description: 'The resource owner denied the request.' })
    expect(fake.calls('gitlab', 'token')).toHaveLength(0)
  })

  test('no code → invalid_request / Authorization code missing', async () => {
    const back = await begin(s, 'provider=github')
    back.delete('code')
    expect(landing(await callback(s, back)).hash).toEqual({ error: 'invalid_request', error_description: 'Authorization code missing' })
  })

  test('no state → 400 JSON OAuth state parameter missing', async () => {
    for (const res of [await s.req('/callback?code=abc', { redirect: 'manual' }), await s.req('/callback', { method: 'POST', redirect: 'manual' })]) {
      expect(res.status).toBe(400)
      expect(res.headers.get('content-type')).toContain('application/json')
      expect(await body(res)).toEqual({ code: 400, msg: 'OAuth state parameter missing' })
    }
  })

  test('a tampered or unknown state → 400 OAuth state is invalid', async () => {
    const back = await begin(s, 'provider=github')
    for (const state of [`${back.get('state')}x`, 'eyJhbGciOiJIUzI1NiJ9.eyJwcm92aWRlciI6ImdpdGh1YiJ9.c2ln']) {
      const res = await callback(s, new URLSearchParams({ code: back.get('code') ?? '', state }))
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual({ code: 400, msg: 'OAuth state is invalid: unknown or already used state' })
    }
    expect(fake.calls('github', 'token')).toHaveLength(0)
  })

  test('a replayed callback → 400 the second time; the code is exchanged once', async () => {
    profile('google', '2', emails(['replay@example.com', true]))
    const back = await begin(s, 'provider=google')
    expect(landing(await callback(s, back)).hash.access_token).toBeString()
    const again = await callback(s, back)
    expect(again.status).toBe(400)
    expect(await body(again)).toEqual({ code: 400, msg: 'OAuth state is invalid: unknown or already used state' })
    expect(fake.calls('google', 'token')).toHaveLength(1)
  })

  test('a state older than 5 minutes → 400 OAuth state is invalid', async () => {
    profile('github', '3', emails(['late@example.com', true]))
    const back = await begin(s, 'provider=github')
    s.clock.advance(6 * 60)
    const res = await callback(s, back)
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: 'OAuth state is invalid: state is expired' })
    expect(fake.calls('github', 'token')).toHaveLength(0)
    expect(await usersWith(s, 'late@example.com')).toHaveLength(0)
  })

  test('POST /callback with a form body works like GET', async () => {
    profile('bitbucket', '4', emails(['posted@example.com', true]))
    const back = await begin(s, 'provider=bitbucket')
    const post = form(Object.fromEntries(back))
    const res = await s.req('/callback', { ...post, redirect: 'manual', headers: { ...post.headers, cookie: jar.get(back.get('state') ?? '') ?? '' } })
    expect((await me(s, landing(res).hash.access_token)).email).toBe('posted@example.com')
  })
})

describe('with GOTRUE_URI_ALLOW_LIST', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { ...fake.env(), GOTRUE_URI_ALLOW_LIST: 'https://app.example.org/**, https://*.preview.example.net/callback,*://any.example.org/*' } })
  })
  afterAll(async () => { await s.stop() })

  test.each([
    ['https://app.example.org/deep/path?tab=1', 'https://app.example.org/deep/path?tab=1'],
    ['https://app.example.org', 'https://app.example.org/'],
    ['https://pr-7.preview.example.net/callback', 'https://pr-7.preview.example.net/callback'],
    ['https://any.example.org/x', 'https://any.example.org/x'],
    [`${SITE}/still-fine`, `${SITE}/still-fine`],
  ])('Referer %s is allowed', async (referer, lands) => {
    profile('gitlab', '21', emails(['allowed@example.com', true]))
    const { url, hash } = landing(await signIn(s, 'provider=gitlab', { referer }))
    expect(url.toString().replace(/#.*$/, '')).toBe(lands)
    expect(hash.access_token).toBeString()
  })

  test.each([
    'http://app.example.org/deep', 'https://app.example.org.evil.example.com/', 'https://a.b.preview.example.net/callback',
    'https://pr-7.preview.example.net/callback/more', 'https://evil.example.com/https://app.example.org/', 'javascript://any.example.org/x',
    'https://app.example.org@evil.example.com/', 'data://any.example.org/x',
  ])('Referer %s is not allowed → SITE_URL', async (referer) => {
    profile('gitlab', '22', emails(['refused@example.com', true]))
    const { url, hash } = landing(await signIn(s, 'provider=gitlab', { referer }))
    expect(url.toString().replace(/#.*$/, '')).toBe(`${SITE}/`)
    expect(hash.access_token).toBeString()
  })
})

describe('concurrent first sign-ins with one provider account', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: fake.env() }) })
  afterAll(async () => { await s.stop() })

  test('4 parallel callbacks for one new user, 5 rounds → all land with a session of the same single user', async () => {
    for (let round = 0; round < 5; round++) {
      const email = `race-${round}@example.com`
      profile('github', `race-${round}`, emails([email, true]))
      const flows = await Promise.all([1, 2, 3, 4].map(() => begin(s, 'provider=github')))
      const responses = await Promise.all(flows.map((back) => callback(s, back)))
      expect(responses.map((r) => r.status)).toEqual([302, 302, 302, 302])
      const hashes = responses.map((r) => landing(r).hash)
      expect(hashes.map((h) => h.error_description ?? 'ok')).toEqual(['ok', 'ok', 'ok', 'ok'])
      const ids = await Promise.all(hashes.map(async (h) => (await me(s, h.access_token)).id))
      const rows = await usersWith(s, email)
      expect(rows).toHaveLength(1)
      expect(ids).toEqual([rows[0]?.id, rows[0]?.id, rows[0]?.id, rows[0]?.id])
      expect(await identitiesOf(s, rows[0]?.id ?? '')).toEqual([{ provider: 'github', provider_id: `race-${round}` }])
    }
  })

  test('4 parallel first sign-ins linking one existing account → one identity, the same user everywhere', async () => {
    const id = (await newUser(s, { email: 'race-link@example.com', password: 'password-1' })).id
    profile('gitlab', 'race-link', emails(['race-link@example.com', true]))
    const flows = await Promise.all([1, 2, 3, 4].map(() => begin(s, 'provider=gitlab')))
    const responses = await Promise.all(flows.map((back) => callback(s, back)))
    const ids = await Promise.all(responses.map(async (r) => (await me(s, landing(r).hash.access_token)).id))
    expect(ids).toEqual([id, id, id, id])
    expect(await identitiesOf(s, id)).toEqual([{ provider: 'gitlab', provider_id: 'race-link' }])
  })
})

describe('concurrent first sign-ins with webhooks', () => {
  let s: TestServer
  let hooks: WebhookReceiver
  beforeAll(async () => {
    hooks = startWebhookReceiver()
    s = await startServer({ env: { ...fake.env(), GOTRUE_WEBHOOK_URL: hooks.url, GOTRUE_WEBHOOK_EVENTS: 'validate,signup,login', GOTRUE_WEBHOOK_ALLOW_LOCAL: 'true' } })
  })
  afterAll(async () => { await s.stop(); await hooks.stop() })

  test('the sign-ins that lost the race are reported as logins of the user that won, with its hook reply applied', async () => {
    profile('github', 'race-hooks', emails(['race-hooks@example.com', true]))
    hooks.setDefault({ body: { app_metadata: { plan: 'pro' } } })
    const flows = await Promise.all([1, 2, 3, 4].map(() => begin(s, 'provider=github')))
    const responses = await Promise.all(flows.map((back) => callback(s, back)))
    const users = await Promise.all(responses.map(async (r) => me(s, landing(r).hash.access_token)))
    const winner = users[0]?.id as string
    expect(users.map((u) => [u.id, (u.app_metadata as Record<string, unknown>).plan])).toEqual([1, 2, 3, 4].map(() => [winner, 'pro']))
    const events = hooks.calls.map((c) => c.json<{ event: string; user: { id: string } }>())
    const logins = events.filter((e) => e.event === 'login')
    expect(logins.map((e) => e.user.id)).toEqual([1, 2, 3].map(() => winner))
    expect(events.filter((e) => e.event === 'signup').map((e) => e.user.id)).toContain(winner)
  })
})

describe('linking to existing accounts (autoconfirm off)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: fake.env() }) })
  afterAll(async () => { await s.stop() })

  test('a VERIFIED provider email signs in the confirmed password user (any case), and the link is stored', async () => {
    const id = (await newUser(s, { email: 'Linked@Example.com', password: 'password-1' })).id
    profile('github', '1001', emails(['linked@EXAMPLE.com', true]))
    const u = await me(s, landing(await signIn(s, 'provider=github')).hash.access_token)
    expect(u).toMatchObject({ id, email: 'Linked@Example.com', app_metadata: { provider: 'email' } })
    expect(await identitiesOf(s, id)).toEqual([{ provider: 'github', provider_id: '1001' }])
    // remembered by provider id: the next sign-in finds the account even after the GitHub email changed
    profile('github', '1001', emails(['renamed@example.com', true]))
    expect((await me(s, landing(await signIn(s, 'provider=github')).hash.access_token)).id).toBe(id)
    expect(await usersWith(s, 'renamed@example.com')).toHaveLength(0)
    expect((await login(s, 'linked@example.com', 'password-1')).status).toBe(200)
  })

  test('an UNVERIFIED matching email links nothing and creates nothing', async () => {
    const id = (await newUser(s, { email: 'victim@example.com', password: 'password-1' })).id
    profile('gitlab', '1002', emails(['victim@example.com', false]))
    const { hash } = landing(await signIn(s, 'provider=gitlab'))
    expect(hash).toEqual({ error: 'access_denied', error_description: 'Email from external provider is not verified' })
    expect(await identitiesOf(s, id)).toEqual([])
    expect(await usersWith(s, 'victim@example.com')).toHaveLength(1)
  })

  test('an unconfirmed password account confirmed through a provider loses the old password', async () => {
    const id = (await newUser(s, { email: 'prehijack@example.com', password: 'attacker-password', confirm: false })).id
    profile('google', '1003', emails(['prehijack@example.com', true]))
    const u = await me(s, landing(await signIn(s, 'provider=google')).hash.access_token)
    expect(u.id).toBe(id)
    expect(Date.parse(u.confirmed_at as string)).not.toBeNaN()
    const res = await login(s, 'prehijack@example.com', 'attacker-password')
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: 'No user found with that email, or password invalid.' })
  })
})

describe('with GOTRUE_MAILER_AUTOCONFIRM, GOTRUE_EXTERNAL_REDIRECTURL and a Referer', () => {
  let s: TestServer
  const AFTER = 'https://app.example.org/after-login'
  beforeAll(async () => { s = await startServer({ env: { ...fake.env(), GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_EXTERNAL_REDIRECTURL: AFTER } }) })
  afterAll(async () => { await s.stop() })

  test('unverified emails still link nothing and create nothing; errors land on EXTERNAL_REDIRECTURL', async () => {
    const id = (await newUser(s, { email: 'auto@example.com', password: 'password-1' })).id
    profile('gitlab', '2001', emails(['auto@example.com', false], ['fresh-unverified@example.com', false]))
    const { url, hash } = landing(await signIn(s, 'provider=gitlab', { referer: `${SITE}/admin` }))
    expect(`${url.origin}${url.pathname}`).toBe(AFTER)
    expect(hash).toEqual({ error: 'access_denied', error_description: 'Email from external provider is not verified' })
    expect(await identitiesOf(s, id)).toEqual([])
    expect(await usersWith(s, 'fresh-unverified@example.com')).toHaveLength(0)
  })

  test('a session lands on EXTERNAL_REDIRECTURL even with a Referer on the site host', async () => {
    profile('facebook', '2002', emails(['redirected@example.com', true]))
    const { url, hash } = landing(await signIn(s, 'provider=facebook', { referer: `${SITE}/admin` }))
    expect(`${url.origin}${url.pathname}`).toBe(AFTER)
    expect((await me(s, hash.access_token)).email).toBe('redirected@example.com')
  })
})

describe('accepting an invite through a provider', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: fake.env() }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => { fake.reset(); s.clock.reset() })

  async function invited(email: string): Promise<{ id: string; token: string }> {
    const res = await s.req('/invite', { method: 'POST', json: { email }, headers: OPERATOR })
    expect(res.status).toBe(200)
    return { id: (await body(res)).id as string, token: tokenFromMail(await s.smtp.waitForMail(email), 'invite_token') }
  }

  test('gitlab: /authorize with invite_token → callback → session; user confirmed with provider metadata', async () => {
    const { id, token } = await invited('invitee@example.com')
    profile('gitlab', '3001', emails(['Invitee@example.com', true]))
    const { hash } = landing(await signIn(s, `provider=gitlab&invite_token=${token}`))
    expect(Object.keys(hash)).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type'])
    expect(hash).toMatchObject({ expires_in: '3600', token_type: 'bearer' })
    const u = await me(s, hash.access_token)
    expect(u).toMatchObject({
      id, email: 'invitee@example.com', app_metadata: { provider: 'gitlab' },
      user_metadata: { full_name: 'Grace Hopper', avatar_url: 'https://avatars.example.com/3001.png' },
    })
    expect(Date.parse(u.confirmed_at as string)).not.toBeNaN()
    expect(fake.calls('gitlab', 'token')).toHaveLength(1)
    expect(fake.calls('gitlab', 'user')).toHaveLength(1)
    // the invite is used up
    const reuse = await s.req('/verify', { method: 'POST', json: { type: 'signup', token, password: 'password-1' } })
    expect(reuse.status).toBe(404)
  })

  test('a pending signup confirmed through a provider with its confirmation token loses the signup password', async () => {
    // the signup password may be someone else's: anyone can sign up an address they do not own
    const email = 'pending-via-provider@example.com'
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'attacker-pass' } })).status).toBe(200)
    const token = tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')
    profile('gitlab', '3101', emails([email, true]))
    const { hash } = landing(await signIn(s, `provider=gitlab&invite_token=${token}`))
    expect((await me(s, hash.access_token)).email).toBe(email)
    const grant = await s.req('/token', form({ grant_type: 'password', username: email, password: 'attacker-pass' }))
    expect(grant.status).toBe(400)
  })

  test('an unknown invite token → 404 User not found, no redirect', async () => {
    const res = await authorize(s, 'provider=gitlab&invite_token=no-such-invite-token')
    expect(res.status).toBe(404)
    expect(await body(res)).toEqual({ code: 404, msg: 'User not found' })
  })

  test('an expired invite (older than 7 days) cannot be accepted through a provider either', async () => {
    const { token } = await invited('slowpoke@example.com')
    s.clock.advance(8 * 86400)
    const res = await authorize(s, `provider=gitlab&invite_token=${token}`)
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg: 'Confirmation token expired' })
  })

  test.each([
    ['a different email', (invitee: string): FakeEmail[] => emails(['someone-else@example.com', true], [invitee, false])],
    ['the same email, unverified', (invitee: string): FakeEmail[] => emails([invitee, false])],
  ])('%s at the provider → invalid_request, invitee stays unconfirmed', async (label, list) => {
    const email = `mismatch-${label.length}@example.com`
    const { id, token } = await invited(email)
    profile('gitlab', `30${label.length}`, list(email))
    const { hash } = landing(await signIn(s, `provider=gitlab&invite_token=${token}`))
    expect(hash).toEqual({ error: 'invalid_request', error_description: 'Invited email does not match emails from external provider' })
    const row = await s.db.get<{ confirmed_at: string | null }>('SELECT confirmed_at FROM {users} WHERE id = ?', [id])
    expect(row?.confirmed_at).toBeNull()
    expect(await usersWith(s, 'someone-else@example.com')).toHaveLength(0)
  })
})

describe('PKCE code flow: ?code= for the authorization_code grant of POST /token', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: fake.env() }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => s.clock.reset())

  const verifier = () => randomBytes(32).toString('base64url')
  const exchange = (code: string, codeVerifier: string) =>
    s.req('/token', form({ grant_type: 'authorization_code', code, code_verifier: codeVerifier }))
  /** Signs in with a code_challenge; returns the one-time code from the landing URL's query. */
  async function codeFor(v: string, email: string, method = 'S256'): Promise<string> {
    profile('github', `4${email.length}`, emails([email, true]))
    const challenge = method === 'S256' ? s256(v) : v
    const { url, hash } = landing(await signIn(s, `provider=github&code_challenge=${challenge}&code_challenge_method=${method}`))
    expect(`${url.origin}${url.pathname}`).toBe(`${SITE}/`)
    expect(hash).toEqual({})
    expect([...url.searchParams.keys()]).toEqual(['code'])
    return url.searchParams.get('code') ?? ''
  }

  test('the code and the verifier → 200 token response; the code works once', async () => {
    const v = verifier()
    const code = await codeFor(v, 'pkce@example.com')
    const res = await exchange(code, v)
    expect(res.status).toBe(200)
    const t = await body(res)
    expect(Object.keys(t).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type'])
    expect(t).toMatchObject({ token_type: 'bearer', expires_in: 3600 })
    expect((await me(s, t.access_token as string)).email).toBe('pkce@example.com')
    const again = await exchange(code, v)
    expect(again.status).toBe(400)
    expect(await body(again)).toMatchObject({ error: 'invalid_grant' })
  })

  test('a wrong verifier → 400 invalid_grant', async () => {
    const code = await codeFor(verifier(), 'pkce-wrong@example.com')
    const res = await exchange(code, verifier())
    expect(res.status).toBe(400)
    expect(await body(res)).toMatchObject({ error: 'invalid_grant' })
  })

  test('after GOTRUE_EXTERNAL_AUTH_CODE_LIFETIME (5 minutes) → invalid_grant', async () => {
    const v = verifier()
    const code = await codeFor(v, 'pkce-late@example.com')
    s.clock.advance(6 * 60)
    const res = await exchange(code, v)
    expect(res.status).toBe(400)
    expect(await body(res)).toMatchObject({ error: 'invalid_grant' })
  })

  test.each([
    ['code_challenge_method=plain', `code_challenge=${'a'.repeat(43)}&code_challenge_method=plain`, 'Unsupported code_challenge_method: plain'],
    ['no method (plain by default)', `code_challenge=${'a'.repeat(43)}`, 'Unsupported code_challenge_method: plain'],
    ['an unknown method', `code_challenge=${'a'.repeat(43)}&code_challenge_method=S512`, 'Unsupported code_challenge_method: s512'],
    ['a short challenge', 'code_challenge=abc&code_challenge_method=S256', 'code_challenge must be 43 to 128 characters of [A-Za-z0-9._~-]'],
    ['a challenge with bad characters', `code_challenge=${'a'.repeat(42)}%2B&code_challenge_method=S256`, 'code_challenge must be 43 to 128 characters of [A-Za-z0-9._~-]'],
  ])('%s → 400', async (_label, query, msg) => {
    const res = await authorize(s, `provider=github&${query}`)
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg })
  })
})

describe('PKCE with GOTRUE_EXTERNAL_PKCE_PLAIN_ENABLED', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...fake.env(), GOTRUE_EXTERNAL_PKCE_PLAIN_ENABLED: 'true' } }) })
  afterAll(async () => { await s.stop() })

  test('code_challenge_method=plain: the verifier equals the challenge', async () => {
    const v = 'plain-verifier-plain-verifier-plain-verifier-0123'
    profile('gitlab', '5001', emails(['plain@example.com', true]))
    const { url } = landing(await signIn(s, `provider=gitlab&code_challenge=${v}&code_challenge_method=plain`))
    const code = url.searchParams.get('code') ?? ''
    expect((await s.req('/token', form({ grant_type: 'authorization_code', code, code_verifier: `${v}x` }))).status).toBe(400)
    const code2 = landing(await signIn(s, `provider=gitlab&code_challenge=${v}&code_challenge_method=plain`)).url.searchParams.get('code') ?? ''
    const res = await s.req('/token', form({ grant_type: 'authorization_code', code: code2, code_verifier: v }))
    expect(res.status).toBe(200)
    expect((await me(s, (await body(res)).access_token as string)).email).toBe('plain@example.com')
  })
})

describe('with GOTRUE_EXTERNAL_EMAIL_DISABLED (provider sign-in only)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...fake.env(), GOTRUE_EXTERNAL_EMAIL_DISABLED: 'true' } }) })
  afterAll(async () => { await s.stop() })

  test('external sign-in works, and so does the PKCE code exchange (only email/password is off)', async () => {
    profile('google', '6001', emails(['noemail-login@example.com', true]))
    expect(landing(await signIn(s, 'provider=google')).hash.access_token).toBeString()
    const v = randomBytes(32).toString('base64url')
    const { url } = landing(await signIn(s, `provider=google&code_challenge=${s256(v)}&code_challenge_method=S256`))
    const res = await s.req('/token', form({ grant_type: 'authorization_code', code: url.searchParams.get('code') ?? '', code_verifier: v }))
    expect(res.status).toBe(200)
    expect(await body(await login(s, 'noemail-login@example.com', 'anything'))).toEqual({ code: 400, msg: 'Unsupported email provider' })
  })
})
