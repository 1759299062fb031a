// Races: many copies of one request at the same instant, as a double-clicking user, a retrying client or an
// attacker would send them. Each case states what must exist afterwards: one successor, one user, one session,
// one email change. The same file runs on SQLite (one connection, BEGIN IMMEDIATE) and on MySQL (a pool,
// row locks) — the two dialects fail in different ways, so both must pass.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sha256 } from '../lib/crypto.ts'
import { body, startServer, tokenFromMail, type TestServer } from './harness.ts'
import { bearer, confirmedUser, freshEmail, login, MFA_KEY, newUser, OPERATOR, PASSWORD, refresh, type Tokens, totp } from './helpers.ts'

/** `count` copies of one request, all started before any is awaited. */
const burst = (count: number, send: () => Promise<Response>) => Promise.all(Array.from({ length: count }, send))
const statuses = (rs: Response[]) => rs.map((r) => r.status).sort()
const tally = (rs: Response[]) => rs.reduce<Record<number, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {})

const usersWithEmail = (s: TestServer, email: string) =>
  s.db.all<{ id: string }>('SELECT id FROM {users} WHERE email_key = ?', [email.toLowerCase()])
const auditActions = async (s: TestServer, actorId: string, action: string) =>
  (await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}'))
    .map((r) => JSON.parse(r.payload) as Record<string, unknown>)
    .filter((p) => p.actor_id === actorId && p.action === action)

describe('races with autoconfirm on: refresh, signup, password grant', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true' } }) })
  afterAll(() => s.stop())

  test('200 concurrent refreshes of one token: all 200 with the same successor; the family has exactly 2 rows', async () => {
    const u = await newUser(s)
    const t0 = (await body<Tokens>(await login(s, u.email))).refresh_token
    const results = await burst(200, () => refresh(s, t0))
    expect(tally(results)).toEqual({ 200: 200 })
    const successors = new Set((await Promise.all(results.map((r) => body<Tokens>(r)))).map((t) => t.refresh_token))
    expect(successors.size).toBe(1)
    const [t1] = [...successors] as [string]
    expect(t1).not.toBe(t0)

    const family = await s.db.all<{ token_hash: string; parent_id: string | null; revoked: number; id: string }>(
      'SELECT id, token_hash, parent_id, revoked FROM {refresh_tokens} WHERE family_id = (SELECT family_id FROM {refresh_tokens} WHERE token_hash = ?)', [sha256(t0)])
    expect(family).toHaveLength(2)
    const root = family.find((r) => r.token_hash === sha256(t0))
    const child = family.find((r) => r.token_hash === sha256(t1))
    expect(root?.revoked).toBe(1)
    expect(child).toMatchObject({ revoked: 0, parent_id: root?.id })
    // One rotation happened, so one rotation was audited.
    expect(await auditActions(s, u.id, 'token_refreshed')).toHaveLength(1)
    // The successor is a normal live token.
    const next = await refresh(s, t1)
    expect(next.status).toBe(200)
    expect((await body<Tokens>(next)).refresh_token).not.toBe(t1)
  })

  test('50 concurrent signups of one email: exactly one 200, the rest 400 already registered; one user row', async () => {
    const email = freshEmail('signup')
    const results = await burst(50, () => s.req('/signup', { method: 'POST', json: { email, password: PASSWORD } }))
    expect(tally(results)).toEqual({ 200: 1, 400: 49 })
    for (const r of results.filter((x) => x.status === 400)) {
      expect(await body(r)).toEqual({ code: 400, msg: 'A user with this email address has already been registered' })
    }
    const rows = await usersWithEmail(s, email)
    expect(rows).toHaveLength(1)
    expect(await auditActions(s, rows[0]?.id ?? '', 'user_signedup')).toHaveLength(1)
    expect((await login(s, email)).status).toBe(200)
  })

  test('30 concurrent password-grant logins of one user: all 200, 30 distinct sessions that each work', async () => {
    const u = await newUser(s)
    const results = await burst(30, () => login(s, u.email))
    expect(tally(results)).toEqual({ 200: 30 })
    const sessions = await Promise.all(results.map((r) => body<Tokens>(r)))
    expect(new Set(sessions.map((t) => t.refresh_token)).size).toBe(30)
    const rows = await s.db.all<{ family_id: string; parent_id: string | null; revoked: number }>(
      'SELECT family_id, parent_id, revoked FROM {refresh_tokens} WHERE user_id = ?', [u.id])
    expect(rows).toHaveLength(30)
    expect(new Set(rows.map((r) => r.family_id)).size).toBe(30)
    expect(rows.every((r) => r.parent_id === null && r.revoked === 0)).toBe(true)
    expect(await auditActions(s, u.id, 'login')).toHaveLength(30)
    // Every access token reads the user; every refresh token rotates on its own.
    const me = await Promise.all(sessions.map((t) => s.req('/user', { headers: bearer(t.access_token) })))
    expect(tally(me)).toEqual({ 200: 30 })
    const rotated = await Promise.all(sessions.map((t) => refresh(s, t.refresh_token)))
    expect(tally(rotated)).toEqual({ 200: 30 })
  })

  // On MySQL a sign-in that locks an index gap (a DELETE or locking read that matches nothing) before inserting
  // deadlocks with every other sign-in whose new rows fall in the same gap: each is rolled back and run again, so
  // clients still see 200s, and only the server's deadlock counter shows the waste.
  test.if(Boolean(process.env.TEST_MYSQL_URL))('32 concurrent password-grant logins of 32 users, then 32 refreshes: no deadlock on MySQL', async () => {
    const users = await Promise.all(Array.from({ length: 32 }, () => newUser(s)))
    const deadlocks = async () => Number((await s.db.get<{ Value: string }>("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'"))?.Value)
    const before = await deadlocks()
    const logins = await Promise.all(users.map((u) => login(s, u.email)))
    expect(tally(logins)).toEqual({ 200: 32 })
    const tokens = await Promise.all(logins.map((r) => body<Tokens>(r)))
    expect(tally(await Promise.all(tokens.map((t) => refresh(s, t.refresh_token))))).toEqual({ 200: 32 })
    expect(await deadlocks()).toBe(before)
  })
})

describe('races with confirmation mails: re-signup, verify, invite, email change', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'false' } }) })
  afterAll(() => s.stop())

  test('50 concurrent signups of one unconfirmed email: all 200, one user, one live confirmation token, one mail', async () => {
    const email = freshEmail('resignup')
    const results = await burst(50, () => s.req('/signup', { method: 'POST', json: { email, password: PASSWORD } }))
    expect(statuses(results)).toEqual(Array(50).fill(200))
    const ids = new Set((await Promise.all(results.map((r) => body<{ id: string }>(r)))).map((u) => u.id))
    expect(ids.size).toBe(1)
    const rows = await usersWithEmail(s, email)
    expect(rows.map((r) => r.id)).toEqual([...ids])
    const otps = await s.db.all('SELECT id FROM {one_time_tokens} WHERE user_id = ?', [rows[0]?.id ?? ''])
    expect(otps).toHaveLength(1)
    // The winner mailed; every other request was a re-signup inside SMTP_MAX_FREQUENCY.
    expect(s.smtp.mailsTo(email)).toHaveLength(1)
  })

  // Past SMTP_MAX_FREQUENCY each request finds the last mail old enough; only one may send the next. On MySQL the
  // reads of concurrent transactions come from snapshots taken before any of them committed. Five rounds, each on
  // a fresh address: a burst does not always overlap (the first one after the server starts rarely does).
  /** Five rounds of `count` concurrent `send(email)` past SMTP_MAX_FREQUENCY: the mails to `to(email)` each round
   *  sent beyond those before it, and the statuses; `check` then uses the newest mail. */
  async function roundsOf(count: number, make: () => Promise<{ email: string; to: string }>, send: (email: string) => Promise<Response>, check: (email: string, to: string) => Promise<void>) {
    const extra: number[] = []
    for (let round = 0; round < 5; round++) {
      const { email, to } = await make()
      const before = s.smtp.mailsTo(to).length
      s.clock.advance(15 * 60 + 1)
      const results = await burst(count, () => send(email))
      expect(tally(results)).toEqual({ 200: count })
      await s.smtp.waitForMail(to, { count: before + 1 })
      await Bun.sleep(300) // mails may go out after the answer: a second one would have arrived by now
      extra.push(s.smtp.mailsTo(to).length - before)
      await check(email, to)
    }
    expect(extra).toEqual([1, 1, 1, 1, 1])
  }
  const pendingSignup = async () => {
    const email = freshEmail('mail-due')
    expect((await s.req('/signup', { method: 'POST', json: { email, password: PASSWORD } })).status).toBe(200)
    await s.smtp.waitForMail(email)
    return { email, to: email }
  }
  const liveConfirmation = async (email: string) => {
    const token = tokenFromMail(s.smtp.mailsTo(email).at(-1)!, 'confirmation_token')
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token } })).status).toBe(200)
  }

  test('5 × 20 concurrent re-signups past SMTP_MAX_FREQUENCY: all 200, one more mail each time, whose link is the live one', async () => {
    await roundsOf(20, pendingSignup, (email) => s.req('/signup', { method: 'POST', json: { email, password: PASSWORD } }), async (email) => {
      await liveConfirmation(email)
      expect((await login(s, email)).status).toBe(200)
    })
  })

  test('5 × 20 concurrent /resend type=signup past SMTP_MAX_FREQUENCY: all 200, one more mail each time, whose link is the live one', async () => {
    await roundsOf(20, pendingSignup, (email) => s.req('/resend', { method: 'POST', json: { email, type: 'signup' } }), liveConfirmation)
  })

  test('5 × 20 concurrent /resend type=email_change past SMTP_MAX_FREQUENCY: one more mail to the new address each time, whose link works', async () => {
    const pendingChange = async () => {
      const u = await newUser(s, { tag: 'resend-change' })
      const { access_token } = await u.session()
      const to = freshEmail('resend-change-to')
      expect((await s.req('/user', { method: 'PUT', json: { email: to }, headers: bearer(access_token) })).status).toBe(200)
      await s.smtp.waitForMail(to)
      return { email: u.email, to }
    }
    await roundsOf(20, pendingChange, (email) => s.req('/resend', { method: 'POST', json: { email, type: 'email_change' } }), async (_, to) => {
      const token = tokenFromMail(s.smtp.mailsTo(to).at(-1)!, 'email_change_token')
      expect((await s.req('/verify', { method: 'POST', json: { type: 'email_change', token } })).status).toBe(200)
      expect((await login(s, to)).status).toBe(200)
    })
  })

  test('20 concurrent /verify of one confirmation token: one 200, nineteen 404; one token family created', async () => {
    const email = freshEmail('verify')
    const created = await s.req('/signup', { method: 'POST', json: { email, password: PASSWORD } })
    const { id } = await body<{ id: string }>(created)
    const token = tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')
    const results = await burst(20, () => s.req('/verify', { method: 'POST', json: { type: 'signup', token } }))
    expect(tally(results)).toEqual({ 200: 1, 404: 19 })
    for (const r of results.filter((x) => x.status === 404)) expect(await body(r)).toEqual({ code: 404, msg: 'User not found' })
    const families = await s.db.all<{ family_id: string }>('SELECT family_id FROM {refresh_tokens} WHERE user_id = ?', [id])
    expect(families).toHaveLength(1)
    expect(await auditActions(s, id, 'user_signedup')).toHaveLength(1)
    expect(await s.db.all('SELECT id FROM {one_time_tokens} WHERE user_id = ?', [id])).toHaveLength(0)
  })

  test('20 concurrent invites of one email: one 200, nineteen 422; one user, one invite mail', async () => {
    const email = freshEmail('invite')
    const results = await burst(20, () => s.req('/invite', { method: 'POST', json: { email }, headers: OPERATOR }))
    expect(tally(results)).toEqual({ 200: 1, 422: 19 })
    for (const r of results.filter((x) => x.status === 422)) {
      expect(await body(r)).toEqual({ code: 422, msg: 'Email address already registered by another user' })
    }
    const rows = await usersWithEmail(s, email)
    expect(rows).toHaveLength(1)
    expect(s.smtp.mailsTo(email)).toHaveLength(1)
    expect(await s.db.all('SELECT id FROM {one_time_tokens} WHERE user_id = ?', [rows[0]?.id ?? ''])).toHaveLength(1)
  })

  test('20 concurrent PUT /user email_change_token confirmations: one 200, nineteen 401; the email changes once', async () => {
    const email = freshEmail('change-from')
    const { id } = await body<{ id: string }>(await s.req('/signup', { method: 'POST', json: { email, password: PASSWORD } }))
    const confirm = tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')
    const session = await body<Tokens>(await s.req('/verify', { method: 'POST', json: { type: 'signup', token: confirm } }))
    const to = freshEmail('change-to')
    expect((await s.req('/user', { method: 'PUT', json: { email: to }, headers: bearer(session.access_token) })).status).toBe(200)
    const changeToken = tokenFromMail(await s.smtp.waitForMail(to), 'email_change_token')
    const modifiedBefore = (await auditActions(s, id, 'user_modified')).length

    const results = await burst(20, () => s.req('/user', { method: 'PUT', json: { email_change_token: changeToken }, headers: bearer(session.access_token) }))
    expect(tally(results)).toEqual({ 200: 1, 401: 19 })
    for (const r of results.filter((x) => x.status === 401)) {
      expect(await body(r)).toEqual({ code: 401, msg: "Email Change Token didn't match token on file" })
    }
    const row = await s.db.get<{ email: string; email_change: string }>('SELECT email, email_change FROM {users} WHERE id = ?', [id])
    expect(row).toEqual({ email: to, email_change: '' })
    expect(await usersWithEmail(s, email)).toHaveLength(0)
    // One confirmation, one audit entry for it.
    expect((await auditActions(s, id, 'user_modified')).length - modifiedBefore).toBe(1)
  })

  test('20 concurrent PUT /user, each merging its own data key: no update is lost', async () => {
    const email = freshEmail('merge')
    await s.req('/signup', { method: 'POST', json: { email, password: PASSWORD, data: { kept: true } } })
    const confirm = tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')
    const session = await body<Tokens>(await s.req('/verify', { method: 'POST', json: { type: 'signup', token: confirm } }))
    let i = 0
    const results = await burst(20, () => s.req('/user', { method: 'PUT', json: { data: { [`k${i++}`]: i } }, headers: bearer(session.access_token) }))
    expect(tally(results)).toEqual({ 200: 20 })
    const me = await body<{ user_metadata: Record<string, unknown> }>(await s.req('/user', { headers: bearer(session.access_token) }))
    expect(Object.keys(me.user_metadata).sort()).toEqual(['kept', ...Array.from({ length: 20 }, (_, k) => `k${k}`)].sort())
  })

  test('20 concurrent admin PUT /admin/users/:id, each merging its own app_metadata key: no update is lost', async () => {
    const email = freshEmail('admin-merge')
    const created = await s.req('/admin/users', { method: 'POST', json: { email, password: PASSWORD, confirm: true }, headers: OPERATOR })
    const { id } = await body<{ id: string }>(created)
    let i = 0
    const results = await burst(20, () => s.req(`/admin/users/${id}`, { method: 'PUT', json: { app_metadata: { [`a${i++}`]: i } }, headers: OPERATOR }))
    expect(tally(results)).toEqual({ 200: 20 })
    const user = await body<{ app_metadata: Record<string, unknown> }>(await s.req(`/admin/users/${id}`, { headers: OPERATOR }))
    expect(Object.keys(user.app_metadata).filter((k) => k.startsWith('a')).sort()).toEqual(Array.from({ length: 20 }, (_, k) => `a${k}`).sort())
  })
})

// A re-signup with another password clears a pending signup's password; a /verify confirms the account. With
// SMTP_MAX_FREQUENCY 0 the re-signup always mails a new link, which replaces the one being verified, so whichever
// commits first, the other fails: the re-signup finds a confirmed account (400), or the /verify a spent link (404).
// Both succeeding means the re-signup acted on the account as it was before the confirmation and cleared the
// password just confirmed. One request starts up to 8 ms after the other, to sweep over the moment they meet.
describe('a re-signup with another password racing the /verify of the account', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'false', GOTRUE_SMTP_MAX_FREQUENCY: '0' } }) })
  afterAll(() => s.stop())

  test('64 rounds: either the confirmed password logs in and the re-signup was refused, or the link was spent; never confirmed without a password', async () => {
    const bad: string[] = []
    const seen: Record<string, number> = {}
    for (let round = 0; round < 64; round++) {
      const email = freshEmail('verify-resignup')
      expect((await s.req('/signup', { method: 'POST', json: { email, password: PASSWORD } })).status).toBe(200)
      const token = tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token')
      const offset = (round % 16) - 8
      const verify = (async () => {
        if (offset < 0) await Bun.sleep(-offset)
        return s.req('/verify', { method: 'POST', json: { type: 'signup', token } })
      })()
      const resignup = (async () => {
        if (offset > 0) await Bun.sleep(offset)
        return s.req('/signup', { method: 'POST', json: { email, password: `${PASSWORD}-other` } })
      })()
      const [v, r] = await Promise.all([verify, resignup])
      const row = await s.db.get<{ confirmed_at: string | null; encrypted_password: string }>(
        'SELECT confirmed_at, encrypted_password FROM {users} WHERE email_key = ?', [email.toLowerCase()])
      const outcome = `verify ${v.status}, signup ${r.status}`
      seen[outcome] = (seen[outcome] ?? 0) + 1
      if (row?.confirmed_at && !row.encrypted_password) bad.push(`round ${round}: ${outcome}, confirmed with an empty password`)
      else if (v.status === 200 && (r.status !== 400 || (await login(s, email)).status !== 200)) bad.push(`round ${round}: ${outcome}, the confirmed password does not log in`)
      else if (v.status !== 200 && (v.status !== 404 || r.status !== 200 || row?.confirmed_at)) bad.push(`round ${round}: ${outcome}, confirmed_at ${row?.confirmed_at}`)
    }
    expect(bad).toEqual([])
    // Both orders happened at least once, or the rounds did not race.
    expect(Object.keys(seen).sort()).toEqual(['verify 200, signup 400', 'verify 404, signup 200'])
  }, 120_000)
})

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>

// A second factor verified while the same session refreshes: after the step-up commits, no refresh token answered
// with aal1 may continue the session (the step-up replaces the family's tokens; a refresh holds its token's row).
describe('an MFA step-up racing refreshes of its session', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...MFA_KEY, GOTRUE_MFA_RATE_LIMIT_CHALLENGE_AND_VERIFY: '0', GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '100000' } }) })
  afterAll(() => s.stop())

  test('25 rounds, two refresh chains each: every token answered with aal1 is refused afterwards', async () => {
    let upgrades = 0
    for (let round = 0; round < 25; round++) {
      const u = await confirmedUser(s)
      const first = await body<Tokens>(await login(s, u.email))
      const enroll = await body<{ id: string; totp: { secret: string } }>(await s.req('/factors', { method: 'POST', headers: bearer(first.access_token), json: { factor_type: 'totp', friendly_name: 'p' } }))
      let ch = await body<{ id: string }>(await s.req(`/factors/${enroll.id}/challenge`, { method: 'POST', headers: bearer(first.access_token) }))
      let v = await s.req(`/factors/${enroll.id}/verify`, { method: 'POST', headers: bearer(first.access_token), json: { challenge_id: ch.id, code: totp(enroll.totp.secret, s.clock.now().getTime()) } })
      expect(v.status).toBe(200)
      s.clock.advance(31)
      const l = await body<Tokens>(await login(s, u.email))
      expect(claimsOf(l.access_token).aal).toBe('aal1')
      ch = await body<{ id: string }>(await s.req(`/factors/${enroll.id}/challenge`, { method: 'POST', headers: bearer(l.access_token) }))
      const code = totp(enroll.totp.secret, s.clock.now().getTime())
      // a chain of refreshes running while the verify runs
      const answers: { aal: string; rt: string }[] = []
      const chain = async () => {
        let rt = l.refresh_token
        for (let i = 0; i < 6; i++) {
          const r = await refresh(s, rt)
          if (r.status !== 200) return
          const t = await body<Tokens>(r)
          answers.push({ aal: String(claimsOf(t.access_token).aal), rt: t.refresh_token })
          rt = t.refresh_token
        }
      }
      const verify = (async () => { await Bun.sleep(round % 5); return s.req(`/factors/${enroll.id}/verify`, { method: 'POST', headers: bearer(l.access_token), json: { challenge_id: ch.id, code } }) })()
      const [vr] = await Promise.all([verify, chain(), chain()])
      if (vr.status !== 200) continue
      upgrades++
      for (const a of answers) {
        if (a.aal !== 'aal1') continue
        const r = await refresh(s, a.rt)
        expect(r.status).toBe(400)
      }
      s.clock.advance(31)
    }
    expect(upgrades).toBeGreaterThan(0)
  }, 120_000)
})

// Changes to one user's factors at the same instant. Each decides on rows the others change without writing the
// same ones (the other factor still there, no recovery codes yet, the failures so far), so on MySQL both could
// decide on the state from before either committed; the invariant is stated after every round.
describe('MFA factor changes racing each other', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { ...MFA_KEY, GOTRUE_MFA_RATE_LIMIT_CHALLENGE_AND_VERIFY: '0' } }) })
  afterAll(() => s.stop())

  /** A user with `totps` verified TOTP factors, signed in at aal2 (`token`), with recovery codes when `codes`. */
  async function mfaUser(totps: number, codes: boolean) {
    const u = await confirmedUser(s)
    let token = (await body<Tokens>(await login(s, u.email))).access_token
    const factorIds: string[] = []
    for (let i = 0; i < totps; i++) {
      const f = await body<{ id: string; totp: { secret: string } }>(await s.req('/factors', { method: 'POST', headers: bearer(token), json: { factor_type: 'totp', friendly_name: `f${i}` } }))
      const ch = await body<{ id: string }>(await s.req(`/factors/${f.id}/challenge`, { method: 'POST', headers: bearer(token) }))
      const v = await s.req(`/factors/${f.id}/verify`, { method: 'POST', headers: bearer(token), json: { challenge_id: ch.id, code: totp(f.totp.secret, s.clock.now().getTime()) } })
      expect(v.status).toBe(200)
      token = (await body<Tokens>(v)).access_token
      factorIds.push(f.id)
    }
    const generated = codes ? await s.req('/factors/recovery-codes', { method: 'POST', headers: bearer(token), json: {} }) : null
    if (generated) expect(generated.status).toBe(200)
    return { ...u, token, factorIds, codes: generated ? (await body<{ codes: string[] }>(generated)).codes : [] }
  }
  const factorTypes = async (userId: string) =>
    (await s.db.all<{ factor_type: string }>('SELECT factor_type FROM {mfa_factors} WHERE user_id = ?', [userId])).map((r) => r.factor_type).sort()

  test('a factor request that changes nothing (an unknown factor deleted or verified) leaves the user\'s row unwritten', async () => {
    const u = await mfaUser(1, true)
    const updatedAt = async () => (await s.db.get<{ updated_at: string }>('SELECT updated_at FROM {users} WHERE id = ?', [u.id]))?.updated_at
    const before = await updatedAt()
    s.clock.advance(5)
    const unknown = crypto.randomUUID()
    expect((await s.req(`/factors/${unknown}`, { method: 'DELETE', headers: bearer(u.token) })).status).toBe(404)
    expect((await s.req(`/admin/users/${u.id}/factors/${unknown}`, { method: 'DELETE', headers: OPERATOR })).status).toBe(404)
    const ch = await s.req(`/factors/${unknown}/verify`, { method: 'POST', headers: bearer(u.token), json: { challenge_id: crypto.randomUUID(), code: '000000' } })
    expect(ch.status).toBe(404)
    expect(await updatedAt()).toBe(before)
  })
  test('challenges racing the delete of their factor (30 rounds): each a 200 or a 404, never a 5xx, and no challenge left without its factor', async () => {
    const seen: Record<string, number> = {}
    for (let round = 0; round < 30; round++) {
      const u = await mfaUser(1, false)
      const id = u.factorIds[0] as string
      const results = await Promise.all([
        ...Array.from({ length: 4 }, () => s.req(`/factors/${id}/challenge`, { method: 'POST', headers: bearer(u.token) })),
        s.req(`/factors/${id}`, { method: 'DELETE', headers: bearer(u.token) }),
      ])
      for (const st of statuses(results)) seen[st] = (seen[st] ?? 0) + 1
      expect({ round, challenges: statuses(results.slice(0, 4)).filter((st) => st !== 200 && st !== 404) }).toEqual({ round, challenges: [] })
      expect({ round, deleted: results[4]?.status }).toEqual({ round, deleted: 200 })
    }
    expect(await s.db.all('SELECT c.id FROM {mfa_challenges} c LEFT JOIN {mfa_factors} f ON f.id = c.factor_id WHERE f.id IS NULL')).toEqual([])
  }, 120_000)
  test('a user\'s two TOTP factors deleted at once (user and admin routes, 20 rounds): both 200, and the recovery codes go with the last', async () => {
    type Del = (u: Awaited<ReturnType<typeof mfaUser>>, id: string) => Promise<Response>
    const own: Del = (u, id) => s.req(`/factors/${id}`, { method: 'DELETE', headers: bearer(u.token) })
    const admin: Del = (u, id) => s.req(`/admin/users/${u.id}/factors/${id}`, { method: 'DELETE', headers: OPERATOR })
    const pairs: [Del, Del][] = [[own, own], [admin, admin], [own, admin]]
    for (let round = 0; round < 20; round++) {
      const u = await mfaUser(2, true)
      expect(await factorTypes(u.id)).toEqual(['recovery_code', 'totp', 'totp'])
      const [a, b] = pairs[round % pairs.length] as [Del, Del]
      const results = await Promise.all([a(u, u.factorIds[0] as string), b(u, u.factorIds[1] as string)])
      expect({ round, statuses: statuses(results) }).toEqual({ round, statuses: [200, 200] })
      // Never recovery codes as the only factor.
      expect({ round, left: await factorTypes(u.id) }).toEqual({ round, left: [] })
    }
  }, 120_000)

  test('10 concurrent POST /factors/recovery-codes (10 rounds): one 200, nine 422; one recovery-code factor', async () => {
    for (let round = 0; round < 10; round++) {
      const u = await mfaUser(1, false)
      const results = await burst(10, () => s.req('/factors/recovery-codes', { method: 'POST', headers: bearer(u.token), json: {} }))
      expect({ round, statuses: tally(results) }).toEqual({ round, statuses: { 200: 1, 422: 9 } })
      for (const r of results.filter((x) => x.status === 422)) {
        expect(await body(r)).toEqual({ code: 422, msg: 'Recovery codes already exist: regenerate them instead' })
      }
      expect({ round, factors: await factorTypes(u.id) }).toEqual({ round, factors: ['recovery_code', 'totp'] })
      const rows = await s.db.all('SELECT c.id FROM {mfa_recovery_codes} c JOIN {mfa_factors} f ON f.id = c.factor_id WHERE f.user_id = ?', [u.id])
      expect(rows).toHaveLength(10)
    }
  }, 120_000)

  test('8 concurrent wrong recovery codes (10 rounds): five count, the fifth locks, three are refused as locked; then a right code is 429', async () => {
    for (let round = 0; round < 10; round++) {
      const u = await mfaUser(1, true)
      // Someone with the password only, guessing.
      const guesser = (await body<Tokens>(await login(s, u.email))).access_token
      const verify = (code: string) => s.req('/factors/recovery-codes/verify', { method: 'POST', headers: bearer(guesser), json: { code } })
      let n = 0
      const results = await burst(8, () => verify(`wrong-${round}-${n++}`))
      expect({ round, statuses: tally(results) }).toEqual({ round, statuses: { 422: 5, 429: 3 } })
      const right = await verify(u.codes[0] as string)
      expect({ round, status: right.status }).toEqual({ round, status: 429 })
      expect(await body(right)).toEqual({ code: 429, msg: 'Too many failed attempts: recovery codes are locked for a while' })
      const failed = await auditActions(s, u.id, 'challenge_failed')
      expect({ round, locked: failed.map((p) => (p.traits as { locked?: boolean }).locked).sort() }).toEqual({ round, locked: [false, false, false, false, true] })
    }
  }, 120_000)
})
