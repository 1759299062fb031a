// POST /verify (spec §3.3, §4.1, §4.6, §7.1): a mail link's token becomes a session; tokens are single use,
// typed, expiring, stored only as hashes, and safe against concurrent use.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { verifyAccessToken } from '../lib/jwt.ts'
import { body, form, JWT_SECRET, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { refresh as refreshOn, type Tokens } from './helpers.ts'

let s: TestServer
beforeAll(async () => { s = await startServer() })
afterAll(async () => { await s.stop() })

const verify = (json: unknown, headers: Record<string, string> = {}) => s.req('/verify', { method: 'POST', json, headers })

/** Signs up `email` and returns the user id and the confirmation token from the mail. */
async function signupToken(email: string): Promise<{ id: string; token: string }> {
  const res = await s.req('/signup', { method: 'POST', json: { email, password: 'password-1', data: { name: 'N' } } })
  expect(res.status).toBe(200)
  const { id } = await body<{ id: string }>(res)
  return { id, token: tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token') }
}

const decode = (part: string | undefined): Record<string, unknown> => JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'))

describe('POST /verify type=signup', () => {
  test('confirms the user and returns a GoTrue token response', async () => {
    const { id, token } = await signupToken('confirm@example.com')
    const before = Math.floor(s.clock.now().getTime() / 1000)
    const res = await verify({ type: 'signup', token })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.get('set-cookie')).toBeNull()
    const t = await body(res)
    expect(Object.keys(t).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type'])
    expect(t).toMatchObject({ token_type: 'bearer', expires_in: 3600 })
    expect(t.refresh_token).toMatch(/^[A-Za-z0-9_-]{22,}$/)

    const [header, payload] = (t.access_token as string).split('.')
    expect(decode(header)).toEqual({ alg: 'HS256', kid: 'nf-ident', typ: 'JWT' })
    const claims = decode(payload)
    expect(Object.keys(claims)).toEqual(['aud', 'exp', 'sub', 'email', 'app_metadata', 'user_metadata', 'session_id', 'iat', 'aal', 'amr'])
    expect(claims).toMatchObject({
      aud: 'api.netlify.com', sub: id, email: 'confirm@example.com',
      app_metadata: { provider: 'email' }, user_metadata: { name: 'N' },
    })
    expect(claims.exp as number).toBeGreaterThanOrEqual(before + 3600)
    expect(claims.exp as number).toBeLessThan(before + 3700)
    expect((await verifyAccessToken(t.access_token as string, JWT_SECRET)).sub).toBe(id)

    const me = await body(await s.req('/user', { headers: { authorization: `Bearer ${t.access_token}` } }))
    expect(me.id).toBe(id)
    expect(Date.parse(me.confirmed_at as string)).not.toBeNaN()
    const audit = await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}')
    expect(audit.map((r) => JSON.parse(r.payload))).toContainEqual(expect.objectContaining({ action: 'user_signedup', actor_id: id }))

    const again = await verify({ type: 'signup', token })
    expect(again.status).toBe(404)
    expect(await body(again)).toEqual({ code: 404, msg: 'User not found' })
  })

  test.each([[' '], ['\t'], ['   '], [''], [undefined]])('token %j → 422 Verify requires a token', async (token) => {
    const res = await verify({ type: 'signup', token })
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg: 'Verify requires a token' })
  })

  test('whitespace token with type recovery → 422 Verify requires a token', async () => {
    const res = await verify({ type: 'recovery', token: ' ' })
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg: 'Verify requires a token' })
  })

  test.each([['phone_change'], [''], [undefined], ['SIGNUP']])('type %j → 422 Verify requires a verification type', async (type) => {
    const { token } = await signupToken(`type-${String(type)}@example.com`)
    const res = await verify({ type, token })
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg: 'Verify requires a verification type' })
    // The token was not spent by the rejected request.
    expect((await verify({ type: 'signup', token })).status).toBe(200)
  })

  test('an unknown token → 404 User not found', async () => {
    const res = await verify({ type: 'signup', token: 'AAAAAAAAAAAAAAAAAAAAAA' })
    expect(res.status).toBe(404)
    expect(await body(res)).toEqual({ code: 404, msg: 'User not found' })
  })

  test('a confirmation older than 24 hours → 422 Confirmation token expired', async () => {
    const { token } = await signupToken('expired@example.com')
    s.clock.advance(25 * 3600)
    const res = await verify({ type: 'signup', token })
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg: 'Confirmation token expired' })
  })

  test('a recovery token is not a signup token (404), but works as type recovery', async () => {
    const email = 'recover-me@example.com'
    await signupToken(email)
    expect((await s.req('/recover', { method: 'POST', json: { email } })).status).toBe(200)
    const mail = await s.smtp.waitForMail(email, { count: 2 })
    const token = tokenFromMail(mail, 'recovery_token')
    const wrong = await verify({ type: 'signup', token })
    expect(wrong.status).toBe(404)
    expect(await body(wrong)).toEqual({ code: 404, msg: 'User not found' })
    expect((await verify({ type: 'recovery', token })).status).toBe(200)
  })

  test('a recovery link that confirms a pending signup clears the password someone else may have chosen', async () => {
    // anyone may sign up an address they do not own; its owner later asks for a recovery link and follows it
    const email = 'prehijack-recovery@example.com'
    await signupToken(email) // password-1, chosen by "the attacker"
    expect((await s.req('/recover', { method: 'POST', json: { email } })).status).toBe(200)
    const token = tokenFromMail(await s.smtp.waitForMail(email, { count: 2 }), 'recovery_token')
    const res = await verify({ type: 'recovery', token })
    expect(res.status).toBe(200)
    const { access_token } = await body<{ access_token: string }>(res)
    const grant = (password: string) => s.req('/token', form({ grant_type: 'password', username: email, password }))
    expect((await grant('password-1')).status).toBe(400)
    // the owner, logged in by the link, sets a password of their own
    const put = await s.req('/user', { method: 'PUT', json: { password: 'owners-new-pw' }, headers: { authorization: `Bearer ${access_token}` } })
    expect(put.status).toBe(200)
    expect((await grant('owners-new-pw')).status).toBe(200)
    expect((await grant('password-1')).status).toBe(400)
  })

  test('a recovery of a confirmed account keeps its password until the owner sets a new one', async () => {
    const email = 'confirmed-recovery@example.com'
    const { token: confirmation } = await signupToken(email)
    expect((await verify({ type: 'signup', token: confirmation })).status).toBe(200)
    expect((await s.req('/recover', { method: 'POST', json: { email } })).status).toBe(200)
    const token = tokenFromMail(await s.smtp.waitForMail(email, { count: 2 }), 'recovery_token')
    expect((await verify({ type: 'recovery', token })).status).toBe(200)
    const grant = await s.req('/token', form({ grant_type: 'password', username: email, password: 'password-1' }))
    expect(grant.status).toBe(200)
  })
})

describe('POST /verify cookie mode (X-Use-Cookie)', () => {
  test('sets nf_jwt to the access token, HttpOnly, with Max-Age', async () => {
    const { token } = await signupToken('cookie@example.com')
    const res = await verify({ type: 'signup', token }, { 'X-Use-Cookie': '1' })
    expect(res.status).toBe(200)
    const t = await body(res)
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie.startsWith(`nf_jwt=${t.access_token};`)).toBe(true)
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('Path=/')
    expect(cookie).toContain('Secure') // SITE_URL is https
    expect(cookie).toContain('Max-Age=86400')
  })

  test('the value `session` makes a session cookie (no Max-Age)', async () => {
    const { token } = await signupToken('session-cookie@example.com')
    const res = await verify({ type: 'signup', token }, { 'X-Use-Cookie': 'session' })
    expect(res.status).toBe(200)
    const t = await body(res)
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie.startsWith(`nf_jwt=${t.access_token};`)).toBe(true)
    expect(cookie).toContain('HttpOnly')
    expect(cookie).not.toContain('Max-Age')
    expect(cookie).not.toContain('Expires')
  })
})

describe('POST /verify safety', () => {
  test('10 concurrent uses of one token: exactly one session', async () => {
    const { id, token } = await signupToken('race@example.com')
    const results = await Promise.all(Array.from({ length: 10 }, () => verify({ type: 'signup', token })))
    const statuses = results.map((r) => r.status).sort()
    expect(statuses).toEqual([200, 404, 404, 404, 404, 404, 404, 404, 404, 404])
    const sessions = await s.db.all('SELECT id FROM {refresh_tokens} WHERE user_id = ?', [id])
    expect(sessions).toHaveLength(1)
  })

  test('a database dump contains neither the mailed token nor the refresh token', async () => {
    const { id, token } = await signupToken('dump@example.com')
    const dumpBefore = JSON.stringify([
      await s.db.all('SELECT * FROM {users}'),
      await s.db.all('SELECT * FROM {one_time_tokens}'),
    ])
    expect(dumpBefore).toContain(id)
    expect(dumpBefore).not.toContain(token)
    const t = await body(await verify({ type: 'signup', token }))
    const dumpAfter = JSON.stringify([
      await s.db.all('SELECT * FROM {users}'),
      await s.db.all('SELECT * FROM {one_time_tokens}'),
      await s.db.all('SELECT * FROM {refresh_tokens}'),
    ])
    expect(dumpAfter).not.toContain(token)
    expect(dumpAfter).not.toContain(t.refresh_token as string)
  })
})

describe('POST /verify ends the older sessions when it recovers an account or confirms an email change', () => {
  type Session = Tokens
  const refresh = (t: Session) => refreshOn(s, t.refresh_token)
  const expectEnded = async (t: Session) => {
    const res = await refresh(t)
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: 'Invalid Refresh Token' })
  }
  /** A confirmed user with two sessions: the one its confirmation opened and a password login. */
  async function twoSessions(email: string): Promise<[Session, Session]> {
    const { token } = await signupToken(email)
    const a = await body<Session>(await verify({ type: 'signup', token }))
    const b = await body<Session>(await s.req('/token', form({ grant_type: 'password', username: email, password: 'password-1' })))
    expect(b.refresh_token).toBeString()
    return [a, b]
  }

  test('recovery: the session it opens works; every session from before is refused', async () => {
    const email = 'recover-sessions@example.com'
    const [a, b] = await twoSessions(email)
    expect((await s.req('/recover', { method: 'POST', json: { email } })).status).toBe(200)
    const token = tokenFromMail(await s.smtp.waitForMail(email, { count: 2 }), 'recovery_token')
    const res = await verify({ type: 'recovery', token })
    expect(res.status).toBe(200)
    const c = await body<Session>(res)
    await expectEnded(a)
    await expectEnded(b)
    expect((await refresh(c)).status).toBe(200)
  })

  test('email_change: the session it opens works; every session from before is refused', async () => {
    const email = 'change-sessions@example.com', to = 'changed-sessions@example.com'
    const [a, b] = await twoSessions(email)
    const put = await s.req('/user', { method: 'PUT', json: { email: to }, headers: { authorization: `Bearer ${a.access_token}` } })
    expect(put.status).toBe(200)
    const rotated = await refresh(b) // requesting the change ends nothing
    expect(rotated.status).toBe(200)
    const b1 = await body<Session>(rotated)
    const token = tokenFromMail(await s.smtp.waitForMail(to), 'email_change_token')
    const res = await verify({ type: 'email_change', token })
    expect(res.status).toBe(200)
    const c = await body<Session>(res)
    await expectEnded(a)
    await expectEnded(b1)
    expect((await refresh(c)).status).toBe(200)
  })

  test('a failed verify (unknown token) ends nothing', async () => {
    const [a] = await twoSessions('no-recovery@example.com')
    expect((await verify({ type: 'recovery', token: 'no-such-token' })).status).toBe(404)
    expect((await refresh(a)).status).toBe(200)
  })
})
