// What a failed mail's undo leaves behind when the account moved on meanwhile (lib/accounts.ts restoreUser), and what
// the owner's recovery takes back (a pending email change). Real HTTP, a real SMTP server that can hold a
// recipient's mail and then refuse it (as tests/takeover-timing.test.ts does).
import { createHash, randomBytes } from 'node:crypto'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { type Gated, startGatedSmtp } from './fakes/gated-smtp.ts'
import { body, DIALECT, form, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { OPERATOR, ownerRecovers } from './helpers.ts'

let smtp: Gated
beforeAll(async () => { smtp = await startGatedSmtp() })
afterAll(async () => { await smtp.stop() })
const smtpEnv = () => ({ GOTRUE_SMTP_HOST: smtp.host, GOTRUE_SMTP_PORT: String(smtp.port) })
const login = (s: TestServer, email: string, password: string) =>
  s.req('/token', form({ grant_type: 'password', username: email, password }))
const bearer = (t: unknown) => ({ authorization: `Bearer ${String(t)}` })

// Under autoconfirm a password signup of someone else's address is a confirmed account the attacker is in until the
// owner recovers it. The recovery ends the attacker's sessions and replaces the password; a pending email change to
// the attacker's own address must not outlive it either (not only when an unproven provider link goes).
describe('a pending email change and the owner\'s recovery (GOTRUE_MAILER_AUTOCONFIRM, password signup)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...smtpEnv(), GOTRUE_MAILER_AUTOCONFIRM: 'true' } }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => { s.clock.reset() })

  test('an email change link from before the owner\'s recovery no longer moves the account', async () => {
    const email = 'undorev-victim1@example.com'
    const evil = 'undorev-evil1@attacker.example'
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'attacker-password-1' } })).status).toBe(200)
    const a = await body(await login(s, email, 'attacker-password-1'))
    expect((await s.req('/user', { method: 'PUT', headers: bearer(a.access_token), json: { email: evil } })).status).toBe(200)
    const changeToken = tokenFromMail(await smtp.waitForMail(evil, 1), 'email_change_token')
    await ownerRecovers(s, smtp, email, 'owner-password-1')
    const v = await s.req('/verify', { method: 'POST', json: { type: 'email_change', token: changeToken } })
    const row = await s.db.get<{ email: string }>('SELECT email FROM {users} WHERE email_key = ? OR email_key = ?', [email, evil])
    expect({ moved: v.status === 200, email: row?.email }).toEqual({ moved: false, email })
  })

  // A failed email change with data while the user's other tab saves the whole profile form: that PUT was answered
  // 200 with the same value the failed request wrote for one key; the undo must not take that key back.
  test('an email change with data whose mail fails while another PUT /user saves the same key: the 200 write stays whole', async () => {
    const email = 'undorev-put-merge@example.com'
    const away = 'undorev-put-merge-new@elsewhere.example'
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'password-1', data: { theme: 'light' } } })).status).toBe(200)
    const a = await body(await login(s, email, 'password-1'))
    const held = smtp.hold(away)
    const put = s.req('/user', { method: 'PUT', headers: bearer(a.access_token), json: { email: away, data: { theme: 'dark' } } })
    await held.reached
    const other = await s.req('/user', { method: 'PUT', headers: bearer(a.access_token), json: { data: { theme: 'dark', lang: 'fr' } } })
    expect(other.status).toBe(200)
    held.release()
    expect((await put).status).toBe(500)
    const u = await body(await s.req('/user', { headers: bearer(a.access_token) }))
    expect({ meta: u.user_metadata, pending: u.new_email ?? '' }).toEqual({ meta: { theme: 'dark', lang: 'fr' }, pending: '' })
  })

  // The recovery through supabase's PKCE flow: the mail's ?code= exchanged with the verifier (POST /token
  // grant_type=pkce) takes the account back as the link does, the pending change included.
  test('an email change link from before the owner\'s PKCE recovery (the code exchanged) no longer moves the account', async () => {
    const email = 'undorev-victim-pkce@example.com'
    const evil = 'undorev-evil-pkce@attacker.example'
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'attacker-password-1' } })).status).toBe(200)
    const a = await body(await login(s, email, 'attacker-password-1'))
    expect((await s.req('/user', { method: 'PUT', headers: bearer(a.access_token), json: { email: evil } })).status).toBe(200)
    const changeToken = tokenFromMail(await smtp.waitForMail(evil, 1), 'email_change_token')
    const verifier = randomBytes(32).toString('base64url')
    const challenge = createHash('sha256').update(verifier).digest('base64url')
    const sb = { 'x-supabase-api-version': '2024-01-01' }
    const before = smtp.count(email)
    expect((await s.req('/recover', { method: 'POST', headers: sb, json: { email, code_challenge: challenge, code_challenge_method: 's256' } })).status).toBe(200)
    const href = /href="([^"]+)"/.exec((await smtp.waitForMail(email, before + 1)).html)?.[1] ?? ''
    const code = new URL(href.replace(/&amp;/g, '&')).searchParams.get('code') ?? ''
    expect(code).not.toBe('')
    const exchanged = await s.req('/token?grant_type=pkce', { method: 'POST', headers: sb, json: { auth_code: code, code_verifier: verifier } })
    expect(exchanged.status).toBe(200)
    const owner = (await body(exchanged)).access_token
    expect((await s.req('/user', { method: 'PUT', headers: bearer(owner), json: { password: 'owner-password-1' } })).status).toBe(200)
    const v = await s.req('/verify', { method: 'POST', json: { type: 'email_change', token: changeToken } })
    const row = await s.db.get<{ email: string; email_change: string }>('SELECT email, email_change FROM {users} WHERE email_key = ? OR email_key = ?', [email, evil])
    expect({ moved: v.status === 200, email: row?.email, pending: row?.email_change }).toEqual({ moved: false, email, pending: '' })
  })

  // The same through a failed mail's undo: the attacker's own SMTP holds the change mail until the owner has
  // recovered, then refuses it. The undo sees the row changed (the owner's password) and puts nothing decisive back;
  // the pending change must not stay either, or an unauthenticated /resend type=email_change would mail it again.
  test('an email change whose mail fails after the owner recovered leaves nothing pending for /resend to mail', async () => {
    const email = 'undorev-victim2@example.com'
    const evil = 'undorev-evil2@attacker.example'
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'attacker-password-1' } })).status).toBe(200)
    const a = await body(await login(s, email, 'attacker-password-1'))
    const held = smtp.hold(evil)
    const put = s.req('/user', { method: 'PUT', headers: bearer(a.access_token), json: { email: evil } })
    await held.reached
    await ownerRecovers(s, smtp, email, 'owner-password-1')
    held.release()
    expect((await put).status).toBe(500) // the client is told the change failed
    const pending = (await s.db.get<{ email_change: string }>('SELECT email_change FROM {users} WHERE email_key = ?', [email]))?.email_change
    s.clock.advance(16 * 60) // past SMTP_MAX_FREQUENCY
    expect((await s.req('/resend', { method: 'POST', json: { email, type: 'email_change' } })).status).toBe(200)
    let verify = 0
    try {
      const t = tokenFromMail(await smtp.waitForMail(evil, 1), 'email_change_token')
      verify = (await s.req('/verify', { method: 'POST', json: { type: 'email_change', token: t } })).status
    } catch { /* no mail to the attacker: what should happen */ }
    expect({ pending, verify }).toEqual({ pending: '', verify: 0 })
  })
})

// A re-signup whose mail fails after someone else changed the row: the undo puts nothing decisive back, but the
// request's claim of the mail window (confirmation_sent_at) goes, since a failed mail does not count against
// SMTP_MAX_FREQUENCY (tests/signup.test.ts): the owner who asks again gets a mail at once.
describe('a skipped undo gives back its claim of the mail window (autoconfirm off)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: smtpEnv() }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => { s.clock.reset() })

  test('the attacker\'s re-signup mail fails after the owner\'s re-signup: the owner\'s /resend mails at once', async () => {
    const email = 'undorev-window@example.com'
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'attacker-password-1' } })).status).toBe(200)
    await smtp.waitForMail(email, 1)
    s.clock.advance(16 * 60)
    const held = smtp.hold(email)
    const resignup = s.req('/signup', { method: 'POST', json: { email, password: 'attacker-password-1' } })
    await held.reached
    // The owner signs up meanwhile, with a password of their own: inside the window of the held mail, nothing goes.
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'owner-password-1' } })).status).toBe(200)
    held.release()
    expect((await resignup).status).toBe(500)
    // The owner got no mail and asks again: the failed mail never went, so this one is due.
    expect((await s.req('/resend', { method: 'POST', json: { email, type: 'signup' } })).status).toBe(200)
    let got = true
    try { await smtp.waitForMail(email, 2) } catch { got = false }
    expect(got).toBe(true)
  })

  // The same-state undo (nothing decisive moved) puts back only the columns nobody wrote since: an admin's merge into
  // the pending account's metadata in the mail's window stays whole. It carried the failed request's keys along, and
  // those stay with it: a key cannot be told apart from the same value written since, and taking keys back could
  // undo a write its client was told succeeded (the next test).
  test('a re-signup whose mail fails while an admin merges into the metadata: the admin\'s write stays whole', async () => {
    const email = 'undorev-admin-meta@example.com'
    const signup = await s.req('/signup', { method: 'POST', json: { email, password: 'owner-password-1', data: { name: 'first' } } })
    expect(signup.status).toBe(200)
    const id = (await body(signup)).id as string
    await smtp.waitForMail(email, 1)
    s.clock.advance(16 * 60)
    const held = smtp.hold(email)
    const resignup = s.req('/signup', { method: 'POST', json: { email, password: 'owner-password-1', data: { name: 'second' } } })
    await held.reached
    const admin = await s.req(`/admin/users/${id}`, { method: 'PUT', headers: OPERATOR, json: { user_metadata: { support_ticket: 4711 } } })
    expect(admin.status).toBe(200)
    expect((await body(admin)).user_metadata).toEqual({ name: 'second', support_ticket: 4711 })
    held.release()
    expect((await resignup).status).toBe(500)
    const u = await body(await s.req(`/admin/users/${id}`, { headers: OPERATOR }))
    expect(u.user_metadata).toEqual({ name: 'second', support_ticket: 4711 }) // as the admin was answered
  })
})

// On MySQL, mysql2's binary protocol (execute(), used for findUserById) hands back a DATETIME(3) with a zero fraction
// as `YYYY-MM-DD HH:MM:SS` (see lib/db/index.ts isoTime), while the row the request kept in memory has dbTime()'s
// `….000`: an undo must compare times as instants, or a request made at a whole second sees its own row as changed
// (a new signup whose mail fails would leave its user behind).
describe(`an undo at a whole second (${DIALECT})`, () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: smtpEnv() }) })
  afterAll(async () => { await s.stop() })

  test('a new signup at a whole second whose mail fails leaves no user behind', async () => {
    const email = 'undorev-whole-second@example.com'
    const whole = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000)
    const original = s.clock.now
    s.clock.now = () => new Date(whole)
    try {
      const held = smtp.hold(email)
      const res = s.req('/signup', { method: 'POST', json: { email, password: 'password-1' } })
      await held.reached
      held.release()
      expect((await res).status).toBe(500)
      expect(await s.db.get('SELECT id FROM {users} WHERE email_key = ?', [email])).toBeNull()
    } finally {
      s.clock.now = original
    }
  })
})

describe('a pending email change and the owner taking the account back in other ways (GOTRUE_MAILER_AUTOCONFIRM)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...smtpEnv(), GOTRUE_MAILER_AUTOCONFIRM: 'true' } }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => { s.clock.reset() })

  // The attacker asks for the same change twice, its own mail server holding the first mail and refusing it once the
  // second (delivered) has issued a new token. The first's undo must not clear the columns that are now the second's
  // (a pending change nobody sees, whose link works), and the owner's recovery revokes the change's token whatever
  // the columns say.
  test('a repeated change whose first mail fails: its undo does not hide the live token from the owner\'s recovery', async () => {
    const email = 'undo-victim1@example.com'
    const evil = 'undo-evil1@attacker.example'
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'attacker-password-1' } })).status).toBe(200)
    const a = await body(await login(s, email, 'attacker-password-1'))
    const held = smtp.hold(evil)
    const first = s.req('/user', { method: 'PUT', headers: bearer(a.access_token), json: { email: evil } })
    await held.reached
    s.clock.advance(2)
    expect((await s.req('/user', { method: 'PUT', headers: bearer(a.access_token), json: { email: evil } })).status).toBe(200)
    const changeToken = tokenFromMail(await smtp.waitForMail(evil, 1), 'email_change_token')
    held.release()
    expect((await first).status).toBe(500)
    await ownerRecovers(s, smtp, email, 'owner-password-1')
    const v = await s.req('/verify', { method: 'POST', json: { type: 'email_change', token: changeToken } })
    const row = await s.db.get<{ email: string }>('SELECT email FROM {users} WHERE email_key = ? OR email_key = ?', [email, evil])
    expect({ moved: v.status === 200, email: row?.email }).toEqual({ moved: false, email })
  })

  // The owner takes the account back through a magic link (/otp, supabase's signInWithOtp) and sets a password of
  // their own (PUT /user): the attacker's sessions end and its password goes, and so must the pending change it
  // started, whose link would move the account to the attacker (with a session).
  test('an email change link from before the owner\'s magic link and new password no longer moves the account', async () => {
    const email = 'undo-victim2@example.com'
    const evil = 'undo-evil2@attacker.example'
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'attacker-password-1' } })).status).toBe(200)
    const a = await body(await login(s, email, 'attacker-password-1'))
    expect((await s.req('/user', { method: 'PUT', headers: bearer(a.access_token), json: { email: evil } })).status).toBe(200)
    const changeToken = tokenFromMail(await smtp.waitForMail(evil, 1), 'email_change_token')
    expect((await s.req('/otp', { method: 'POST', json: { email } })).status).toBe(200)
    const mail = await smtp.waitForMail(email, 1)
    const m = /token(?:_hash)?=([A-Za-z0-9_-]{20,})/.exec(mail.html) ?? /#[a-z_]*token=([A-Za-z0-9_-]+)/.exec(mail.html)
    const v0 = await s.req('/verify', { method: 'POST', json: { type: 'magiclink', token: m?.[1] } })
    expect(v0.status).toBe(200)
    const put = await s.req('/user', { method: 'PUT', headers: bearer((await body(v0)).access_token), json: { password: 'owner-password-1' } })
    expect(put.status).toBe(200)
    expect((await s.req('/user', { headers: bearer(a.access_token) })).status).toBe(401) // the attacker is out
    const v = await s.req('/verify', { method: 'POST', json: { type: 'email_change', token: changeToken } })
    const row = await s.db.get<{ email: string }>('SELECT email FROM {users} WHERE email_key = ? OR email_key = ?', [email, evil])
    expect({ moved: v.status === 200, email: row?.email }).toEqual({ moved: false, email })
  })
})
