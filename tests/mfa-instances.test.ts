// MFA in operator (multi-instance) mode: two sites created through the operator API. A user of site A enrolls and
// verifies a TOTP factor (codes computed here, not by the server) and reaches aal2; nobody at site B, user or admin,
// can challenge, verify, list or delete that factor, and B's failed tries do not spend A's per-factor budget. The
// secret is sealed at rest, bound to A's instance and the factor: it opens for A only.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHash } from 'node:crypto'
import { signAccessToken, signHS256 } from '../lib/jwt.ts'
import { openValue } from '../lib/sealing.ts'
import { body, form, startServer, type TestServer } from './harness.ts'
import { bearer, freshEmail, OPERATOR, PASSWORD, type Tokens, totp } from './helpers.ts'

const KEY = 'encryption-key-for-instance-secrets-in-tests'
const MULTI = { GOTRUE_MULTIINSTANCEMODE: 'true', GOTRUE_DB_ENCRYPTION_KEY: KEY }
type Json = Record<string, unknown>
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Json

describe('MFA with two sites in one server', () => {
  let s: TestServer
  const site = { a: { id: '', secret: 'jwt-secret-of-mfa-site-a-long-enough-for-hs256' }, b: { id: '', secret: 'jwt-secret-of-mfa-site-b-long-enough-for-hs256' } }
  /** A request to a site, with the x-nf-sign header the operator's proxy adds. */
  const on = async (id: string, path: string, init: RequestInit & { json?: unknown } = {}) =>
    s.req(path, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-nf-sign': await signHS256({ id }, 'operator-token-for-tests', undefined) } })
  /** A site's system admin: `sub` 0 signed with that site's own secret. */
  const systemAdmin = async (secret: string) =>
    bearer(await signAccessToken({ sub: '0', exp: Math.floor(Date.now() / 1000) + 600, email: '', app_metadata: null, user_metadata: null }, secret))
  const user = async (id: string) => {
    const email = freshEmail('mfa-site')
    const made = await on(id, '/admin/users', { method: 'POST', headers: OPERATOR, json: { email, password: PASSWORD, confirm: true } })
    expect(made.status).toBe(200)
    const res = await on(id, '/token', form({ grant_type: 'password', username: email, password: PASSWORD }))
    expect(res.status).toBe(200)
    return { id: (await body<{ id: string }>(made)).id, email, tokens: await body<Tokens>(res) }
  }
  /** Challenge a factor at a site, then verify that challenge with `code` (the challenge's refusal, if it is refused). */
  const verify = async (id: string, token: string, factorId: string, code: string) => {
    const ch = await on(id, `/factors/${factorId}/challenge`, { method: 'POST', headers: bearer(token) })
    if (ch.status !== 200) return ch
    return on(id, `/factors/${factorId}/verify`, { method: 'POST', headers: bearer(token), json: { challenge_id: (await body<{ id: string }>(ch)).id, code } })
  }

  beforeAll(async () => {
    s = await startServer({ env: MULTI })
    for (const tag of ['a', 'b'] as const) {
      const res = await s.req('/instances', { method: 'POST', headers: OPERATOR, json: { uuid: crypto.randomUUID(), config: { site_url: `https://${tag}.example.org`, jwt: { secret: site[tag].secret } } } })
      expect(res.status).toBe(201)
      site[tag].id = (await body<{ id: string }>(res)).id
    }
  })
  afterAll(() => s.stop())

  test("a factor of site A: aal2 at A; nobody at B challenges, verifies, lists or deletes it; its secret opens for A only", async () => {
    const alice = await user(site.a.id)
    const bob = await user(site.b.id)

    // Enroll and verify at A: aal2, for the same session.
    const enrolled = await on(site.a.id, '/factors', { method: 'POST', headers: bearer(alice.tokens.access_token), json: { factor_type: 'totp', friendly_name: 'phone' } })
    expect(enrolled.status).toBe(200)
    const factor = await body<{ id: string; totp: { secret: string } }>(enrolled)
    const ok = await verify(site.a.id, alice.tokens.access_token, factor.id, totp(factor.totp.secret, s.clock.now().getTime()))
    expect(ok.status).toBe(200)
    const aal2 = await body<Tokens>(ok)
    expect(claimsOf(aal2.access_token)).toMatchObject({ aal: 'aal2', session_id: claimsOf(alice.tokens.access_token).session_id })
    const sessions = await body<{ sessions: { aal: string; next_level: string }[] }>(await on(site.a.id, '/user/sessions', { headers: bearer(aal2.access_token) }))
    expect(sessions.sessions.map((x) => [x.aal, x.next_level])).toEqual([['aal2', 'aal2']])

    // A user of B, with the factor's id and even a right code: it is no factor of theirs (404, as an unknown id).
    s.clock.advance(30)
    const code = totp(factor.totp.secret, s.clock.now().getTime())
    const bobAuth = bearer(bob.tokens.access_token)
    for (const res of [
      await on(site.b.id, `/factors/${factor.id}/challenge`, { method: 'POST', headers: bobAuth }),
      await on(site.b.id, `/factors/${factor.id}/verify`, { method: 'POST', headers: bobAuth, json: { challenge_id: crypto.randomUUID(), code } }),
      await on(site.b.id, `/factors/${factor.id}`, { method: 'DELETE', headers: bobAuth }),
    ]) {
      expect(res.status).toBe(404)
      expect(await body(res)).toMatchObject({ code: 404 })
    }
    // A's own tokens do not pass at B (another signing secret).
    expect((await on(site.b.id, `/factors/${factor.id}`, { method: 'DELETE', headers: bearer(aal2.access_token) })).status).toBe(401)

    // B's admins (B's system token, the operator token sent to B) reach no user of A, so none of A's factors.
    for (const admin of [await systemAdmin(site.b.secret), OPERATOR]) {
      const listed = await on(site.b.id, `/admin/users/${alice.id}/factors`, { headers: admin })
      expect(listed.status).toBe(404)
      expect(await body(listed)).toEqual({ code: 404, msg: 'User not found' })
      expect((await on(site.b.id, `/admin/users/${alice.id}/factors/${factor.id}`, { method: 'DELETE', headers: admin })).status).toBe(404)
      expect((await on(site.b.id, `/admin/users/${bob.id}/factors/${factor.id}`, { method: 'DELETE', headers: admin })).status).toBe(404)
      expect(await body<unknown[]>(await on(site.b.id, `/admin/users/${bob.id}/factors`, { headers: admin }))).toEqual([])
    }

    // Failed tries at B count against B's keys: A's per-factor budget (5 in 5 minutes) is untouched.
    for (let i = 0; i < 6; i++) await on(site.b.id, `/factors/${factor.id}/verify`, { method: 'POST', headers: bobAuth, json: { challenge_id: crypto.randomUUID(), code } })
    const listed = await on(site.a.id, `/admin/users/${alice.id}/factors`, { headers: await systemAdmin(site.a.secret) })
    expect((await body<{ id: string; status: string }[]>(listed)).map((f) => [f.id, f.status])).toEqual([[factor.id, 'verified']])
    expect((await verify(site.a.id, aal2.access_token, factor.id, code)).status).toBe(200)

    // Sealed at rest: not the secret, and bound to A's instance and this factor (the key alone does not open it for B).
    const row = await s.db.get<{ instance_id: string; secret: string }>('SELECT instance_id, secret FROM {mfa_factors} WHERE id = ?', [factor.id])
    expect(row?.instance_id).toBe(site.a.id)
    expect(row?.secret).toStartWith('enc:v2:')
    expect(row?.secret).not.toContain(factor.totp.secret)
    const key = createHash('sha256').update(KEY).digest()
    expect(openValue(key, row?.secret ?? '', `${site.a.id}/mfa_factors/${factor.id}`)).toBe(factor.totp.secret)
    expect(() => openValue(key, row?.secret ?? '', `${site.b.id}/mfa_factors/${factor.id}`)).toThrow()
  })

  test('the aal rules hold per site: a password token of a user of B with a verified factor is aal1 and cannot remove it', async () => {
    const bob = await user(site.b.id)
    const f = await body<{ id: string; totp: { secret: string } }>(await on(site.b.id, '/factors', { method: 'POST', headers: bearer(bob.tokens.access_token), json: { factor_type: 'totp' } }))
    expect((await verify(site.b.id, bob.tokens.access_token, f.id, totp(f.totp.secret, s.clock.now().getTime()))).status).toBe(200)
    const again = await on(site.b.id, '/token', form({ grant_type: 'password', username: bob.email, password: PASSWORD }))
    const aal1 = await body<Tokens>(again)
    expect(claimsOf(aal1.access_token).aal).toBe('aal1')
    const removed = await on(site.b.id, `/factors/${f.id}`, { method: 'DELETE', headers: bearer(aal1.access_token) })
    expect(removed.status).toBe(403)
    expect(await body(removed)).toEqual({ code: 403, msg: 'AAL2 required' })
  })
})
