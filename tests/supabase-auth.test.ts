// @supabase/auth-js, unmodified, against the real server: sign up, sign in, the session calls, the user calls,
// sign out by scope, recovery, the error codes auth-js exposes, and the CORS preflight its headers need. GoTrue's
// own clients keep GoTrue's exact shapes (checked at the end).
import { AuthClient, AuthSessionMissingError, AuthWeakPasswordError } from '@supabase/auth-js'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { body, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { freshEmail, login, PASSWORD } from './helpers.ts'

/** A client as an app makes one: a storage of its own (the session lives there), no timers. */
function client(s: TestServer) {
  const store = new Map<string, string>()
  return new AuthClient({
    url: s.url, autoRefreshToken: false, persistSession: true, detectSessionInUrl: false,
    storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v), removeItem: (k) => void store.delete(k) },
  })
}

const ALLOWED = 'https://app.example.org/welcome'

describe('with autoconfirm', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_URI_ALLOW_LIST: 'https://app.example.org/**' } })
  })
  afterAll(() => s.stop())

  test('signUp returns a session with supabase\'s user; getSession and getUser agree', async () => {
    const auth = client(s)
    const email = freshEmail('sb')
    const { data, error } = await auth.signUp({ email, password: PASSWORD, options: { data: { full_name: 'Ada' } } })
    expect(error).toBeNull()
    expect(data.session?.access_token).toBeString()
    expect(data.session?.expires_at).toBeGreaterThan(Date.now() / 1000)
    const user = data.user!
    expect(user.email).toBe(email)
    expect(user.user_metadata).toEqual({ full_name: 'Ada' })
    expect(user.email_confirmed_at).toBeString()
    expect(user.is_anonymous).toBe(false)
    expect(user.identities?.map((i) => i.provider)).toEqual(['email'])
    expect((await auth.getSession()).data.session?.user.id).toBe(user.id)
    const got = await auth.getUser()
    expect(got.error).toBeNull()
    expect(got.data.user?.id).toBe(user.id)
    expect(got.data.user?.identities?.[0]?.identity_data?.email).toBe(email)
  })

  test('signInWithPassword (email), refreshSession (with user and expires_at), setSession on another client', async () => {
    const email = freshEmail('sb')
    expect((await client(s).signUp({ email, password: PASSWORD })).error).toBeNull()
    const auth = client(s)
    const signed = await auth.signInWithPassword({ email, password: PASSWORD })
    expect(signed.error).toBeNull()
    expect(signed.data.user?.email).toBe(email)
    const first = signed.data.session!
    const refreshed = await auth.refreshSession()
    expect(refreshed.error).toBeNull()
    expect(refreshed.data.session?.refresh_token).not.toBe(first.refresh_token)
    expect(refreshed.data.user?.email).toBe(email)
    expect(refreshed.data.session?.expires_at).toBeNumber()
    const other = client(s)
    const set = await other.setSession({ access_token: refreshed.data.session!.access_token, refresh_token: refreshed.data.session!.refresh_token })
    expect(set.error).toBeNull()
    expect((await other.getUser()).data.user?.email).toBe(email)
  })

  test('updateUser: data merges, a new password is the one that works, an email change mails the new address', async () => {
    const auth = client(s)
    const email = freshEmail('sb')
    await auth.signUp({ email, password: PASSWORD, options: { data: { a: 1 } } })
    const withData = await auth.updateUser({ data: { b: 2 } })
    expect(withData.error).toBeNull()
    expect(withData.data.user?.user_metadata).toEqual({ a: 1, b: 2 })
    expect((await auth.updateUser({ password: 'another-long-password' })).error).toBeNull()
    expect((await login(s, email, PASSWORD)).status).toBe(400)
    expect((await login(s, email, 'another-long-password')).status).toBe(200)
    const to = freshEmail('sb-new')
    const changed = await auth.updateUser({ email: to }, { emailRedirectTo: `${ALLOWED}?step=email` })
    expect(changed.error).toBeNull()
    expect(changed.data.user?.new_email).toBe(to)
    const mail = await s.smtp.waitForMail(to)
    expect(mail.html).toContain(`${ALLOWED}?step=email#email_change_token=`)
  })

  test('signOut scopes: others keeps this session, local ends it, global ends them all', async () => {
    const email = freshEmail('sb')
    const a = client(s)
    await a.signUp({ email, password: PASSWORD })
    const b = client(s)
    await b.signInWithPassword({ email, password: PASSWORD })
    const c = client(s)
    await c.signInWithPassword({ email, password: PASSWORD })
    expect((await a.signOut({ scope: 'others' })).error).toBeNull()
    expect((await a.getUser()).error).toBeNull()
    // supabase's session_not_found: auth-js drops the ended session and says so.
    const bUser = await b.getUser()
    expect(bUser.error).toBeInstanceOf(AuthSessionMissingError)
    expect((await b.getSession()).data.session).toBeNull()
    const d = client(s)
    await d.signInWithPassword({ email, password: PASSWORD })
    expect((await a.signOut({ scope: 'local' })).error).toBeNull()
    expect((await a.getSession()).data.session).toBeNull()
    expect((await d.getUser()).error).toBeNull()
    expect((await d.signOut()).error).toBeNull() // global, auth-js's default
    expect((await c.refreshSession()).error?.code).toBe('refresh_token_not_found')
  })

  test('errors carry supabase\'s codes', async () => {
    const email = freshEmail('sb')
    await client(s).signUp({ email, password: PASSWORD })
    const wrong = await client(s).signInWithPassword({ email, password: 'not-the-password' })
    expect(wrong.error?.code).toBe('invalid_credentials')
    expect(wrong.error?.status).toBe(400)
    expect((await client(s).signInWithPassword({ email: freshEmail('nobody'), password: PASSWORD })).error?.code).toBe('invalid_credentials')
    const again = await client(s).signUp({ email, password: PASSWORD })
    expect(again.error?.code).toBe('user_already_exists')
    const weak = await client(s).signUp({ email: freshEmail('sb'), password: 'short' })
    expect(weak.error).toBeInstanceOf(AuthWeakPasswordError)
    expect(weak.error?.code).toBe('weak_password')
    expect((weak.error as AuthWeakPasswordError).reasons).toEqual(['length'])
    const bad = await client(s).signUp({ email: 'not-an-address', password: PASSWORD })
    expect(bad.error?.code).toBe('email_address_invalid')
  })
})

describe('with confirmation mails', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_URI_ALLOW_LIST: 'https://app.example.org/**' } })
  })
  afterAll(() => s.stop())

  test('signUp returns the user without a session; the mail honours an allowed emailRedirectTo', async () => {
    const email = freshEmail('sb')
    const { data, error } = await client(s).signUp({ email, password: PASSWORD, options: { emailRedirectTo: ALLOWED } })
    expect(error).toBeNull()
    expect(data.session).toBeNull()
    expect(data.user?.email).toBe(email)
    expect(data.user?.email_confirmed_at).toBeUndefined()
    expect(data.user?.confirmation_sent_at).toBeString()
    const mail = await s.smtp.waitForMail(email)
    expect(mail.html).toContain(`${ALLOWED}#confirmation_token=`)
    const unconfirmed = await client(s).signInWithPassword({ email, password: PASSWORD })
    expect(unconfirmed.error?.code).toBe('email_not_confirmed')
    expect(unconfirmed.error?.message).toBe('Email not confirmed')
    // The link confirms as any GoTrue link does; then the login works.
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token: tokenFromMail(mail, 'confirmation_token') } })).status).toBe(200)
    expect((await client(s).signInWithPassword({ email, password: PASSWORD })).error).toBeNull()
  })

  test('a redirect off the allow-list falls back to the site URL', async () => {
    const email = freshEmail('sb')
    await client(s).signUp({ email, password: PASSWORD, options: { emailRedirectTo: 'https://evil.example.net/steal' } })
    const mail = await s.smtp.waitForMail(email)
    expect(mail.html).not.toContain('evil.example.net')
    expect(mail.html).toContain('https://example.netlify.com/#confirmation_token=')
  })

  test('resetPasswordForEmail mails a recovery link to an allowed redirectTo, else to the site', async () => {
    const email = freshEmail('sb')
    await client(s).signUp({ email, password: PASSWORD })
    await s.smtp.waitForMail(email)
    const sent = await client(s).resetPasswordForEmail(email, { redirectTo: `${ALLOWED}/reset` })
    expect(sent.error).toBeNull()
    const mail = await s.smtp.waitForMail(email, { count: 2 })
    expect(mail.html).toContain(`${ALLOWED}/reset#recovery_token=`)
    const other = freshEmail('sb')
    await client(s).signUp({ email: other, password: PASSWORD })
    await s.smtp.waitForMail(other)
    expect((await client(s).resetPasswordForEmail(other, { redirectTo: 'https://evil.example.net/' })).error).toBeNull()
    const fallback = await s.smtp.waitForMail(other, { count: 2 })
    expect(fallback.html).toContain('https://example.netlify.com/#recovery_token=')
    // Unknown addresses are answered alike.
    expect((await client(s).resetPasswordForEmail(freshEmail('nobody'))).error).toBeNull()
  })
})

describe('the wire', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_CORS_ALLOWED_HEADERS: 'X-Custom-Trace' } })
  })
  afterAll(() => s.stop())

  test('the CORS preflight allows the headers supabase clients send, and GOTRUE_CORS_ALLOWED_HEADERS adds more', async () => {
    const ask = (headers: string) => s.req('/token', {
      method: 'OPTIONS', headers: { origin: 'https://app.example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': headers },
    })
    const ok = await ask('apikey, authorization, content-type, x-client-info, x-supabase-api-version')
    expect(ok.headers.get('access-control-allow-origin')).toBe('*')
    expect(ok.headers.get('access-control-allow-headers')).toBe('apikey, authorization, content-type, x-client-info, x-supabase-api-version')
    expect((await ask('x-custom-trace')).headers.get('access-control-allow-headers')).toBe('x-custom-trace')
    expect((await ask('x-not-allowed')).headers.get('access-control-allow-origin')).toBeNull()
  })

  test('GoTrue clients keep GoTrue\'s exact shapes; the same request with supabase\'s header gets the dialect', async () => {
    const email = freshEmail('wire')
    const signup = await s.req('/signup', { method: 'POST', json: { email, password: PASSWORD } })
    const user = await body(signup)
    expect(user.access_token).toBeUndefined() // GoTrue answers the user even with autoconfirm
    expect(Object.keys(user).sort()).toEqual(['app_metadata', 'aud', 'confirmed_at', 'created_at', 'email', 'id', 'role', 'updated_at', 'user_metadata'])
    const plain = await body(await login(s, email))
    expect(Object.keys(plain).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type'])
    const sb = await body(await login(s, email, PASSWORD, { 'x-supabase-api-version': '2024-01-01' }))
    expect(Object.keys(sb).sort()).toEqual(['access_token', 'expires_at', 'expires_in', 'refresh_token', 'token_type', 'user'])
    // The password grant also takes `email` (auth-js's name), in JSON with grant_type in the query.
    const json = await s.req('/token?grant_type=password', { method: 'POST', json: { email, password: PASSWORD } })
    expect(json.status).toBe(200)
    const wrong = await body(await login(s, email, 'wrong-password'))
    expect(wrong).toEqual({ error: 'invalid_grant', error_description: 'No user found with that email, or password invalid.' })
    const wrongSb = await body(await login(s, email, 'wrong-password', { apikey: 'anon' }))
    expect(wrongSb).toEqual({ error: 'invalid_grant', error_description: 'No user found with that email, or password invalid.', error_code: 'invalid_credentials' })
    const dup = await body(await s.req('/signup', { method: 'POST', json: { email, password: PASSWORD } }))
    expect(dup).toEqual({ code: 400, msg: 'A user with this email address has already been registered' })
  })
})
