// The refresh grant racing the session-ending paths tests/refresh-races.test.ts does not cover (admin ends, admin
// password reset, user deletion, single session per user, a grace-window replay racing a logout, a family from
// before sessions were recorded). After both answered: no live token of the family, the
// session revoked (or the user gone), and no token the grant answered works.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sha256 } from '../lib/crypto.ts'
import { body, startServer, type TestServer } from './harness.ts'
import { bearer, newUser, OPERATOR, PASSWORD, refresh, type Tokens } from './helpers.ts'

const familyOf = async (s: TestServer, raw: string) =>
  (await s.db.get<{ family_id: string }>('SELECT family_id FROM {refresh_tokens} WHERE token_hash = ?', [sha256(raw)]))?.family_id ?? ''
async function familyState(s: TestServer, familyId: string) {
  const live = await s.db.all<{ id: string }>('SELECT id FROM {refresh_tokens} WHERE family_id = ? AND revoked = 0', [familyId])
  const row = await s.db.get<{ revoked_at: string | null }>('SELECT revoked_at FROM {sessions} WHERE id = ?', [familyId])
  return { live: live.length, revoked: row === null ? 'no row' : !!row.revoked_at }
}
const sid = (t: Tokens) => JSON.parse(atob(t.access_token.split('.')[1] ?? '')).session_id as string

describe('refresh racing more session-ending paths', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true' } }) })
  afterAll(() => s.stop())

  type U = Awaited<ReturnType<typeof newUser>>
  const enders: [string, (u: U, v: Tokens) => Promise<Response>, boolean][] = [
    ['admin DELETE one session', (u, v) => s.req(`/admin/users/${u.id}/sessions/${sid(v)}`, { method: 'DELETE', headers: OPERATOR }), false],
    ['admin DELETE all sessions', (u) => s.req(`/admin/users/${u.id}/sessions`, { method: 'DELETE', headers: OPERATOR }), false],
    ['admin password reset', (u) => s.req(`/admin/users/${u.id}`, { method: 'PUT', headers: OPERATOR, json: { password: `${PASSWORD}-${crypto.randomUUID()}` } }), false],
    ['admin user deletion', (u) => s.req(`/admin/users/${u.id}`, { method: 'DELETE', headers: OPERATOR }), true],
  ]
  for (const [name, end, gone] of enders) {
    test(`${name} vs refresh, 30 rounds`, async () => {
      for (let round = 0; round < 30; round++) {
        const u = await newUser(s)
        const v = await u.session()
        const family = await familyOf(s, v.refresh_token)
        const [r, e] = await Promise.all([
          (async () => { await Bun.sleep(round % 3); return refresh(s, v.refresh_token) })(),
          (async () => { await Bun.sleep((round >> 2) % 3); return end(u, v) })(),
        ])
        expect(e.status).toBeLessThan(300)
        expect([200, 400]).toContain(r.status)
        expect(await familyState(s, family)).toEqual({ live: 0, revoked: gone ? 'no row' : true })
        const issued = r.status === 200 ? (await body<Tokens>(r)).refresh_token : v.refresh_token
        expect((await refresh(s, issued)).status).toBe(400)
      }
    }, 60_000)
  }

  test('grace-window replay of T0 racing a local logout with T1 (30 rounds)', async () => {
    for (let round = 0; round < 30; round++) {
      const u = await newUser(s)
      const t0 = await u.session()
      const t1 = await body<Tokens>(await refresh(s, t0.refresh_token))
      const family = await familyOf(s, t1.refresh_token)
      const [r, e] = await Promise.all([
        (async () => { await Bun.sleep(round % 3); return refresh(s, t0.refresh_token) })(),
        (async () => { await Bun.sleep((round >> 2) % 3); return s.req('/logout?scope=local', { method: 'POST', headers: bearer(t1.access_token) }) })(),
      ])
      expect(e.status).toBe(204)
      expect([200, 400]).toContain(r.status)
      expect(await familyState(s, family)).toEqual({ live: 0, revoked: true })
      if (r.status === 200) expect((await refresh(s, (await body<Tokens>(r)).refresh_token)).status).toBe(400)
    }
  }, 60_000)

  test('a family from before sessions were recorded: refresh racing a local logout (30 rounds); alone, it rotates and records the session', async () => {
    const u0 = await newUser(s)
    const a = await u0.session()
    const fa = await familyOf(s, a.refresh_token)
    await s.db.run('DELETE FROM {sessions} WHERE id = ?', [fa])
    const r0 = await refresh(s, a.refresh_token)
    expect(r0.status).toBe(200)
    const next = await body<Tokens>(r0)
    expect(next.refresh_token).not.toBe(a.refresh_token)
    expect(await familyState(s, fa)).toEqual({ live: 1, revoked: false })
    expect((await refresh(s, a.refresh_token)).status).toBe(200) // grace window: the same successor
    expect((await refresh(s, next.refresh_token)).status).toBe(200)
    for (let round = 0; round < 30; round++) {
      const u = await newUser(s)
      const v = await u.session()
      const family = await familyOf(s, v.refresh_token)
      await s.db.run('DELETE FROM {sessions} WHERE id = ?', [family])
      const [r, e] = await Promise.all([
        (async () => { await Bun.sleep(round % 3); return refresh(s, v.refresh_token) })(),
        (async () => { await Bun.sleep((round >> 2) % 3); return s.req('/logout?scope=local', { method: 'POST', headers: bearer(v.access_token) }) })(),
      ])
      expect(e.status).toBe(204)
      expect([200, 400]).toContain(r.status)
      const st = await familyState(s, family)
      expect(st.live).toBe(0)
      expect(st.revoked).not.toBe(false) // a row the grant recorded is revoked by the logout
      if (r.status === 200) expect((await refresh(s, (await body<Tokens>(r)).refresh_token)).status).toBe(400)
    }
  }, 60_000)
})

describe('GOTRUE_SESSIONS_SINGLE_PER_USER: a login racing the refresh of the earlier session', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_SESSIONS_SINGLE_PER_USER: 'true' } }) })
  afterAll(() => s.stop())

  test('30 rounds: the earlier family ends whatever the order', async () => {
    for (let round = 0; round < 30; round++) {
      const u = await newUser(s)
      const v = await u.session()
      const family = await familyOf(s, v.refresh_token)
      const [r, l] = await Promise.all([
        (async () => { await Bun.sleep(round % 3); return refresh(s, v.refresh_token) })(),
        (async () => { await Bun.sleep((round >> 2) % 3); return u.session() })(),
      ])
      expect(l.refresh_token).toBeTruthy()
      expect([200, 400]).toContain(r.status)
      expect(await familyState(s, family)).toEqual({ live: 0, revoked: true })
      if (r.status === 200) expect((await refresh(s, (await body<Tokens>(r)).refresh_token)).status).toBe(400)
    }
  }, 60_000)
})
