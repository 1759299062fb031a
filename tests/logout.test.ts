// POST /logout: 204 without a body or JSON type (gotrue-js would choke on one), the cookie cleared, every
// session of the user ended (all devices, as GoTrue does) or, with ?scope=local|others, the caller's alone or
// all but it; the ended sessions' access tokens are refused from then on.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { signAccessToken } from '../lib/jwt.ts'
import { body, JWT_SECRET, startServer, type TestServer } from './harness.ts'
import { bearer, newUser, refresh, type Tokens } from './helpers.ts'

let s: TestServer
beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true' } }) })
afterAll(() => s.stop())

// As gotrue-js sends it: no body and no Content-Type.
const logout = (headers: Record<string, string>) => s.req('/logout', { method: 'POST', headers })

describe('POST /logout', () => {
  test('204, empty body, no JSON content type, and the nf_jwt cookie cleared', async () => {
    const u = await newUser(s)
    const { access_token } = await u.session()
    const res = await logout(bearer(access_token))
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    expect(res.headers.get('content-type') ?? '').not.toContain('json')
    const cookie = res.headers.get('set-cookie') ?? ''
    expect(cookie).toStartWith('nf_jwt=;')
    expect(cookie).toContain('Max-Age=0')
    expect(cookie).toContain('HttpOnly')
  })

  test('every refresh token of the user stops working, on every device; other users keep theirs', async () => {
    const u = await newUser(s)
    const laptop = await u.session()
    const phone = await u.session()
    const rotated = await body<Tokens>(await refresh(s, phone.refresh_token))
    const bystander = await (await newUser(s)).session()

    expect((await logout(bearer(laptop.access_token))).status).toBe(204)
    for (const token of [laptop.refresh_token, phone.refresh_token, rotated.refresh_token]) {
      const res = await refresh(s, token)
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: 'Invalid Refresh Token' })
    }
    expect(await s.db.all('SELECT id FROM {refresh_tokens} WHERE user_id = ?', [u.id])).toHaveLength(0)
    expect((await refresh(s, bystander.refresh_token)).status).toBe(200)
  })

  test('is audited as logout by the user', async () => {
    const u = await newUser(s)
    expect((await logout(bearer((await u.session()).access_token))).status).toBe(204)
    const entries = (await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}'))
      .map((r) => JSON.parse(r.payload) as Record<string, unknown>).filter((p) => p.actor_id === u.id && p.action === 'logout')
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ actor_email: u.email, log_type: 'account' })
  })

  test('no token: 401 This endpoint requires a Bearer token', async () => {
    const res = await logout({})
    expect(res.status).toBe(401)
    expect(await body(res)).toEqual({ code: 401, msg: 'This endpoint requires a Bearer token' })
  })

  test('a token of a deleted user: 401 Invalid user, and the cookie is still cleared', async () => {
    const u = await newUser(s)
    const { access_token } = await u.session()
    await s.db.run('DELETE FROM {users} WHERE id = ?', [u.id]) // setup: the admin delete route is not built yet
    const res = await logout(bearer(access_token))
    expect(res.status).toBe(401)
    expect(await body(res)).toEqual({ code: 401, msg: 'Invalid user' })
    expect(res.headers.get('set-cookie') ?? '').toContain('Max-Age=0')
  })

  test('a system-user token (sub "0") is accepted: 204', async () => {
    const token = await signAccessToken({
      sub: '0', aud: 'api.netlify.com', exp: Math.floor(Date.now() / 1000) + 600, email: 'ops@example.com', app_metadata: {}, user_metadata: {},
    }, JWT_SECRET)
    expect((await logout(bearer(token))).status).toBe(204)
  })

  test('the access token of an ended session is refused at once; a token without session_id lives until it expires', async () => {
    const u = await newUser(s)
    const { access_token } = await u.session()
    expect((await logout(bearer(access_token))).status).toBe(204)
    const after = await s.req('/user', { headers: bearer(access_token) })
    expect(after.status).toBe(401)
    expect(await body(after)).toEqual({ code: 401, msg: 'Invalid token: session has ended' })
    // Tokens minted before sessions were named carry no session_id: nothing to end them by but exp.
    const legacy = await signAccessToken({ sub: u.id, aud: 'api.netlify.com', exp: Math.floor(Date.now() / 1000) + 600, email: u.email, app_metadata: {}, user_metadata: {} }, JWT_SECRET)
    expect((await logout(bearer(legacy))).status).toBe(204)
    expect((await s.req('/user', { headers: bearer(legacy) })).status).toBe(200)
  })
})

describe('POST /logout?scope=', () => {
  const sessionsOf = async (token: string) =>
    (await body<{ sessions: { id: string; current: boolean }[] }>(await s.req('/user/sessions', { headers: bearer(token) }))).sessions

  test('local ends only the caller\'s session: its refresh and access tokens; the other device goes on', async () => {
    const u = await newUser(s)
    const laptop = await u.session()
    const phone = await u.session()
    expect((await s.req('/logout?scope=local', { method: 'POST', headers: bearer(laptop.access_token) })).status).toBe(204)
    expect((await s.req('/user', { headers: bearer(laptop.access_token) })).status).toBe(401)
    expect((await refresh(s, laptop.refresh_token)).status).toBe(400)
    expect((await s.req('/user', { headers: bearer(phone.access_token) })).status).toBe(200)
    expect((await refresh(s, phone.refresh_token)).status).toBe(200)
  })

  test('others ends every session but the caller\'s', async () => {
    const u = await newUser(s)
    const laptop = await u.session()
    const phone = await u.session()
    const tablet = await u.session()
    expect((await s.req('/logout?scope=others', { method: 'POST', headers: bearer(laptop.access_token) })).status).toBe(204)
    const left = await sessionsOf(laptop.access_token)
    expect(left).toHaveLength(1)
    expect(left[0]?.current).toBe(true)
    for (const t of [phone, tablet]) {
      expect((await s.req('/user', { headers: bearer(t.access_token) })).status).toBe(401)
      expect((await refresh(s, t.refresh_token)).status).toBe(400)
    }
    expect((await refresh(s, laptop.refresh_token)).status).toBe(200)
    const audit = (await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}'))
      .map((r) => JSON.parse(r.payload) as Record<string, unknown>).filter((p) => p.actor_id === u.id && p.action === 'session_revoked')
    expect(audit).toEqual([expect.objectContaining({ traits: { scope: 'others', sessions: 2 } })])
  })

  test('global (the default, spelled out) ends them all', async () => {
    const u = await newUser(s)
    const a = await u.session()
    const b = await u.session()
    expect((await s.req('/logout?scope=global', { method: 'POST', headers: bearer(a.access_token) })).status).toBe(204)
    for (const t of [a, b]) expect((await s.req('/user', { headers: bearer(t.access_token) })).status).toBe(401)
  })

  test('an unknown scope: 400, and nothing ends', async () => {
    const u = await newUser(s)
    const a = await u.session()
    const res = await s.req('/logout?scope=everyone', { method: 'POST', headers: bearer(a.access_token) })
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: 'Unsupported logout scope "everyone"' })
    expect((await s.req('/user', { headers: bearer(a.access_token) })).status).toBe(200)
  })
})
