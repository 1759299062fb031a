// POST /token, password grant: where the fields may come from, the token response and the JWT inside it,
// the OAuth error bodies (identical for every kind of bad login), audiences and cookie mode. Refresh-token
// rotation lives in refresh.test.ts, forged tokens in token-attacks.test.ts, the /token limits in ratelimit.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { signAccessToken } from '../lib/jwt.ts'
import { body, form, JWT_SECRET, startServer, type TestServer } from './harness.ts'
import { freshEmail, login, PASSWORD } from './helpers.ts'

const BAD_LOGIN = { error: 'invalid_grant', error_description: 'No user found with that email, or password invalid.' }
const signup = async (s: TestServer, email: string, headers: Record<string, string> = {}) => {
  const res = await s.req('/signup', { method: 'POST', json: { email, password: PASSWORD }, headers })
  expect(res.status).toBe(200)
  return body<{ id: string; aud: string }>(res)
}
const decode = (part: string | undefined) => JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>

describe('password grant (autoconfirm)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_JWT_AUDIENCES: 'aud-a' } }) })
  afterAll(() => s.stop())

  test('form body: 200 with exactly the GoTrue token response, not cacheable', async () => {
    const email = freshEmail('form')
    await signup(s, email)
    const res = await login(s, email, PASSWORD)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(res.headers.get('cache-control')).toBe('no-store')
    const tok = await body(res)
    expect(Object.keys(tok).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type'])
    expect(tok.token_type).toBe('bearer')
    expect(tok.expires_in).toBe(3600)
    expect(tok.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(res.headers.get('set-cookie')).toBeNull() // no X-Use-Cookie, no cookie
  })

  test('the access token: HS256 with kid nf-ident; GoTrue claims in order, then session_id, iat, aal and amr; aud a string, no role', async () => {
    const email = freshEmail('jwt')
    const user = await signup(s, email)
    const tok = await body<{ access_token: string }>(await login(s, email, PASSWORD))
    const [h, p, sig] = tok.access_token.split('.')
    expect(decode(h)).toEqual({ alg: 'HS256', kid: 'nf-ident', typ: 'JWT' })
    expect(sig).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const claims = decode(p)
    expect(Object.keys(claims)).toEqual(['aud', 'exp', 'sub', 'email', 'app_metadata', 'user_metadata', 'session_id', 'iat', 'aal', 'amr'])
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3600) // issued now, for GOTRUE_JWT_EXP
    expect(claims.session_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/) // the refresh-token family
    expect(claims.aud).toBe(user.aud)
    expect(claims.aud).toBe('api.netlify.com')
    expect(claims).toMatchObject({ sub: user.id, email, app_metadata: { provider: 'email' }, user_metadata: {} })
    expect(claims.exp).toBeGreaterThan(Date.now() / 1000)
    expect(claims).not.toHaveProperty('role')
  })

  test('a JSON body works too', async () => {
    const email = freshEmail('json')
    await signup(s, email)
    const res = await s.req('/token', { method: 'POST', json: { grant_type: 'password', username: email, password: PASSWORD } })
    expect(res.status).toBe(200)
    expect((await body(res)).token_type).toBe('bearer')
  })

  test('fields in the query string work, alone or mixed with a form body', async () => {
    const email = freshEmail('query')
    await signup(s, email)
    const qs = new URLSearchParams({ grant_type: 'password', username: email, password: PASSWORD })
    const onlyQuery = await s.req(`/token?${qs}`, { method: 'POST' })
    expect(onlyQuery.status).toBe(200)
    const mixed = await s.req('/token?grant_type=password', form({ username: email, password: PASSWORD }))
    expect(mixed.status).toBe(200)
  })

  test('unknown email, wrong password and an invited user without password: one identical 400 body', async () => {
    const email = freshEmail('known')
    await signup(s, email)
    const invited = freshEmail('invited')
    const admin = await signAccessToken({
      sub: '0', aud: 'api.netlify.com', exp: Math.floor(Date.now() / 1000) + 600, email: 'ops@example.com', app_metadata: {}, user_metadata: {},
    }, JWT_SECRET)
    const inv = await s.req('/invite', { method: 'POST', json: { email: invited }, headers: { authorization: `Bearer ${admin}` } })
    expect(inv.status).toBe(200)

    const attempts = [
      await login(s, freshEmail('nobody'), PASSWORD),
      await login(s, email, 'wrong-password'),
      await login(s, invited, ''),
      await login(s, invited, 'any-password'),
    ]
    for (const res of attempts) {
      expect(res.status).toBe(400)
      expect(await res.text()).toBe(JSON.stringify(BAD_LOGIN))
    }
  })

  test('missing or unknown grant_type: 400 unsupported_grant_type without a description', async () => {
    // authorization_code is a grant here (the PKCE flow, tests/external.test.ts), unlike in the reference
    const cases: Record<string, string>[] = [{}, { grant_type: 'client_credentials' }, { grant_type: 'implicit' }]
    for (const fields of cases) {
      const res = await s.req('/token', form(fields))
      expect(res.status).toBe(400)
      expect(await res.text()).toBe('{"error":"unsupported_grant_type"}')
    }
    const empty = await s.req('/token', { method: 'POST' })
    expect(empty.status).toBe(400)
    expect(await body(empty)).toEqual({ error: 'unsupported_grant_type' })
  })

  test('X-JWT-AUD picks the audience: a user of audience A cannot log in under B or the default', async () => {
    const email = freshEmail('aud')
    const user = await signup(s, email, { 'x-jwt-aud': 'aud-a' })
    expect(user.aud).toBe('aud-a')
    const ok = await login(s, email, PASSWORD, { 'x-jwt-aud': 'aud-a' })
    expect(ok.status).toBe(200)
    expect(decode((await body<{ access_token: string }>(ok)).access_token.split('.')[1]).aud).toBe('aud-a')
    for (const headers of [{ 'x-jwt-aud': 'aud-b' }, {}] as Record<string, string>[]) {
      const res = await login(s, email, PASSWORD, headers)
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual(BAD_LOGIN)
    }
  })

  test('X-Use-Cookie: nf_jwt = the access token, HttpOnly, Max-Age 86400; "session" is a session cookie', async () => {
    const email = freshEmail('cookie')
    await signup(s, email)
    const res = await login(s, email, PASSWORD, { 'x-use-cookie': '1' })
    expect(res.status).toBe(200)
    const { access_token } = await body<{ access_token: string }>(res)
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie.startsWith(`nf_jwt=${access_token};`)).toBe(true)
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('Path=/')
    expect(cookie).toContain('Secure') // SITE_URL is https
    expect(cookie).toContain('Max-Age=86400')

    const session = await login(s, email, PASSWORD, { 'x-use-cookie': 'session' })
    const sessionCookie = session.headers.get('set-cookie') ?? ''
    expect(sessionCookie.startsWith(`nf_jwt=${(await body<{ access_token: string }>(session)).access_token};`)).toBe(true)
    expect(sessionCookie).toContain('HttpOnly')
    expect(sessionCookie).not.toContain('Max-Age')
    expect(sessionCookie).not.toContain('Expires')
  })

  test('a login sets last_sign_in_at (shown by GET /user) and is audited as login', async () => {
    const email = freshEmail('lastsign')
    const user = await signup(s, email)
    const { access_token } = await body<{ access_token: string }>(await login(s, email, PASSWORD))
    const me = await body(await s.req('/user', { headers: { authorization: `Bearer ${access_token}` } }))
    expect(typeof me.last_sign_in_at).toBe('string')
    expect(Date.parse(me.last_sign_in_at as string)).toBeGreaterThan(Date.now() - 60_000)
    const audit = await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}')
    const logins = audit.map((r) => JSON.parse(r.payload)).filter((p) => p.action === 'login' && p.actor_id === user.id)
    expect(logins).toHaveLength(1)
    expect(logins[0]).toMatchObject({ actor_email: email, log_type: 'account' })
  })
})

describe('password grant (confirmation required)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer() })
  afterAll(() => s.stop())

  test('unconfirmed: "Email not confirmed" only with the right password; the generic error otherwise', async () => {
    const email = freshEmail('unconfirmed')
    await signup(s, email)
    const right = await login(s, email, PASSWORD)
    expect(right.status).toBe(400)
    expect(await body(right)).toEqual({ error: 'invalid_grant', error_description: 'Email not confirmed' })
    const wrong = await login(s, email, 'not-the-password')
    expect(wrong.status).toBe(400)
    expect(await body(wrong)).toEqual(BAD_LOGIN)
  })
})

describe('email provider disabled', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_EXTERNAL_EMAIL_DISABLED: 'true' } }) })
  afterAll(() => s.stop())

  test('the password grant: 400 Unsupported email provider in the {code,msg} shape', async () => {
    const res = await s.req('/token', form({ grant_type: 'password', username: 'a@example.com', password: PASSWORD }))
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: 'Unsupported email provider' })
  })

  test('refresh and code grants still work for provider-only sites (the reference blocked them)', async () => {
    const refresh = await s.req('/token', form({ grant_type: 'refresh_token', refresh_token: 'x' }))
    expect(await body(refresh)).toEqual({ error: 'invalid_grant', error_description: 'Invalid Refresh Token' })
    const none = await s.req('/token', form({}))
    expect(await body(none)).toEqual({ error: 'unsupported_grant_type' })
  })
})
