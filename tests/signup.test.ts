// POST /signup (spec §3.2, §7.1–7.3, §15 items 1, 9, 22): the user object, the order of checks, duplicates,
// re-signup, mail throttling, autoconfirm, concurrency and the undo after a failed mail.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { USER_COLUMNS, type UserRow } from '../lib/users.ts'
import { body, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { loggedInUser, login, OPERATOR } from './helpers.ts'

const USER_KEYS = ['app_metadata', 'aud', 'confirmation_sent_at', 'created_at', 'email', 'id', 'role', 'updated_at', 'user_metadata']

const signup = (s: TestServer, json: unknown, headers: Record<string, string> = {}) =>
  s.req('/signup', { method: 'POST', json, headers })
const verify = (s: TestServer, token: string, password?: string) => s.req('/verify', { method: 'POST', json: { type: 'signup', token, password } })
/** The whole stored row, to check that a refused or undone signup left every column as it was. */
const rowOf = async (s: TestServer, email: string): Promise<UserRow> =>
  (await s.db.get<UserRow>(`SELECT ${USER_COLUMNS} FROM {users} WHERE email_key = ? AND aud = ?`, [email.toLowerCase(), 'api.netlify.com'])) as UserRow
const usersWithEmail = (s: TestServer, email: string) =>
  s.db.all<{ id: string }>('SELECT id FROM {users} WHERE email_key = ?', [email.toLowerCase()])

describe('POST /signup', () => {
  let s: TestServer
  const userRow = (email: string) => rowOf(s, email)
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_JWT_AUDIENCES: 'other.example.com' } }) })
  afterAll(async () => { await s.stop() })

  test('200: the user object has exactly GoTrue keys, no password hash or tokens', async () => {
    const res = await signup(s, { email: 'shape@example.com', password: 'password-1', data: { a: 1 } })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    const u = await body(res)
    expect(Object.keys(u).sort()).toEqual(USER_KEYS)
    expect(u).toMatchObject({
      aud: 'api.netlify.com', role: '', email: 'shape@example.com',
      app_metadata: { provider: 'email' }, user_metadata: { a: 1 },
    })
    expect(u.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    for (const k of ['confirmation_sent_at', 'created_at', 'updated_at']) expect(Date.parse(u[k] as string)).not.toBeNaN()
    const text = JSON.stringify(u)
    for (const secret of ['encrypted_password', 'password', 'token', 'confirmed_at']) expect(text).not.toContain(secret)
  })

  test('aud comes from the X-JWT-AUD header, so one email can exist once per audience', async () => {
    const a = await body(await signup(s, { email: 'aud@example.com', password: 'password-1' }))
    const res = await signup(s, { email: 'aud@example.com', password: 'password-1' }, { 'X-JWT-AUD': 'other.example.com' })
    expect(res.status).toBe(200)
    const b = await body(res)
    expect(a.aud).toBe('api.netlify.com')
    expect(b.aud).toBe('other.example.com')
    expect(b.id).not.toBe(a.id)
    expect(await usersWithEmail(s, 'aud@example.com')).toHaveLength(2)
  })

  test.each([
    [{ email: 'x@example.com' }, 'Signup requires a valid password'],
    [{ email: 'x@example.com', password: '' }, 'Signup requires a valid password'],
    [{ password: 'password-1' }, 'An email address is required'],
    [{ email: '   ', password: 'password-1' }, 'An email address is required'],
    [{ email: 'not-an-email', password: 'password-1' }, "Unable to validate email address: mail: missing '@' or angle-addr"],
    [{ email: 'Bob <bob@example.com>', password: 'password-1' }, 'Unable to validate email address: mail: invalid address'],
    [{ email: 'x@example.com', password: 'short-7' }, 'Password should be at least 8 characters'],
    [{ email: 'x@example.com', password: 'p'.repeat(73) }, 'Password cannot be longer than 72 bytes'],
    // 37 characters but 74 bytes: bcrypt's limit is in bytes.
    [{ email: 'x@example.com', password: 'é'.repeat(37) }, 'Password cannot be longer than 72 bytes'],
  ])('422 for %j', async (json, msg) => {
    const res = await signup(s, json)
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg })
    expect(await usersWithEmail(s, 'x@example.com')).toHaveLength(0)
  })

  test('a 72-byte password is accepted', async () => {
    expect((await signup(s, { email: 'long@example.com', password: 'p'.repeat(72) })).status).toBe(200)
  })

  test('a JSON body with a charset parameter is read', async () => {
    const res = await s.req('/signup', {
      method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ email: 'charset@example.com', password: 'password-1' }),
    })
    expect(res.status).toBe(200)
    expect((await body(res)).email).toBe('charset@example.com')
  })

  test('a body that is not JSON is a 400', async () => {
    const res = await s.req('/signup', { method: 'POST', body: '{"email":', headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(400)
    expect((await body(res)).code).toBe(400)
  })

  test('a confirmed email cannot sign up again, whatever its case', async () => {
    expect((await signup(s, { email: 'alice@x.com', password: 'password-1' })).status).toBe(200)
    expect((await verify(s, tokenFromMail(await s.smtp.waitForMail('alice@x.com'), 'confirmation_token'))).status).toBe(200)
    for (const email of ['alice@x.com', 'Alice@X.com', ' ALICE@x.com ']) {
      const res = await signup(s, { email, password: 'password-2' })
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual({ code: 400, msg: 'A user with this email address has already been registered' })
    }
    expect(await usersWithEmail(s, 'alice@x.com')).toHaveLength(1)
  })

  test('re-signup of a pending signup with the same password: the same user, data merged, no second mail', async () => {
    const email = 'again@example.com'
    const first = await body(await signup(s, { email, password: 'owner-pw-1', data: { a: 1, b: 2 } }))
    const res = await signup(s, { email: 'Again@Example.com', password: 'owner-pw-1', data: { b: null, c: 3 } })
    expect(res.status).toBe(200)
    const second = await body(res)
    expect(second.id).toBe(first.id)
    expect(second.email).toBe(email)
    expect(second.user_metadata).toEqual({ a: 1, c: 3 })
    // Within SMTP_MAX_FREQUENCY: still one mail, and its link still works; the password is the one chosen.
    expect(s.smtp.mailsTo(email)).toHaveLength(1)
    expect((await verify(s, tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token'))).status).toBe(200)
    expect((await login(s, email, 'owner-pw-1')).status).toBe(200)
  })

  test('re-signup of a pending signup with another password: neither password works; the owner confirms and sets one', async () => {
    const email = 'pending@example.com'
    expect((await signup(s, { email, password: 'owner-pw-1', data: { name: 'Owner' } })).status).toBe(200)
    const link = tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')
    const res = await signup(s, { email, password: 'attacker-pw', data: { name: 'Attacker' } })
    expect(res.status).toBe(200)
    // The answer shows the caller only what it sent, not the owner's data.
    expect((await body(res)).user_metadata).toEqual({ name: 'Attacker' })
    const row = await userRow(email)
    expect(row.encrypted_password).toBe('')
    // Nor either side's profile: whoever signed up first may not be the address's owner either.
    expect(JSON.parse(row.raw_user_meta_data ?? '')).toEqual({})
    for (const pw of ['owner-pw-1', 'attacker-pw', '']) {
      const r = await login(s, email, pw)
      expect(r.status).toBe(400)
      expect(await body(r)).toEqual({ error: 'invalid_grant', error_description: 'No user found with that email, or password invalid.' })
    }
    // The owner follows the link of their mail: logged in, then sets a password.
    const session = await verify(s, link)
    expect(session.status).toBe(200)
    const { access_token } = await body<{ access_token: string }>(session)
    const put = await s.req('/user', { method: 'PUT', json: { password: 'owner-pw-2' }, headers: { authorization: `Bearer ${access_token}` } })
    expect(put.status).toBe(200)
    expect((await login(s, email, 'owner-pw-2')).status).toBe(200)
    expect((await login(s, email, 'attacker-pw')).status).toBe(400)
    expect((await login(s, email, 'owner-pw-1')).status).toBe(400)
  })

  test('an invited user is already registered: an attacker\'s signup neither mails nor keeps a password', async () => {
    const email = 'invitee@example.com'
    expect((await s.req('/invite', { method: 'POST', json: { email }, headers: OPERATOR })).status).toBe(200)
    const invite = tokenFromMail(await s.smtp.waitForMail(email), 'invite_token')
    const before = await userRow(email)
    const res = await signup(s, { email, password: 'attacker-pw', data: { x: 1 } })
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: 'A user with this email address has already been registered' })
    expect(await userRow(email)).toEqual(before)
    expect(s.smtp.mailsTo(email)).toHaveLength(1) // the invite only
    expect((await verify(s, invite, 'invitee-pw-1')).status).toBe(200)
    expect((await login(s, email, 'attacker-pw')).status).toBe(400)
    expect((await login(s, email, 'invitee-pw-1')).status).toBe(200)
  })

  test('an admin-created user is already registered, and cannot log in with an empty password', async () => {
    const email = 'made@example.com'
    expect((await s.req('/admin/users', { method: 'POST', json: { email, role: 'admin' }, headers: OPERATOR })).status).toBe(200)
    const before = await userRow(email)
    const res = await signup(s, { email, password: 'attacker-pw' })
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: 'A user with this email address has already been registered' })
    expect(await userRow(email)).toEqual(before)
    expect(s.smtp.mailsTo(email)).toHaveLength(0)
    expect((await login(s, email, '')).status).toBe(400)
    expect((await login(s, email, 'attacker-pw')).status).toBe(400)
  })

  test('SMTP_MAX_FREQUENCY: no second mail inside the window; after it a new mail and the old link is dead', async () => {
    const email = 'throttle@example.com'
    expect((await signup(s, { email, password: 'password-1' })).status).toBe(200)
    const oldToken = tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')
    const again = await signup(s, { email, password: 'password-1' })
    expect(again.status).toBe(200)
    expect(s.smtp.mailsTo(email)).toHaveLength(1)

    s.clock.advance(15 * 60 + 1)
    expect((await signup(s, { email, password: 'password-1' })).status).toBe(200)
    const newToken = tokenFromMail(await s.smtp.waitForMail(email, { count: 2 }), 'confirmation_token')
    expect(newToken).not.toBe(oldToken)
    const dead = await verify(s, oldToken)
    expect(dead.status).toBe(404)
    expect(await body(dead)).toEqual({ code: 404, msg: 'User not found' })
    expect((await verify(s, newToken)).status).toBe(200)
  })

  test('50 concurrent signups of one email make exactly one user', async () => {
    const email = 'race@example.com'
    const results = await Promise.all(Array.from({ length: 50 }, () => signup(s, { email, password: 'password-1' })))
    for (const r of results) expect([200, 400]).toContain(r.status)
    expect(await usersWithEmail(s, email)).toHaveLength(1)
    // The winner mailed; every other request was a re-signup inside SMTP_MAX_FREQUENCY.
    expect(s.smtp.mailsTo(email)).toHaveLength(1)
  })

  test('a failed confirmation mail is a 500 and leaves no user behind', async () => {
    const email = 'mailfail@example.com'
    s.smtp.failNext()
    const res = await signup(s, { email, password: 'password-1' })
    expect(res.status).toBe(500)
    const b = await body(res)
    expect(b).toEqual({ code: 500, msg: 'Error sending confirmation mail', error_id: expect.any(String) })
    expect(b.error_id).toBe(res.headers.get('x-request-id') as string)
    expect(await usersWithEmail(s, email)).toHaveLength(0)
    // The email is free again, and the next attempt is not throttled by the failed one.
    expect((await signup(s, { email, password: 'password-1' })).status).toBe(200)
    expect(tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')).toBeTruthy()
  })

  test('a /resend whose mail fails does not count against SMTP_MAX_FREQUENCY: asked again at once, the mail goes', async () => {
    const email = 'resend-mailfail@example.com'
    expect((await signup(s, { email, password: 'first-pw-1' })).status).toBe(200)
    await s.smtp.waitForMail(email)
    s.clock.advance(16 * 60) // past the window of the signup's own mail
    const sentAt = async () => (await userRow(email)).confirmation_sent_at
    const before = await sentAt()
    s.smtp.failNext()
    expect((await s.req('/resend', { method: 'POST', json: { email, type: 'signup' } })).status).toBe(200) // answered before the mail
    for (let i = 0; i < 50 && (await sentAt()) !== before; i++) await Bun.sleep(20) // the failure is handled after the answer
    expect(await sentAt()).toBe(before)
    expect((await s.req('/resend', { method: 'POST', json: { email, type: 'signup' } })).status).toBe(200)
    const mail = await s.smtp.waitForMail(email, { count: 2 })
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token: tokenFromMail(mail, 'confirmation_token') } })).status).toBe(200)
  })

  test('a /resend of an email change whose mail fails does not count against SMTP_MAX_FREQUENCY either', async () => {
    const u = await loggedInUser(s)
    const to = `changed-${u.email}`
    expect((await s.req('/user', { method: 'PUT', json: { email: to }, headers: u.auth })).status).toBe(200)
    await s.smtp.waitForMail(to)
    s.clock.advance(16 * 60)
    const sentAt = async () => (await userRow(u.email)).email_change_sent_at
    const before = await sentAt()
    s.smtp.failNext()
    expect((await s.req('/resend', { method: 'POST', json: { email: u.email, type: 'email_change' } })).status).toBe(200)
    for (let i = 0; i < 50 && (await sentAt()) !== before; i++) await Bun.sleep(20)
    expect(await sentAt()).toBe(before)
    expect((await s.req('/resend', { method: 'POST', json: { email: u.email, type: 'email_change' } })).status).toBe(200)
    expect(tokenFromMail(await s.smtp.waitForMail(to, { count: 2 }), 'email_change_token')).toBeTruthy()
  })

  test('a re-signup whose mail fails leaves the row and its confirmation link exactly as they were', async () => {
    const email = 'resend@example.com'
    expect((await signup(s, { email, password: 'first-pw-1', data: { a: 1 } })).status).toBe(200)
    const { updated_at: _, ...before } = await userRow(email)
    const links = () => s.db.all('SELECT id, token_hash, created_at FROM {one_time_tokens} WHERE user_id = ?', [before.id])
    const linksBefore = await links()
    expect(linksBefore).toHaveLength(1)
    s.clock.advance(15 * 60 + 1)
    for (const password of ['second-pw-1', 'first-pw-1']) { // another password (clears), the same one (merges)
      s.smtp.failNext()
      const res = await signup(s, { email, password, data: { a: null, b: 2 } })
      expect(res.status).toBe(500)
      expect(await body(res)).toEqual({ code: 500, msg: 'Error sending confirmation mail', error_id: expect.any(String) })
      const { updated_at: __, ...after } = await userRow(email)
      expect(after).toEqual(before)
      expect(await links()).toEqual(linksBefore)
    }
    // The failed attempts do not count against SMTP_MAX_FREQUENCY: trying again mails at once.
    expect((await signup(s, { email, password: 'first-pw-1' })).status).toBe(200)
    const link = tokenFromMail(await s.smtp.waitForMail(email, { count: 2 }), 'confirmation_token')
    expect((await verify(s, link)).status).toBe(200)
    expect((await login(s, email, 'first-pw-1')).status).toBe(200)
  })
})

describe('POST /signup with GOTRUE_MAILER_AUTOCONFIRM', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true' } }) })
  afterAll(async () => { await s.stop() })

  test('the user is confirmed at once, no mail is sent, the signup is audited and login works', async () => {
    const res = await signup(s, { email: 'auto@example.com', password: 'password-1' })
    expect(res.status).toBe(200)
    const u = await body(res)
    expect(Date.parse(u.confirmed_at as string)).not.toBeNaN()
    expect(u).not.toHaveProperty('confirmation_sent_at')
    expect(u).not.toHaveProperty('access_token')
    expect(s.smtp.mails).toHaveLength(0)
    const audit = await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}')
    expect(audit.map((r) => JSON.parse(r.payload))).toContainEqual(expect.objectContaining({
      action: 'user_signedup', actor_id: u.id, actor_email: 'auto@example.com', log_type: 'team',
    }))
    expect((await login(s, 'auto@example.com', 'password-1')).status).toBe(200)
    expect(s.smtp.mails).toHaveLength(0)
  })

  test('an unconfirmed admin-created admin cannot be taken over: 400, no password, no confirmation', async () => {
    const email = 'boss@example.com'
    const made = await s.req('/admin/users', { method: 'POST', json: { email, role: 'admin', app_metadata: { roles: ['admin'] } }, headers: OPERATOR })
    expect(made.status).toBe(200)
    const before = await rowOf(s, email)
    const res = await signup(s, { email, password: 'attacker-pw', data: { x: 1 } })
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: 'A user with this email address has already been registered' })
    expect(await rowOf(s, email)).toEqual(before)
    expect(before).toMatchObject({ role: 'admin', confirmed_at: null, encrypted_password: '' })
    const grant = await login(s, email, 'attacker-pw')
    expect(grant.status).toBe(400)
    expect(await body(grant)).toEqual({ error: 'invalid_grant', error_description: 'No user found with that email, or password invalid.' })
  })

  test('a signup left pending from before autoconfirm was on is already registered, whatever the password', async () => {
    const email = 'older@example.com'
    expect((await signup(s, { email, password: 'owner-pw-1' })).status).toBe(200)
    await s.db.run('UPDATE {users} SET confirmed_at = NULL, confirmation_sent_at = updated_at WHERE email_key = ?', [email])
    const before = await rowOf(s, email)
    for (const password of ['owner-pw-1', 'attacker-pw']) {
      const res = await signup(s, { email, password, data: { x: 1 } })
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual({ code: 400, msg: 'A user with this email address has already been registered' })
    }
    expect(await rowOf(s, email)).toEqual(before)
  })
})

describe('POST /signup when signups are disabled', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_DISABLE_SIGNUP: 'true' } }) })
  afterAll(async () => { await s.stop() })

  test('403 before the body is read, even for an unparsable body', async () => {
    for (const init of [
      { method: 'POST', json: { email: 'no@example.com', password: 'password-1' } },
      { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } },
    ]) {
      const res = await s.req('/signup', init)
      expect(res.status).toBe(403)
      expect(await body(res)).toEqual({ code: 403, msg: 'Signups not allowed for this instance' })
    }
    expect(await usersWithEmail(s, 'no@example.com')).toHaveLength(0)
  })
})

describe('POST /signup when the email provider is disabled', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_EXTERNAL_EMAIL_DISABLED: 'true' } }) })
  afterAll(async () => { await s.stop() })

  test('400 Unsupported email provider, also before the body is read', async () => {
    for (const init of [
      { method: 'POST', json: { email: 'no@example.com', password: 'password-1' } },
      { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } },
    ]) {
      const res = await s.req('/signup', init)
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual({ code: 400, msg: 'Unsupported email provider' })
    }
    expect(await usersWithEmail(s, 'no@example.com')).toHaveLength(0)
  })
})
