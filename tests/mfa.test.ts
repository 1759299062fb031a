// MFA with @supabase/auth-js, unmodified: TOTP factors (enroll, challenge, verify, listFactors, the assurance
// level, unenroll) and recovery codes (`mfa.recoveryCodes`, experimental in the client), against the real server.
// Codes are computed here with our own RFC 6238 (node:crypto), not the server's.
import { AuthClient } from '@supabase/auth-js'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { body, startServer, type TestServer } from './harness.ts'
import { bearer, confirmedUser, login, MFA_KEY as KEY, OPERATOR, PASSWORD, refresh, type Tokens, totp } from './helpers.ts'

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

  test('another account verifying against someone\'s factor id spends its own budget, not the owner\'s', async () => {
    const { user, factorId } = await enrolled(s)
    const owner = await body<Tokens>(await login(s, user.email))
    const stranger = await body<Tokens>(await login(s, (await confirmedUser(s)).email))
    const tries = []
    for (let i = 0; i < 6; i++) {
      tries.push((await s.req(`/factors/${factorId}/verify`, { method: 'POST', headers: bearer(stranger.access_token), json: { challenge_id: crypto.randomUUID(), code: '123456' } })).status)
    }
    expect(tries).toEqual([404, 404, 404, 404, 404, 429])
    const ch = await body<{ id: string }>(await s.req(`/factors/${factorId}/challenge`, { method: 'POST', headers: bearer(owner.access_token) }))
    expect((await s.req(`/factors/${factorId}/verify`, { method: 'POST', headers: bearer(owner.access_token), json: { challenge_id: ch.id, code: 'abc' } })).status).toBe(422)
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

  test('an admin with a verified factor uses the admin API at aal2 only; the operator and admins without MFA are unaffected', async () => {
    const email = `boss-${crypto.randomUUID().slice(0, 8)}@example.com`
    const made = await s.req('/admin/users', { method: 'POST', headers: OPERATOR, json: { email, password: PASSWORD, confirm: true, role: 'admin' } })
    expect(made.status).toBe(200)
    const adminId = (await body<{ id: string }>(made)).id
    const victim = await confirmedUser(s)
    const plain = await body<Tokens>(await login(s, email))
    // No factor yet: an aal1 admin token works.
    expect((await s.req(`/admin/users/${victim.id}`, { headers: bearer(plain.access_token) })).status).toBe(200)

    const auth = await signedIn(s, email)
    const { data } = await auth.mfa.enroll({ factorType: 'totp', friendlyName: 'phone' })
    expect((await auth.mfa.challengeAndVerify({ factorId: data!.id, code: totp(data!.totp.secret, s.clock.now().getTime()) })).error).toBeNull()
    const aal2 = (await auth.getSession()).data.session!.access_token
    expect(claimsOf(aal2).aal).toBe('aal2')

    // The password alone: aal1. The user routes refuse it, and so does every admin route.
    const stolen = await body<Tokens>(await login(s, email))
    const h = bearer(stolen.access_token)
    expect((await s.req(`/factors/${data!.id}`, { method: 'DELETE', headers: h })).status).toBe(403)
    const refusals = [
      await s.req(`/admin/users/${adminId}/factors/${data!.id}`, { method: 'DELETE', headers: h }),
      await s.req(`/admin/users/${adminId}`, { method: 'PUT', headers: h, json: { password: 'attacker-password-1' } }),
      await s.req(`/admin/users/${adminId}`, { method: 'PUT', headers: h, json: { email: 'attacker@example.com' } }),
      await s.req(`/admin/users/${victim.id}`, { method: 'PUT', headers: h, json: { password: 'attacker-password-1' } }),
      await s.req(`/admin/users/${victim.id}/factors`, { headers: h }),
      await s.req('/admin/users', { headers: h }),
    ]
    for (const res of refusals) {
      expect(res.status).toBe(403)
      expect(await body<{ code: number; msg: string }>(res)).toEqual({ code: 403, msg: 'AAL2 required' })
    }
    const supa = await s.req('/admin/users', { headers: { ...h, 'x-supabase-api-version': '2024-01-01' } })
    expect((await body<{ error_code: string }>(supa)).error_code).toBe('insufficient_aal')
    // Nothing changed: the factor is there, both passwords still work.
    expect((await body<{ id: string }[]>(await s.req(`/admin/users/${adminId}/factors`, { headers: OPERATOR }))).map((f) => f.id)).toEqual([data!.id])
    expect((await login(s, email)).status).toBe(200)
    expect((await login(s, victim.email)).status).toBe(200)

    // At aal2 the admin API answers; the operator token is unaffected.
    expect((await s.req(`/admin/users/${victim.id}`, { headers: bearer(aal2) })).status).toBe(200)
    expect((await s.req(`/admin/users/${adminId}`, { headers: OPERATOR })).status).toBe(200)
  })

  test('sessions list aal and next_level: aal1/aal1 without a factor; aal2 reached, and aal2 next for aal1 sessions, once one is verified', async () => {
    const user = await confirmedUser(s)
    const levels = async (token: string) => (await body<{ sessions: { id: string; aal: string; next_level: string }[] }>(await s.req('/user/sessions', { headers: bearer(token) })))
      .sessions.map((x) => [x.id, x.aal, x.next_level])
    const first = await body<Tokens>(await login(s, user.email))
    const firstId = claimsOf(first.access_token).session_id as string
    expect(await levels(first.access_token)).toEqual([[firstId, 'aal1', 'aal1']])

    const { data } = await (await signedIn(s, user.email)).mfa.enroll({ factorType: 'totp', friendlyName: 'phone' })
    // Enrolled, not verified: nothing to reach yet.
    expect((await levels(first.access_token)).map(([, aal, next]) => [aal, next])).toEqual([['aal1', 'aal1'], ['aal1', 'aal1']])
    const owner = await signedIn(s, user.email)
    expect((await owner.mfa.challengeAndVerify({ factorId: data!.id, code: totp(data!.totp.secret, s.clock.now().getTime()) })).error).toBeNull()
    const ownerToken = (await owner.getSession()).data.session!.access_token
    const later = await body<Tokens>(await login(s, user.email))
    const expected = [[claimsOf(later.access_token).session_id as string, 'aal1', 'aal2'], [claimsOf(ownerToken).session_id as string, 'aal2', 'aal2']]
    expect(await levels(later.access_token)).toEqual(expected)
    // auth-js reads the same from the token and the user's factors.
    expect((await owner.mfa.getAuthenticatorAssuranceLevel()).data).toMatchObject({ currentLevel: 'aal2', nextLevel: 'aal2' })
    const admin = await body<{ sessions: { id: string; aal: string; next_level: string }[] }>(await s.req(`/admin/users/${user.id}/sessions`, { headers: OPERATOR }))
    expect(admin.sessions.map((x) => [x.id, x.aal, x.next_level])).toEqual(expected)
  })

  test('verifying a factor ends the user\'s other aal1 sessions (as supabase/auth does); aal2 sessions stay', async () => {
    const user = await confirmedUser(s)
    const before = await body<Tokens>(await login(s, user.email))
    expect((await s.req('/user', { headers: bearer(before.access_token) })).status).toBe(200)
    const owner = await signedIn(s, user.email)
    const { data } = await owner.mfa.enroll({ factorType: 'totp', friendlyName: 'phone' })
    expect((await owner.mfa.challengeAndVerify({ factorId: data!.id, code: totp(data!.totp.secret, s.clock.now().getTime()) })).error).toBeNull()
    const refused = await s.req('/user', { headers: bearer(before.access_token) })
    expect(refused.status).toBe(401)
    expect(await body(refused)).toEqual({ code: 401, msg: 'Invalid token: session has ended' })
    expect((await refresh(s, before.refresh_token)).status).toBe(400)
    expect((await owner.getUser()).error).toBeNull()
  })

  test('a recovery code ends the user\'s other aal1 sessions: their access tokens are refused within a second, their refresh tokens fail; aal2 sessions stay', async () => {
    const { user, auth: owner } = await enrolled(s)
    const codes = (await owner.mfa.recoveryCodes.generate()).data!.codes
    // Someone holding only the password, and the same before the user lost the phone: two aal1 sessions.
    const stolen = await body<Tokens>(await login(s, user.email))
    const idle = await body<Tokens>(await login(s, user.email))
    for (const t of [stolen, idle]) expect((await s.req('/user', { headers: bearer(t.access_token) })).status).toBe(200) // cached as verified
    // The user signs in again and uses a recovery code.
    const recovering = await body<Tokens>(await login(s, user.email))
    const used = await s.req('/factors/recovery-codes/verify', { method: 'POST', headers: bearer(recovering.access_token), json: { code: codes[0] } })
    expect(used.status).toBe(200)
    const upgraded = await body<Tokens>(used)
    expect(claimsOf(upgraded.access_token).aal).toBe('aal2')

    const started = performance.now()
    for (const t of [stolen, idle]) {
      let res = await s.req('/user', { headers: bearer(t.access_token) })
      while (res.status === 200 && performance.now() - started < 3000) {
        await Bun.sleep(25)
        res = await s.req('/user', { headers: bearer(t.access_token) })
      }
      expect(res.status).toBe(401)
      expect(await body(res)).toEqual({ code: 401, msg: 'Invalid token: session has ended' })
      expect((await refresh(s, t.refresh_token)).status).toBe(400)
    }
    expect(performance.now() - started).toBeLessThan(1000)
    // The session that used the code and the one that was already aal2 go on.
    expect((await s.req('/user', { headers: bearer(upgraded.access_token) })).status).toBe(200)
    expect((await refresh(s, upgraded.refresh_token)).status).toBe(200)
    expect((await owner.refreshSession()).error).toBeNull()
    const left = await body<{ sessions: { id: string; aal: string }[] }>(await s.req('/user/sessions', { headers: bearer(upgraded.access_token) }))
    expect(left.sessions.map((x) => x.aal)).toEqual(['aal2', 'aal2'])
    expect(left.sessions.map((x) => x.id)).not.toContain(claimsOf(stolen.access_token).session_id)
    const audit = (await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}')).map((r) => JSON.parse(r.payload) as { actor_id: string; action: string; traits?: Record<string, unknown> })
    expect(audit.filter((p) => p.actor_id === user.id && p.action === 'session_revoked' && p.traits?.method === 'mfa/recovery_code'))
      .toEqual([expect.objectContaining({ traits: { reason: 'aal2_reached', method: 'mfa/recovery_code', sessions: 2 } })])
  })

  test('a factor enrolled with the password alone before MFA was on cannot later make an aal1 session aal2', async () => {
    const user = await confirmedUser(s)
    // The attacker, with the password only, while the account has no MFA: enrolls a factor and keeps its secret.
    const attacker = await signedIn(s, user.email)
    const planted = (await attacker.mfa.enroll({ factorType: 'totp', friendlyName: 'planted' })).data!
    // The owner turns MFA on with their own factor: the planted one goes.
    const owner = await signedIn(s, user.email)
    const own = (await owner.mfa.enroll({ factorType: 'totp', friendlyName: 'mine' })).data!
    expect((await owner.mfa.challengeAndVerify({ factorId: own.id, code: totp(own.totp.secret, s.clock.now().getTime()) })).error).toBeNull()
    expect((await owner.mfa.listFactors()).data!.all.map((f) => f.id)).toEqual([own.id])

    // Later, a fresh aal1 session with the password: the planted factor is no way to aal2.
    s.clock.advance(30)
    const later = await body<Tokens>(await login(s, user.email))
    const h = bearer(later.access_token)
    const ch = await s.req(`/factors/${planted.id}/challenge`, { method: 'POST', headers: h })
    expect(ch.status).toBe(404)
    const verify = await s.req(`/factors/${planted.id}/verify`, { method: 'POST', headers: h, json: { challenge_id: crypto.randomUUID(), code: totp(planted.totp.secret, s.clock.now().getTime()) } })
    expect(verify.status).toBe(404)

    // A second factor the owner enrolls at aal2 is not verified from an aal1 session, even with its code.
    const second = (await owner.mfa.enroll({ factorType: 'totp', friendlyName: 'tablet' })).data!
    const c2 = await body<{ id: string }>(await s.req(`/factors/${second.id}/challenge`, { method: 'POST', headers: h }))
    const refused = await s.req(`/factors/${second.id}/verify`, { method: 'POST', headers: h, json: { challenge_id: c2.id, code: totp(second.totp.secret, s.clock.now().getTime()) } })
    expect(refused.status).toBe(403)
    expect(await body<{ msg: string }>(refused)).toMatchObject({ msg: 'AAL2 required to verify a new factor' })
    expect((await owner.mfa.listFactors()).data!.all.map((f) => [f.id, f.status])).toEqual([[own.id, 'verified'], [second.id, 'unverified']])
    // The owner's aal2 session verifies it.
    expect((await owner.mfa.challengeAndVerify({ factorId: second.id, code: totp(second.totp.secret, s.clock.now().getTime()) })).error).toBeNull()
    expect((await owner.mfa.listFactors()).data!.totp.map((f) => f.id).sort()).toEqual([own.id, second.id].sort())
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
