// POST /invite (spec §3.9, §7.5, §15 item 8): admin-only; creates a password-less user and mails an invite
// link that gotrue-js accepts through POST /verify {type:'signup', token, password}. Invites expire (7 days).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { signAccessToken } from '../lib/jwt.ts'
import { body, JWT_SECRET, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { login, OPERATOR } from './helpers.ts'


const invite = (s: TestServer, json: unknown, headers: Record<string, string> = OPERATOR) =>
  s.req('/invite', { method: 'POST', json, headers })
const userRows = (s: TestServer, email: string) =>
  s.db.all<{ id: string }>('SELECT id FROM {users} WHERE email_key = ?', [email.toLowerCase()])

/** A system-user JWT (sub "0"): the super admin Netlify functions get. */
const systemJwt = (aud = 'api.netlify.com') => signAccessToken({
  aud, exp: Math.floor(Date.now() / 1000) + 600, sub: '0', email: 'functions@netlify.com', app_metadata: {}, user_metadata: {},
}, JWT_SECRET)

/** Invites `email` with the operator token and returns the token from the invite mail. */
async function invited(s: TestServer, email: string): Promise<string> {
  expect((await invite(s, { email })).status).toBe(200)
  return tokenFromMail(await s.smtp.waitForMail(email), 'invite_token')
}

describe('POST /invite', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer() })
  afterAll(async () => { await s.stop() })

  test('401 without a Bearer token', async () => {
    for (const headers of [{}, { authorization: 'Basic abc' }, { authorization: 'Bearer' }] as Record<string, string>[]) {
      const res = await invite(s, { email: 'nobody@example.com' }, headers)
      expect(res.status).toBe(401)
      expect(await body(res)).toEqual({ code: 401, msg: 'This endpoint requires a Bearer token' })
    }
    expect(await userRows(s, 'nobody@example.com')).toHaveLength(0)
  })

  test("401 User not allowed with a normal user's JWT", async () => {
    await s.req('/signup', { method: 'POST', json: { email: 'plain@example.com', password: 'password-1' } })
    const token = tokenFromMail(await s.smtp.waitForMail('plain@example.com'), 'confirmation_token')
    const session = await body(await s.req('/verify', { method: 'POST', json: { type: 'signup', token } }))
    const res = await invite(s, { email: 'nobody@example.com' }, { authorization: `Bearer ${session.access_token}` })
    expect(res.status).toBe(401)
    expect(await body(res)).toEqual({ code: 401, msg: 'User not allowed' })
    expect(await userRows(s, 'nobody@example.com')).toHaveLength(0)
  })

  test('the operator token invites: user with invited_at, invite mail, audit entry', async () => {
    const res = await invite(s, { email: 'Invitee@Example.com', data: { full_name: 'In Vitee' } })
    expect(res.status).toBe(200)
    const u = await body(res)
    expect(Object.keys(u).sort()).toEqual(['app_metadata', 'aud', 'created_at', 'email', 'id', 'invited_at', 'role', 'updated_at', 'user_metadata'])
    expect(u).toMatchObject({
      aud: 'api.netlify.com', role: '', email: 'Invitee@Example.com',
      app_metadata: { provider: 'email' }, user_metadata: { full_name: 'In Vitee' },
    })
    expect(Date.parse(u.invited_at as string)).not.toBeNaN()

    const mail = await s.smtp.waitForMail('invitee@example.com')
    expect(mail.subject).toBe('You have been invited')
    expect(mail.html).toContain('https://example.netlify.com/#invite_token=')
    expect(tokenFromMail(mail, 'invite_token')).toMatch(/^[A-Za-z0-9_-]{22,}$/)

    const audit = (await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}')).map((r) => JSON.parse(r.payload))
    expect(audit).toContainEqual(expect.objectContaining({
      action: 'user_invited', log_type: 'team', actor_id: '00000000-0000-0000-0000-000000000000',
      traits: { user_id: u.id, user_email: 'Invitee@Example.com' },
    }))
  })

  test('a system-user JWT (sub "0") invites into its own audience', async () => {
    const res = await invite(s, { email: 'sys@example.com' }, { authorization: `Bearer ${await systemJwt('functions.example.com')}` })
    expect(res.status).toBe(200)
    expect((await body(res)).aud).toBe('functions.example.com')
    expect(tokenFromMail(await s.smtp.waitForMail('sys@example.com'), 'invite_token')).toBeTruthy()
  })

  test('an expired system-user JWT is refused', async () => {
    const expired = await signAccessToken({
      aud: 'api.netlify.com', exp: Math.floor(Date.now() / 1000) - 60, sub: '0', email: '', app_metadata: {}, user_metadata: {},
    }, JWT_SECRET)
    const res = await invite(s, { email: 'late@example.com' }, { authorization: `Bearer ${expired}` })
    expect(res.status).toBe(401)
    expect(await userRows(s, 'late@example.com')).toHaveLength(0)
  })

  test('422 for a missing or invalid email', async () => {
    for (const [json, msg] of [
      [{}, 'An email address is required'],
      [{ email: 'not-an-email' }, "Unable to validate email address: mail: missing '@' or angle-addr"],
    ] as const) {
      const res = await invite(s, json)
      expect(res.status).toBe(422)
      expect(await body(res)).toEqual({ code: 422, msg })
    }
  })

  test('an email that exists (any case, confirmed or not) → 422', async () => {
    await invited(s, 'twice@example.com')
    for (const email of ['twice@example.com', 'TWICE@example.com']) {
      const res = await invite(s, { email })
      expect(res.status).toBe(422)
      expect(await body(res)).toEqual({ code: 422, msg: 'Email address already registered by another user' })
    }
    expect(s.smtp.mailsTo('twice@example.com')).toHaveLength(1)
  })

  test('accepting with type signup (as gotrue-js does) sets the password and logs in', async () => {
    const email = 'accept@example.com'
    const token = await invited(s, email)
    expect((await login(s, email, '')).status).toBe(400)

    const res = await s.req('/verify', { method: 'POST', json: { type: 'signup', token, password: 'chosen-pw-1' } })
    expect(res.status).toBe(200)
    const t = await body(res)
    expect(t).toMatchObject({ token_type: 'bearer', expires_in: 3600 })
    const me = await body(await s.req('/user', { headers: { authorization: `Bearer ${t.access_token}` } }))
    expect(me.email).toBe(email)
    expect(Date.parse(me.confirmed_at as string)).not.toBeNaN()
    expect((await login(s, email, 'chosen-pw-1')).status).toBe(200)
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token, password: 'chosen-pw-1' } })).status).toBe(404)
  })

  test('accepting without a password → 422, and the token stays usable', async () => {
    const token = await invited(s, 'nopw@example.com')
    const res = await s.req('/verify', { method: 'POST', json: { type: 'signup', token } })
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg: 'Invited users must specify a password' })
    const weak = await s.req('/verify', { method: 'POST', json: { type: 'signup', token, password: 'short' } })
    expect(weak.status).toBe(422)
    expect(await body(weak)).toEqual({ code: 422, msg: 'Password should be at least 8 characters' })
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token, password: 'long-enough' } })).status).toBe(200)
  })

  test('a signup of the invited address before acceptance is refused and keeps no password', async () => {
    const email = 'hijack@example.com'
    const token = await invited(s, email)
    const signup = await s.req('/signup', { method: 'POST', json: { email, password: 'attacker-pw' } })
    expect(signup.status).toBe(400)
    expect(await body(signup)).toEqual({ code: 400, msg: 'A user with this email address has already been registered' })
    const none = await s.req('/verify', { method: 'POST', json: { type: 'signup', token } })
    expect(none.status).toBe(422)
    expect(await body(none)).toEqual({ code: 422, msg: 'Invited users must specify a password' })
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token, password: 'invitee-pw' } })).status).toBe(200)
    expect((await login(s, email, 'invitee-pw')).status).toBe(200)
    expect((await login(s, email, 'attacker-pw')).status).toBe(400)
  })

  test('type invite is accepted too', async () => {
    const token = await invited(s, 'typed@example.com')
    const res = await s.req('/verify', { method: 'POST', json: { type: 'invite', token, password: 'chosen-pw-1' } })
    expect(res.status).toBe(200)
    expect((await login(s, 'typed@example.com', 'chosen-pw-1')).status).toBe(200)
  })

  test('a failed invite mail → 500 Error inviting user, and no user is left', async () => {
    const email = 'bounce@example.com'
    s.smtp.failNext()
    const res = await invite(s, { email })
    expect(res.status).toBe(500)
    expect(await body(res)).toEqual({ code: 500, msg: 'Error inviting user', error_id: expect.any(String) })
    expect(await userRows(s, email)).toHaveLength(0)
    expect(await invited(s, email)).toBeTruthy()
  })

  // Last in this block: it moves the clock.
  test('an invite expires after 7 days', async () => {
    const token = await invited(s, 'slow@example.com')
    s.clock.advance(8 * 86400)
    const res = await s.req('/verify', { method: 'POST', json: { type: 'signup', token, password: 'chosen-pw-1' } })
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg: 'Confirmation token expired' })
    expect((await login(s, 'slow@example.com', 'chosen-pw-1')).status).toBe(400)
  })
})

describe('POST /invite when signups are disabled', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_DISABLE_SIGNUP: 'true' } }) })
  afterAll(async () => { await s.stop() })

  test('invites still work and can be accepted', async () => {
    const token = await invited(s, 'closed@example.com')
    const res = await s.req('/verify', { method: 'POST', json: { type: 'signup', token, password: 'chosen-pw-1' } })
    expect(res.status).toBe(200)
  })
})
