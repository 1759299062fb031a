// An attacker who claimed the victim's address (unverified) at a provider starts the victim's account with a sign-in
// (tests/external-unverified.test.ts): whichever way the owner then proves the address (their own mail, a magic
// link, an admin's confirmation, a recovery under autoconfirm, the sign-in's mail clicked unasked), neither the
// attacker's provider link nor the profile its sign-in chose (a name, an avatar URL on its server, the provider in
// app_metadata) is left, what others wrote to the profile stays, and the signup hook is told the profile the
// account will have. Drives the fake OAuth provider over real HTTP.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { type FakeEmail, type FakeProviderName, type OAuthFake, startOAuthFake } from './fakes/oauth-provider.ts'
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.ts'
import { body, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { OPERATOR } from './helpers.ts'

const SITE = 'https://example.netlify.com'
const ATTACKER_NAME = 'Attacker Chosen Name'
const ATTACKER_AVATAR = 'https://tracker.attacker.example/pixel.png'

let fake: OAuthFake
beforeAll(async () => { fake = await startOAuthFake() })
afterAll(async () => { await fake.stop() })

async function signIn(s: TestServer, p: FakeProviderName, headers: Record<string, string> = { referer: `${SITE}/login` }): Promise<Response> {
  const res = await s.req(`/authorize?provider=${p}`, { redirect: 'manual', headers })
  expect(res.status).toBe(302)
  const back = await fake.approve(res.headers.get('location') ?? '')
  const state = /^(gotrue-oauth-state=[^;]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? ''
  const cookie = headers.cookie ? `${headers.cookie}; ${state}` : state
  return s.req(`/callback?${back}`, { redirect: 'manual', headers: { cookie } })
}
const hashOf = (res: Response): Record<string, string> => {
  expect(res.status).toBe(302)
  return Object.fromEntries(new URLSearchParams(new URL(res.headers.get('location') ?? '').hash.slice(1)))
}
const heldCookie = (res: Response): string =>
  res.headers.getSetCookie().map((c) => /^(__Host-gotrue-held-[A-Za-z0-9_-]{8}=[^;]+)/.exec(c)?.[1]).find(Boolean) ?? ''
const me = async (s: TestServer, accessToken: unknown) =>
  body(await s.req('/user', { headers: { authorization: `Bearer ${String(accessToken)}` } }))
/** The attacker's provider profile: the victim's address, unverified, and a name and avatar of its choosing. */
const attackerProfile = (p: FakeProviderName, id: string, email: string) => fake.setProfile(p, {
  id, name: ATTACKER_NAME, avatar: ATTACKER_AVATAR, emails: [{ email, verified: false, primary: true } satisfies FakeEmail],
})
/** The owner's own provider account: the address verified, the owner's own name. */
const ownerProfile = (p: FakeProviderName, id: string, email: string) => fake.setProfile(p, {
  id, name: 'Owner Real Name', emails: [{ email, verified: true, primary: true } satisfies FakeEmail],
})
const userRow = (s: TestServer, email: string) =>
  s.db.get<{ id: string; confirmed_at: string | null; raw_user_meta_data: string; raw_app_meta_data: string }>(
    'SELECT id, confirmed_at, raw_user_meta_data, raw_app_meta_data FROM {users} WHERE email_key = ?', [email.toLowerCase()])
const linksOf = (s: TestServer, userId: string) =>
  s.db.all<{ provider: string; provider_id: string }>('SELECT provider, provider_id FROM {identities} WHERE user_id = ? ORDER BY provider', [userId])

/** The attacker's sign-in starts the victim's account; returns its id. */
async function planted(s: TestServer, email: string, id: string): Promise<string> {
  attackerProfile('gitlab', id, email)
  expect(hashOf(await signIn(s, 'gitlab'))).toEqual({})
  await s.smtp.waitForMail(email)
  return (await userRow(s, email))?.id ?? ''
}
/** Nothing the attacker chose is left in the account's profile. */
function noAttackerProfile(u: Record<string, unknown>) {
  const json = JSON.stringify({ user_metadata: u.user_metadata, app_metadata: u.app_metadata })
  expect(json).not.toContain(ATTACKER_NAME)
  expect(json).not.toContain(ATTACKER_AVATAR)
  expect((u.app_metadata as Record<string, unknown>).provider).not.toBe('gitlab')
}

describe('a planted account, autoconfirm off', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: fake.env() }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => { fake.reset(); s.clock.reset() })

  // The link goes when the owner asks for their own mail (claimOwnConfirmationMail), long before the confirmation.
  const OWNER_ASKS = [
    ['asks for the mail again (/resend)', '/resend', (email: string) => ({ email, type: 'signup' }), 'confirmation_token'],
    ['signs up with a password of their own (/signup)', '/signup', (email: string) => ({ email, password: 'owner-password-1' }), 'confirmation_token'],
  ] as const
  test.each(OWNER_ASKS)('the owner %s and confirms through that mail: the profile the attacker\'s sign-in gave the account is gone', async (_, path, json, key) => {
    const email = `heldrev2-ask-${path.slice(1)}@example.com`
    const id = await planted(s, email, path === '/resend' ? '9101' : '9102')
    s.clock.advance(16 * 60)
    expect((await s.req(path, { method: 'POST', json: json(email) })).status).toBe(200)
    const res = await s.req('/verify', { method: 'POST', json: { type: 'signup', token: tokenFromMail(await s.smtp.waitForMail(email, { count: 2 }), key) } })
    expect(res.status).toBe(200)
    const u = await me(s, (await body(res)).access_token)
    expect(u.id).toBe(id)
    expect(await linksOf(s, id)).toEqual([])
    noAttackerProfile(u)
  })

  test('the owner uses a magic link (/otp) of their own: the attacker\'s profile is gone', async () => {
    const email = 'heldrev2-otp@example.com'
    const id = await planted(s, email, '9103')
    s.clock.advance(16 * 60)
    expect((await s.req('/otp', { method: 'POST', json: { email } })).status).toBe(200)
    const mail = await s.smtp.waitForMail(email, { count: 2 })
    const tokenHash = /token_hash=([A-Za-z0-9_-]+)/.exec(mail.html)?.[1] ?? ''
    expect(tokenHash).not.toBe('')
    const res = await s.req('/verify', { method: 'POST', json: { type: 'magiclink', token_hash: tokenHash } })
    expect(res.status).toBe(200)
    const u = await me(s, (await body(res)).access_token)
    expect(u.id).toBe(id)
    expect(await linksOf(s, id)).toEqual([])
    noAttackerProfile(u)
  })

  // An admin who confirms the pending account (a support request: "I never got my confirmation mail") vouches for
  // the address: the attacker's provider account, still unverified, must not sign in to it afterwards.
  test('an admin confirms the pending account (PUT /admin/users/:id confirm): the attacker\'s unproven link does not sign in', async () => {
    const email = 'heldrev2-admin-confirm@example.com'
    const id = await planted(s, email, '9104')
    const put = await s.req(`/admin/users/${id}`, { method: 'PUT', json: { confirm: true }, headers: OPERATOR })
    expect(put.status).toBe(200)
    expect((await body(put)).confirmed_at).toBeString()
    attackerProfile('gitlab', '9104', email)
    const hash = hashOf(await signIn(s, 'gitlab'))
    expect(hash.access_token).toBeUndefined()
    expect(await linksOf(s, id)).toEqual([])
    noAttackerProfile(await body(await s.req(`/admin/users/${id}`, { headers: OPERATOR })))
    // the audit log names the admin as who removed the links, and the account it removed them from
    const entries = (await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}'))
      .map((r) => JSON.parse(r.payload) as { actor_id: string; traits?: { reason?: string; user_id?: string; providers?: string[] } })
      .filter((e) => e.traits?.reason === 'unproven_identities_removed' && e.traits.user_id === id)
    expect(entries.map((e) => ({ byTheUser: e.actor_id === id, providers: e.traits?.providers }))).toEqual([{ byTheUser: false, providers: ['gitlab'] }])
  })

  // Only what the sign-in gave goes: what an administrator wrote to the pending account stays.
  test('an admin\'s user_metadata on the pending account survives the owner\'s click (only the sign-in\'s profile goes)', async () => {
    const email = 'heldrev2-admin-meta@example.com'
    const id = await planted(s, email, '9107')
    expect((await s.req(`/admin/users/${id}`, { method: 'PUT', json: { user_metadata: { support_ticket: 4711 }, app_metadata: { plan: 'pro' } }, headers: OPERATOR })).status).toBe(200)
    const res = await s.req('/verify', { method: 'POST', json: { type: 'signup', token: tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token') } })
    expect(res.status).toBe(200)
    const u = await me(s, (await body(res)).access_token)
    noAttackerProfile(u)
    expect(u.app_metadata).toMatchObject({ plan: 'pro' })
    expect(u.user_metadata).toEqual({ support_ticket: 4711 })
  })

  // /verify with X-Use-Cookie answers both cookies (the access cookie and the held cookie's removal).
  test('/verify in the signing browser with X-Use-Cookie sets nf_jwt and clears the held cookie', async () => {
    const email = 'heldrev2-use-cookie@example.com'
    attackerProfile('gitlab', '9105', email)
    const back = await signIn(s, 'gitlab')
    const cookie = heldCookie(back)
    expect(cookie).not.toBe('')
    const token = tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')
    const res = await s.req('/verify', { method: 'POST', json: { type: 'signup', token }, headers: { cookie, 'x-use-cookie': '1' } })
    expect(res.status).toBe(200)
    const set = res.headers.getSetCookie()
    expect(set.some((c) => c.startsWith('nf_jwt='))).toBe(true)
    expect(set).toContain(`${cookie.split('=')[0]}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure`)
  })

  // The account page refuses a cross-site (and same-site) submission even when the cookie is carried.
  test('a same-site or cross-site POST to the account page with the cookie is refused, nothing consumed', async () => {
    const email = 'heldrev2-page-csrf@example.com'
    attackerProfile('gitlab', '9106', email)
    const back = await signIn(s, 'gitlab')
    const token = tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')
    for (const site of ['cross-site', 'same-site']) {
      const res = await s.req('/account/confirm', {
        method: 'POST', redirect: 'manual', body: new URLSearchParams({ token }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': site, cookie: heldCookie(back) },
      })
      expect(res.status).toBe(403)
    }
    expect((await userRow(s, email))?.confirmed_at).toBeNull()
  })
})

// The signup webhook runs before the transaction and its reply stands over the account's metadata. Netlify's documented
// identity-signup function answers `user_metadata: { ...user.user_metadata, … }` (and app_metadata likewise): told
// the attacker's profile, it would put it back. It is told the profile the account will have.
describe('held sign-in with a signup webhook that keeps what it was sent (Netlify\'s documented pattern)', () => {
  let s: TestServer
  let hooks: WebhookReceiver
  beforeAll(async () => {
    hooks = startWebhookReceiver()
    s = await startServer({ env: { ...fake.env(), GOTRUE_WEBHOOK_URL: hooks.url, GOTRUE_WEBHOOK_EVENTS: 'signup', GOTRUE_WEBHOOK_ALLOW_LOCAL: 'true' } })
  })
  afterAll(async () => { await s.stop(); await hooks.stop() })

  test('the owner clicks the unsolicited mail: neither the hook nor the account gets the attacker\'s profile', async () => {
    const email = 'heldrev2-hook-echo@example.com'
    const id = await planted(s, email, '9201')
    // Netlify's example identity-signup reply, built from the user it is sent: its metadata kept, the function's
    // own added.
    hooks.setDefault({
      body: (call: { json<T>(): T }) => {
        const { user } = call.json<{ user: { user_metadata: object; app_metadata: object } }>()
        return { user_metadata: { ...user.user_metadata, from_function: 'hurray' }, app_metadata: { ...user.app_metadata, roles: ['member'] } }
      },
    })
    const res = await s.req('/verify', { method: 'POST', json: { type: 'signup', token: tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token') } })
    expect(res.status).toBe(200)
    const u = await me(s, (await body(res)).access_token)
    expect(u.id).toBe(id)
    expect(await linksOf(s, id)).toEqual([])
    noAttackerProfile(u)
    expect(u.user_metadata).toMatchObject({ from_function: 'hurray' })
    expect(u.app_metadata).toMatchObject({ roles: ['member'] })
    const told = hooks.calls.at(-1)?.json<{ event: string; user: Record<string, unknown> }>()
    expect(told?.event).toBe('signup')
    noAttackerProfile(told?.user ?? {})
  })
})

// Under autoconfirm the attacker's sign-in makes a confirmed account with its profile; the owner's recovery drops
// the link and the profile with it.
describe('held sign-in under GOTRUE_MAILER_AUTOCONFIRM', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...fake.env(), GOTRUE_MAILER_AUTOCONFIRM: 'true' } }) })
  afterAll(async () => { await s.stop() })

  test('the owner recovers the account the attacker\'s sign-in made: the attacker\'s profile goes with its link', async () => {
    const email = 'heldrev2-autoconfirm@example.com'
    attackerProfile('gitlab', '9301', email)
    expect(hashOf(await signIn(s, 'gitlab')).access_token).toBeString()
    const id = (await userRow(s, email))?.id ?? ''
    expect((await s.req('/recover', { method: 'POST', json: { email } })).status).toBe(200)
    const res = await s.req('/verify', { method: 'POST', json: { type: 'recovery', token: tokenFromMail(await s.smtp.waitForMail(email), 'recovery_token') } })
    expect(res.status).toBe(200)
    const u = await me(s, (await body(res)).access_token)
    expect(u.id).toBe(id)
    expect(await linksOf(s, id)).toEqual([])
    noAttackerProfile(u)
  })
})

// The callback's `confirm` (and `accept`, and `login`) decisions run their webhook before the transaction; its reply
// replaces the metadata after act() took the profile back, so it is told the profile without it.
describe('a provider that verified the address confirms the planted account, with a signup webhook that keeps what it was sent', () => {
  let s: TestServer
  let hooks: WebhookReceiver
  beforeAll(async () => {
    hooks = startWebhookReceiver()
    s = await startServer({ env: { ...fake.env(), GOTRUE_WEBHOOK_URL: hooks.url, GOTRUE_WEBHOOK_EVENTS: 'signup,login', GOTRUE_WEBHOOK_ALLOW_LOCAL: 'true' } })
  })
  afterAll(async () => { await s.stop(); await hooks.stop() })
  beforeEach(() => { fake.reset(); s.clock.reset() })

  test('the owner confirms the planted account by signing in with a provider that verified the address: the hook is not told, and the account does not keep, the attacker\'s profile', async () => {
    const email = 'profrev-f1@example.com'
    const id = await planted(s, email, '7101')
    hooks.setDefault({
      body: (call: { json<T>(): T }) => {
        const { user } = call.json<{ user: { user_metadata: object; app_metadata: object } }>()
        return { user_metadata: { ...user.user_metadata, from_function: 'hurray' }, app_metadata: { ...user.app_metadata, roles: ['member'] } }
      },
    })
    ownerProfile('github', '7102', email)
    const hash = hashOf(await signIn(s, 'github'))
    expect(hash.access_token).toBeString()
    const u = await me(s, hash.access_token)
    expect(u.id).toBe(id)
    expect((await linksOf(s, id)).map((l) => l.provider)).toEqual(['github'])
    noAttackerProfile(u)
    const told = hooks.calls.at(-1)?.json<{ event: string; user: Record<string, unknown> }>()
    expect(told?.event).toBe('signup')
    noAttackerProfile(told?.user ?? {})
  })
})

// The owner's /signup of the planted address drops the attacker's link and its profile (claimOwnConfirmationMail);
// when the mail then fails, the undo puts the row back, but not that profile: with no unproven link left, no later
// proof would take it back.
describe('a re-signup of a planted account whose mail fails', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: fake.env() }) })
  afterAll(async () => { await s.stop() })
  beforeEach(() => { fake.reset(); s.clock.reset() })

  test('the owner\'s /signup mail fails once, then the owner signs up again and confirms: the attacker\'s profile is not left behind', async () => {
    const email = 'profrev-f2@example.com'
    const id = await planted(s, email, '7201')
    s.smtp.failNext()
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'owner-password-1' } })).status).toBe(500)
    expect(await linksOf(s, id)).toEqual([])
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'owner-password-1' } })).status).toBe(200)
    const mail = await s.smtp.waitForMail(email, { count: 2 })
    const res = await s.req('/verify', { method: 'POST', json: { type: 'signup', token: tokenFromMail(mail, 'confirmation_token') } })
    expect(res.status).toBe(200)
    const u = await me(s, (await body(res)).access_token)
    expect(u.id).toBe(id)
    noAttackerProfile(u)
  })
})

// No provider link: someone else's password signup of the victim's address with a profile of its choosing. The
// owner's re-signup with another password clears the password and the profile (neither side keeps what the other
// chose).
describe('a password signup of the victim\'s address with a chosen profile', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: fake.env() }) })
  afterAll(async () => { await s.stop() })

  test('the owner signs up with their own password and confirms: the attacker\'s signup data is not left', async () => {
    const email = 'profrev-f4@example.com'
    const planted = await s.req('/signup', { method: 'POST', json: { email, password: 'attacker-password-1', data: { full_name: ATTACKER_NAME, avatar_url: ATTACKER_AVATAR } } })
    expect(planted.status).toBe(200)
    s.clock.advance(16 * 60)
    expect((await s.req('/signup', { method: 'POST', json: { email, password: 'owner-password-1' } })).status).toBe(200)
    const res = await s.req('/verify', { method: 'POST', json: { type: 'signup', token: tokenFromMail(await s.smtp.waitForMail(email, { count: 2 }), 'confirmation_token') } })
    expect(res.status).toBe(200)
    noAttackerProfile(await me(s, (await body(res)).access_token))
  })
})
