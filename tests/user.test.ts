// GET /user and PUT /user: the bearer check, which JWTs are refused, the audience check, metadata merges,
// password and email changes (with the confirmation mail to the new address, and the other sessions they end),
// and app_metadata for admins.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHmac } from 'node:crypto'
import { body, DIALECT, JWT_SECRET, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { bearer as bearerOf, freshEmail, loggedInUser, login as loginOn, PASSWORD, refresh as refreshOn, type Tokens } from './helpers.ts'
import { Value } from '@sinclair/typebox/value'
import { User } from '../lib/users.ts'

let s: TestServer
const METRICS = { authorization: 'Bearer user-test-metrics-token' }
beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_METRICS_TOKEN: METRICS.authorization.slice(7) } }) })
afterAll(() => s.stop())

/** A login's status and, when it worked, its access token. */
const login = async (email: string, password = PASSWORD) => {
  const res = await loginOn(s, email, password)
  return { status: res.status, token: res.status === 200 ? (await body<{ access_token: string }>(res)).access_token : '' }
}
const getUser = (headers: Record<string, string>) => s.req('/user', { headers })
const putUser = (auth: Record<string, string>, json: unknown) => s.req('/user', { method: 'PUT', json, headers: auth })

/** A JWT built by hand (no jose here): any header, any payload, HMAC with any hash, or no signature at all. */
function handJwt(header: Record<string, unknown>, payload: Record<string, unknown>, hash: 'sha256' | 'sha512' | null = 'sha256') {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const input = `${enc(header)}.${enc(payload)}`
  return `${input}.${hash ? createHmac(hash, JWT_SECRET).update(input).digest('base64url') : ''}`
}
const claimsFor = (sub: string, extra: Record<string, unknown> = {}) => ({
  aud: 'api.netlify.com', exp: Math.floor(Date.now() / 1000) + 3600, sub, email: 'x@example.com', app_metadata: {}, user_metadata: {}, ...extra,
})
const HS256 = { alg: 'HS256', typ: 'JWT' }
const auditCount = async (userId: string, action: string) => (await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}'))
  .map((r) => JSON.parse(r.payload) as Record<string, unknown>).filter((p) => p.actor_id === userId && p.action === action).length

describe('GET /user', () => {
  test('200 with the user object read from the database; metadata {} not null', async () => {
    const u = await loggedInUser(s)
    const res = await getUser(u.auth)
    expect(res.status).toBe(200)
    const me = await body(res)
    expect(me).toMatchObject({ id: u.id, aud: 'api.netlify.com', role: '', email: u.email, app_metadata: { provider: 'email' }, user_metadata: {} })
    for (const k of ['confirmed_at', 'created_at', 'updated_at', 'last_sign_in_at']) expect(typeof me[k]).toBe('string')
    for (const k of ['encrypted_password', 'confirmation_token', 'recovery_token', 'new_email', 'instance_id']) expect(me).not.toHaveProperty(k)
  })

  test('the body is exactly the User schema (GET /user skips the run-time check for speed, so this test holds it)', async () => {
    const u = await loggedInUser(s, { data: { full_name: 'Ada', nested: { a: [1, 2] } } })
    expect((await putUser(u.auth, { email: freshEmail('new') })).status).toBe(200) // new_email + email_change_sent_at
    expect((await s.req('/recover', { method: 'POST', json: { email: u.email } })).status).toBe(200) // recovery_sent_at
    const me = await body(await getUser(u.auth))
    expect([...Value.Errors(User, me)].map((e) => `${e.path}: ${e.message}`)).toEqual([])
    expect(Object.keys(me).filter((k) => !(k in User.properties))).toEqual([])
    for (const k of ['new_email', 'email_change_sent_at', 'recovery_sent_at', 'confirmed_at', 'last_sign_in_at']) expect(me).toHaveProperty(k)
    expect(me.user_metadata).toEqual({ full_name: 'Ada', nested: { a: [1, 2] } })
  })

  test('a hand-built HS256 token is as good as ours, and "bearer" in lower case is accepted', async () => {
    const u = await loggedInUser(s)
    const res = await getUser({ authorization: `bearer ${handJwt(HS256, claimsFor(u.id))}` })
    expect(res.status).toBe(200)
    expect((await body(res)).id).toBe(u.id)
  })

  test('no Authorization, or a malformed one: 401 This endpoint requires a Bearer token', async () => {
    const u = await loggedInUser(s)
    const malformed: Record<string, string>[] = [{}, { authorization: `Bearer  ${u.token}` }, { authorization: 'Basic x' }, { authorization: 'bearer x y' },
      { authorization: `Token ${u.token}` }, { authorization: 'Bearer' }]
    for (const headers of malformed) {
      const res = await getUser(headers)
      expect(res.status).toBe(401)
      expect(await body(res)).toEqual({ code: 401, msg: 'This endpoint requires a Bearer token' })
    }
  })

  test('tampered, unsigned, wrong-algorithm, exp-less and expired tokens: 401 Invalid token: …', async () => {
    const u = await loggedInUser(s)
    const [h, p, sig] = u.token.split('.')
    const payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString())
    const tamperedPayload = `${h}.${Buffer.from(JSON.stringify({ ...payload, email: 'evil@example.com' })).toString('base64url')}.${sig}`
    const { exp: _exp, ...noExp } = claimsFor(u.id)
    const invalid = (reason: string) => `Invalid token: ${reason}`
    const refused: Record<string, [token: string, msg?: string]> = {
      'tampered payload': [tamperedPayload, invalid('signature is invalid')],
      'tampered signature': [`${h}.${p}.${(sig ?? '').slice(0, -2)}${(sig ?? '').endsWith('AA') ? 'BB' : 'AA'}`, invalid('signature is invalid')],
      'alg none': [handJwt({ alg: 'none', typ: 'JWT' }, claimsFor(u.id), null), invalid('signing method none is invalid')],
      'HS512': [handJwt({ alg: 'HS512', typ: 'JWT' }, claimsFor(u.id), 'sha512'), invalid('signing method HS512 is invalid')],
      'RS256 header, HMAC signature': [handJwt({ alg: 'RS256', typ: 'JWT' }, claimsFor(u.id)), invalid('signing method RS256 is invalid')],
      'no exp': [handJwt(HS256, noExp)],
      'expired': [handJwt(HS256, claimsFor(u.id, { exp: Math.floor(Date.now() / 1000) - 60 })), invalid('token is expired')],
      'two segments': [`${h}.${p}`],
    }
    for (const [name, [token, msg]] of Object.entries(refused)) {
      const res = await getUser({ authorization: `Bearer ${token}` })
      const b = await body<{ code: number; msg: string }>(res)
      expect({ name, status: res.status, code: b.code }).toEqual({ name, status: 401, code: 401 })
      expect(b.msg).toStartWith('Invalid token: ')
      if (msg) expect({ name, msg: b.msg }).toEqual({ name, msg })
    }
  })

  test('sub "0" (the system user) has no user row: 400 Could not read User ID claim', async () => {
    const res = await getUser({ authorization: `Bearer ${handJwt(HS256, claimsFor('0'))}` })
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: 'Could not read User ID claim' })
  })

  test("X-JWT-AUD must equal the token's aud: 400 Token audience doesn't match request audience", async () => {
    const u = await loggedInUser(s)
    expect((await getUser({ ...u.auth, 'x-jwt-aud': 'api.netlify.com' })).status).toBe(200)
    const res = await getUser({ ...u.auth, 'x-jwt-aud': 'other.example.com' })
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: "Token audience doesn't match request audience" })
  })

  test('a deleted user: 404 User not found', async () => {
    const u = await loggedInUser(s)
    await s.db.run('DELETE FROM {users} WHERE id = ?', [u.id]) // setup: the admin delete route is not built yet
    const res = await getUser(u.auth)
    expect(res.status).toBe(404)
    expect(await body(res)).toEqual({ code: 404, msg: 'User not found' })
  })
})

// On MySQL, GET /user reads of concurrent requests share statements (`id IN (…)`, lib/db/coalesce.ts). What must
// hold whatever the batching: each answer is its own token's user, and a read asked after a write sees it.
describe('GET /user under concurrency', () => {
  const counters = async () => {
    const text = await (await s.req('/metrics', { headers: METRICS })).text()
    const read = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
    return { reads: read('gotrue_db_coalesced_reads_total'), statements: read('gotrue_db_coalesced_statements_total') }
  }
  const burst = <T>(n: number, f: (i: number) => Promise<T>) => Promise.all(Array.from({ length: n }, (_, i) => f(i)))

  test('600 concurrent reads over 30 users: every answer is the user of its own token', async () => {
    const users = await burst(30, (i) => loggedInUser(s, { tag: `many${i}`, data: { n: i } }))
    const before = await counters()
    const answers = await burst(600, async (i) => {
      const u = users[i % users.length] as (typeof users)[number]
      const res = await getUser(u.auth)
      return { expected: { id: u.id, email: u.email, n: i % users.length }, status: res.status, got: await body<{ id: string; email: string; user_metadata: { n: number } }>(res) }
    })
    for (const a of answers) {
      expect(a.status).toBe(200)
      expect({ id: a.got.id, email: a.got.email, n: a.got.user_metadata.n }).toEqual(a.expected)
    }
    const after = await counters()
    if (DIALECT === 'mysql') {
      expect(after.reads - before.reads).toBe(600)
      // Shared statements did happen (without coalescing this would be 600).
      expect(after.statements - before.statements).toBeLessThan(500)
    } else {
      expect(after).toEqual(before) // SQLite reads in-process: nothing to share
    }
  })

  test('a change is seen by every read asked after it was answered, while other users\' reads keep the statements busy', async () => {
    const me = await loggedInUser(s, { tag: 'writer' })
    const others = await burst(10, (i) => loggedInUser(s, { tag: `busy${i}` }))
    for (let round = 1; round <= 15; round++) {
      expect((await putUser(me.auth, { data: { round } })).status).toBe(200)
      const [mine] = await Promise.all([
        burst(20, async () => (await body<{ user_metadata: { round: number } }>(await getUser(me.auth))).user_metadata.round),
        burst(40, (i) => getUser((others[i % others.length] as (typeof others)[number]).auth)),
      ])
      expect(new Set(mine)).toEqual(new Set([round]))
    }
  })
})

describe('PUT /user', () => {
  test('data is merged into user_metadata (null deletes a key); GET /user shows the result', async () => {
    const u = await loggedInUser(s, { data: { a: 1, b: 2 } })
    const res = await putUser(u.auth, { data: { b: null, c: { d: true } } })
    expect(res.status).toBe(200)
    expect((await body(res)).user_metadata).toEqual({ a: 1, c: { d: true } })
    expect((await body(await getUser(u.auth))).user_metadata).toEqual({ a: 1, c: { d: true } })
  })

  test('password change: the new password logs in, the old one no longer does', async () => {
    const u = await loggedInUser(s)
    expect((await putUser(u.auth, { password: 'a-brand-new-password' })).status).toBe(200)
    expect((await login(u.email, 'a-brand-new-password')).status).toBe(200)
    expect((await login(u.email, PASSWORD)).status).toBe(400)
  })

  test('a password shorter than 8 characters: 422, nothing changed', async () => {
    const u = await loggedInUser(s)
    const res = await putUser(u.auth, { password: 'short', data: { x: 1 } })
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg: 'Password should be at least 8 characters' })
    expect((await body(await getUser(u.auth))).user_metadata).toEqual({})
    expect((await login(u.email)).status).toBe(200)
  })

  test('app_metadata: 401 for a normal user; merged for a user whose role is admin', async () => {
    const u = await loggedInUser(s)
    const denied = await putUser(u.auth, { app_metadata: { roles: ['editor'] } })
    expect(denied.status).toBe(401)
    expect(await body(denied)).toEqual({ code: 401, msg: 'Updating app_metadata requires admin privileges' })
    // Setup through the database: the admin API that sets roles is not built yet.
    await s.db.run('UPDATE {users} SET role = ? WHERE id = ?', ['admin', u.id])
    const ok = await putUser(u.auth, { app_metadata: { roles: ['editor'] } })
    expect(ok.status).toBe(200)
    expect((await body(ok)).app_metadata).toEqual({ provider: 'email', roles: ['editor'] })
    expect((await body(await getUser(u.auth))).app_metadata).toEqual({ provider: 'email', roles: ['editor'] })
  })

  test('email change: new_email pending, a mail to the new address, then the token from it switches the email', async () => {
    const u = await loggedInUser(s)
    const to = freshEmail('new')
    const res = await putUser(u.auth, { email: to })
    expect(res.status).toBe(200)
    const pending = await body(res)
    expect(pending).toMatchObject({ email: u.email, new_email: to })
    expect(typeof pending.email_change_sent_at).toBe('string')
    const mail = await s.smtp.waitForMail(to)
    expect(mail.html).toContain('#email_change_token=')
    expect(s.smtp.mailsTo(u.email).filter((m) => m.html.includes('email_change_token'))).toHaveLength(0)

    const done = await putUser(u.auth, { email_change_token: tokenFromMail(mail, 'email_change_token') })
    expect(done.status).toBe(200)
    const changed = await body(done)
    expect(changed.email).toBe(to)
    expect(changed).not.toHaveProperty('new_email')
    expect(changed).not.toHaveProperty('email_change_sent_at')
    expect((await body(await getUser(u.auth))).email).toBe(to)
    expect((await login(to)).status).toBe(200)
    expect((await login(u.email)).status).toBe(400)
    expect(await auditCount(u.id, 'user_modified')).toBe(2) // the request and the confirmation
  })

  test('a wrong email change token: 401; POST /verify type email_change confirms with the right one', async () => {
    const u = await loggedInUser(s)
    const to = freshEmail('verify')
    expect((await putUser(u.auth, { email: to })).status).toBe(200)
    const wrong = await putUser(u.auth, { email_change_token: 'not-the-token' })
    expect(wrong.status).toBe(401)
    expect(await body(wrong)).toEqual({ code: 401, msg: "Email Change Token didn't match token on file" })

    const token = tokenFromMail(await s.smtp.waitForMail(to), 'email_change_token')
    const res = await s.req('/verify', { method: 'POST', json: { type: 'email_change', token } })
    expect(res.status).toBe(200)
    const { access_token } = await body<{ access_token: string }>(res)
    expect((await body(await getUser({ authorization: `Bearer ${access_token}` }))).email).toBe(to)
  })

  test('the new address taken by another user: 422; an invalid address: 422', async () => {
    const u = await loggedInUser(s)
    const other = await loggedInUser(s)
    const taken = await putUser(u.auth, { email: other.email.toUpperCase() })
    expect(taken.status).toBe(422)
    expect(await body(taken)).toEqual({ code: 422, msg: 'Email address already registered by another user' })
    for (const email of ['not-an-email', 'Someone <a@example.com>']) {
      const res = await putUser(u.auth, { email })
      expect(res.status).toBe(422)
      expect((await body<{ msg: string }>(res)).msg).toStartWith('Unable to validate email address')
    }
  })

  test('mail failure: 500 Error sending change email, and nothing of that PUT is kept', async () => {
    const u = await loggedInUser(s, { data: { keep: 1 } })
    s.smtp.failNext()
    const res = await putUser(u.auth, { email: freshEmail('fail'), password: 'changed-in-vain', data: { keep: null, added: 2 } })
    expect(res.status).toBe(500)
    const b = await body(res)
    expect(b).toMatchObject({ code: 500, msg: 'Error sending change email' })
    expect(typeof b.error_id).toBe('string')
    const me = await body(await getUser(u.auth))
    expect(me).not.toHaveProperty('new_email')
    expect(me).not.toHaveProperty('email_change_sent_at')
    expect(me.user_metadata).toEqual({ keep: 1 })
    expect((await login(u.email)).status).toBe(200)
    expect((await login(u.email, 'changed-in-vain')).status).toBe(400)
    expect(await s.db.all('SELECT id FROM {one_time_tokens} WHERE user_id = ?', [u.id])).toHaveLength(0)
    expect(await auditCount(u.id, 'user_modified')).toBe(0)
  })

  test('every successful PUT is audited as user_modified, even a no-op', async () => {
    const u = await loggedInUser(s)
    expect((await putUser(u.auth, {})).status).toBe(200)
    expect((await putUser(u.auth, { data: { k: 'v' } })).status).toBe(200)
    const entries = (await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}'))
      .map((r) => JSON.parse(r.payload) as Record<string, unknown>).filter((p) => p.actor_id === u.id && p.action === 'user_modified')
    expect(entries).toHaveLength(2)
    expect(entries[0]).toMatchObject({ actor_email: u.email, log_type: 'user' })
  })

  // Moves the server clock: keep last in this file.
  test('an email change token older than 24 h: 422 Email change token expired', async () => {
    const u = await loggedInUser(s)
    const to = freshEmail('late')
    expect((await putUser(u.auth, { email: to })).status).toBe(200)
    const token = tokenFromMail(await s.smtp.waitForMail(to), 'email_change_token')
    s.clock.advance(25 * 3600)
    const { token: fresh } = await login(u.email) // the old access token expired with the clock move
    const res = await putUser({ authorization: `Bearer ${fresh}` }, { email_change_token: token })
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg: 'Email change token expired' })
  })
})

describe('PUT /user checks the audience too (the reference checks GET only)', () => {
  test("X-JWT-AUD other than the token's aud: 400, and nothing is changed", async () => {
    const u = await loggedInUser(s, { data: { plan: 'free' } })
    const res = await putUser({ ...u.auth, 'x-jwt-aud': 'another.audience' }, { data: { plan: 'pro' } })
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: "Token audience doesn't match request audience" })
    expect((await body<{ user_metadata: { plan: string } }>(await getUser(u.auth))).user_metadata.plan).toBe('free')
    expect((await putUser({ ...u.auth, 'x-jwt-aud': 'api.netlify.com' }, { data: { plan: 'pro' } })).status).toBe(200)
  })
})

describe('a password or email change ends every other session of the user; the one that made it keeps working', () => {
  type Session = Tokens
  const session = async (email: string, password = PASSWORD): Promise<Session> => {
    const res = await loginOn(s, email, password)
    expect(res.status).toBe(200)
    return body<Session>(res)
  }
  const refresh = (t: Session) => refreshOn(s, t.refresh_token)
  const bearer = (t: Session) => bearerOf(t.access_token)
  const expectEnded = async (t: Session) => {
    const res = await refresh(t)
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: 'Invalid Refresh Token' })
  }

  test('password change from session A: A refreshes, B (another device) gets invalid_grant', async () => {
    const u = await loggedInUser(s)
    const [a, b] = [await session(u.email), await session(u.email)]
    expect((await putUser(bearer(a), { password: 'a-brand-new-password' })).status).toBe(200)
    const next = await refresh(a)
    expect(next.status).toBe(200)
    await expectEnded(b)
    expect((await refresh(await body<Session>(next))).status).toBe(200) // A's family lives on after rotation
    expect((await refresh(await session(u.email, 'a-brand-new-password'))).status).toBe(200) // new logins are unaffected
  })

  test("B's access token is refused at once too (GET and PUT /user), not only its refresh token; A's works", async () => {
    const u = await loggedInUser(s)
    const [a, b] = [await session(u.email), await session(u.email)]
    expect((await s.req('/user', { headers: bearer(b) })).status).toBe(200)
    expect((await putUser(bearer(a), { password: 'yet-another-password' })).status).toBe(200)
    const get = await s.req('/user', { headers: bearer(b) })
    expect(get.status).toBe(401)
    expect(await body(get)).toEqual({ code: 401, msg: 'Invalid token: session has ended' })
    expect((await putUser(bearer(b), { data: { x: 1 } })).status).toBe(401)
    expect((await s.req('/user', { headers: bearer(a) })).status).toBe(200)
  })

  test('a rotated token of A (refreshed before the change) still identifies A: the change keeps it', async () => {
    const u = await loggedInUser(s)
    const a0 = await session(u.email), b = await session(u.email)
    const a1 = await body<Session>(await refresh(a0))
    expect((await putUser(bearer(a1), { password: 'another-new-password' })).status).toBe(200)
    expect((await refresh(a1)).status).toBe(200)
    await expectEnded(b)
  })

  test('metadata changes and a pending (unconfirmed) email change end nothing', async () => {
    const u = await loggedInUser(s)
    const [a, b] = [await session(u.email), await session(u.email)]
    expect((await putUser(bearer(a), { data: { plan: 'pro' } })).status).toBe(200)
    expect((await putUser(bearer(a), { email: freshEmail('pending') })).status).toBe(200)
    expect((await refresh(b)).status).toBe(200)
  })

  test('a confirmed email change (email_change_token through PUT /user) ends the other sessions', async () => {
    const u = await loggedInUser(s)
    const [a, b] = [await session(u.email), await session(u.email)]
    const to = freshEmail('moved')
    expect((await putUser(bearer(a), { email: to })).status).toBe(200)
    const token = tokenFromMail(await s.smtp.waitForMail(to), 'email_change_token')
    expect((await putUser(bearer(a), { email_change_token: token })).status).toBe(200)
    expect((await refresh(a)).status).toBe(200)
    await expectEnded(b)
  })

  test('an access token without a session_id (issued before sessions carried one) ends every session, its own too', async () => {
    const u = await loggedInUser(s)
    const a = await session(u.email)
    const legacy = handJwt(HS256, claimsFor(u.id, { exp: Math.floor(s.clock.now().getTime() / 1000) + 3600 }))
    expect((await putUser({ authorization: `Bearer ${legacy}` }, { password: 'legacy-new-password' })).status).toBe(200)
    await expectEnded(a)
  })
})
