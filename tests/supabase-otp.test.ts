// Passwordless sign-in with @supabase/auth-js, unmodified, against the real server: signInWithOtp mails a link and
// a 6-digit code, verifyOtp takes either (token + email, or token_hash), shouldCreateUser, the attempt cap on a
// code, resend, and verifyOtp of the other mailed tokens.
import { AuthClient } from '@supabase/auth-js'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { type CapturedMail } from './fakes/smtp.ts'
import { DIALECT, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { freshEmail, PASSWORD } from './helpers.ts'

function client(s: TestServer) {
  const store = new Map<string, string>()
  return new AuthClient({
    url: s.url, autoRefreshToken: false, persistSession: true, detectSessionInUrl: false,
    storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v), removeItem: (k) => void store.delete(k) },
  })
}
const codeOf = (mail: CapturedMail) => /<strong>(\d+)<\/strong>/.exec(mail.html)?.[1] ?? ''
const hashOf = (mail: CapturedMail) => /[?&]token_hash=([A-Za-z0-9_-]+)/.exec(mail.html.replace(/&amp;/g, '&'))?.[1] ?? ''
const ALLOWED = 'https://app.example.org/auth/confirm'

describe('signInWithOtp and verifyOtp', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_URI_ALLOW_LIST: 'https://app.example.org/**', GOTRUE_MAILER_OTP_MAX_ATTEMPTS: '3' } })
  })
  afterAll(() => s.stop())

  test('a new address: the account is created, the 6-digit code signs in once and spends the link too', async () => {
    const email = freshEmail('otp')
    const sent = await client(s).signInWithOtp({ email, options: { data: { plan: 'free' }, emailRedirectTo: ALLOWED } })
    expect(sent.error).toBeNull()
    expect(sent.data).toEqual({ user: null, session: null })
    const mail = await s.smtp.waitForMail(email)
    expect(mail.subject).toBe('Your Magic Link')
    const code = codeOf(mail)
    expect(code).toMatch(/^\d{6}$/)
    expect(mail.html).toContain(`${ALLOWED}?token_hash=`)
    const auth = client(s)
    const { data, error } = await auth.verifyOtp({ email, token: code, type: 'email' })
    expect(error).toBeNull()
    expect(data.session?.access_token).toBeString()
    expect(data.user?.email).toBe(email)
    expect(data.user?.email_confirmed_at).toBeString()
    expect(data.user?.user_metadata).toEqual({ plan: 'free' })
    expect((await auth.getUser()).data.user?.id).toBe(data.user!.id)
    // used once: neither the code nor the link of that mail works again
    const again = await client(s).verifyOtp({ email, token: code, type: 'email' })
    expect(again.error?.code).toBe('otp_expired')
    expect(again.error?.status).toBe(403)
    expect((await client(s).verifyOtp({ token_hash: hashOf(mail), type: 'magiclink' })).error?.status).toBe(404)
  })

  test('the link\'s token_hash signs in an existing user; a redirect off the allow-list falls back to the site', async () => {
    const email = freshEmail('otp')
    await client(s).signInWithOtp({ email })
    const first = await s.smtp.waitForMail(email)
    expect((await client(s).verifyOtp({ email, token: codeOf(first), type: 'magiclink' })).error).toBeNull()
    await client(s).signInWithOtp({ email, options: { emailRedirectTo: 'https://evil.example.net/x' } })
    const mail = await s.smtp.waitForMail(email, { count: 2 })
    expect(mail.html).not.toContain('evil.example.net')
    expect(mail.html).toContain('https://example.netlify.com/?token_hash=')
    const { data, error } = await client(s).verifyOtp({ token_hash: hashOf(mail), type: 'magiclink' })
    expect(error).toBeNull()
    expect(data.user?.email).toBe(email)
  })

  test('shouldCreateUser: false sends nothing and creates nothing, and answers as for an account', async () => {
    const email = freshEmail('otp-none')
    const sent = await client(s).signInWithOtp({ email, options: { shouldCreateUser: false } })
    expect(sent.error).toBeNull()
    await Bun.sleep(200)
    expect(s.smtp.mailsTo(email)).toHaveLength(0)
    const admin = await s.req(`/admin/users?email=${encodeURIComponent(email)}`, { headers: { authorization: 'Bearer operator-token-for-tests' } })
    expect((await admin.json() as { users: unknown[] }).users).toHaveLength(0)
  })

  test('wrong codes: each one is refused alike, and after the cap even the right code is void', async () => {
    const email = freshEmail('otp')
    await client(s).signInWithOtp({ email })
    const code = codeOf(await s.smtp.waitForMail(email))
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0')
    for (let i = 0; i < 3; i++) expect((await client(s).verifyOtp({ email, token: wrong, type: 'email' })).error?.code).toBe('otp_expired')
    expect((await client(s).verifyOtp({ email, token: code, type: 'email' })).error?.code).toBe('otp_expired')
    // an unknown address answers the same
    expect((await client(s).verifyOtp({ email: freshEmail('nobody'), token: code, type: 'email' })).error?.code).toBe('otp_expired')
  })

  test('within the cap the right code still works after a wrong one', async () => {
    const email = freshEmail('otp')
    await client(s).signInWithOtp({ email })
    const code = codeOf(await s.smtp.waitForMail(email))
    const wrong = String((Number(code) + 7) % 1_000_000).padStart(6, '0')
    expect((await client(s).verifyOtp({ email, token: wrong, type: 'email' })).error?.code).toBe('otp_expired')
    expect((await client(s).verifyOtp({ email, token: code, type: 'email' })).error).toBeNull()
  })

  test('verifyOtp of a signup confirmation (token + email, and token_hash), and resend of a pending signup', async () => {
    const email = freshEmail('otp-signup')
    await client(s).signUp({ email, password: PASSWORD })
    const first = tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')
    // SMTP_MAX_FREQUENCY (60 s by default): a resend inside it sends nothing and says nothing
    expect((await client(s).resend({ email, type: 'signup' })).error).toBeNull()
    await Bun.sleep(200)
    expect(s.smtp.mailsTo(email)).toHaveLength(1)
    const { data, error } = await client(s).verifyOtp({ token_hash: first, type: 'signup' })
    expect(error).toBeNull()
    expect(data.user?.email_confirmed_at).toBeString()
    expect((await client(s).resend({ email: freshEmail('nobody'), type: 'signup' })).error).toBeNull()
    expect((await client(s).resend({ email, type: 'phone_change' as 'signup' })).error?.code).toBe('validation_failed')
  })

  test('verifyOtp of a recovery with token + email', async () => {
    const email = freshEmail('otp-rec')
    await client(s).signUp({ email, password: PASSWORD })
    await s.smtp.waitForMail(email)
    await client(s).resetPasswordForEmail(email)
    const token = tokenFromMail(await s.smtp.waitForMail(email, { count: 2 }), 'recovery_token')
    const { data, error } = await client(s).verifyOtp({ email, token, type: 'recovery' })
    expect(error).toBeNull()
    expect(data.session?.access_token).toBeString()
  })
})

describe('resend with a short SMTP_MAX_FREQUENCY', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_SMTP_MAX_FREQUENCY: '0' } }) })
  afterAll(() => s.stop())

  test('resend mails the confirmation again; the new link works', async () => {
    const email = freshEmail('otp-resend')
    await client(s).signUp({ email, password: PASSWORD })
    await s.smtp.waitForMail(email)
    expect((await client(s).resend({ email, type: 'signup' })).error).toBeNull()
    const token = tokenFromMail(await s.smtp.waitForMail(email, { count: 2 }), 'confirmation_token')
    expect((await client(s).verifyOtp({ email, token, type: 'signup' })).error).toBeNull()
  })

  test('an address someone else sent to /otp with their data: its owner can still /signup and /resend, confirm and set a password', async () => {
    const email = freshEmail('otp-squat')
    expect((await client(s).signInWithOtp({ email, options: { data: { full_name: 'attacker-chosen' } } })).error).toBeNull()
    await s.smtp.waitForMail(email)
    const owner = client(s)
    const signed = await owner.signUp({ email, password: PASSWORD, options: { data: { full_name: 'Owner' } } })
    expect(signed.error).toBeNull()
    // the caller is shown only what it sent; nothing it chose is installed on a row it has not proved to own
    expect(signed.data.user?.user_metadata).toEqual({ full_name: 'Owner' })
    expect(signed.data.session).toBeNull()
    const mailed = tokenFromMail(await s.smtp.waitForMail(email, { count: 2 }), 'confirmation_token')
    expect((await owner.resend({ email, type: 'signup' })).error).toBeNull()
    const resent = tokenFromMail(await s.smtp.waitForMail(email, { count: 3 }), 'confirmation_token')
    expect(resent).not.toBe(mailed)
    // no password was installed: neither the owner's (until confirmed) nor anybody's works
    expect((await client(s).signInWithPassword({ email, password: PASSWORD })).error?.status).toBe(400)
    const { data, error } = await owner.verifyOtp({ token_hash: resent, type: 'signup' })
    expect(error).toBeNull()
    expect(data.user?.email_confirmed_at).toBeString()
    expect((await owner.updateUser({ password: `${PASSWORD}-2` })).error).toBeNull()
    expect((await client(s).signInWithPassword({ email, password: `${PASSWORD}-2` })).error).toBeNull()
  })

  test('resend of an email change mails the new address again', async () => {
    const email = freshEmail('otp-ec')
    const auth = client(s)
    await auth.signUp({ email, password: PASSWORD })
    const confirm = tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')
    await auth.verifyOtp({ token_hash: confirm, type: 'signup' })
    const to = freshEmail('otp-ec-new')
    expect((await auth.updateUser({ email: to })).error).toBeNull()
    await s.smtp.waitForMail(to)
    expect((await client(s).resend({ email, type: 'email_change' })).error).toBeNull()
    const token = tokenFromMail(await s.smtp.waitForMail(to, { count: 2 }), 'email_change_token')
    const { data, error } = await client(s).verifyOtp({ token_hash: token, type: 'email_change' })
    expect(error).toBeNull()
    expect(data.user?.email).toBe(to)
  })
})

describe('shouldCreateUser: false answers alike for known and unknown addresses', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer() })
  afterAll(() => s.stop())

  const ask = (email: string) => s.req('/otp', { method: 'POST', json: { email, create_user: false } })
  const known = async () => {
    const email = freshEmail('otp-known')
    await client(s).signInWithOtp({ email })
    expect((await client(s).verifyOtp({ email, token: codeOf(await s.smtp.waitForMail(email)), type: 'email' })).error).toBeNull()
    return email
  }

  test('the same status, headers and body; the known address is mailed', async () => {
    const email = await known()
    const [a, b] = [await ask(email), await ask(freshEmail('otp-unknown'))]
    expect([a.status, b.status]).toEqual([200, 200])
    expect(a.headers.get('content-type')).toBe(b.headers.get('content-type'))
    expect(a.headers.get('content-length')).toBe(b.headers.get('content-length'))
    expect(await a.text()).toBe(await b.text())
    expect(await s.smtp.waitForMail(email, { count: 2 })).toBeDefined()
  })

  // The answer must not wait for the sign-in's write transaction (a timing signal of known addresses): with the
  // user's row locked by another transaction, the token insert (a foreign key to that row) waits, the answer not.
  // SQLite has one writer lock that reads wait for too, so only MySQL can hold the write alone.
  test.skipIf(DIALECT !== 'mysql')('the answer for a known address comes while its token write is still blocked', async () => {
    const email = await known()
    const id = (await s.db.all<{ id: string }>('SELECT id FROM {users} WHERE email = ?', [email]))[0]?.id ?? ''
    expect(id).not.toBe('')
    const res = await s.db.tx(async (tx) => {
      await tx.all('SELECT id FROM {users} WHERE id = ? FOR UPDATE', [id])
      const r = await ask(email)
      const tokens = await tx.all('SELECT id FROM {one_time_tokens} WHERE user_id = ? AND token_type = ?', [id, 'magiclink_code'])
      expect(tokens).toHaveLength(0) // the one just used is gone; the new one is not written yet
      return r
    })
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('{}')
    expect(await s.smtp.waitForMail(email, { count: 2 })).toBeDefined()
  })
})
