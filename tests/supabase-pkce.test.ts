// PKCE with @supabase/auth-js (`flowType: 'pkce'`), unmodified, against the real server: the signup confirmation,
// magic link and recovery mails land on the allowed redirect (or SITE_URL) with ?code=, and signInWithOAuth's
// callback does too; exchangeCodeForSession (POST /token grant_type=pkce) turns the code into a session with the
// verifier only the asking client holds. Then the attacks: a wrong verifier, a reused, expired or foreign code, a
// code through POST /verify, concurrent exchanges, plain challenges, redirects off the allow-list.
import { AuthClient } from '@supabase/auth-js'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { type OAuthFake, startOAuthFake } from './fakes/oauth-provider.ts'
import type { CapturedMail } from './fakes/smtp.ts'
import { body, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { confirmedUser, freshEmail, OPERATOR, PASSWORD } from './helpers.ts'

const SITE = 'https://example.netlify.com'
const ALLOWED = 'https://app.example.org/auth/callback'
const SB = { 'x-supabase-api-version': '2024-01-01' }

/** A client as a browser app makes one with PKCE: its own storage (the verifier waits there for the code). */
function client(s: TestServer, flowType: 'pkce' | 'implicit' = 'pkce') {
  const store = new Map<string, string>()
  const auth = new AuthClient({
    url: s.url, autoRefreshToken: false, persistSession: true, detectSessionInUrl: false, flowType,
    storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v), removeItem: (k) => void store.delete(k) },
  })
  return Object.assign(auth, { store })
}

/** The mail's link, with `&amp;` undone. */
const linkOf = (mail: CapturedMail): URL => {
  const href = /href="([^"]+)"/.exec(mail.html)?.[1]
  if (!href) throw new Error(`no link in mail "${mail.subject}"`)
  return new URL(href.replace(/&amp;/g, '&'))
}
/** The ?code= of a PKCE mail, checking that the link is `landing?code=…` and carries nothing else. */
function codeOf(mail: CapturedMail, landing: string): string {
  const url = linkOf(mail)
  expect(`${url.origin}${url.pathname}`).toBe(landing)
  expect([...url.searchParams.keys()]).toEqual(['code'])
  expect(url.hash).toBe('')
  return url.searchParams.get('code') ?? ''
}
const exchange = (s: TestServer, code: string, verifier: string, headers: Record<string, string> = SB) =>
  s.req('/token?grant_type=pkce', { method: 'POST', headers, json: { auth_code: code, code_verifier: verifier } })
const s256 = (v: string) => createHash('sha256').update(v).digest('base64url')
const verifier = () => randomBytes(32).toString('base64url')

describe('email flows with flowType pkce', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_URI_ALLOW_LIST: 'https://app.example.org/**' } }) })
  afterAll(() => s.stop())
  beforeEach(() => s.clock.reset())

  test('signUp: the confirmation link lands on emailRedirectTo with ?code=; exchangeCodeForSession confirms and signs in, once', async () => {
    const auth = client(s)
    const email = freshEmail('pkce-signup')
    const signed = await auth.signUp({ email, password: PASSWORD, options: { emailRedirectTo: ALLOWED, data: { plan: 'free' } } })
    expect(signed.error).toBeNull()
    expect(signed.data.session).toBeNull()
    const code = codeOf(await s.smtp.waitForMail(email), ALLOWED)
    // the code alone is nothing: before the exchange, the account is still unconfirmed
    expect((await client(s).signInWithPassword({ email, password: PASSWORD })).error?.code).toBe('email_not_confirmed')
    const { data, error } = await auth.exchangeCodeForSession(code)
    expect(error).toBeNull()
    expect(data.session?.access_token).toBeString()
    expect(data.user?.email).toBe(email)
    expect(data.user?.email_confirmed_at).toBeString()
    expect(data.user?.user_metadata).toEqual({ plan: 'free' })
    expect((data as { redirectType?: string | null }).redirectType).toBeNull() // auth-js returns it; its types omit it
    expect((await auth.getUser()).data.user?.id).toBe(data.user!.id)
    // the password chosen at signup works now, and the code does not work twice
    expect((await client(s).signInWithPassword({ email, password: PASSWORD })).error).toBeNull()
    const again = await exchange(s, code, 'x'.repeat(43))
    expect(again.status).toBe(404)
    expect(await body(again)).toMatchObject({ code: 404, error_code: 'flow_state_not_found', msg: 'invalid flow state, no valid flow state found' })
  })

  test('signInWithOtp: the magic link lands with ?code=; the exchange signs in and spends the mail\'s 6-digit code too', async () => {
    const auth = client(s)
    const email = freshEmail('pkce-otp')
    expect((await auth.signInWithOtp({ email, options: { emailRedirectTo: ALLOWED } })).error).toBeNull()
    const mail = await s.smtp.waitForMail(email)
    const code = codeOf(mail, ALLOWED)
    const { data, error } = await auth.exchangeCodeForSession(code)
    expect(error).toBeNull()
    expect(data.user?.email).toBe(email)
    expect(data.user?.email_confirmed_at).toBeString()
    const short = /<strong>(\d+)<\/strong>/.exec(mail.html)?.[1] ?? ''
    expect(short).toMatch(/^\d{6}$/)
    expect((await client(s).verifyOtp({ email, token: short, type: 'email' })).error?.code).toBe('otp_expired')
  })

  test('signInWithOtp with pkce: the 6-digit code still signs in where it is typed, and spends the link', async () => {
    const email = freshEmail('pkce-otp-code')
    const asking = client(s)
    await asking.signInWithOtp({ email })
    const mail = await s.smtp.waitForMail(email)
    const code = codeOf(mail, `${SITE}/`)
    const short = /<strong>(\d+)<\/strong>/.exec(mail.html)?.[1] ?? ''
    expect((await client(s).verifyOtp({ email, token: short, type: 'email' })).error).toBeNull()
    expect((await asking.exchangeCodeForSession(code)).error?.code).toBe('flow_state_not_found')
  })

  test('resetPasswordForEmail: the exchange is a recovery sign-in (PASSWORD_RECOVERY), then updateUser sets the password', async () => {
    const { email } = await confirmedUser(s, { email: freshEmail('pkce-recover') })
    const other = client(s)
    expect((await other.signInWithPassword({ email, password: PASSWORD })).error).toBeNull()
    const auth = client(s)
    const events: string[] = []
    auth.onAuthStateChange((event) => void events.push(event))
    expect((await auth.resetPasswordForEmail(email, { redirectTo: ALLOWED })).error).toBeNull()
    const code = codeOf(await s.smtp.waitForMail(email), ALLOWED)
    const { data, error } = await auth.exchangeCodeForSession(code)
    expect(error).toBeNull()
    expect((data as { redirectType?: string | null }).redirectType).toBe('recovery')
    expect(data.user?.email).toBe(email)
    expect(events).toContain('PASSWORD_RECOVERY')
    // a recovery ends every other session, as the implicit flow does
    expect((await other.getUser()).error).not.toBeNull()
    expect((await auth.updateUser({ password: `${PASSWORD}-new` })).error).toBeNull()
    expect((await client(s).signInWithPassword({ email, password: PASSWORD })).error?.code).toBe('invalid_credentials')
    expect((await client(s).signInWithPassword({ email, password: `${PASSWORD}-new` })).error).toBeNull()
  })

  test('resend of a pending signup binds the new link to the new challenge', async () => {
    const s0 = await startServer({ env: { GOTRUE_SMTP_MAX_FREQUENCY: '0' } })
    try {
      const email = freshEmail('pkce-resend')
      await client(s0).signUp({ email, password: PASSWORD })
      await s0.smtp.waitForMail(email)
      const auth = client(s0)
      expect((await auth.resend({ email, type: 'signup' })).error).toBeNull()
      const code = codeOf(await s0.smtp.waitForMail(email, { count: 2 }), `${SITE}/`)
      const { data, error } = await auth.exchangeCodeForSession(code)
      expect(error).toBeNull()
      expect(data.user?.email_confirmed_at).toBeString()
    } finally { await s0.stop() }
  })

  test('without pkce nothing changes: the links carry the token in the fragment as before', async () => {
    const email = freshEmail('implicit')
    await client(s, 'implicit').signUp({ email, password: PASSWORD, options: { emailRedirectTo: ALLOWED } })
    const mail = await s.smtp.waitForMail(email)
    expect(linkOf(mail).toString()).toStartWith(`${ALLOWED}#confirmation_token=`)
    const token = tokenFromMail(mail, 'confirmation_token')
    // and such a token is no PKCE code
    const res = await exchange(s, token, verifier())
    expect(res.status).toBe(404)
    expect(await body(res)).toMatchObject({ error_code: 'flow_state_not_found' })
    expect((await client(s).verifyOtp({ token_hash: token, type: 'signup' })).error).toBeNull()
  })

  test('updateUser({ email }) with pkce: an email change takes no challenge, its link is as ever', async () => {
    const auth = client(s)
    const email = freshEmail('pkce-ec')
    await auth.signInWithOtp({ email })
    expect((await auth.exchangeCodeForSession(codeOf(await s.smtp.waitForMail(email), `${SITE}/`))).error).toBeNull()
    const to = freshEmail('pkce-ec-new')
    expect((await auth.updateUser({ email: to })).error).toBeNull()
    const token = tokenFromMail(await s.smtp.waitForMail(to), 'email_change_token')
    const { data, error } = await client(s).verifyOtp({ token_hash: token, type: 'email_change' })
    expect(error).toBeNull()
    expect(data.user?.email).toBe(to)
  })

  test('a redirect off the allow-list: the link lands on SITE_URL with the code', async () => {
    const auth = client(s)
    const email = freshEmail('pkce-evil')
    await auth.signUp({ email, password: PASSWORD, options: { emailRedirectTo: 'https://evil.example.net/steal' } })
    const mail = await s.smtp.waitForMail(email)
    expect(mail.html).not.toContain('evil.example.net')
    expect((await auth.exchangeCodeForSession(codeOf(mail, `${SITE}/`))).error).toBeNull()
  })

  test('a wrong verifier is refused (bad_code_verifier) and spends the code: the right one then finds nothing', async () => {
    const auth = client(s)
    const email = freshEmail('pkce-wrong')
    await auth.signInWithOtp({ email, options: { emailRedirectTo: ALLOWED } })
    const code = codeOf(await s.smtp.waitForMail(email), ALLOWED)
    // another client, with a verifier of its own pending (its own flow), exchanges the code
    const thief = client(s)
    await thief.signInWithOtp({ email: freshEmail('pkce-thief'), options: { emailRedirectTo: ALLOWED } })
    const stolen = await thief.exchangeCodeForSession(code)
    expect(stolen.error?.code).toBe('bad_code_verifier')
    expect(stolen.error?.status).toBe(400)
    expect(stolen.data.session).toBeNull()
    const late = await auth.exchangeCodeForSession(code)
    expect(late.error?.code).toBe('flow_state_not_found')
    expect(late.error?.status).toBe(404)
  })

  test('the code of a PKCE link is no token for POST /verify (verifyOtp token_hash), and that try does not spend it', async () => {
    const auth = client(s)
    const email = freshEmail('pkce-verify')
    await auth.signUp({ email, password: PASSWORD, options: { emailRedirectTo: ALLOWED } })
    const code = codeOf(await s.smtp.waitForMail(email), ALLOWED)
    for (const type of ['signup', 'email'] as const) {
      const tried = await client(s).verifyOtp({ token_hash: code, type })
      expect(tried.error?.status).toBe(404)
      expect(tried.data.session).toBeNull()
    }
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token: code } })).status).toBe(404)
    expect((await auth.exchangeCodeForSession(code)).error).toBeNull()
  })

  test('after the link\'s lifetime: flow_state_expired (422), and the code is gone', async () => {
    const auth = client(s)
    const email = freshEmail('pkce-late')
    await auth.signInWithOtp({ email })
    const code = codeOf(await s.smtp.waitForMail(email), `${SITE}/`)
    s.clock.advance(3600 + 60) // GOTRUE_MAILER_OTP_EXP
    const late = await auth.exchangeCodeForSession(code)
    expect(late.error?.code).toBe('flow_state_expired')
    expect(late.error?.status).toBe(422)
    s.clock.reset()
    expect((await exchange(s, code, verifier())).status).toBe(404)
  })

  test('concurrent exchanges of one code: exactly one session', async () => {
    const v = verifier()
    const email = freshEmail('pkce-race')
    const sent = await s.req('/otp', { method: 'POST', headers: SB, json: { email, code_challenge: s256(v), code_challenge_method: 's256' } })
    expect(sent.status).toBe(200)
    const code = codeOf(await s.smtp.waitForMail(email), `${SITE}/`)
    const results = await Promise.all(Array.from({ length: 6 }, () => exchange(s, code, v)))
    const statuses = results.map((r) => r.status).sort()
    expect(statuses).toEqual([200, 404, 404, 404, 404, 404])
    const sessions = await s.db.all('SELECT id FROM {sessions} WHERE user_id = (SELECT id FROM {users} WHERE email = ?)', [email])
    expect(sessions).toHaveLength(1)
  })

  test('a GoTrue client gets GoTrue\'s body for the same failures (no error_code)', async () => {
    const res = await exchange(s, 'no-such-code', verifier(), {})
    expect(res.status).toBe(404)
    expect(await body(res)).toEqual({ code: 404, msg: 'invalid flow state, no valid flow state found' })
    const missing = await exchange(s, '', '', {})
    expect(missing.status).toBe(400)
    expect(await body(missing)).toEqual({ code: 400, msg: 'invalid request: both auth code and code verifier should be non-empty' })
  })

  test.each([
    ['/signup', (email: string) => ({ email, password: PASSWORD })],
    ['/otp', (email: string) => ({ email })],
    ['/recover', (email: string) => ({ email })],
  ])('%s: a plain challenge (not enabled), an unknown method or a malformed challenge → 400, and no mail', async (path, fields) => {
    const email = freshEmail('pkce-bad')
    for (const [challenge, method, msg] of [
      ['a'.repeat(43), 'plain', 'Unsupported code_challenge_method: plain'],
      ['a'.repeat(43), undefined, 'Unsupported code_challenge_method: plain'],
      ['a'.repeat(43), 'S512', 'Unsupported code_challenge_method: s512'],
      ['short', 's256', 'code_challenge must be 43 to 128 characters of [A-Za-z0-9._~-]'],
      [`${'a'.repeat(42)}+`, 's256', 'code_challenge must be 43 to 128 characters of [A-Za-z0-9._~-]'],
    ] as const) {
      const res = await s.req(path, { method: 'POST', headers: SB, json: { ...fields(email), code_challenge: challenge, code_challenge_method: method } })
      expect([challenge, res.status]).toEqual([challenge, 400])
      expect(await body(res)).toEqual({ code: 400, msg, error_code: 'validation_failed' })
    }
    await Bun.sleep(150)
    expect(s.smtp.mailsTo(email)).toHaveLength(0)
    const users = await body<{ users: unknown[] }>(await s.req(`/admin/users?email=${encodeURIComponent(email)}`, { headers: OPERATOR }))
    expect(users.users).toHaveLength(0)
  })
})

describe('email flows with GOTRUE_EXTERNAL_PKCE_PLAIN_ENABLED', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_EXTERNAL_PKCE_PLAIN_ENABLED: 'true' } }) })
  afterAll(() => s.stop())

  test('a plain challenge: the verifier is the challenge itself', async () => {
    const v = verifier()
    const email = freshEmail('pkce-plain')
    expect((await s.req('/signup', { method: 'POST', headers: SB, json: { email, password: PASSWORD, code_challenge: v, code_challenge_method: 'plain' } })).status).toBe(200)
    const code = codeOf(await s.smtp.waitForMail(email), `${SITE}/`)
    const res = await exchange(s, code, v)
    expect(res.status).toBe(200)
    expect(await body(res)).toMatchObject({ token_type: 'bearer', user: { email } })
  })
})

describe('signInWithOAuth', () => {
  let fake: OAuthFake
  let s: TestServer
  beforeAll(async () => {
    fake = await startOAuthFake()
    s = await startServer({ env: { ...fake.env(), GOTRUE_URI_ALLOW_LIST: 'https://app.example.org/**' } })
  })
  afterAll(async () => { await s.stop(); await fake.stop() })
  beforeEach(() => s.clock.reset())

  let n = 0
  /** auth-js's URL → /authorize → the fake GitHub (which approves) → /callback in the same browser: where it lands. */
  async function through(url: string, email: string, headers: Record<string, string> = {}): Promise<URL> {
    fake.setProfile('github', { id: `${9000 + ++n}`, name: 'Grace Hopper', emails: [{ email, verified: true, primary: true }] })
    const start = await fetch(url, { redirect: 'manual', headers })
    expect(start.status).toBe(302)
    const cookie = /^(gotrue-oauth-state=[^;]*)/.exec(start.headers.get('set-cookie') ?? '')?.[1] ?? ''
    const back = await fake.approve(start.headers.get('location') ?? '')
    const done = await s.req(`/callback?${back}`, { redirect: 'manual', headers: { cookie } })
    expect(done.status).toBe(302)
    return new URL(done.headers.get('location') ?? '')
  }

  test('pkce: the callback lands on redirectTo with ?code=; exchangeCodeForSession signs in, once', async () => {
    const auth = client(s)
    const email = freshEmail('pkce-oauth')
    const { data, error } = await auth.signInWithOAuth({ provider: 'github', options: { redirectTo: ALLOWED } })
    expect(error).toBeNull()
    const asked = new URL(data.url!)
    expect(asked.searchParams.get('redirect_to')).toBe(ALLOWED)
    expect(asked.searchParams.get('code_challenge_method')).toBe('s256')
    const landed = await through(data.url!, email)
    expect(`${landed.origin}${landed.pathname}`).toBe(ALLOWED)
    expect(landed.hash).toBe('')
    const code = landed.searchParams.get('code') ?? ''
    const done = await auth.exchangeCodeForSession(code)
    expect(done.error).toBeNull()
    expect(done.data.user?.email).toBe(email)
    expect(done.data.user?.app_metadata.provider).toBe('github')
    expect((await auth.getUser()).data.user?.email).toBe(email)
    // auth-js drops the verifier after an exchange: the second try is the server's answer to anyone else
    expect(await body(await exchange(s, code, verifier()))).toMatchObject({ code: 404, error_code: 'flow_state_not_found' })
  })

  test('implicit: an allowed redirectTo gets the session in the fragment', async () => {
    const auth = client(s, 'implicit')
    const email = freshEmail('implicit-oauth')
    const { data } = await auth.signInWithOAuth({ provider: 'github', options: { redirectTo: `${ALLOWED}?next=/home` } })
    const landed = await through(data.url!, email)
    expect(`${landed.origin}${landed.pathname}${landed.search}`).toBe(`${ALLOWED}?next=/home`)
    const hash = new URLSearchParams(landed.hash.slice(1))
    expect(hash.get('access_token')).toBeString()
    const set = await auth.setSession({ access_token: hash.get('access_token')!, refresh_token: hash.get('refresh_token')! })
    expect(set.data.user?.email).toBe(email)
  })

  test('a redirectTo off the allow-list lands on SITE_URL (with the code, for pkce)', async () => {
    const auth = client(s)
    const { data } = await auth.signInWithOAuth({ provider: 'github', options: { redirectTo: 'https://evil.example.net/cb' } })
    const landed = await through(data.url!, freshEmail('pkce-oauth-evil'))
    expect(`${landed.origin}${landed.pathname}`).toBe(`${SITE}/`)
    expect((await auth.exchangeCodeForSession(landed.searchParams.get('code') ?? '')).error).toBeNull()
  })

  test('/authorize: an allowed redirect_to wins over the Referer; a refused or overlong one leaves the Referer', async () => {
    const referer = `${SITE}/account`
    const go = (redirectTo: string) => through(`${s.url}/authorize?provider=github&redirect_to=${encodeURIComponent(redirectTo)}`, freshEmail('oauth-ref'), { referer })
    expect((await go(ALLOWED)).toString()).toStartWith(`${ALLOWED}#access_token=`)
    expect((await go('https://evil.example.net/cb')).toString()).toStartWith(`${referer}#access_token=`)
    expect((await go(`${ALLOWED}?${'x'.repeat(2100)}`)).toString()).toStartWith(`${referer}#access_token=`)
  })

  test('a wrong verifier, an expired code: supabase\'s codes', async () => {
    const auth = client(s)
    const first = await auth.signInWithOAuth({ provider: 'github', options: { redirectTo: ALLOWED } })
    const code = (await through(first.data.url!, freshEmail('pkce-oauth-wrong'))).searchParams.get('code') ?? ''
    expect(await body(await exchange(s, code, verifier()))).toMatchObject({ code: 400, error_code: 'bad_code_verifier' })
    expect((await auth.exchangeCodeForSession(code)).error?.code).toBe('flow_state_not_found')
    const second = await auth.signInWithOAuth({ provider: 'github', options: { redirectTo: ALLOWED } })
    const late = (await through(second.data.url!, freshEmail('pkce-oauth-late'))).searchParams.get('code') ?? ''
    s.clock.advance(301) // GOTRUE_EXTERNAL_AUTH_CODE_LIFETIME
    const expired = await auth.exchangeCodeForSession(late)
    expect(expired.error?.code).toBe('flow_state_expired')
    expect(expired.error?.status).toBe(422)
  })

  test('an email flow\'s code is refused by GoTrue\'s authorization_code grant, and an OAuth code by POST /verify', async () => {
    const auth = client(s)
    const email = freshEmail('pkce-cross')
    await auth.signInWithOtp({ email })
    const mailed = codeOf(await s.smtp.waitForMail(email), `${SITE}/`)
    const v = verifier()
    const res = await s.req('/token', { method: 'POST', json: { grant_type: 'authorization_code', code: mailed, code_verifier: v } })
    expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: 'Invalid, expired or already used code, or wrong code_verifier' })
    const oauth = await auth.signInWithOAuth({ provider: 'github', options: { redirectTo: ALLOWED } })
    const code = (await through(oauth.data.url!, freshEmail('pkce-cross-oauth'))).searchParams.get('code') ?? ''
    for (const type of ['signup', 'magiclink', 'recovery']) {
      expect((await s.req('/verify', { method: 'POST', json: { type, token: code } })).status).toBe(404)
    }
    expect((await auth.exchangeCodeForSession(code)).error).toBeNull()
  })
})
