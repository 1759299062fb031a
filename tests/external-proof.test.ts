// Pre-hijacking under GOTRUE_MAILER_AUTOCONFIRM: a provider account that claims victim@ without verifying it
// creates a confirmed account and signs in to it. Each provider link records whether its address was proven
// (identity_data.email_verified); when the address is later proven by mail (recovery, magic link, email code, an
// email change confirmed) or by a provider that vouches for it, the unproven link goes with every other session
// of the user and the password its holder could have set. A link proven when it was made is never dropped, and
// the unproven link of a legitimate user keeps working until such a proof happens.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { type FakeEmail, type FakeProviderName, type OAuthFake, startOAuthFake } from './fakes/oauth-provider.ts'
import { body, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { bearer, login, refresh } from './helpers.ts'
import type { CapturedMail } from './fakes/smtp.ts'

const SITE = 'https://example.netlify.com'
const OWNER_PASSWORD = 'owner-new-password'
const ATTACKER_PASSWORD = 'attacker-password'

let fake: OAuthFake
let s: TestServer
beforeAll(async () => {
  fake = await startOAuthFake()
  s = await startServer({ env: { ...fake.env(), GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_SMTP_MAX_FREQUENCY: '0' } })
})
afterAll(async () => { await s.stop(); await fake.stop() })
beforeEach(() => fake.reset())

/** /authorize → the fake provider (which approves) → /callback from the same browser; the fragment's parameters. */
async function signIn(p: FakeProviderName, id: string, ...emails: [string, boolean][]): Promise<Record<string, string>> {
  return Object.fromEntries(new URLSearchParams((await through(p, '', id, emails)).hash.slice(1)))
}
/** The same sign-in with a PKCE challenge: the ?code= the callback hands back, not exchanged yet. */
async function signInPkce(p: FakeProviderName, id: string, verifier: string, ...emails: [string, boolean][]): Promise<string> {
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  return (await through(p, `&code_challenge=${challenge}&code_challenge_method=s256`, id, emails)).searchParams.get('code') ?? ''
}
async function through(p: FakeProviderName, query: string, id: string, emails: [string, boolean][]): Promise<URL> {
  fake.setProfile(p, { id, name: 'Ada', emails: emails.map(([email, verified], i): FakeEmail => ({ email, verified, primary: i === 0 })) })
  const res = await s.req(`/authorize?provider=${p}${query}`, { redirect: 'manual', headers: { referer: `${SITE}/login` } })
  expect(res.status).toBe(302)
  const back = await fake.approve(res.headers.get('location') ?? '')
  const cookie = /^(gotrue-oauth-state=[^;]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? ''
  const done = await s.req(`/callback?${back}`, { redirect: 'manual', headers: { cookie } })
  expect(done.status).toBe(302)
  return new URL(done.headers.get('location') ?? '')
}
const getUser = (token: string | undefined) => s.req('/user', { headers: bearer(token ?? '') })
const links = (userId: string) => s.db.all<{ provider: string; identity_data: string }>('SELECT provider, identity_data FROM {identities} WHERE user_id = ? ORDER BY provider', [userId])
const proofOf = async (userId: string) => (await links(userId)).map((l) => [l.provider, (JSON.parse(l.identity_data) as { email_verified?: boolean }).email_verified])
const codeOf = (mail: CapturedMail) => /<strong>(\d+)<\/strong>/.exec(mail.html)?.[1] ?? ''
const hashOf = (mail: CapturedMail) => /[?&]token_hash=([A-Za-z0-9_-]+)/.exec(mail.html.replace(/&amp;/g, '&'))?.[1] ?? ''
const verify = (json: Record<string, string>) => s.req('/verify', { method: 'POST', json })

/** The ways the owner proves the address by mail; each returns the owner's session (its access token). */
const PROOFS: [string, (email: string) => Promise<string>][] = [
  ['recovery, then a new password', async (email) => {
    const before = s.smtp.mailsTo(email).length
    expect((await s.req('/recover', { method: 'POST', json: { email } })).status).toBe(200)
    const res = await verify({ type: 'recovery', token: tokenFromMail(await s.smtp.waitForMail(email, { count: before + 1 }), 'recovery_token') })
    expect(res.status).toBe(200)
    const token = (await body(res)).access_token as string
    expect((await s.req('/user', { method: 'PUT', headers: bearer(token), json: { password: OWNER_PASSWORD } })).status).toBe(200)
    return token
  }],
  ['a magic link', async (email) => {
    const before = s.smtp.mailsTo(email).length
    expect((await s.req('/otp', { method: 'POST', json: { email } })).status).toBe(200)
    const res = await verify({ type: 'magiclink', token: hashOf(await s.smtp.waitForMail(email, { count: before + 1 })) })
    expect(res.status).toBe(200)
    return (await body(res)).access_token as string
  }],
  ['an email code', async (email) => {
    const before = s.smtp.mailsTo(email).length
    expect((await s.req('/otp', { method: 'POST', json: { email } })).status).toBe(200)
    const res = await verify({ type: 'email', token: codeOf(await s.smtp.waitForMail(email, { count: before + 1 })), email })
    expect(res.status).toBe(200)
    return (await body(res)).access_token as string
  }],
]

describe('the attack: an unverified provider email creates a confirmed account before its owner comes', () => {
  test.each(PROOFS)('the owner proves the address by %s: the attacker\'s link, sessions and password are gone', async (label, prove) => {
    const email = `victim-${label.length}@example.com`
    const id = `80${label.length}`
    // the attacker: signed in at once (autoconfirm), and sets a password from that session
    const attacker = await signIn('gitlab', id, [email, false])
    const victimId = (await body(await getUser(attacker.access_token))).id as string
    expect((await s.req('/user', { method: 'PUT', headers: bearer(attacker.access_token ?? ''), json: { password: ATTACKER_PASSWORD } })).status).toBe(200)
    expect(await proofOf(victimId)).toEqual([['gitlab', false]])
    // the owner cannot sign up, and proves the address by mail instead
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'owner-signup-password' } })).status).toBe(400)
    const owner = await prove(email)
    expect((await body(await getUser(owner))).id).toBe(victimId)
    // the attacker: the link is gone, the old session refused, the refresh token dead, the password void
    expect(await links(victimId)).toEqual([])
    expect((await getUser(attacker.access_token)).status).toBe(401)
    expect((await refresh(s, attacker.refresh_token ?? '')).status).toBe(400)
    expect((await login(s, email, ATTACKER_PASSWORD)).status).toBe(400)
    expect(await signIn('gitlab', id, [email, false])).toEqual({ error: 'access_denied', error_description: 'Email from external provider is not verified' })
    expect(await links(victimId)).toEqual([])
    // the owner goes on
    expect((await getUser(owner)).status).toBe(200)
  })

  test('the owner signs in with a provider that vouches for the address: the attacker\'s link and session are gone', async () => {
    const email = 'victim-google@example.com'
    const attacker = await signIn('gitlab', '8101', [email, false])
    const victimId = (await body(await getUser(attacker.access_token))).id as string
    const owner = await signIn('google', '8102', [email, true])
    expect((await body(await getUser(owner.access_token))).id).toBe(victimId)
    expect(await proofOf(victimId)).toEqual([['google', true]])
    expect((await getUser(attacker.access_token)).status).toBe(401)
    expect((await signIn('gitlab', '8101', [email, false])).error).toBe('access_denied')
  })

  test('an email change the attacker started before the proof cannot be confirmed after it', async () => {
    const email = 'victim-pending-change@example.com'
    const away = 'attacker-away@example.com'
    const attacker = await signIn('gitlab', '8104', [email, false])
    const victimId = (await body(await getUser(attacker.access_token))).id as string
    expect((await s.req('/user', { method: 'PUT', headers: bearer(attacker.access_token ?? ''), json: { email: away } })).status).toBe(200)
    const token = tokenFromMail(await s.smtp.waitForMail(away), 'email_change_token')
    const [, recover] = PROOFS[0] ?? ['', async () => '']
    const owner = await recover(email)
    // the link mailed to the attacker's address no longer moves the owner's account there
    expect((await verify({ type: 'email_change', token })).status).toBe(404)
    const user = await body(await getUser(owner))
    expect(user).toMatchObject({ id: victimId, email })
    expect(user.new_email ?? '').toBe('')
  })

  test('a PKCE code the attacker\'s sign-in got before the proof is not exchanged after it', async () => {
    const email = 'victim-pending-code@example.com'
    const attacker = await signIn('gitlab', '8105', [email, false])
    const verifier = randomBytes(32).toString('base64url')
    const code = await signInPkce('gitlab', '8105', verifier, [email, false])
    expect(code).not.toBe('')
    const [, magic] = PROOFS[1] ?? ['', async () => '']
    await magic(email)
    expect((await getUser(attacker.access_token)).status).toBe(401)
    const res = await s.req('/token?grant_type=pkce', { method: 'POST', headers: { 'x-supabase-api-version': '2024-01-01' }, json: { auth_code: code, code_verifier: verifier } })
    expect(res.status).toBe(404)
  })

  test('the owner confirms an email change to the address: the unproven link goes, the changing session stays', async () => {
    const email = 'changer-old@example.com'
    const newEmail = 'changer-new@example.com'
    const first = await signIn('bitbucket', '8103', [email, false])
    const second = await signIn('bitbucket', '8103', [email, false])
    const userId = (await body(await getUser(first.access_token))).id as string
    expect((await s.req('/user', { method: 'PUT', headers: bearer(first.access_token ?? ''), json: { email: newEmail } })).status).toBe(200)
    const token = tokenFromMail(await s.smtp.waitForMail(newEmail), 'email_change_token')
    expect((await s.req('/user', { method: 'PUT', headers: bearer(first.access_token ?? ''), json: { email_change_token: token } })).status).toBe(200)
    expect(await links(userId)).toEqual([])
    expect((await body(await getUser(first.access_token))).email).toBe(newEmail)
    expect((await getUser(second.access_token)).status).toBe(401)
  })

  // The same confirmation with data in the same request: the profile the unproven link gave goes, and the request's
  // own data is merged onto what is left (it was merged first, and then nothing was taken back).
  test('an email change confirmed with data in the same PUT: the unproven link\'s profile goes, the data stays', async () => {
    const email = 'changer-data-old@example.com'
    const newEmail = 'changer-data-new@example.com'
    const first = await signIn('bitbucket', '8106', [email, false])
    const given = (await body(await getUser(first.access_token))).user_metadata as Record<string, unknown>
    expect(Object.keys(given).length).toBeGreaterThan(0)
    expect((await s.req('/user', { method: 'PUT', headers: bearer(first.access_token ?? ''), json: { email: newEmail } })).status).toBe(200)
    const token = tokenFromMail(await s.smtp.waitForMail(newEmail), 'email_change_token')
    const put = await s.req('/user', { method: 'PUT', headers: bearer(first.access_token ?? ''), json: { email_change_token: token, data: { theme: 'dark' } } })
    expect(put.status).toBe(200)
    expect((await body(put)).user_metadata).toEqual({ theme: 'dark' })
    expect((await body(await getUser(first.access_token))).user_metadata).toEqual({ theme: 'dark' })
  })
})

describe('a legitimate user whose provider does not verify the address', () => {
  test('keeps signing in until a mail proof, then gets the provider back once it verifies the address', async () => {
    const email = 'legit-unverified@example.com'
    const a = await signIn('github', '8201', [email, false])
    const userId = (await body(await getUser(a.access_token))).id as string
    const b = await signIn('github', '8201', [email, false])
    expect((await body(await getUser(b.access_token))).id).toBe(userId)
    expect((await getUser(a.access_token)).status).toBe(200)
    // a proof by mail (here a magic link) drops the link and the sessions it made
    const [, magic] = PROOFS[1] ?? ['', async () => '']
    const owner = await magic(email)
    expect((await getUser(b.access_token)).status).toBe(401)
    expect(await signIn('github', '8201', [email, false])).toEqual({ error: 'access_denied', error_description: 'Email from external provider is not verified' })
    // verified at the provider: the same provider account is linked again, proven, and later proofs keep it
    const back = await signIn('github', '8201', [email, true])
    expect((await body(await getUser(back.access_token))).id).toBe(userId)
    expect(await proofOf(userId)).toEqual([['github', true]])
    await magic(email)
    expect(await proofOf(userId)).toEqual([['github', true]])
    expect((await getUser(back.access_token)).status).toBe(200)
    expect((await getUser(owner)).status).toBe(200)
  })

  test('its own provider later verifying the address marks the link proven; a mail proof then keeps it', async () => {
    const email = 'late-proof@example.com'
    const a = await signIn('gitlab', '8202', [email, false])
    const userId = (await body(await getUser(a.access_token))).id as string
    expect(await proofOf(userId)).toEqual([['gitlab', false]])
    const b = await signIn('gitlab', '8202', [email, true])
    expect(await proofOf(userId)).toEqual([['gitlab', true]])
    const [, code] = PROOFS[2] ?? ['', async () => '']
    await code(email)
    expect(await proofOf(userId)).toEqual([['gitlab', true]])
    expect((await getUser(a.access_token)).status).toBe(200)
    expect((await getUser(b.access_token)).status).toBe(200)
  })
})

describe('a link proven when it was made', () => {
  test('is never dropped by a mail proof, and its sessions and password stay', async () => {
    const email = 'verified-link@example.com'
    const a = await signIn('google', '8301', [email, true])
    const userId = (await body(await getUser(a.access_token))).id as string
    expect((await s.req('/user', { method: 'PUT', headers: bearer(a.access_token ?? ''), json: { password: OWNER_PASSWORD } })).status).toBe(200)
    expect(await proofOf(userId)).toEqual([['google', true]])
    for (const p of [PROOFS[1], PROOFS[2]]) await p?.[1](email)
    expect(await proofOf(userId)).toEqual([['google', true]])
    expect((await getUser(a.access_token)).status).toBe(200)
    expect((await login(s, email, OWNER_PASSWORD)).status).toBe(200)
    expect((await body(await getUser((await signIn('google', '8301', [email, true])).access_token))).id).toBe(userId)
  })
})

// Under GOTRUE_USER_DATA_SCHEMA a confirmation that proves the address is answered alike with and without data:
// the data is checked against the profile it was sent for, and what the proof takes back (a key the schema
// requires, given by the unproven link) is not the request's to answer for.
describe('an email change confirmed under a schema requiring a key the unproven link gave', () => {
  let ss: TestServer
  beforeAll(async () => {
    ss = await startServer({ env: { ...fake.env(), GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_SMTP_MAX_FREQUENCY: '0',
      GOTRUE_USER_DATA_SCHEMA: JSON.stringify({ type: 'object', required: ['full_name'] }) } })
  })
  afterAll(async () => { await ss.stop() })

  async function confirm(id: string, withData: boolean): Promise<{ status: number; meta: unknown }> {
    const email = `schema-proof-${id}@example.com`
    const newEmail = `schema-proof-new-${id}@example.com`
    fake.setProfile('bitbucket', { id, name: 'Ada', emails: [{ email, verified: false, primary: true } satisfies FakeEmail] })
    const res = await ss.req('/authorize?provider=bitbucket', { redirect: 'manual', headers: { referer: `${SITE}/login` } })
    const back = await fake.approve(res.headers.get('location') ?? '')
    const cookie = /^(gotrue-oauth-state=[^;]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? ''
    const done = await ss.req(`/callback?${back}`, { redirect: 'manual', headers: { cookie } })
    const session = Object.fromEntries(new URLSearchParams(new URL(done.headers.get('location') ?? '').hash.slice(1)))
    const auth = bearer(session.access_token ?? '')
    expect((await body(await ss.req('/user', { headers: auth }))).user_metadata).toHaveProperty('full_name')
    expect((await ss.req('/user', { method: 'PUT', headers: auth, json: { email: newEmail } })).status).toBe(200)
    const token = tokenFromMail(await ss.smtp.waitForMail(newEmail), 'email_change_token')
    const put = await ss.req('/user', { method: 'PUT', headers: auth, json: { email_change_token: token, ...(withData ? { data: { theme: 'dark' } } : {}) } })
    const b = await body(put)
    return { status: put.status, meta: b.user_metadata ?? b.msg }
  }

  test('with and without data: both 200; the provider\'s key goes, the data stays', async () => {
    expect(await confirm('9102', false)).toEqual({ status: 200, meta: {} })
    expect(await confirm('9101', true)).toEqual({ status: 200, meta: { theme: 'dark' } })
  })
})
