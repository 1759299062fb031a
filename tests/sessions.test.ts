// Sessions: one per sign-in (a refresh-token family). The user lists and ends them (GET and DELETE
// /user/sessions), admins do the same for any user they may see, and an ended session's access tokens are
// refused before their exp: at once on the node that ended it, within a second on any other (here: a write
// straight to the database, as another node would make it).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { dbTime } from '../lib/db/index.ts'
import { ipSummary, userAgentSummary } from '../lib/devices.ts'
import { type OAuthFake, startOAuthFake } from './fakes/oauth-provider.ts'
import { body, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { bearer, freshEmail, login, newUser, OPERATOR, PASSWORD, refresh, type Tokens } from './helpers.ts'

interface SessionJson { id: string; created_at: string; refreshed_at: string | null; not_after: string | null; user_agent: string; ip: string; aal: string; current: boolean }

let s: TestServer
beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_RATE_LIMIT_HEADER: 'X-Client-IP' } }) })
afterAll(() => s.stop())

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>
const list = async (token: string) => {
  const res = await s.req('/user/sessions', { headers: bearer(token) })
  expect(res.status).toBe(200)
  return (await body<{ sessions: SessionJson[] }>(res)).sessions
}
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
const auditOf = async (actorId: string, action: string) => (await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}'))
  .map((r) => JSON.parse(r.payload) as Record<string, unknown>).filter((p) => p.actor_id === actorId && p.action === action)

describe('GET /user/sessions', () => {
  test('one entry per sign-in, newest first, the caller\'s marked current, with coarse device and network only', async () => {
    const u = await newUser(s)
    const laptop = await body<Tokens>(await login(s, u.email, u.password, { 'user-agent': FIREFOX, 'x-client-ip': '203.0.113.77' }))
    const phone = await u.session()
    const sessions = await list(laptop.access_token)
    expect(sessions.map((x) => x.id)).toEqual([claimsOf(phone.access_token).session_id as string, claimsOf(laptop.access_token).session_id as string])
    expect(sessions.map((x) => x.current)).toEqual([false, true])
    expect(sessions[1]).toMatchObject({ user_agent: 'Firefox on Linux', ip: '203.0.113.0/24', aal: 'aal1', refreshed_at: null, not_after: null })
    expect(Date.parse(sessions[1]?.created_at ?? '')).toBeGreaterThan(Date.now() - 60_000)
    // Nothing finer than the summary is stored anywhere in the row.
    const row = await s.db.get<Record<string, unknown>>('SELECT user_agent, ip FROM {sessions} WHERE id = ?', [sessions[1]?.id ?? ''])
    expect(row).toEqual({ user_agent: 'Firefox on Linux', ip: '203.0.113.0/24' })
  })

  test('a refresh records refreshed_at and keeps the session id; the access token carries session_id and iat', async () => {
    const u = await newUser(s)
    const first = await u.session()
    const next = await body<Tokens>(await refresh(s, first.refresh_token))
    const c = claimsOf(next.access_token)
    expect(c.session_id).toBe(claimsOf(first.access_token).session_id)
    expect(typeof c.iat).toBe('number')
    const [only] = await list(next.access_token)
    expect(only?.id).toBe(c.session_id as string)
    expect(only?.refreshed_at).not.toBeNull()
    const refreshed = await auditOf(u.id, 'token_refreshed')
    expect(refreshed).toEqual([expect.objectContaining({ traits: { session_id: c.session_id } })])
    expect(await auditOf(u.id, 'session_created')).toEqual([expect.objectContaining({ traits: { session_id: c.session_id } })])
  })

  test('ended sessions are not listed', async () => {
    const u = await newUser(s)
    const a = await u.session()
    const b = await u.session()
    expect((await s.req(`/user/sessions/${claimsOf(b.access_token).session_id}`, { method: 'DELETE', headers: bearer(a.access_token) })).status).toBe(204)
    expect((await list(a.access_token)).map((x) => x.id)).toEqual([claimsOf(a.access_token).session_id as string])
  })
})

describe('DELETE /user/sessions/{id}', () => {
  test('ends that session: its refresh token fails and its access token is refused at once; audited', async () => {
    const u = await newUser(s)
    const laptop = await u.session()
    const phone = await u.session()
    const id = claimsOf(phone.access_token).session_id as string
    expect((await s.req('/user', { headers: bearer(phone.access_token) })).status).toBe(200) // cached as verified first
    const res = await s.req(`/user/sessions/${id}`, { method: 'DELETE', headers: bearer(laptop.access_token) })
    expect(res.status).toBe(204)
    const refused = await s.req('/user', { headers: bearer(phone.access_token) })
    expect(refused.status).toBe(401)
    expect(await body(refused)).toEqual({ code: 401, msg: 'Invalid token: session has ended' })
    expect((await s.req('/user', { method: 'PUT', headers: bearer(phone.access_token), json: { data: { a: 1 } } })).status).toBe(401)
    expect((await refresh(s, phone.refresh_token)).status).toBe(400)
    expect((await s.req('/user', { headers: bearer(laptop.access_token) })).status).toBe(200)
    expect(await auditOf(u.id, 'session_revoked')).toEqual([expect.objectContaining({ log_type: 'token', traits: { session_id: id, current: false } })])
  })

  test("someone else's session, an unknown id, an ended one or junk: 404 Session not found, and nothing ends", async () => {
    const u = await newUser(s)
    const mine = await u.session()
    const other = await (await newUser(s)).session()
    const ended = await u.session()
    const endedId = claimsOf(ended.access_token).session_id as string
    expect((await s.req(`/user/sessions/${endedId}`, { method: 'DELETE', headers: bearer(mine.access_token) })).status).toBe(204)
    for (const id of [claimsOf(other.access_token).session_id, crypto.randomUUID(), endedId, 'not-a-uuid']) {
      const res = await s.req(`/user/sessions/${id}`, { method: 'DELETE', headers: bearer(mine.access_token) })
      expect(res.status).toBe(404)
      expect(await body(res)).toEqual({ code: 404, msg: 'Session not found' })
    }
    expect((await s.req('/user', { headers: bearer(other.access_token) })).status).toBe(200)
    expect((await refresh(s, other.refresh_token)).status).toBe(200)
  })
})

describe('revocation written by another node', () => {
  test('GET /user refuses the token within a second of the row changing', async () => {
    const u = await newUser(s)
    const t = await u.session()
    expect((await s.req('/user', { headers: bearer(t.access_token) })).status).toBe(200)
    const started = performance.now()
    await s.db.run('UPDATE {sessions} SET revoked_at = ? WHERE id = ?', [dbTime(s.clock.now()), claimsOf(t.access_token).session_id as string])
    let status = 200
    while (status === 200 && performance.now() - started < 3000) {
      status = (await s.req('/user', { headers: bearer(t.access_token) })).status
      if (status === 200) await Bun.sleep(25)
    }
    expect(status).toBe(401)
    expect(performance.now() - started).toBeLessThan(1000)
  })
})

describe('admin: /admin/users/{id}/sessions', () => {
  test('lists a user\'s sessions, ends one, then all; the tokens are refused; audited as the admin', async () => {
    const u = await newUser(s)
    const a = await u.session()
    const b = await u.session()
    const listed = await s.req(`/admin/users/${u.id}/sessions`, { headers: OPERATOR })
    expect(listed.status).toBe(200)
    const sessions = (await body<{ sessions: SessionJson[] }>(listed)).sessions
    expect(sessions.map((x) => x.id).sort()).toEqual([claimsOf(a.access_token).session_id as string, claimsOf(b.access_token).session_id as string].sort())
    expect(sessions.every((x) => !x.current)).toBe(true)

    const one = await s.req(`/admin/users/${u.id}/sessions/${claimsOf(a.access_token).session_id}`, { method: 'DELETE', headers: OPERATOR })
    expect(one.status).toBe(204)
    expect((await s.req('/user', { headers: bearer(a.access_token) })).status).toBe(401)
    expect((await s.req('/user', { headers: bearer(b.access_token) })).status).toBe(200)
    expect((await s.req(`/admin/users/${u.id}/sessions/${claimsOf(a.access_token).session_id}`, { method: 'DELETE', headers: OPERATOR })).status).toBe(404)

    expect((await s.req(`/admin/users/${u.id}/sessions`, { method: 'DELETE', headers: OPERATOR })).status).toBe(204)
    expect((await s.req('/user', { headers: bearer(b.access_token) })).status).toBe(401)
    expect((await refresh(s, b.refresh_token)).status).toBe(400)
    expect((await body<{ sessions: unknown[] }>(await s.req(`/admin/users/${u.id}/sessions`, { headers: OPERATOR }))).sessions).toEqual([])
    const audit = await auditOf('00000000-0000-0000-0000-000000000000', 'session_revoked')
    expect(audit.filter((p) => (p.traits as Record<string, unknown>).user_id === u.id)).toHaveLength(2)
  })

  test('unknown user: 404; a bad id: 400; no admin token: 401', async () => {
    expect((await s.req(`/admin/users/${crypto.randomUUID()}/sessions`, { headers: OPERATOR })).status).toBe(404)
    expect((await s.req('/admin/users/nope/sessions', { headers: OPERATOR })).status).toBe(400)
    const u = await newUser(s)
    const t = await u.session()
    expect((await s.req(`/admin/users/${u.id}/sessions`, { headers: bearer(t.access_token) })).status).toBe(401)
  })
})

describe('GOTRUE_SESSIONS_SINGLE_PER_USER', () => {
  test('a new login ends every other session of the user, access tokens included', async () => {
    const single = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_SESSIONS_SINGLE_PER_USER: 'true' } })
    try {
      const u = await newUser(single)
      const first = await u.session()
      const second = await u.session()
      expect((await single.req('/user', { headers: bearer(first.access_token) })).status).toBe(401)
      expect((await refresh(single, first.refresh_token)).status).toBe(400)
      expect((await single.req('/user', { headers: bearer(second.access_token) })).status).toBe(200)
      const sessions = (await body<{ sessions: SessionJson[] }>(await single.req('/user/sessions', { headers: bearer(second.access_token) }))).sessions
      expect(sessions.map((x) => x.current)).toEqual([true])
    } finally {
      await single.stop()
    }
  })
})

describe('device summaries for every kind of sign-in', () => {
  let fake: OAuthFake
  let t: TestServer
  // Mail confirmations on (a signup is confirmed through /verify); clients named by X-Client-IP as in the file's server.
  beforeAll(async () => {
    fake = await startOAuthFake()
    t = await startServer({ env: { ...fake.env(), GOTRUE_RATE_LIMIT_HEADER: 'X-Client-IP' } })
  })
  afterAll(async () => { await t.stop(); await fake.stop() })
  const SAFARI = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'
  const only = async (token: string) => {
    const res = await t.req('/user/sessions', { headers: bearer(token) })
    expect(res.status).toBe(200)
    return (await body<{ sessions: SessionJson[] }>(res)).sessions
  }

  test('POST /verify: a signup confirmation and a recovery link record the browser and network that opened them', async () => {
    const email = freshEmail('verify-summary')
    expect((await t.req('/signup', { method: 'POST', json: { email, password: PASSWORD } })).status).toBe(200)
    const confirmation = tokenFromMail(await t.smtp.waitForMail(email), 'confirmation_token')
    const confirmed = await t.req('/verify', { method: 'POST', headers: { 'user-agent': FIREFOX, 'x-client-ip': '198.51.100.23' }, json: { type: 'signup', token: confirmation } })
    expect(confirmed.status).toBe(200)
    const first = await body<Tokens>(confirmed)
    expect(await only(first.access_token)).toEqual([expect.objectContaining({ user_agent: 'Firefox on Linux', ip: '198.51.100.0/24', current: true })])

    expect((await t.req('/recover', { method: 'POST', json: { email } })).status).toBe(200)
    const recovery = tokenFromMail(await t.smtp.waitForMail(email, { count: 2 }), 'recovery_token')
    const recovered = await t.req('/verify', { method: 'POST', headers: { 'user-agent': SAFARI, 'x-client-ip': '203.0.113.9' }, json: { type: 'recovery', token: recovery } })
    expect(recovered.status).toBe(200)
    // A recovery ends the other sessions: the one left is the recovering phone's.
    expect(await only((await body<Tokens>(recovered)).access_token)).toEqual([expect.objectContaining({ user_agent: 'Safari on iOS', ip: '203.0.113.0/24' })])
  })

  test('an external provider sign-in records the browser that came back to /callback', async () => {
    fake.setProfile('github', { id: 'summary-1', name: 'Grace Hopper', emails: [{ email: freshEmail('provider-summary'), verified: true, primary: true }] })
    const started = await t.req('/authorize?provider=github', { redirect: 'manual' })
    expect(started.status).toBe(302)
    const cookie = /^(gotrue-oauth-state=[^;]*)/.exec(started.headers.get('set-cookie') ?? '')?.[1] ?? ''
    const back = await fake.approve(started.headers.get('location') ?? '')
    const landed = await t.req(`/callback?${back}`, { redirect: 'manual', headers: { cookie, 'user-agent': FIREFOX, 'x-client-ip': '192.0.2.200' } })
    expect(landed.status).toBe(302)
    const hash = new URLSearchParams(new URL(landed.headers.get('location') ?? '').hash.slice(1))
    const access = hash.get('access_token') ?? ''
    expect(claimsOf(access).amr).toEqual([expect.objectContaining({ method: 'oauth' })])
    expect(await only(access)).toEqual([expect.objectContaining({ user_agent: 'Firefox on Linux', ip: '192.0.2.0/24', current: true })])
  })
})

describe('summaries', () => {
  test('user agent: browser and system without versions; other clients by product name', () => {
    expect(userAgentSummary('Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15')).toBe('Safari on macOS')
    expect(userAgentSummary('Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Edg/124.0')).toBe('Edge on Windows')
    expect(userAgentSummary('Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36')).toBe('Chrome on Android')
    expect(userAgentSummary('curl/8.5.0')).toBe('curl')
    expect(userAgentSummary('')).toBe('')
    expect(userAgentSummary('<script>')).toBe('')
  })

  test('network: IPv4 /24, IPv6 /48 from the /64 client key, nothing for anything else', () => {
    expect(ipSummary('198.51.100.23')).toBe('198.51.100.0/24')
    expect(ipSummary('2001:db8:85a3:1234::/64')).toBe('2001:db8:85a3::/48')
    expect(ipSummary('proxy.example')).toBe('')
  })
})
