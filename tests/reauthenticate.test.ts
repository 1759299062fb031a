// supabase's secure password change, driven by @supabase/auth-js unmodified: `reauthenticate()` mails the signed-in
// user a nonce (GET /reauthenticate), `updateUser({ password, nonce })` spends it. With
// GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION a session older than 24 hours needs one
// (reauthentication_needed), a wrong, used, expired or replaced one is reauthentication_not_valid; a nonce given in
// a younger session is checked too. With the setting off (the default) nothing changes for any client.
import { AuthClient } from '@supabase/auth-js'
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import type { CapturedMail } from './fakes/smtp.ts'
import { body, startServer, type TestServer } from './harness.ts'
import { freshEmail, login, PASSWORD } from './helpers.ts'

/** A client as an app makes one: a storage of its own (the session lives there), no timers. */
function client(s: TestServer) {
  const store = new Map<string, string>()
  return new AuthClient({
    url: s.url, autoRefreshToken: false, persistSession: true, detectSessionInUrl: false,
    storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v), removeItem: (k) => void store.delete(k) },
  })
}
/** A signed-up (autoconfirm) and signed-in user, through auth-js. */
async function signedUp(s: TestServer) {
  const auth = client(s)
  const email = freshEmail('reauth')
  const { data, error } = await auth.signUp({ email, password: PASSWORD })
  expect(error).toBeNull()
  expect(data.session).not.toBeNull()
  return { auth, email }
}
/** Lets the session pass the 24 hours after its sign-in; the refresh gives an access token valid at the new time. */
async function age(s: TestServer, auth: ReturnType<typeof client>, seconds = 25 * 3600) {
  s.clock.advance(seconds)
  expect((await auth.refreshSession()).error).toBeNull()
}
const NONCE = /<strong>(\d{6})<\/strong>/
const nonceIn = (mail: CapturedMail): string => {
  const m = NONCE.exec(mail.html)
  if (!m?.[1]) throw new Error(`no nonce in mail "${mail.subject}"`)
  return m[1]
}
/** reauthenticate() and the nonce it mailed (the `n`th mail to the address). */
async function nonceFor(s: TestServer, auth: ReturnType<typeof client>, email: string, n = 1): Promise<string> {
  expect((await auth.reauthenticate()).error).toBeNull()
  return nonceIn(await s.smtp.waitForMail(email, { count: n }))
}
const expectError = (res: { error: unknown }, status: number, code: string, message: string) =>
  expect(res.error).toMatchObject({ status, code, message })

describe('with GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({
      env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION: 'true', GOTRUE_SMTP_MAX_FREQUENCY: '60' },
    })
  })
  afterAll(() => s.stop())
  beforeEach(() => s.clock.reset())

  test('an older session: no nonce → reauthentication_needed; reauthenticate() + updateUser({ password, nonce }) changes it once', async () => {
    const { auth, email } = await signedUp(s)
    await age(s, auth)
    expectError(await auth.updateUser({ password: 'new-password-1' }), 400, 'reauthentication_needed', 'Password update requires reauthentication')
    const nonce = await nonceFor(s, auth, email)
    const mail = await s.smtp.waitForMail(email)
    expect(mail.subject).toBe('Confirm Reauthentication')
    const changed = await auth.updateUser({ password: 'new-password-1', nonce })
    expect(changed.error).toBeNull()
    expect(changed.data.user?.email).toBe(email)
    expect((await login(s, email, 'new-password-1')).status).toBe(200)
    // used up: the same nonce does not change it again
    expectError(await auth.updateUser({ password: 'new-password-2', nonce }), 422, 'reauthentication_not_valid', 'Nonce has expired or is invalid')
    expect((await login(s, email, 'new-password-1')).status).toBe(200)
    // the nonce is stored as a hash bound to its user, never as the code
    const rows = await s.db.all<{ token_hash: string }>("SELECT token_hash FROM {one_time_tokens} WHERE token_type = 'reauthentication'")
    expect(rows.every((r) => !r.token_hash.includes(nonce))).toBe(true)
  })

  test('a refresh-token family from before sessions were recorded keeps its age: an old one still needs a nonce', async () => {
    const { auth } = await signedUp(s)
    const { data } = await auth.getSession()
    const familyId = JSON.parse(Buffer.from(data.session!.access_token.split('.')[1]!, 'base64url').toString()).session_id as string
    // the state a database upgraded from before the sessions table holds: the family, no session row
    await s.db.run('DELETE FROM {mfa_amr_claims} WHERE session_id = ?', [familyId])
    await s.db.run('DELETE FROM {sessions} WHERE id = ?', [familyId])
    await age(s, auth) // the refresh records the session: it must not count as a sign-in just now
    expectError(await auth.updateUser({ password: 'legacy-password-1' }), 400, 'reauthentication_needed', 'Password update requires reauthentication')
  })

  test('a session younger than 24 hours changes the password without a nonce (supabase\'s rule)', async () => {
    const { auth, email } = await signedUp(s)
    await age(s, auth, 23 * 3600)
    expect((await auth.updateUser({ password: 'fresh-password-1' })).error).toBeNull()
    expect((await login(s, email, 'fresh-password-1')).status).toBe(200)
    // other updates never needed one
    expect((await auth.updateUser({ data: { a: 1 } })).error).toBeNull()
  })

  test('a wrong nonce → reauthentication_not_valid (also in a young session); the right one still works', async () => {
    const { auth, email } = await signedUp(s)
    const nonce = await nonceFor(s, auth, email)
    const wrong = nonce === '000000' ? '000001' : '000000'
    expectError(await auth.updateUser({ password: 'new-password-1', nonce: wrong }), 422, 'reauthentication_not_valid', 'Nonce has expired or is invalid')
    expect((await login(s, email, 'new-password-1')).status).toBe(400)
    expect((await auth.updateUser({ password: 'new-password-1', nonce })).error).toBeNull()
  })

  test('after MAILER_OTP_MAX_ATTEMPTS tries the nonce is void, the right one included', async () => {
    const { auth, email } = await signedUp(s)
    const nonce = await nonceFor(s, auth, email)
    const wrong = nonce === '000000' ? '000001' : '000000'
    for (let i = 0; i < 5; i++) expect((await auth.updateUser({ password: 'new-password-1', nonce: wrong })).error?.code).toBe('reauthentication_not_valid')
    expectError(await auth.updateUser({ password: 'new-password-1', nonce }), 422, 'reauthentication_not_valid', 'Nonce has expired or is invalid')
    expect((await login(s, email, PASSWORD)).status).toBe(200)
  })

  test('an expired nonce (older than MAILER_OTP_EXP) → reauthentication_not_valid', async () => {
    const { auth, email } = await signedUp(s)
    await age(s, auth)
    const nonce = await nonceFor(s, auth, email)
    await age(s, auth, 3601)
    expectError(await auth.updateUser({ password: 'new-password-1', nonce }), 422, 'reauthentication_not_valid', 'Nonce has expired or is invalid')
    expect((await login(s, email, PASSWORD)).status).toBe(200)
  })

  test('one nonce mail per SMTP_MAX_FREQUENCY (429 that says when); a new nonce replaces the old', async () => {
    const { auth, email } = await signedUp(s)
    const first = await nonceFor(s, auth, email)
    expectError(await auth.reauthenticate(), 429, 'over_email_send_rate_limit', 'For security purposes, you can only request this after 60 seconds.')
    s.clock.advance(61)
    const second = await nonceFor(s, auth, email, 2)
    if (first !== second) {
      expectError(await auth.updateUser({ password: 'new-password-1', nonce: first }), 422, 'reauthentication_not_valid', 'Nonce has expired or is invalid')
    }
    expect((await auth.updateUser({ password: 'new-password-1', nonce: second })).error).toBeNull()
  })

  test('a failed nonce mail → 500, and the nonce mailed before still works', async () => {
    const { auth, email } = await signedUp(s)
    const nonce = await nonceFor(s, auth, email)
    s.clock.advance(61)
    s.smtp.failNext()
    const failed = await auth.reauthenticate()
    expect(failed.error).toMatchObject({ status: 500, message: 'Error sending reauthentication email' })
    expect((await auth.updateUser({ password: 'new-password-1', nonce })).error).toBeNull()
  })

  test('GoTrue\'s clients get GoTrue\'s error shape: 400 {code, msg}, no error_code', async () => {
    const { auth } = await signedUp(s)
    await age(s, auth)
    const token = (await auth.getSession()).data.session?.access_token
    const res = await s.req('/user', { method: 'PUT', json: { password: 'new-password-1' }, headers: { authorization: `Bearer ${token}` } })
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: 'Password update requires reauthentication' })
  })

  test('GET /reauthenticate needs a signed-in user', async () => {
    const res = await s.req('/reauthenticate')
    expect(res.status).toBe(401)
  })
})

describe('with the setting off (the default)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true' } }) })
  afterAll(() => s.stop())

  test('an older session changes the password without a nonce; a nonce sent anyway is not looked at', async () => {
    const { auth, email } = await signedUp(s)
    await age(s, auth)
    expect((await auth.updateUser({ password: 'new-password-1' })).error).toBeNull()
    expect((await auth.updateUser({ password: 'new-password-2', nonce: '123456' })).error).toBeNull()
    expect((await login(s, email, 'new-password-2')).status).toBe(200)
  })

  test('reauthenticate() still mails a nonce (the call works for any supabase client)', async () => {
    const { auth, email } = await signedUp(s)
    expect(await nonceFor(s, auth, email)).toMatch(/^\d{6}$/)
  })
})
