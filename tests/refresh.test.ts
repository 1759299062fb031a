// POST /token grant_type=refresh_token: rotation, the reuse grace window, family revocation on late reuse,
// expiry, concurrent refreshes, rotation switched off, how refresh tokens are stored, sessions ended by an admin
// reset, GOTRUE_SESSIONS_TIMEBOX / GOTRUE_SESSIONS_INACTIVITY_TIMEOUT, and (MySQL) a refresh racing a write committed
// mid-grant.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { body, DIALECT, form, startServer, type TestServer } from './harness.ts'
import { bearer, confirmedUser, freshEmail, login, MFA_KEY, newUser, OPERATOR, refresh, type Tokens, totp } from './helpers.ts'

const INVALID = { error: 'invalid_grant', error_description: 'Invalid Refresh Token' }
const URL_SAFE_TOKEN = /^[A-Za-z0-9_-]{43}$/
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
const refreshOk = async (s: TestServer, token: string): Promise<Tokens> => {
  const res = await refresh(s, token)
  expect(res.status).toBe(200)
  return body<Tokens>(res)
}
const expectInvalid = async (res: Response, description = 'Invalid Refresh Token') => {
  expect(res.status).toBe(400)
  expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: description })
}
const familyRows = (s: TestServer, token: string) => s.db.all<{ id: string; revoked: number }>(
  'SELECT id, revoked FROM {refresh_tokens} WHERE family_id = (SELECT family_id FROM {refresh_tokens} WHERE token_hash = ?)', [sha256(token)])

describe('refresh grant (defaults: rotation on, 10 s reuse interval)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true' } }) })
  afterAll(() => s.stop())

  test('rotation: a token response with a new URL-safe refresh token and a working access token', async () => {
    const u = await newUser(s)
    const first = await u.session()
    const next = await refreshOk(s, first.refresh_token)
    expect(Object.keys(next).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type'])
    expect(next).toMatchObject({ token_type: 'bearer', expires_in: 3600 })
    expect(next.refresh_token).toMatch(URL_SAFE_TOKEN)
    expect(next.refresh_token).not.toBe(first.refresh_token)
    const me = await s.req('/user', { headers: { authorization: `Bearer ${next.access_token}` } })
    expect(me.status).toBe(200)
    expect((await body(me)).id).toBe(u.id)
  })

  test('refresh_token missing or empty: invalid_request; unknown: Invalid Refresh Token', async () => {
    const cases: Record<string, string>[] = [{ grant_type: 'refresh_token' }, { grant_type: 'refresh_token', refresh_token: '' }]
    for (const fields of cases) {
      const res = await s.req('/token', form(fields))
      expect(res.status).toBe(400)
      expect(await res.text()).toBe('{"error":"invalid_request","error_description":"refresh_token required"}')
    }
    await expectInvalid(await refresh(s, 'A'.repeat(43)))
  })

  test('grant_type in the query string, refresh_token in the form body; X-Use-Cookie sets nf_jwt', async () => {
    const u = await newUser(s)
    const { refresh_token } = await u.session()
    const res = await s.req('/token?grant_type=refresh_token', {
      ...form({ refresh_token }), headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-use-cookie': '1' },
    })
    expect(res.status).toBe(200)
    const { access_token } = await body<Tokens>(res)
    expect(res.headers.get('set-cookie')).toStartWith(`nf_jwt=${access_token};`)
  })

  test('the old token replayed within the interval gets the same successor, which keeps working', async () => {
    const u = await newUser(s)
    const t0 = (await u.session()).refresh_token
    const t1 = (await refreshOk(s, t0)).refresh_token
    s.clock.advance(5)
    const again = await refreshOk(s, t0)
    expect(again.refresh_token).toBe(t1)
    const t2 = (await refreshOk(s, t1)).refresh_token
    expect(t2).not.toBe(t1)
    expect(t2).toMatch(URL_SAFE_TOKEN)
  })

  test('reuse after the interval: refused, the whole family is revoked, other sessions of the user survive', async () => {
    const u = await newUser(s)
    const a0 = (await u.session()).refresh_token
    const b0 = (await u.session()).refresh_token // a second device: another family
    const a1 = (await refreshOk(s, a0)).refresh_token
    const a2 = (await refreshOk(s, a1)).refresh_token
    s.clock.advance(11)
    const replay = await refresh(s, a0, { 'x-use-cookie': '1' })
    expect(replay.headers.get('set-cookie')).toContain('Max-Age=0') // the JWT cookie is cleared
    await expectInvalid(replay)
    await expectInvalid(await refresh(s, a1))
    await expectInvalid(await refresh(s, a2)) // the live descendant died with its family
    expect((await familyRows(s, a0)).every((r) => r.revoked === 1)).toBe(true)
    const b1 = await refreshOk(s, b0)
    expect(b1.refresh_token).toMatch(URL_SAFE_TOKEN)
  })

  test('reuse ends the session: the access tokens of the stolen family are refused, the other device\'s are not', async () => {
    const u = await newUser(s)
    const a = await u.session()
    const b = await u.session()
    const a1 = await refreshOk(s, a.refresh_token)
    s.clock.advance(11)
    await expectInvalid(await refresh(s, a.refresh_token))
    for (const t of [a.access_token, a1.access_token]) {
      expect((await s.req('/user', { headers: { authorization: `Bearer ${t}` } })).status).toBe(401)
    }
    expect((await s.req('/user', { headers: { authorization: `Bearer ${b.access_token}` } })).status).toBe(200)
  })

  test('idle expiry: a token older than JWT_REFRESH_TOKEN_LIFETIME (30 d) is refused; each rotation restarts the count', async () => {
    const u = await newUser(s)
    const old = (await u.session()).refresh_token
    const kept = (await u.session()).refresh_token
    s.clock.advance(20 * 86400)
    const renewed = (await refreshOk(s, kept)).refresh_token
    s.clock.advance(11 * 86400)
    await expectInvalid(await refresh(s, old), 'Refresh token expired')
    await refreshOk(s, renewed) // 11 days old: still fine
  })

  test('50 concurrent refreshes with one token: all 200 with one successor; the family holds exactly two rows', async () => {
    const u = await newUser(s)
    const t0 = (await u.session()).refresh_token
    const results = await Promise.all(Array.from({ length: 50 }, () => refresh(s, t0)))
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(200))
    const successors = new Set((await Promise.all(results.map((r) => body<Tokens>(r)))).map((b) => b.refresh_token))
    expect(successors.size).toBe(1)
    expect([...successors][0]).not.toBe(t0)
    const rows = await familyRows(s, t0)
    expect(rows).toHaveLength(2)
    expect(rows.filter((r) => r.revoked === 0)).toHaveLength(1)
  })

  test("a deleted user's refresh token: Invalid Refresh Token", async () => {
    const u = await newUser(s)
    const { refresh_token } = await u.session()
    // Setup through the database: the admin API that deletes users is not built yet.
    await s.db.run('DELETE FROM {users} WHERE id = ?', [u.id])
    await expectInvalid(await refresh(s, refresh_token))
  })

  test('only SHA-256 hashes are stored: no column of refresh_tokens holds a raw token', async () => {
    const u = await newUser(s)
    const t0 = (await u.session()).refresh_token
    const t1 = (await refreshOk(s, t0)).refresh_token
    const rows = await s.db.all<Record<string, unknown>>('SELECT * FROM {refresh_tokens} WHERE user_id = ?', [u.id])
    expect(rows).toHaveLength(2)
    const cells = rows.flatMap((r) => Object.values(r).map((v) => String(v)))
    for (const raw of [t0, t1]) expect(cells.some((c) => c.includes(raw))).toBe(false)
    expect(rows.map((r) => r.token_hash).sort()).toEqual([sha256(t0), sha256(t1)].sort())
  })

  test('each rotation is audited as token_refreshed and token_revoked by the user', async () => {
    const u = await newUser(s)
    await refreshOk(s, (await u.session()).refresh_token)
    const audit = (await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}'))
      .map((r) => JSON.parse(r.payload) as Record<string, unknown>).filter((p) => p.actor_id === u.id)
    const actions = audit.map((p) => p.action)
    expect(actions.filter((a) => a === 'token_refreshed')).toHaveLength(1)
    expect(actions.filter((a) => a === 'token_revoked')).toHaveLength(1)
    expect(audit.find((p) => p.action === 'token_refreshed')).toMatchObject({ actor_email: u.email, log_type: 'token' })
  })
})

describe('an admin password or email reset ends every session of the user', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true' } }) })
  afterAll(() => s.stop())
  const adminPut = (id: string, json: unknown) =>
    s.req(`/admin/users/${id}`, { method: 'PUT', json, headers: OPERATOR })

  test('PUT /admin/users/:id with a password: every family of the user is refused, other users keep theirs', async () => {
    const u = await newUser(s), other = await newUser(s)
    const [a, b, o] = [await u.session(), await u.session(), await other.session()]
    expect((await adminPut(u.id, { password: 'reset-by-the-admin' })).status).toBe(200)
    await expectInvalid(await refresh(s, a.refresh_token))
    await expectInvalid(await refresh(s, b.refresh_token))
    await refreshOk(s, o.refresh_token)
    expect((await s.req('/user', { headers: { authorization: `Bearer ${a.access_token}` } })).status).toBe(401)
    expect((await s.req('/user', { headers: { authorization: `Bearer ${o.access_token}` } })).status).toBe(200)
  })

  test('with an email: the same; with metadata only: nothing ends', async () => {
    const u = await newUser(s)
    const a = await u.session()
    expect((await adminPut(u.id, { user_metadata: { plan: 'pro' } })).status).toBe(200)
    const a1 = await refreshOk(s, a.refresh_token)
    expect((await adminPut(u.id, { email: freshEmail('moved') })).status).toBe(200)
    await expectInvalid(await refresh(s, a1.refresh_token))
  })
})

// The timebox runs from the session's start. An MFA step-up replaces the family's refresh tokens; measured from the
// family's oldest token, each verification restarted the timebox, and a session re-verified now and then lived on.
describe('GOTRUE_SESSIONS_TIMEBOX=1h and MFA verifications in the session', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...MFA_KEY, GOTRUE_SESSIONS_TIMEBOX: '1h', GOTRUE_MFA_RATE_LIMIT_CHALLENGE_AND_VERIFY: '0' } }) })
  afterAll(() => s.stop())

  test('re-verifying a factor every 50 minutes does not keep a session alive past its timebox', async () => {
    const user = await confirmedUser(s)
    let t = await body<Tokens>(await login(s, user.email, user.password))
    const enroll = await body<{ id: string; totp: { secret: string } }>(await s.req('/factors', { method: 'POST', headers: bearer(t.access_token), json: { factor_type: 'totp' } }))
    const verify = async () => {
      const ch = await body<{ id: string }>(await s.req(`/factors/${enroll.id}/challenge`, { method: 'POST', headers: bearer(t.access_token) }))
      const r = await s.req(`/factors/${enroll.id}/verify`, { method: 'POST', headers: bearer(t.access_token), json: { challenge_id: ch.id, code: totp(enroll.totp.secret, s.clock.now().getTime()) } })
      expect(r.status).toBe(200)
      t = await body<Tokens>(r)
    }
    await verify()
    s.clock.advance(50 * 60)
    t = await body<Tokens>(await refresh(s, t.refresh_token))
    await verify() // the family's tokens are replaced
    s.clock.advance(15 * 60) // 65 minutes since the login
    const r = await refresh(s, t.refresh_token)
    expect({ status: r.status, body: await body(r) }).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid Refresh Token: Session Expired' } })
  }, 30_000)
})

describe('GOTRUE_SESSIONS_TIMEBOX=3h, GOTRUE_SESSIONS_INACTIVITY_TIMEOUT=1h', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_SESSIONS_TIMEBOX: '3h', GOTRUE_SESSIONS_INACTIVITY_TIMEOUT: '1h' } })
  })
  afterAll(() => s.stop())

  test('a family refreshed every 50 minutes lives 3 hours, then gets Session Expired; a new login works', async () => {
    const u = await newUser(s)
    let t = (await u.session()).refresh_token
    for (let i = 0; i < 3; i++) {
      s.clock.advance(50 * 60)
      t = (await refreshOk(s, t)).refresh_token
    }
    s.clock.advance(31 * 60) // 181 minutes since the login, 31 since the last refresh
    await expectInvalid(await refresh(s, t), 'Invalid Refresh Token: Session Expired')
    await refreshOk(s, (await u.session()).refresh_token)
  })

  test('the reuse grace window does not stretch the timebox: a replay just after it ends gets Session Expired', async () => {
    const u = await newUser(s)
    let t = (await u.session()).refresh_token
    for (let i = 0; i < 3; i++) {
      s.clock.advance(55 * 60)
      t = (await refreshOk(s, t)).refresh_token
    }
    s.clock.advance(14 * 60 + 55) // 5 s before the 3 hours are up
    const rotated = t
    t = (await refreshOk(s, t)).refresh_token
    s.clock.advance(8) // past the timebox; `rotated` is still within the 10 s reuse interval
    await expectInvalid(await refresh(s, rotated), 'Invalid Refresh Token: Session Expired')
    await expectInvalid(await refresh(s, t), 'Invalid Refresh Token: Session Expired')
  })

  test('a family idle for more than an hour gets Session Expired (Inactivity); each refresh restarts the count', async () => {
    const u = await newUser(s)
    const idle = (await u.session()).refresh_token
    let busy = (await u.session()).refresh_token
    s.clock.advance(40 * 60)
    busy = (await refreshOk(s, busy)).refresh_token
    s.clock.advance(21 * 60)
    await expectInvalid(await refresh(s, idle), 'Invalid Refresh Token: Session Expired (Inactivity)')
    await refreshOk(s, busy) // 21 minutes idle
  })
})

describe('GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL=0', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL: '0' } })
  })
  afterAll(() => s.stop())

  test('an immediate replay is already reuse: refused and the successor is revoked with it', async () => {
    const u = await newUser(s)
    const t0 = (await u.session()).refresh_token
    const t1 = (await refreshOk(s, t0)).refresh_token
    await expectInvalid(await refresh(s, t0))
    await expectInvalid(await refresh(s, t1))
  })
})

describe('GOTRUE_SECURITY_REFRESH_TOKEN_ROTATION_ENABLED=false', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_SECURITY_REFRESH_TOKEN_ROTATION_ENABLED: 'false' } })
  })
  afterAll(() => s.stop())

  test('the same refresh token comes back, keeps working, and no rows are added', async () => {
    const u = await newUser(s)
    const t0 = (await u.session()).refresh_token
    for (let i = 0; i < 3; i++) {
      const next = await refreshOk(s, t0)
      expect(next.refresh_token).toBe(t0)
      expect(next.access_token.split('.')).toHaveLength(3)
    }
    expect(await familyRows(s, t0)).toHaveLength(1)
  })
})

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>

// The grant's first statement is a locking read (its token, with the user and session it decides on); its later
// plain reads must not see a snapshot from before that lock (on MySQL under REPEATABLE READ the first plain read
// fixes it), or a write committed between an unlocked read and the grant's own writes would go unseen; with
// rotation off the grant writes no token row to catch it. Each case holds the other write open in
// a transaction while the refresh starts. MySQL only: SQLite runs whole transactions one at a time.
describe('rotation off: a refresh racing a committed write (MySQL)', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_SECURITY_REFRESH_TOKEN_ROTATION_ENABLED: 'false' } })
  })
  afterAll(() => s.stop())

  test.if(DIALECT === 'mysql')('user deleted while a legacy family refreshes: a 400, never a 500', async () => {
    const u = await newUser(s)
    const t0 = (await u.session()).refresh_token
    const fam = await s.db.get<{ family_id: string }>('SELECT family_id FROM {refresh_tokens} WHERE token_hash = ?', [sha256(t0)])
    await s.db.run('DELETE FROM {sessions} WHERE id = ?', [fam?.family_id ?? '']) // a family from before sessions were recorded
    let res: Promise<Response> | undefined
    await s.db.tx(async (tx) => {
      await tx.run('DELETE FROM {users} WHERE id = ?', [u.id]) // an admin deletion, not yet committed
      res = refresh(s, t0)
      await Bun.sleep(400)
    })
    const r = await (res as Promise<Response>)
    expect(r.status).toBe(400)
  })

  test.if(DIALECT === 'mysql')('concurrent first refreshes of a legacy family: all 200, never a 500', async () => {
    const u = await newUser(s)
    const t0 = (await u.session()).refresh_token
    const fam = await s.db.get<{ family_id: string }>('SELECT family_id FROM {refresh_tokens} WHERE token_hash = ?', [sha256(t0)])
    await s.db.run('DELETE FROM {sessions} WHERE id = ?', [fam?.family_id ?? ''])
    const rs = await Promise.all(Array.from({ length: 8 }, () => refresh(s, t0)))
    expect(rs.map((r) => r.status)).toEqual(Array(8).fill(200))
  })

  test.if(DIALECT === 'mysql')('a step-up that commits before the refresh writes: no aal1 answer for the aal2 session', async () => {
    const u = await newUser(s)
    const t0 = (await u.session()).refresh_token
    const fam = await s.db.get<{ family_id: string }>('SELECT family_id FROM {refresh_tokens} WHERE token_hash = ?', [sha256(t0)])
    const sid = fam?.family_id ?? ''
    let res: Promise<Response> | undefined
    await s.db.tx(async (tx) => { // what upgradeSession writes
      await tx.run("UPDATE {sessions} SET aal = 'aal2' WHERE id = ?", [sid])
      await tx.run('DELETE FROM {refresh_tokens} WHERE family_id = ?', [sid])
      res = refresh(s, t0)
      await Bun.sleep(400)
    })
    const r = await (res as Promise<Response>)
    if (r.status === 200) {
      const t = await body<Tokens>(r)
      expect({ aal: claimsOf(t.access_token).aal, session: claimsOf(t.access_token).session_id }).toEqual({ aal: 'aal2', session: sid })
    } else expect(r.status).toBe(400)
  })
})
