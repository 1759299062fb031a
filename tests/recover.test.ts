// POST /recover and the recovery flow (mail → POST /verify type recovery → PUT /user password). Unknown
// addresses get the same answer as known ones: 200 {}, also when a repeat inside SMTP_MAX_FREQUENCY sends nothing.
// That interval is kept in the user's row (recovery_sent_at), so every server on the database honours it.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { body, MYSQL_URL, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { freshEmail, login, newUser, PASSWORD } from './helpers.ts'

let s: TestServer
beforeAll(async () => { s = await startServer() }) // confirmation required (no autoconfirm)
afterAll(() => s.stop())

const recover = (email: unknown) => s.req('/recover', { method: 'POST', json: { email } })
const verify = (type: string, token: string) => s.req('/verify', { method: 'POST', json: { type, token } })
const mailCount = (to: string) => s.smtp.mailsTo(to).length

/** Requests recovery and returns the token from the new recovery mail. */
async function recoveryToken(email: string): Promise<string> {
  const before = mailCount(email)
  const res = await recover(email)
  expect(res.status).toBe(200)
  expect(await body(res)).toEqual({})
  return tokenFromMail(await s.smtp.waitForMail(email, { count: before + 1 }), 'recovery_token')
}

describe('POST /recover', () => {
  test('unknown email: 200 {} and no user is created', async () => {
    const email = freshEmail('ghost')
    const res = await recover(email)
    expect(res.status).toBe(200)
    expect(await body(res)).toEqual({})
    expect(await s.db.all('SELECT id FROM {users} WHERE email_key = ?', [email])).toHaveLength(0)
  })

  test('known email: 200 {}, a recovery mail with #recovery_token=, recovery_sent_at set, audited', async () => {
    const u = await newUser(s, { tag: 'recover' })
    const res = await recover(u.email)
    expect(res.status).toBe(200)
    expect(await body(res)).toEqual({})
    const mail = await s.smtp.waitForMail(u.email, { count: 2 }) // after the confirmation mail
    expect(mail.subject).toBe('Reset Your Password')
    expect(mail.html).toContain('https://example.netlify.com/#recovery_token=')
    const row = await s.db.get<{ recovery_sent_at: string | null }>('SELECT recovery_sent_at FROM {users} WHERE id = ?', [u.id])
    expect(row?.recovery_sent_at).toBeTruthy()
    const entries = (await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}'))
      .map((r) => JSON.parse(r.payload) as Record<string, unknown>).filter((p) => p.actor_id === u.id && p.action === 'user_recovery_requested')
    expect(entries).toHaveLength(1)
  })

  test('the full flow: verify type recovery logs in, PUT /user sets a password, which then logs in', async () => {
    const u = await newUser(s, { tag: 'recover' })
    const token = await recoveryToken(u.email)
    const res = await verify('recovery', token)
    expect(res.status).toBe(200)
    const tokens = await body<{ access_token: string; token_type: string; refresh_token: string }>(res)
    expect(tokens.token_type).toBe('bearer')
    const auth = { authorization: `Bearer ${tokens.access_token}` }
    expect(typeof (await body(await s.req('/user', { headers: auth }))).recovery_sent_at).toBe('string')
    expect((await s.req('/user', { method: 'PUT', json: { password: 'recovered-password' }, headers: auth })).status).toBe(200)
    expect((await login(s, u.email, 'recovered-password')).status).toBe(200)
    expect((await login(s, u.email, PASSWORD)).status).toBe(400)
    // single use
    expect((await verify('recovery', token)).status).toBe(404)
  })

  test('an unconfirmed user becomes confirmed by recovery, without the signup password (it may be someone else\'s)', async () => {
    const u = await newUser(s, { tag: 'recover', confirm: false })
    expect(await body(await login(s, u.email, PASSWORD))).toEqual({ error: 'invalid_grant', error_description: 'Email not confirmed' })
    const res = await verify('recovery', await recoveryToken(u.email))
    expect(res.status).toBe(200)
    const { access_token } = await body<{ access_token: string }>(res)
    expect(typeof (await body(await s.req('/user', { headers: { authorization: `Bearer ${access_token}` } }))).confirmed_at).toBe('string')
    expect((await login(s, u.email, PASSWORD)).status).toBe(400)
    const put = await s.req('/user', { method: 'PUT', json: { password: 'chosen-after-recovery' }, headers: { authorization: `Bearer ${access_token}` } })
    expect(put.status).toBe(200)
    expect((await login(s, u.email, 'chosen-after-recovery')).status).toBe(200)
  })

  test('repeated within SMTP_MAX_FREQUENCY: the same 200 {} for known and unknown emails, and no second mail', async () => {
    const known = (await newUser(s, { tag: 'recover' })).email
    const unknown = freshEmail('ghost')
    const answers: { status: number; text: string }[] = []
    for (const email of [known, unknown]) {
      expect((await recover(email)).status).toBe(200)
      const again = await recover(email)
      answers.push({ status: again.status, text: await again.text() })
    }
    expect(answers).toEqual([{ status: 200, text: '{}' }, { status: 200, text: '{}' }])
    await s.smtp.waitForMail(known, { count: 2 }) // confirmation + the first recovery
    await Bun.sleep(200) // a second mail would go out after the response
    expect(s.smtp.mailsTo(known).filter((m) => m.html.includes('#recovery_token='))).toHaveLength(1)
  })

  test('empty or missing email: 422 Password recovery requires an email', async () => {
    for (const json of [{ email: '' }, { email: '   ' }, {}]) {
      const res = await s.req('/recover', { method: 'POST', json })
      expect(res.status).toBe(422)
      expect(await body(res)).toEqual({ code: 422, msg: 'Password recovery requires an email' })
    }
  })

  test('mail failure: still 200 {}, and the recovery token written for it is removed', async () => {
    const u = await newUser(s, { tag: 'recover' })
    s.smtp.failNext()
    const res = await recover(u.email)
    expect(res.status).toBe(200)
    expect(await body(res)).toEqual({})
    // The mail goes out after the response; wait for the undo to land.
    const live = () => s.db.all("SELECT id FROM {one_time_tokens} WHERE user_id = ? AND token_type = 'recovery'", [u.id])
    for (let i = 0; i < 100 && (await live()).length > 0; i++) await Bun.sleep(20)
    expect(await live()).toHaveLength(0)
    const row = await s.db.get<{ recovery_sent_at: string | null }>('SELECT recovery_sent_at FROM {users} WHERE id = ?', [u.id])
    expect(row?.recovery_sent_at).toBeNull()
    // The failed attempt does not count against the throttle: asking again works and mails a token.
    expect((await verify('recovery', await recoveryToken(u.email))).status).toBe(200)
  })

  // The remaining tests move the server clock: keep them last in this file.
  test('after 20 minutes a new request is allowed again, and the previous recovery token is dead', async () => {
    const u = await newUser(s, { tag: 'recover' })
    const first = await recoveryToken(u.email)
    expect((await recover(u.email)).status).toBe(200)
    s.clock.advance(20 * 60)
    const second = await recoveryToken(u.email)
    expect(second).not.toBe(first)
    const dead = await verify('recovery', first)
    expect(dead.status).toBe(404)
    expect(await body(dead)).toEqual({ code: 404, msg: 'User not found' })
    expect((await verify('recovery', second)).status).toBe(200)
  })

  test('a recovery token older than 24 h: 422 Recovery token expired', async () => {
    const u = await newUser(s, { tag: 'recover' })
    const token = await recoveryToken(u.email)
    s.clock.advance(24 * 3600 + 60)
    const res = await verify('recovery', token)
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg: 'Recovery token expired' })
  })
})

describe('POST /recover with the email provider disabled', () => {
  let off: TestServer
  beforeAll(async () => { off = await startServer({ env: { GOTRUE_EXTERNAL_EMAIL_DISABLED: 'true' } }) })
  afterAll(() => off.stop())

  test('400 Unsupported email provider', async () => {
    const res = await off.req('/recover', { method: 'POST', json: { email: 'someone@example.com' } })
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: 'Unsupported email provider' })
  })
})

describe('POST /recover on two servers sharing one database', () => {
  // Two nodes of a cluster, or one node before and after a restart: the interval holds across them.
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-recover-'))
  const shared = MYSQL_URL ? { GOTRUE_DB_NAMESPACE: `r${crypto.randomUUID().slice(0, 8)}` } : { DATABASE_URL: join(dir, 'shared.db') }
  let a: TestServer
  let b: TestServer
  beforeAll(async () => {
    a = await startServer({ env: shared })
    b = await startServer({ env: shared })
  })
  afterAll(async () => {
    await b.stop()
    await a.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test('a second /recover within SMTP_MAX_FREQUENCY on the other server: 200 {} and no mail', async () => {
    const email = freshEmail('cluster')
    expect((await a.req('/signup', { method: 'POST', json: { email, password: PASSWORD } })).status).toBe(200)
    await a.smtp.waitForMail(email)
    const ask = (srv: TestServer) => srv.req('/recover', { method: 'POST', json: { email } })
    expect((await ask(a)).status).toBe(200)
    await a.smtp.waitForMail(email, { count: 2 })
    const state = () => a.db.get(
      "SELECT u.recovery_sent_at, t.token_hash FROM {users} u JOIN {one_time_tokens} t ON t.user_id = u.id AND t.token_type = 'recovery' WHERE u.email_key = ?", [email])
    const before = await state()
    expect(before).toBeTruthy()
    const res = await ask(b)
    expect(res.status).toBe(200)
    expect(await body(res)).toEqual({})
    await Bun.sleep(200) // a mail would go out after the response
    expect(b.smtp.mailsTo(email)).toHaveLength(0)
    expect(await state()).toEqual(before)
  })
})
