// MFA with @supabase/auth-js, unmodified: TOTP factors (enroll, challenge, verify, listFactors, the assurance
// level, unenroll) and recovery codes (`mfa.recoveryCodes`, experimental in the client), against the real server.
// Codes are computed here with our own RFC 6238 (node:crypto), not the server's.
import { AuthClient } from '@supabase/auth-js'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHmac } from 'node:crypto'
import { body, DIALECT, startServer, type TestServer } from './harness.ts'
import { bearer, confirmedUser, login, OPERATOR, PASSWORD, type Tokens } from './helpers.ts'

function totp(secret: string, atMs: number, offsetSteps = 0): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0')
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)))
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 30000) + offsetSteps))
  const mac = createHmac('sha1', key).update(counter).digest()
  const o = mac[19]! & 15
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

// SQLite generates the sealing key on first start (beside the database); MySQL nodes must be given one.
const KEY = DIALECT === 'mysql' ? { GOTRUE_DB_ENCRYPTION_KEY: 'mfa-test-sealing-key-long-enough' } : {}

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>

function client(s: TestServer) {
  const store = new Map<string, string>()
  return new AuthClient({
    url: s.url, autoRefreshToken: false, persistSession: true, detectSessionInUrl: false,
    experimental: { recoveryCodes: true },
    storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v), removeItem: (k) => void store.delete(k) },
  } as ConstructorParameters<typeof AuthClient>[0])
}

async function signedIn(s: TestServer, email: string) {
  const auth = client(s)
  const { error } = await auth.signInWithPassword({ email, password: PASSWORD })
  expect(error).toBeNull()
  return auth
}

/** A user with a verified TOTP factor, signed in at aal2 on `auth`. */
async function enrolled(s: TestServer) {
  const user = await confirmedUser(s)
  const auth = await signedIn(s, user.email)
  const { data, error } = await auth.mfa.enroll({ factorType: 'totp', friendlyName: 'phone', issuer: 'Example' })
  expect(error).toBeNull()
  const secret = data!.totp.secret
  const verified = await auth.mfa.challengeAndVerify({ factorId: data!.id, code: totp(secret, s.clock.now().getTime()) })
  expect(verified.error).toBeNull()
  return { user, auth, factorId: data!.id, secret }
}

describe('MFA', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { ...KEY, GOTRUE_MFA_RATE_LIMIT_CHALLENGE_AND_VERIFY: '0' } })
  })
  afterAll(() => s.stop())

  test('auth-js: enroll, challenge, verify (aal2, amr), listFactors, assurance level, aal1 cannot unenroll, unenroll', async () => {
    const user = await confirmedUser(s)
    const auth = await signedIn(s, user.email)
    const first = claimsOf((await auth.getSession()).data.session!.access_token)
    expect(first.aal).toBe('aal1')
    expect((first.amr as { method: string }[]).map((e) => e.method)).toEqual(['password'])

    const { data: factor, error } = await auth.mfa.enroll({ factorType: 'totp', friendlyName: 'phone', issuer: 'Example' })
    expect(error).toBeNull()
    expect(factor!.type).toBe('totp')
    expect(factor!.totp.uri).toStartWith(`otpauth://totp/Example:${encodeURIComponent(user.email)}?secret=${factor!.totp.secret}`)
    expect(factor!.totp.qr_code).toStartWith('data:image/svg+xml;utf-8,<svg')
    expect(factor!.totp.secret).toMatch(/^[A-Z2-7]{32}$/)
    let listed = await auth.mfa.listFactors()
    expect(listed.data!.all.map((f) => [f.id, f.status])).toEqual([[factor!.id, 'unverified']])
    expect(listed.data!.totp).toEqual([])

    const challenge = await auth.mfa.challenge({ factorId: factor!.id })
    expect(challenge.error).toBeNull()
    expect(challenge.data!.expires_at).toBeGreaterThan(Date.now() / 1000)
    const wrong = await auth.mfa.verify({ factorId: factor!.id, challengeId: challenge.data!.id, code: '000000' === totp(factor!.totp.secret, s.clock.now().getTime()) ? '111111' : '000000' })
    expect(wrong.error?.code).toBe('mfa_verification_failed')
    const code = totp(factor!.totp.secret, s.clock.now().getTime())
    const verified = await auth.mfa.verify({ factorId: factor!.id, challengeId: challenge.data!.id, code })
    expect(verified.error).toBeNull()
    const claims = claimsOf(verified.data!.access_token)
    expect(claims.aal).toBe('aal2')
    expect((claims.amr as { method: string; timestamp: number }[]).map((e) => e.method)).toEqual(['password', 'totp'])
    expect(Object.keys(claims).slice(-2)).toEqual(['aal', 'amr'])
    expect(claims.session_id).toBe(first.session_id)

    listed = await auth.mfa.listFactors()
    expect(listed.data!.totp.map((f) => f.id)).toEqual([factor!.id])
    const level = await auth.mfa.getAuthenticatorAssuranceLevel()
    expect(level.data).toMatchObject({ currentLevel: 'aal2', nextLevel: 'aal2' })
    const sessions = await body<{ sessions: { id: string; aal: string }[] }>(await s.req('/user/sessions', { headers: bearer(verified.data!.access_token) }))
    expect(sessions.sessions.find((x) => x.id === first.session_id)?.aal).toBe('aal2')

    // The refresh of an aal2 session stays aal2; a new password sign-in is aal1, with aal2 to reach.
    const refreshed = await auth.refreshSession()
    expect(claimsOf(refreshed.data.session!.access_token).aal).toBe('aal2')
    const other = await signedIn(s, user.email)
    expect((await other.mfa.getAuthenticatorAssuranceLevel()).data).toMatchObject({ currentLevel: 'aal1', nextLevel: 'aal2' })
    const refused = await other.mfa.unenroll({ factorId: factor!.id })
    expect(refused.error?.code).toBe('insufficient_aal')
    expect(refused.error?.status).toBe(403)
    // The password cannot be changed from aal1 either.
    expect((await other.updateUser({ password: 'another-long-password' })).error?.code).toBe('insufficient_aal')

    expect((await auth.mfa.unenroll({ factorId: factor!.id })).error).toBeNull()
    expect((await auth.mfa.listFactors()).data!.all).toEqual([])
    const again = await auth.mfa.challenge({ factorId: factor!.id })
    expect(again.error?.code).toBe('mfa_factor_not_found')
  })

  test('a code is taken once; wrong codes, expired and unknown challenges are refused', async () => {
    const { auth, factorId, secret } = await enrolled(s)
    const now = s.clock.now().getTime()
    // The code that verified the factor, again within its step: a replay.
    const replay = await auth.mfa.challengeAndVerify({ factorId, code: totp(secret, now) })
    expect(replay.error?.code).toBe('mfa_verification_failed')
    // The previous step's code is older than the one taken: refused too.
    expect((await auth.mfa.challengeAndVerify({ factorId, code: totp(secret, now, -1) })).error?.code).toBe('mfa_verification_failed')
    s.clock.advance(30)
    const c = await auth.mfa.challenge({ factorId })
    s.clock.advance(301)
    const late = await auth.mfa.verify({ factorId, challengeId: c.data!.id, code: totp(secret, s.clock.now().getTime()) })
    expect(late.error?.code).toBe('mfa_challenge_expired')
    const unknown = await auth.mfa.verify({ factorId, challengeId: crypto.randomUUID(), code: totp(secret, s.clock.now().getTime()) })
    expect(unknown.error?.code).toBe('mfa_challenge_not_found')
    // The next step's code works once.
    expect((await auth.mfa.challengeAndVerify({ factorId, code: totp(secret, s.clock.now().getTime()) })).error).toBeNull()
  })

  test('recovery codes: generate at aal2, verify once (aal2, mfa/recovery_code), regenerate, lockout, unenroll', async () => {
    const { user, auth } = await enrolled(s)
    const rc = auth.mfa.recoveryCodes
    expect((await rc.getStatus()).error?.code).toBe('mfa_factor_not_found')
    const gen = await rc.generate({ friendlyName: 'Backup codes' })
    expect(gen.error).toBeNull()
    expect(gen.data!.codes).toHaveLength(10)
    expect(new Set(gen.data!.codes).size).toBe(10)
    for (const c of gen.data!.codes) expect(c).toMatch(/^[0-9a-hjkmnp-tv-z]{24}$/)
    expect((await rc.generate()).error?.code).toBe('mfa_verified_factor_exists')
    expect((await rc.getStatus()).data).toEqual({ id: gen.data!.id, type: 'recovery_code', total: 10, remaining: 10 })
    expect((await auth.mfa.listFactors()).data!.recovery_code.map((f) => f.id)).toEqual([gen.data!.id])

    const aal1 = await signedIn(s, user.email)
    expect((await aal1.mfa.recoveryCodes.regenerate()).error?.code).toBe('insufficient_aal')
    const [one, two] = gen.data!.codes as [string, string]
    const typed = one.toUpperCase().match(/.{4}/g)!.join('-')
    const used = await aal1.mfa.recoveryCodes.verify({ code: typed })
    expect(used.error).toBeNull()
    const claims = claimsOf(used.data!.access_token)
    expect(claims.aal).toBe('aal2')
    expect((claims.amr as { method: string }[]).map((e) => e.method)).toEqual(['password', 'mfa/recovery_code'])
    expect((await (await signedIn(s, user.email)).mfa.recoveryCodes.verify({ code: one })).error?.code).toBe('mfa_verification_failed')
    expect((await rc.getStatus()).data).toMatchObject({ total: 10, remaining: 9 })

    const regen = await rc.regenerate()
    expect(regen.data!.id).toBe(gen.data!.id)
    expect((await (await signedIn(s, user.email)).mfa.recoveryCodes.verify({ code: two })).error?.code).toBe('mfa_verification_failed')

    // Five wrong codes lock verification (the old code above was the first since regenerate cleared the count):
    // then even a right code is refused until the lock lifts.
    const guesser = await signedIn(s, user.email)
    for (let i = 0; i < 4; i++) expect((await guesser.mfa.recoveryCodes.verify({ code: `wrong${i}` })).error?.code).toBe('mfa_verification_failed')
    const right = await guesser.mfa.recoveryCodes.verify({ code: regen.data!.codes[1]! })
    expect(right.error?.code).toBe('mfa_recovery_codes_locked')
    expect(right.error?.status).toBe(429)
    s.clock.advance(15 * 60 + 1)
    expect((await guesser.mfa.recoveryCodes.verify({ code: regen.data!.codes[1]! })).error).toBeNull()

    expect((await rc.unenroll()).error).toBeNull()
    expect((await rc.getStatus()).error?.code).toBe('mfa_factor_not_found')
  })

  test('over HTTP: GoTrue clients keep their claims order; admin lists and deletes factors; audit; per-factor limit', async () => {
    const { user, auth, factorId } = await enrolled(s)
    const tokens = await body<Tokens>(await login(s, user.email))
    expect(Object.keys(claimsOf(tokens.access_token))).toEqual(['aud', 'exp', 'sub', 'email', 'app_metadata', 'user_metadata', 'session_id', 'iat', 'aal', 'amr'])
    const me = await body<{ factors: { id: string; status: string }[] }>(await s.req('/user', { headers: bearer(tokens.access_token) }))
    expect(me.factors.map((f) => [f.id, f.status])).toEqual([[factorId, 'verified']])
    // Five attempts per factor per five minutes (one verified it), wherever they come from.
    for (let i = 0; i < 4; i++) {
      const ch = await body<{ id: string }>(await s.req(`/factors/${factorId}/challenge`, { method: 'POST', headers: bearer(tokens.access_token) }))
      expect((await s.req(`/factors/${factorId}/verify`, { method: 'POST', headers: bearer(tokens.access_token), json: { challenge_id: ch.id, code: 'abc' } })).status).toBe(422)
    }
    expect((await s.req(`/factors/${factorId}/verify`, { method: 'POST', headers: bearer(tokens.access_token), json: { challenge_id: crypto.randomUUID(), code: '123456' } })).status).toBe(429)

    const listed = await s.req(`/admin/users/${user.id}/factors`, { headers: OPERATOR })
    expect((await body<{ id: string }[]>(listed)).map((f) => f.id)).toEqual([factorId])
    expect((await s.req(`/admin/users/${user.id}/factors/${factorId}`, { method: 'DELETE', headers: OPERATOR })).status).toBe(200)
    expect((await s.req(`/admin/users/${user.id}/factors/${factorId}`, { method: 'DELETE', headers: OPERATOR })).status).toBe(404)
    expect((await auth.mfa.listFactors()).data!.all).toEqual([])
    const audit = await body<{ payload: { action: string } }[]>(await s.req('/admin/audit?per_page=100', { headers: OPERATOR }))
    const actions = new Set(audit.map((e) => e.payload.action))
    for (const a of ['factor_enrolled', 'factor_verified', 'factor_deleted', 'challenge_failed']) expect(actions).toContain(a)
  })

  test('the TOTP secret is sealed at rest; bad input is a clear error', async () => {
    const { factorId, secret, auth } = await enrolled(s)
    const row = await s.db.get<{ secret: string }>('SELECT secret FROM {mfa_factors} WHERE id = ?', [factorId])
    expect(row!.secret).toStartWith('enc:v2:')
    expect(row!.secret).not.toContain(secret)
    const token = (await auth.getSession()).data.session!.access_token
    const phone = await s.req('/factors', { method: 'POST', headers: bearer(token), json: { factor_type: 'phone', phone: '+15550100' } })
    expect(phone.status).toBe(422)
    expect((await s.req('/factors', { method: 'POST', headers: bearer(token), body: '{', })).status).toBeLessThan(500)
    expect((await s.req('/factors/not-a-uuid/challenge', { method: 'POST', headers: bearer(token) })).status).toBe(404)
  })
})

describe('MFA policy', () => {
  test('GOTRUE_MFA_ENABLED=false: the routes answer 422', async () => {
    const s = await startServer({ env: { ...KEY, GOTRUE_MFA_ENABLED: 'false' } })
    try {
      const user = await confirmedUser(s)
      const auth = await signedIn(s, user.email)
      expect((await auth.mfa.enroll({ factorType: 'totp' })).error?.status).toBe(422)
    } finally { await s.stop() }
  })

  test('unverified factors count against GOTRUE_MFA_MAX_ENROLLED_FACTORS until they expire after a day', async () => {
    const s = await startServer({ env: { ...KEY, GOTRUE_MFA_MAX_ENROLLED_FACTORS: '2' } })
    try {
      const user = await confirmedUser(s)
      const auth = await signedIn(s, user.email)
      expect((await auth.mfa.enroll({ factorType: 'totp', friendlyName: 'a' })).error).toBeNull()
      expect((await auth.mfa.enroll({ factorType: 'totp', friendlyName: 'a' })).error?.code).toBe('mfa_factor_name_conflict')
      expect((await auth.mfa.enroll({ factorType: 'totp', friendlyName: 'b' })).error).toBeNull()
      expect((await auth.mfa.enroll({ factorType: 'totp', friendlyName: 'c' })).error?.code).toBe('too_many_enrolled_mfa_factors')
      s.clock.advance(24 * 3600 + 1)
      const fresh = await signedIn(s, user.email)
      expect((await fresh.mfa.listFactors()).data!.all).toEqual([])
      expect((await fresh.mfa.enroll({ factorType: 'totp', friendlyName: 'c' })).error).toBeNull()
    } finally { await s.stop() }
  })
})
