// External sign-in, provider by provider (spec §7.7, §14 external_test): GET /authorize sends the browser to the
// provider with its scope and (GitHub, GitLab, Google) a PKCE challenge; the callback exchanges the code at the
// provider's token endpoint, reads the profile and emails in each provider's own format, and lands on the site
// with a session in the URL fragment. The providers are one real fake server (tests/fakes/oauth-provider.ts).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { clientId, clientSecret, type FakeProviderName, type OAuthFake, PROVIDERS, REDIRECT_URI, startOAuthFake } from './fakes/oauth-provider.ts'
import { body, form, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { OPERATOR } from './helpers.ts'

const SITE = 'https://example.netlify.com'
const SCOPE: Record<FakeProviderName, string> = { github: 'user:email', gitlab: 'read_user', bitbucket: 'account email', google: 'email profile', facebook: 'email' }
const PKCE: Record<FakeProviderName, boolean> = { github: true, gitlab: true, bitbucket: false, google: true, facebook: false }
const AUTHORIZE_PATH: Record<FakeProviderName, string> = {
  github: '/login/oauth/authorize', gitlab: '/oauth/authorize', bitbucket: '/site/oauth2/authorize', google: '/o/oauth2/auth', facebook: '/dialog/oauth',
}
/** User-data calls per sign-in: profile plus, where the provider has one, the emails endpoint. */
const USER_CALLS: Record<FakeProviderName, ('user' | 'emails')[]> = {
  github: ['user', 'emails'], gitlab: ['user', 'emails'], bitbucket: ['user', 'emails'], google: ['user'], facebook: ['user'],
}

let fake: OAuthFake
beforeAll(async () => { fake = await startOAuthFake() })
afterAll(async () => { await fake.stop() })

const authorize = (s: TestServer, query: string, headers: Record<string, string> = {}) =>
  s.req(`/authorize?${query}`, { redirect: 'manual', headers })
/** Runs /authorize → the fake provider → /callback and returns our callback's response (a 302). */
async function signIn(s: TestServer, p: string, query = '', headers: Record<string, string> = {}): Promise<Response> {
  const res = await authorize(s, `provider=${p}${query}`, headers)
  expect(res.status).toBe(302)
  const back = await fake.approve(res.headers.get('location') ?? '')
  // the browser that started the flow comes back with the state cookie /authorize set
  const cookie = /^(gotrue-oauth-state=[^;]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? ''
  return s.req(`/callback?${new URLSearchParams({ code: back.get('code') ?? '', state: back.get('state') ?? '' })}`, { redirect: 'manual', headers: { cookie } })
}
/** The redirect target and its fragment parameters. */
function landing(res: Response): { url: URL; hash: URLSearchParams } {
  expect(res.status).toBe(302)
  const url = new URL(res.headers.get('location') ?? '')
  return { url, hash: new URLSearchParams(url.hash.slice(1)) }
}
const me = async (s: TestServer, accessToken: string) => body(await s.req('/user', { headers: { authorization: `Bearer ${accessToken}` } }))
const profile = (p: FakeProviderName, id: string, email: string, more: Partial<{ verified: boolean; name: string }> = {}) =>
  fake.setProfile(p, { id, name: more.name ?? 'Ada Lovelace', avatar: `https://avatars.example.com/${id}.png`, emails: [{ email, verified: more.verified ?? true, primary: true }] })

describe('each provider, with signups open', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: fake.env() }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => fake.reset())

  test('/settings reports every provider enabled', async () => {
    expect((await body(await s.req('/settings'))).external).toMatchObject({ github: true, gitlab: true, bitbucket: true, google: true, facebook: true })
  })

  test.each(PROVIDERS)('%s: /authorize redirects to the provider with client_id, redirect_uri, code, scope and state', async (p) => {
    const res = await authorize(s, `provider=${p}`)
    expect(res.status).toBe(302)
    const to = new URL(res.headers.get('location') ?? '')
    expect(`${to.origin}${to.pathname}`).toBe(`${fake.url}/${p}${AUTHORIZE_PATH[p]}`)
    const q = to.searchParams
    expect(q.get('client_id')).toBe(clientId(p))
    expect(q.get('redirect_uri')).toBe(REDIRECT_URI)
    expect(q.get('response_type')).toBe('code')
    expect(q.get('scope')).toBe(SCOPE[p])
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{32,}$/)
    if (PKCE[p]) {
      expect(q.get('code_challenge_method')).toBe('S256')
      expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/)
    } else {
      expect(q.has('code_challenge')).toBe(false)
    }
    // every /authorize gets a fresh state
    const again = new URL((await authorize(s, `provider=${p}`)).headers.get('location') ?? '')
    expect(again.searchParams.get('state')).not.toBe(q.get('state'))
  })

  test.each(PROVIDERS)('%s: the round trip creates a confirmed user and lands on SITE_URL with a session', async (p) => {
    profile(p, `10${PROVIDERS.indexOf(p)}`, `new-${p}@example.com`)
    const { url, hash } = landing(await signIn(s, p))
    expect(`${url.origin}${url.pathname}${url.search}`).toBe(`${SITE}/`)
    expect([...hash.keys()]).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type'])
    expect(hash.get('expires_in')).toBe('3600')
    expect(hash.get('token_type')).toBe('bearer')
    expect(hash.get('refresh_token')).toMatch(/^[A-Za-z0-9_-]+$/)
    const u = await me(s, hash.get('access_token') ?? '')
    expect(u).toMatchObject({
      email: `new-${p}@example.com`, aud: 'api.netlify.com', app_metadata: { provider: p },
      user_metadata: { full_name: 'Ada Lovelace', avatar_url: `https://avatars.example.com/10${PROVIDERS.indexOf(p)}.png` },
    })
    expect(Date.parse(u.confirmed_at as string)).not.toBeNaN()
    // the refresh token works like any other
    const refreshed = await s.req('/token', form({ grant_type: 'refresh_token', refresh_token: hash.get('refresh_token') ?? '' }))
    expect(refreshed.status).toBe(200)

    // exactly one token call and one call per user-data endpoint
    expect(fake.calls(p, 'token')).toHaveLength(1)
    for (const e of USER_CALLS[p]) expect(fake.calls(p, e)).toHaveLength(1)
    const tokenCall = fake.calls(p, 'token')[0]!
    expect(tokenCall.method).toBe('POST')
    expect(tokenCall.headers.accept).toBe('application/json')
    const sent = new URLSearchParams(tokenCall.body)
    expect(sent.get('grant_type')).toBe('authorization_code')
    expect(sent.get('redirect_uri')).toBe(REDIRECT_URI)
    expect(sent.has('code_verifier')).toBe(PKCE[p])
    if (p === 'facebook') {
      expect(tokenCall.query).toEqual({ client_id: clientId(p), client_secret: clientSecret(p) })
    } else {
      expect(tokenCall.headers.authorization).toBe(`Basic ${btoa(`${clientId(p)}:${clientSecret(p)}`)}`)
      expect(sent.has('client_secret')).toBe(false)
    }
  })

  test.each(PROVIDERS)('%s: a returning user (same provider id) is the same user, even with a new email', async (p) => {
    profile(p, `20${PROVIDERS.indexOf(p)}`, `back-${p}@example.com`)
    const first = await me(s, landing(await signIn(s, p)).hash.get('access_token') ?? '')
    profile(p, `20${PROVIDERS.indexOf(p)}`, `moved-${p}@example.com`)
    const second = await me(s, landing(await signIn(s, p)).hash.get('access_token') ?? '')
    expect(second.id).toBe(first.id as string)
    expect(second.email).toBe(`back-${p}@example.com`)
    const rows = await s.db.all('SELECT id FROM {users} WHERE email_key IN (?, ?)', [`back-${p}@example.com`, `moved-${p}@example.com`])
    expect(rows).toHaveLength(1)
  })

  test.each(PROVIDERS)('%s: a token endpoint failure → server_error, nothing created', async (p) => {
    profile(p, `30${PROVIDERS.indexOf(p)}`, `tokenfail-${p}@example.com`)
    fake.fail(p, 'token', 500)
    const { url, hash } = landing(await signIn(s, p))
    expect(`${url.origin}${url.pathname}`).toBe(`${SITE}/`)
    expect(Object.fromEntries(hash)).toEqual({ error: 'server_error', error_description: `Unable to exchange external code for ${p} provider` })
    expect(fake.calls(p, 'user')).toHaveLength(0)
    expect(await s.db.all('SELECT id FROM {users} WHERE email_key = ?', [`tokenfail-${p}@example.com`])).toHaveLength(0)
  })

  test.each(PROVIDERS)('%s: a user endpoint failure → server_error / Error getting user email', async (p) => {
    profile(p, `40${PROVIDERS.indexOf(p)}`, `userfail-${p}@example.com`)
    fake.fail(p, 'user', 418, 'Something failed')
    const { hash } = landing(await signIn(s, p))
    expect(Object.fromEntries(hash)).toEqual({ error: 'server_error', error_description: 'Error getting user email from external provider' })
    expect(await s.db.all('SELECT id FROM {users} WHERE email_key = ?', [`userfail-${p}@example.com`])).toHaveLength(0)
  })

  test.each(PROVIDERS)('%s: a profile without any email → server_error / Error getting user email', async (p) => {
    fake.setProfile(p, { id: `50${PROVIDERS.indexOf(p)}`, name: 'No Mail', emails: [] })
    const { hash } = landing(await signIn(s, p))
    expect(Object.fromEntries(hash)).toEqual({ error: 'server_error', error_description: 'Error getting user email from external provider' })
  })

  // Facebook only ever returns confirmed emails (an unconfirmed one is simply absent: the no-email case above).
  test.each(PROVIDERS.filter((p) => p !== 'facebook'))('%s: an email the provider has not verified → an unconfirmed account, a confirmation mail, no session', async (p) => {
    const email = `unverified-${p}@example.com`
    profile(p, `55${PROVIDERS.indexOf(p)}`, email, { verified: false })
    const back = await signIn(s, p)
    const { url, hash } = landing(back)
    expect(url.toString()).toBe(`${SITE}/`)
    expect([...hash.keys()]).toEqual([])
    const rows = await s.db.all<{ confirmed_at: string | null }>('SELECT confirmed_at FROM {users} WHERE email_key = ?', [email])
    expect(rows).toEqual([{ confirmed_at: null }])
    const token = tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')
    // answered in the browser that signed in (its held sign-in cookie), the mail keeps the provider's link
    const cookie = back.headers.getSetCookie().map((c) => c.split(';')[0] ?? '').filter((c) => c.startsWith('__Host-gotrue-held-')).join('; ')
    expect(cookie).not.toBe('')
    const confirmed = await body(await s.req('/verify', { method: 'POST', json: { type: 'signup', token }, headers: { cookie } }))
    expect(await me(s, confirmed.access_token as string)).toMatchObject({ email, app_metadata: { provider: p } })
  })

  test('GitHub: an existing account is found through a verified non-primary email', async () => {
    await s.req('/signup', { method: 'POST', json: { email: 'second@example.com', password: 'password-1' } })
    const token = tokenFromMail(await s.smtp.waitForMail('second@example.com'), 'confirmation_token')
    const confirmed = await body(await s.req('/verify', { method: 'POST', json: { type: 'signup', token } }))
    const existing = await me(s, confirmed.access_token as string)
    fake.setProfile('github', {
      id: '601', name: 'Two Mails', emails: [
        { email: 'first@example.com', verified: true, primary: true }, { email: 'second@example.com', verified: true, primary: false },
      ],
    })
    const u = await me(s, landing(await signIn(s, 'github')).hash.get('access_token') ?? '')
    expect(u.id).toBe(existing.id as string)
    expect(u.app_metadata).toEqual({ provider: 'email' })
  })

  test('the provider name is matched case-insensitively (stored lower-case)', async () => {
    profile('github', '701', 'mixedcase@example.com')
    const u = await me(s, landing(await signIn(s, 'GitHub')).hash.get('access_token') ?? '')
    expect(u.app_metadata).toEqual({ provider: 'github' })
  })
})

describe('each provider, with GOTRUE_DISABLE_SIGNUP', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...fake.env(), GOTRUE_DISABLE_SIGNUP: 'true' } }) })
  afterAll(async () => { await s.stop() })

  test.each(PROVIDERS)('%s: an unknown email → access_denied / Signups not allowed, no user', async (p) => {
    profile(p, `80${PROVIDERS.indexOf(p)}`, `stranger-${p}@example.com`)
    const { hash } = landing(await signIn(s, p))
    expect(Object.fromEntries(hash)).toEqual({ error: 'access_denied', error_description: 'Signups not allowed for this instance' })
    expect(await s.db.all('SELECT id FROM {users} WHERE email_key = ?', [`stranger-${p}@example.com`])).toHaveLength(0)
  })

  test.each(PROVIDERS)('%s: an existing (invited, unconfirmed) user with the verified email still signs in', async (p) => {
    const email = `member-${p}@example.com`
    const invited = await body(await s.req('/invite', { method: 'POST', json: { email }, headers: OPERATOR }))
    profile(p, `90${PROVIDERS.indexOf(p)}`, email.toUpperCase())
    const { hash } = landing(await signIn(s, p))
    expect(hash.get('error')).toBeNull()
    const u = await me(s, hash.get('access_token') ?? '')
    expect(u.id).toBe(invited.id as string)
    expect(Date.parse(u.confirmed_at as string)).not.toBeNaN()
  })
})

describe('provider configuration errors', () => {
  let s: TestServer
  beforeAll(async () => {
    const env = fake.env()
    s = await startServer({
      env: {
        ...env, GOTRUE_EXTERNAL_GITHUB_ENABLED: 'false', GOTRUE_EXTERNAL_GITLAB_CLIENT_ID: '',
        GOTRUE_EXTERNAL_BITBUCKET_SECRET: '', GOTRUE_EXTERNAL_GOOGLE_REDIRECT_URI: '',
      },
    })
  })
  afterAll(async () => { await s.stop() })

  test.each([
    ['external', 'Unsupported provider: Provider external could not be found'],
    ['', 'Unsupported provider: Provider  could not be found'],
    ['constructor', 'Unsupported provider: Provider constructor could not be found'],
    ['__proto__', 'Unsupported provider: Provider __proto__ could not be found'],
    ['github', 'Unsupported provider: Provider is not enabled'],
    ['gitlab', 'Unsupported provider: Missing Oauth client ID'],
    ['bitbucket', 'Unsupported provider: Missing Oauth secret'],
    ['google', 'Unsupported provider: Missing redirect URI'],
  ])('provider=%p → 400 %s', async (p, msg) => {
    const res = await authorize(s, `provider=${p}`)
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg })
    expect(await s.db.all('SELECT id FROM {flow_states}')).toHaveLength(0)
  })

  test('a complete provider still works next to broken ones', async () => {
    expect((await authorize(s, 'provider=facebook')).status).toBe(302)
  })
})
