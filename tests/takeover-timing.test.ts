// Account takeover through timing: a request that acts on a state its owner has since changed.
// - The undo of a request whose mail failed (lib/accounts.ts restoreUser, deleteCreated) runs after the SMTP send
//   gave up, which can take many seconds: a proof of the address that lands in between (the owner's recovery,
//   their confirmation) must not be written over, nor the owner's account deleted.
// - PUT /user hashes a new password outside its transaction, after its session was checked: a proof of the address
//   that ends that session meanwhile must not be followed by the password (lib/revocations.ts sessionStillLive).
// - A provider address that lower-cases onto another account's (U+212A KELVIN SIGN) is not taken.
// The SMTP server here is a real one that holds a chosen recipient's mail until the test releases it, then refuses
// it (a relay stalling and then failing), so the interleavings are exact.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { type FakeEmail, type OAuthFake, startOAuthFake } from './fakes/oauth-provider.ts'
import { type Gated, startGatedSmtp } from './fakes/gated-smtp.ts'
import { body, form, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { ownerRecovers } from './helpers.ts'

const SITE = 'https://example.netlify.com'

let fake: OAuthFake
let smtp: Gated
beforeAll(async () => { fake = await startOAuthFake(); smtp = await startGatedSmtp(5000) })
afterAll(async () => { await fake.stop(); await smtp.stop() })
const smtpEnv = () => ({ GOTRUE_SMTP_HOST: smtp.host, GOTRUE_SMTP_PORT: String(smtp.port) })

const login = (s: TestServer, email: string, password: string) =>
  s.req('/token', form({ grant_type: 'password', username: email, password }))
const bearer = (t: unknown) => ({ authorization: `Bearer ${String(t)}` })

describe('a failed mail\'s undo lands after the owner\'s proof (autoconfirm off)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...fake.env(), ...smtpEnv() } }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => { fake.reset(); s.clock.reset() })

  // docs/security.md §1 accepts a pending /signup's password surviving the owner's click on that signup's own mail,
  // and promises a recovery link leaves it behind. Here the attacker re-signs up with its own password (a mail to the
  // victim that stalls and fails) and the owner recovers meanwhile: the undo must not write that password back.
  test('an attacker\'s re-signup whose mail fails after the owner recovered: the attacker\'s password does not come back', async () => {
    const email = 'timing-resignup@example.com'
    const attackerPw = 'attacker-password-1'
    expect((await s.req('/signup', { method: 'POST', json: { email, password: attackerPw } })).status).toBe(200)
    await smtp.waitForMail(email, 1)
    s.clock.advance(16 * 60) // past SMTP_MAX_FREQUENCY: the re-signup mails again
    const held = smtp.hold(email)
    const resignup = s.req('/signup', { method: 'POST', json: { email, password: attackerPw } }) // same password: kept
    await held.reached
    // The owner, meanwhile: a recovery (confirms the pending signup, clears the password), then a password of theirs.
    await ownerRecovers(s, smtp, email, 'owner-password-1')
    expect((await login(s, email, 'owner-password-1')).status).toBe(200)
    held.release()
    expect((await resignup).status).toBe(500)
    // What must hold after the owner's recovery: only the owner's password signs in.
    expect((await login(s, email, attackerPw)).status).toBe(400)
    expect((await login(s, email, 'owner-password-1')).status).toBe(200)
  })
})

describe('a failed mail\'s undo lands after the owner\'s proof (GOTRUE_MAILER_AUTOCONFIRM)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...fake.env(), ...smtpEnv(), GOTRUE_MAILER_AUTOCONFIRM: 'true' } }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => { fake.reset(); s.clock.reset() })

  // The attacker's provider account claims the victim's address unverified: a confirmed account, its session. It
  // sets a password, then asks (PUT /user) for an email change to an address of its own, with another password; that
  // mail stalls and fails (the address is the attacker's choice). The owner recovers meanwhile, which drops the link,
  // the sessions, the pending change and the password: the PUT's undo must not write the attacker's password back.
  test('an attacker\'s PUT /user whose change mail fails after the owner recovered: the attacker\'s password does not come back', async () => {
    const email = 'timing-put@example.com'
    fake.setProfile('gitlab', { id: '99001', name: 'x', emails: [{ email, verified: false, primary: true } satisfies FakeEmail] })
    const a = await s.req('/authorize?provider=gitlab', { redirect: 'manual', headers: { referer: `${SITE}/login` } })
    const back = await fake.approve(a.headers.get('location') ?? '')
    const state = /^(gotrue-oauth-state=[^;]*)/.exec(a.headers.get('set-cookie') ?? '')?.[1] ?? ''
    const cb = await s.req(`/callback?${back}`, { redirect: 'manual', headers: { cookie: state } })
    const session = Object.fromEntries(new URLSearchParams(new URL(cb.headers.get('location') ?? '').hash.slice(1)))
    expect(session.access_token).toBeString()
    const attackerPw = 'attacker-password-1'
    expect((await s.req('/user', { method: 'PUT', headers: bearer(session.access_token), json: { password: attackerPw } })).status).toBe(200)
    const attackerInbox = 'inbox@attacker.example'
    const held = smtp.hold(attackerInbox)
    const put = s.req('/user', { method: 'PUT', headers: bearer(session.access_token), json: { email: attackerInbox, password: 'attacker-password-2' } })
    await held.reached
    await ownerRecovers(s, smtp, email, 'owner-password-1')
    held.release()
    expect((await put).status).toBe(500)
    expect((await login(s, email, attackerPw)).status).toBe(400)
    expect((await login(s, email, 'owner-password-1')).status).toBe(200)
  })
})

// PUT /user acts on the authority of the caller's session, checked before the request's bcrypt hash (outside the
// transaction). A proof of the address (here the owner's recovery link, or a magic link) that commits while the
// attacker's PUT is hashing ends the attacker's session, drops its link and clears the password; the PUT's
// transaction must then refuse, not write the attacker's new password. Under autoconfirm the attacker's unproven
// provider link gives it a session, and a client looping PUT /user {password} is in its hashing window nearly all the
// time. (bcrypt cost 13 here only widens the window to make it exact.)
describe('PUT /user racing the owner\'s proof (GOTRUE_MAILER_AUTOCONFIRM)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...fake.env(), ...smtpEnv(), GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_BCRYPT_COST: '13' } }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => { fake.reset(); s.clock.reset() })

  async function plantedSession(email: string, id: string): Promise<string> {
    fake.setProfile('gitlab', { id, name: 'x', emails: [{ email, verified: false, primary: true } satisfies FakeEmail] })
    const a = await s.req('/authorize?provider=gitlab', { redirect: 'manual', headers: { referer: `${SITE}/login` } })
    const back = await fake.approve(a.headers.get('location') ?? '')
    const state = /^(gotrue-oauth-state=[^;]*)/.exec(a.headers.get('set-cookie') ?? '')?.[1] ?? ''
    const cb = await s.req(`/callback?${back}`, { redirect: 'manual', headers: { cookie: state } })
    const session = Object.fromEntries(new URLSearchParams(new URL(cb.headers.get('location') ?? '').hash.slice(1)))
    expect(session.access_token).toBeString()
    return session.access_token as string
  }

  const PROOFS = [
    ['a recovery link', 'recovery', async (s: TestServer, email: string) => {
      expect((await s.req('/recover', { method: 'POST', json: { email } })).status).toBe(200)
      return tokenFromMail(await smtp.waitForMail(email, 1), 'recovery_token')
    }],
    ['a magic link (/otp)', 'magiclink', async (s: TestServer, email: string) => {
      expect((await s.req('/otp', { method: 'POST', json: { email } })).status).toBe(200)
      const mail = await smtp.waitForMail(email, 1)
      const m = /token(?:_hash)?=([A-Za-z0-9_-]{20,})/.exec(mail.html) ?? /#[a-z_]*token=([A-Za-z0-9_-]+)/.exec(mail.html)
      if (!m?.[1]) throw new Error(`no link in ${mail.html.slice(0, 400)}`)
      return m[1]
    }],
  ] as const
  test.each(PROOFS)('the owner proves the address by %s while the attacker\'s PUT /user {password} is hashing: the attacker\'s password is not set after the proof', async (_, type, mailed) => {
    const email = `timing-race-${type}@example.com`
    const token = await plantedSession(email, type === 'recovery' ? '99101' : '99102')
    const link = await mailed(s, email)
    const attackerPw = 'attacker-password-9'
    const put = s.req('/user', { method: 'PUT', headers: bearer(token), json: { password: attackerPw } })
    await Bun.sleep(60) // the PUT has passed its session check and is hashing
    const v = await s.req('/verify', { method: 'POST', json: { type, token: link } })
    expect(v.status).toBe(200)
    const owner = (await body(v)).refresh_token as string
    // The proof ended the attacker's session: its token is refused from here on.
    expect((await s.req('/user', { headers: bearer(token) })).status).toBe(401)
    const putStatus = (await put).status
    // Whatever the racing PUT answered, the account must not end up with the attacker's password, and the owner's
    // session (the prover's) must live on.
    const attackerLogin = (await login(s, email, attackerPw)).status
    const ownerRefresh = (await s.req('/token', form({ grant_type: 'refresh_token', refresh_token: owner }))).status
    expect({ putStatus, attackerLogin, ownerRefresh }).toEqual({ putStatus, attackerLogin: 400, ownerRefresh: 200 })
  })

  // The same late check, seen from the client: the session ended (here its own logout) while the PUT was hashing,
  // and the refusal clears the access-token cookie as the token guard's does, so that a browser in cookie mode
  // stops sending a token that can never pass again.
  test('a PUT /user whose session ends while it hashes is refused with the access-token cookie cleared, and sets nothing', async () => {
    const email = 'timing-logout@example.com'
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'first-password-1' } })).status).toBe(200)
    const signedIn = await login(s, email, 'first-password-1')
    expect(signedIn.status).toBe(200)
    const token = (await body(signedIn)).access_token as string
    const put = s.req('/user', { method: 'PUT', headers: bearer(token), json: { password: 'second-password-2' } })
    await Bun.sleep(60) // past the guard, hashing
    expect((await s.req('/logout', { method: 'POST', headers: bearer(token) })).status).toBe(204)
    const res = await put
    expect(res.status).toBe(401)
    expect(await body(res)).toMatchObject({ msg: 'Invalid token: session has ended' })
    expect(res.headers.get('set-cookie') ?? '').toMatch(/^nf_jwt=;.*Max-Age=0/)
    expect((await login(s, email, 'second-password-2')).status).toBe(400)
    expect((await login(s, email, 'first-password-1')).status).toBe(200)
  })
})

// The held sign-in's undo (lib/external-pending.ts mailConfirmation) deletes the account it created when its mail
// fails: the owner who signed up and confirmed meanwhile must not lose the account.
describe('a held sign-in whose mail fails after the owner confirmed (autoconfirm off)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...fake.env(), ...smtpEnv() } }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => { fake.reset(); s.clock.reset() })

  test('the owner\'s confirmed account is not deleted by the undo of the attacker\'s held sign-in', async () => {
    const email = 'timing-enrol@example.com'
    fake.setProfile('gitlab', { id: '99201', name: 'x', emails: [{ email, verified: false, primary: true } satisfies FakeEmail] })
    const held = smtp.hold(email)
    const a = await s.req('/authorize?provider=gitlab', { redirect: 'manual', headers: { referer: `${SITE}/login` } })
    const back = await fake.approve(a.headers.get('location') ?? '')
    const state = /^(gotrue-oauth-state=[^;]*)/.exec(a.headers.get('set-cookie') ?? '')?.[1] ?? ''
    const cb = s.req(`/callback?${back}`, { redirect: 'manual', headers: { cookie: state } })
    await held.reached
    // The owner signs up meanwhile (the tied link is replaced and mailed at once) and confirms.
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'owner-password-1' } })).status).toBe(200)
    const v = await s.req('/verify', { method: 'POST', json: { type: 'signup', token: tokenFromMail(await smtp.waitForMail(email, 1), 'confirmation_token') } })
    expect(v.status).toBe(200)
    const { id } = await body(await s.req('/user', { headers: bearer((await body(v)).access_token) }))
    held.release()
    await cb
    expect(await s.db.get('SELECT id FROM {users} WHERE id = ?', [id as string])).not.toBeNull()
  })
})

// emailKey is String#toLowerCase: U+212A KELVIN SIGN lower-cases to ASCII "k", so a provider that verified the
// distinct address "\u212Aate@…" (an SMTPUTF8 mailbox the attacker holds) would reach kate@…'s account through
// lookUp's verified-email match. Provider addresses our own signup would refuse are not taken.
describe('provider addresses our own signup would refuse', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...fake.env(), ...smtpEnv() } }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => { fake.reset(); s.clock.reset() })

  test('a verified provider address with a KELVIN SIGN does not reach the account of its ASCII look-alike', async () => {
    const email = 'kate-timing@example.com'
    const signup = await s.req('/signup', { method: 'POST', json: { email, password: 'owner-password-1' } })
    expect(signup.status).toBe(200)
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token: tokenFromMail(await smtp.waitForMail(email, 1), 'confirmation_token') } })).status).toBe(200)
    fake.setProfile('gitlab', { id: '99301', name: 'x', emails: [{ email: '\u212Aate-timing@example.com', verified: true, primary: true } satisfies FakeEmail] })
    const a = await s.req('/authorize?provider=gitlab', { redirect: 'manual', headers: { referer: `${SITE}/login` } })
    const back = await fake.approve(a.headers.get('location') ?? '')
    const state = /^(gotrue-oauth-state=[^;]*)/.exec(a.headers.get('set-cookie') ?? '')?.[1] ?? ''
    const cb = await s.req(`/callback?${back}`, { redirect: 'manual', headers: { cookie: state } })
    const hash = Object.fromEntries(new URLSearchParams(new URL(cb.headers.get('location') ?? '').hash.slice(1)))
    const who = hash.access_token ? (await body(await s.req('/user', { headers: bearer(hash.access_token) }))).email : null
    expect(who).not.toBe(email)
  })
})
