// The real gotrue-js client (npm gotrue-js@1.0.1, unmodified) driving the running server over HTTP: every
// method a Netlify Identity frontend uses, the mails it depends on, refresh on expiry, and the way API errors
// surface as the thrown error's message (GoTrue's `msg`, or `error: error_description` from /token).
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import GoTrue, { JSONHTTPError, type User } from 'gotrue-js'
import { body, form, startServer, tokenFromMail, type TestServer } from './harness.ts'
import { freshEmail, OPERATOR, PASSWORD } from './helpers.ts'

/** One client per server; gotrue-js warns about http:// on every construction, so silence just that. */
function client(url: string): GoTrue {
  const warn = console.warn
  console.warn = () => {}
  try { return new GoTrue({ APIUrl: url, setCookie: false }) } finally { console.warn = warn }
}

/** JWT payload, decoded without verification (what gotrue-js itself does). */
const claimsOf = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>

/** The rejection of a promise, asserted to be gotrue-js's JSONHTTPError. */
async function failure(p: Promise<unknown>): Promise<JSONHTTPError> {
  const e = await p.then(() => null, (err: unknown) => err)
  expect(e).toBeInstanceOf(JSONHTTPError)
  return e as JSONHTTPError
}


let s: TestServer
let auth: GoTrue
beforeAll(async () => {
  s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'false' } })
  auth = client(s.url)
})
afterAll(async () => { await s.stop() })
// The client keeps one module-level "current user" for the whole process: start every test without one.
afterEach(() => { auth.currentUser()?.clearSession() })

/** signup → confirmation mail → confirm, all through the client. */
async function confirmedUser(tag: string, password = PASSWORD): Promise<{ email: string; user: User }> {
  const email = freshEmail(tag)
  await auth.signup(email, password, { full_name: `Name ${tag}` })
  const user = await auth.confirm(tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token'))
  return { email, user }
}

describe('gotrue-js: public calls', () => {
  test('settings() returns the server settings', async () => {
    expect(await auth.settings()).toEqual({
      external: { bitbucket: false, github: false, gitlab: false, google: false, facebook: false, email: true, saml: false },
      external_labels: {},
      disable_signup: false,
      autoconfirm: false,
    } as unknown as Awaited<ReturnType<GoTrue['settings']>>)
  })

  test('signup() → confirmation mail → confirm() returns a logged-in User', async () => {
    const email = freshEmail('signup')
    const created = await auth.signup(email, PASSWORD, { full_name: 'Ada Lovelace' })
    expect(created.email).toBe(email)
    expect(typeof created.confirmation_sent_at).toBe('string')
    expect(created.confirmed_at).toBeUndefined()
    expect(auth.currentUser()).toBeNull() // signup alone does not log in

    const mail = await s.smtp.waitForMail(email)
    const user = await auth.confirm(tokenFromMail(mail, 'confirmation_token'))
    expect(user.id).toBe(created.id)
    expect(user.email).toBe(email)
    expect(user.user_metadata.full_name).toBe('Ada Lovelace')
    expect(typeof user.confirmed_at).toBe('string')
    const token = user.tokenDetails()!
    expect(token.token_type).toBe('bearer')
    expect(token.refresh_token).toMatch(/^[A-Za-z0-9_-]+$/) // sent unencoded by the client: must be URL-safe
    const claims = claimsOf(token.access_token)
    expect(claims.sub).toBe(created.id)
    expect(claims.email).toBe(email)
    expect(token.expires_at).toBe((claims.exp as number) * 1000)
    expect(auth.currentUser()).toBe(user)

    // The link is single use.
    const again = await failure(auth.confirm(tokenFromMail(mail, 'confirmation_token')))
    expect([again.status, again.message]).toEqual([404, 'User not found'])
  })

  test('login(), currentUser() and getUserData()', async () => {
    const { email, user: confirmed } = await confirmedUser('login')
    confirmed.clearSession()
    const user = await auth.login(email, PASSWORD)
    expect(user.id).toBe(confirmed.id)
    expect(user.email).toBe(email)
    expect(typeof user.last_sign_in_at).toBe('string')
    expect(auth.currentUser()).toBe(user)
    const data = await user.getUserData()
    expect(data).toBe(user) // the same object, refreshed from GET /user
    expect(data.user_metadata).toEqual({ full_name: 'Name login' })
    expect(data.app_metadata).toEqual({ provider: 'email' })
  })

  test('errors surface as GoTrue messages: wrong password, confirmed re-signup', async () => {
    const { email } = await confirmedUser('errors')
    const wrong = await failure(auth.login(email, 'not the password'))
    expect(wrong.status).toBe(400)
    expect(wrong.message).toBe('invalid_grant: No user found with that email, or password invalid.')
    const unknown = await failure(auth.login(freshEmail('nobody'), PASSWORD))
    expect(unknown.message).toBe('invalid_grant: No user found with that email, or password invalid.')
    const dup = await failure(auth.signup(email, 'another password'))
    expect(dup.status).toBe(400)
    expect(dup.message).toBe('A user with this email address has already been registered')
  })
})

describe('gotrue-js: the logged-in User', () => {
  test('update({ data }) merges metadata; update({ password }) changes the login password', async () => {
    const { email, user } = await confirmedUser('update')
    await user.update({ data: { x: 1 } })
    expect(user.user_metadata).toEqual({ full_name: 'Name update', x: 1 })
    await user.update({ password: 'a brand new password' })
    user.clearSession()
    expect((await failure(auth.login(email, PASSWORD))).message).toBe('invalid_grant: No user found with that email, or password invalid.')
    const again = await auth.login(email, 'a brand new password')
    expect(again.user_metadata).toEqual({ full_name: 'Name update', x: 1 })
  })

  test('update({ email }) mails the new address; update({ email_change_token }) completes the change', async () => {
    const { email, user } = await confirmedUser('change')
    const next = freshEmail('changed')
    await user.update({ email: next })
    expect(user.email).toBe(email)
    expect(user.new_email).toBe(next)
    const mail = await s.smtp.waitForMail(next)
    expect(s.smtp.mailsTo(email).length).toBe(1) // only the confirmation mail went to the old address

    await user.update({ email_change_token: tokenFromMail(mail, 'email_change_token') })
    expect(user.email).toBe(next)
    // The client only ever adds keys to the User, so a stale new_email stays on it; the server has dropped it.
    const raw = await body(await s.req('/user', { headers: { authorization: `Bearer ${await user.jwt()}` } }))
    expect([raw.email, raw.new_email]).toEqual([next, undefined])
    user.clearSession()
    expect((await auth.login(next, PASSWORD)).email).toBe(next)
    expect((await failure(auth.login(email, PASSWORD))).status).toBe(400)
  })

  test('jwt(true) forces a refresh: a new valid access token and a rotated refresh token', async () => {
    const { user } = await confirmedUser('refresh')
    const before = { ...user.tokenDetails()! }
    s.clock.advance(5) // the server mints a token with a later exp, so it differs from the first
    const access = await user.jwt(true)
    expect(access).not.toBe(before.access_token)
    expect(user.tokenDetails()!.access_token).toBe(access)
    expect(user.tokenDetails()!.refresh_token).not.toBe(before.refresh_token)
    expect(claimsOf(access).sub).toBe(user.id)
    const res = await s.req('/user', { headers: { authorization: `Bearer ${access}` } })
    expect(res.status).toBe(200)
    expect((await body(res)).id).toBe(user.id)
    expect(await user.jwt()).toBe(access) // not expired: no refresh
  })

  test('logout() ends the session and the old refresh token is refused on the wire', async () => {
    const { user } = await confirmedUser('logout')
    const refresh = user.tokenDetails()!.refresh_token
    await user.logout()
    expect(user.tokenDetails()).toBeNull()
    expect(auth.currentUser()).toBeNull()
    const res = await s.req('/token', form({ grant_type: 'refresh_token', refresh_token: refresh }))
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: 'Invalid Refresh Token' })
  })

  test('requestPasswordRecovery() → mail → recover() → update({ password })', async () => {
    const { email, user: first } = await confirmedUser('recover')
    first.clearSession()
    await auth.requestPasswordRecovery(email)
    const mail = await s.smtp.waitForMail(email, { count: 2 })
    const user = await auth.recover(tokenFromMail(mail, 'recovery_token'))
    expect(user.email).toBe(email)
    await user.update({ password: 'recovered password' })
    user.clearSession()
    expect((await auth.login(email, 'recovered password')).email).toBe(email)
  })

  test('an invite sent by the operator is accepted with acceptInvite(token, password)', async () => {
    const email = freshEmail('invite')
    const res = await s.req('/invite', { method: 'POST', json: { email }, headers: OPERATOR })
    expect(res.status).toBe(200)
    const invited = await body(res)
    const mail = await s.smtp.waitForMail(email)
    const user = await auth.acceptInvite(tokenFromMail(mail, 'invite_token'), 'invitee password')
    expect(user.id).toBe(invited.id as string)
    expect(user.email).toBe(email)
    expect(typeof user.confirmed_at).toBe('string')
    user.clearSession()
    expect((await auth.login(email, 'invitee password')).id).toBe(invited.id as string)
  })
})

describe('gotrue-js: session persistence through localStorage (shimmed)', () => {
  test('login(remember) writes gotrue.user; currentUser() recovers it after the in-memory session is gone', async () => {
    const { email } = await confirmedUser('persist')
    auth.currentUser()?.clearSession()
    const mem = new Map<string, string>()
    const g = globalThis as Record<string, unknown>
    g.localStorage = {
      getItem: (k: string) => mem.get(k) ?? null, setItem: (k: string, v: string) => void mem.set(k, String(v)),
      removeItem: (k: string) => void mem.delete(k), clear: () => mem.clear(), key: () => null, length: 0,
    }
    g.window = { addEventListener() {} }
    try {
      const user = await auth.login(email, PASSWORD, true)
      const saved = mem.get('gotrue.user')
      expect(saved).toBeString()
      const json = JSON.parse(saved!) as { url: string; email: string; token: { refresh_token: string } }
      expect([json.url, json.email, json.token.refresh_token]).toEqual([s.url, email, user.tokenDetails()!.refresh_token])

      user.clearSession() // forgets the singleton and the saved copy; put the copy back as a page reload would see it
      expect(mem.has('gotrue.user')).toBe(false)
      mem.set('gotrue.user', saved!)
      const recovered = auth.currentUser()
      expect(recovered).not.toBeNull()
      expect(recovered).not.toBe(user)
      expect(recovered!._fromStorage).toBe(true)
      expect(recovered!.email).toBe(email)
      expect((await recovered!.getUserData()).id).toBe(user.id) // the stored token still works on the server
      await recovered!.logout()
      expect(mem.has('gotrue.user')).toBe(false)
    } finally {
      delete g.localStorage
      delete g.window
    }
  })
})

describe('gotrue-js with a 30-second JWT lifetime', () => {
  let short: TestServer
  let shortAuth: GoTrue
  beforeAll(async () => {
    short = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_JWT_EXP: '30' } })
    shortAuth = client(short.url)
  })
  afterAll(async () => { await short.stop() })

  test('every authenticated call refreshes first (inside the 60 s margin) and still succeeds', async () => {
    const email = freshEmail('short')
    await shortAuth.signup(email, PASSWORD)
    const user = await shortAuth.login(email, PASSWORD) // login's own GET /user already refreshed once
    const claims = claimsOf(user.tokenDetails()!.access_token)
    expect((claims.exp as number) - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(30)
    const seen = [user.tokenDetails()!.refresh_token]
    await user.getUserData()
    seen.push(user.tokenDetails()!.refresh_token)
    await user.update({ data: { short: true } })
    seen.push(user.tokenDetails()!.refresh_token)
    expect(user.user_metadata).toEqual({ short: true })
    expect(new Set(seen).size).toBe(3) // each call rotated the refresh token
    // login issued one family; its GET /user, getUserData and update each rotated it once
    const rows = await short.db.all<{ revoked: number }>('SELECT revoked FROM {refresh_tokens} WHERE user_id = ?', [user.id])
    expect(rows.length).toBe(4)
    expect(rows.filter((r) => !r.revoked).length).toBe(1)
    await user.logout()
    expect(shortAuth.currentUser()).toBeNull()
  })
})
