// Security properties across every flow, on one server: after signup+confirm, login, refresh, recovery, invite,
// an email change request and a logout, a dump of every table holds no raw token (from any mail or token
// response), no clear-text password, and nothing that would let a reader use a still-live refresh or one-time
// token. Every response of those flows says `Cache-Control: no-store`. A refresh token only ever yields its own
// user, and an access token signed with another secret is refused.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sha256 } from '../lib/crypto.ts'
import { signAccessToken, signHS256 } from '../lib/jwt.ts'
import { body, form, startServer, tokenFromMail, type TestServer } from './harness.ts'
import { bearer, OPERATOR } from './helpers.ts'

type Json = Record<string, unknown>
interface Session { access_token: string; refresh_token: string }

let s: TestServer
const seen: { what: string; status: number; cacheControl: string | null }[] = []
const rawTokens = new Map<string, string>() // raw token → where it came from
const passwords: string[] = []
const ended: string[] = [] // refresh tokens of sessions a recovery ended
const live = { refresh: [] as string[], recovery: '', invite: '', emailChange: '', emailChangeAccess: '' }
const ids: Record<'a' | 'b' | 'd', string> = { a: '', b: '', d: '' }
const emails = { a: 'sec-a@example.com', b: 'sec-b@example.com', c: 'sec-c@example.com', d: 'sec-d@example.com', e: 'sec-e@example.com', a2: 'sec-a2@example.com' }

/** Every request of the flows goes through here, so its Cache-Control is checked and its tokens collected. */
async function call(what: string, path: string, init: RequestInit & { json?: unknown } = {}, expected = 200): Promise<Json> {
  const res = await s.req(path, init)
  seen.push({ what, status: res.status, cacheControl: res.headers.get('cache-control') })
  const text = await res.text()
  if (res.status !== expected) throw new Error(`${what}: expected ${expected}, got ${res.status}: ${text}`)
  const json = text ? (JSON.parse(text) as Json) : {}
  for (const k of ['access_token', 'refresh_token'] as const) if (typeof json[k] === 'string') rawTokens.set(json[k] as string, `${what} ${k}`)
  return json
}
async function mailToken(to: string, key: Parameters<typeof tokenFromMail>[1], count = 1): Promise<string> {
  const raw = tokenFromMail(await s.smtp.waitForMail(to, { count }), key)
  rawTokens.set(raw, `${key} mailed to ${to}`)
  return raw
}
const pw = (p: string) => { passwords.push(p); return p }
const login = (what: string, email: string, password: string) =>
  call(what, '/token', form({ grant_type: 'password', username: email, password })) as Promise<Json & Session>

/** signup → confirmation mail → verify; returns the session the verify issued. */
async function signedUp(who: 'a' | 'b', password: string): Promise<Session> {
  const user = await call(`signup ${who}`, '/signup', { method: 'POST', json: { email: emails[who], password: pw(password) } })
  ids[who] = user.id as string
  const token = await mailToken(emails[who], 'confirmation_token')
  return (await call(`verify signup ${who}`, '/verify', { method: 'POST', json: { type: 'signup', token } })) as Json & Session
}

/** Every row of every table of this server's database, as one string. */
async function dumpDatabase(): Promise<{ tables: Record<string, Json[]>; text: string }> {
  const ns = s.deps.config.db.namespace
  const names = s.db.dialect === 'mysql'
    ? (await s.db.all<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [`${ns}\\_%`])).map((r) => r.t)
    : (await s.db.all<{ t: string }>("SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")).map((r) => r.t)
  const tables: Record<string, Json[]> = {}
  for (const name of names) tables[name.slice(ns ? ns.length + 1 : 0)] = await s.db.all<Json>(`SELECT * FROM \`${name}\``)
  return { tables, text: JSON.stringify(tables) }
}

/** The forms a token could be stored in and still be usable: as sent, and its decoded bytes as hex. */
const storedForms = (raw: string) => [raw, Buffer.from(raw, 'base64url').toString('hex')]

beforeAll(async () => {
  s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'false' } })
  const operator = bearer('operator-token-for-tests')

  // A: signup + confirm, login, refresh, recovery, an email change left pending.
  const a1 = await signedUp('a', 'alpha password one')
  ended.push(a1.refresh_token)
  const a2 = await login('login a', emails.a, 'alpha password one')
  const a3 = (await call('refresh a', '/token', form({ grant_type: 'refresh_token', refresh_token: a2.refresh_token }))) as Json & Session
  ended.push(a3.refresh_token) // the recovery below ends these sessions
  await call('recover a', '/recover', { method: 'POST', json: { email: emails.a } })
  const recovery = await mailToken(emails.a, 'recovery_token', 2)
  const a4 = (await call('verify recovery a', '/verify', { method: 'POST', json: { type: 'recovery', token: recovery } })) as Json & Session
  await call('password change a', '/user', { method: 'PUT', json: { password: pw('alpha password two') }, headers: bearer(a4.access_token) })
  live.refresh.push(a4.refresh_token)
  await call('email change a', '/user', { method: 'PUT', json: { email: emails.a2 }, headers: bearer(a4.access_token) })
  live.emailChange = await mailToken(emails.a2, 'email_change_token')
  live.emailChangeAccess = a4.access_token

  // B: two sessions; logging out from the second revokes both.
  await signedUp('b', 'bravo password')
  await login('login b #1', emails.b, 'bravo password')
  const b2 = await login('login b #2', emails.b, 'bravo password')
  await call('logout b', '/logout', { method: 'POST', headers: bearer(b2.access_token) }, 204)

  // C: invited (invite never used), then a recovery mail is requested for C and left unused.
  await call('invite c', '/invite', { method: 'POST', json: { email: emails.c }, headers: operator })
  await mailToken(emails.c, 'invite_token')
  await call('recover c', '/recover', { method: 'POST', json: { email: emails.c } })
  live.recovery = await mailToken(emails.c, 'recovery_token', 2)

  // D: invited and accepted with a password. E: invited, still pending.
  const d = await call('invite d', '/invite', { method: 'POST', json: { email: emails.d }, headers: operator })
  ids.d = d.id as string
  const invite = await mailToken(emails.d, 'invite_token')
  const d1 = (await call('accept invite d', '/verify', { method: 'POST', json: { type: 'signup', token: invite, password: pw('delta password') } })) as Json & Session
  live.refresh.push(d1.refresh_token)
  await call('invite e', '/invite', { method: 'POST', json: { email: emails.e }, headers: operator })
  live.invite = await mailToken(emails.e, 'invite_token')
})
afterAll(async () => { await s.stop() })

describe('what a database dump reveals after every flow', () => {
  test('no raw token from any mail or token response appears in any table', async () => {
    const { tables, text } = await dumpDatabase()
    for (const t of ['users', 'refresh_tokens', 'one_time_tokens', 'audit_log_entries']) expect(tables[t]?.length ?? 0).toBeGreaterThan(0)
    const kinds = [...rawTokens.values()]
    expect(kinds.filter((w) => w.endsWith('refresh_token') && !w.startsWith('login d')).length).toBe(8) // 8 sessions issued or rotated
    expect(kinds.filter((w) => w.includes(' mailed to ')).length).toBe(8) // 8 links mailed
    const leaks = [...rawTokens].filter(([raw]) => storedForms(raw).some((f) => text.toLowerCase().includes(f.toLowerCase())))
    expect(leaks.map(([, where]) => where)).toEqual([])
    // Sanity: the dump is the real store, which keys tokens by their SHA-256.
    expect(text).toContain(sha256(live.refresh[0]!))
    expect(text).toContain(sha256(live.invite))
  })

  test('no password in clear: encrypted_password is a bcrypt hash, or empty for a pending invite', async () => {
    const { tables, text } = await dumpDatabase()
    for (const p of passwords) expect(text).not.toContain(p)
    const byEmail = new Map((tables.users ?? []).map((u) => [u.email as string, u.encrypted_password as string]))
    for (const email of [emails.a, emails.b, emails.c, emails.d, emails.e]) expect(byEmail.has(email)).toBe(true)
    for (const [email, hash] of byEmail) {
      if (email === emails.c || email === emails.e) expect(hash).toBe('') // invited, never set a password
      else expect(hash).toMatch(/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/)
    }
  })

  test('the tokens still live at the end are absent from the dump, yet work', async () => {
    const { text } = await dumpDatabase()
    const pending = [...live.refresh, live.recovery, live.invite, live.emailChange]
    for (const raw of pending) for (const f of storedForms(raw)) expect(text).not.toContain(f)
    // ...and they really were live: each one still does its job over HTTP.
    for (const rt of live.refresh) {
      expect((await s.req('/token', form({ grant_type: 'refresh_token', refresh_token: rt }))).status).toBe(200)
    }
    expect((await s.req('/verify', { method: 'POST', json: { type: 'recovery', token: live.recovery } })).status).toBe(200)
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token: live.invite, password: 'echo password' } })).status).toBe(200)
    const changed = await s.req('/user', { method: 'PUT', json: { email_change_token: live.emailChange }, headers: bearer(live.emailChangeAccess) })
    expect(changed.status).toBe(200)
    expect((await body(changed)).email).toBe(emails.a2)
  })
})

describe('responses and tokens', () => {
  test('every response of the flows carried Cache-Control: no-store', () => {
    expect(seen.length).toBeGreaterThanOrEqual(18) // the 18 requests of the flows (beforeAll)
    expect(seen.filter((r) => r.cacheControl !== 'no-store')).toEqual([])
    expect(seen.some((r) => r.status === 204)).toBe(true) // the logout is among them
  })

  test('the logged-out user\'s refresh tokens are refused', async () => {
    const bRefresh = [...rawTokens].filter(([, where]) => / b( #\d)? refresh_token$/.test(where)).map(([raw]) => raw)
    expect(bRefresh.length).toBe(3)
    for (const rt of bRefresh) {
      const res = await s.req('/token', form({ grant_type: 'refresh_token', refresh_token: rt }))
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: 'Invalid Refresh Token' })
    }
  })

  test('the sessions from before a recovery are ended: their refresh tokens are refused', async () => {
    expect(ended).toHaveLength(2)
    for (const rt of ended) expect((await s.req('/token', form({ grant_type: 'refresh_token', refresh_token: rt }))).status).toBe(400)
  })

  test('a refresh token yields only its own user, whatever else the request claims', async () => {
    const d = await login('login d', emails.d, 'delta password')
    const res = await s.req('/token', form({ grant_type: 'refresh_token', refresh_token: d.refresh_token, username: emails.b, password: 'bravo password' }))
    expect(res.status).toBe(200)
    const session = await body<Session>(res)
    const claims = JSON.parse(Buffer.from(session.access_token.split('.')[1] ?? '', 'base64url').toString()) as Json
    expect([claims.sub, claims.email]).toEqual([ids.d, emails.d])
    const me = await body(await s.req('/user', { headers: bearer(session.access_token) }))
    expect([me.id, me.email]).toEqual([ids.d, emails.d])
  })

  test('an access token signed with a different secret is refused, for users and admins alike', async () => {
    const exp = Math.floor(Date.now() / 1000) + 3600
    const forged = await signAccessToken({ aud: 'api.netlify.com', exp, sub: ids.a, email: emails.a, app_metadata: {}, user_metadata: {} }, 'some-other-secret-that-is-long-enough')
    const res = await s.req('/user', { headers: bearer(forged) })
    expect(res.status).toBe(401)
    expect(await body(res)).toEqual({ code: 401, msg: 'Invalid token: signature is invalid' })
    const admin = await signAccessToken({ exp, sub: '0', email: 'root@example.com', app_metadata: {}, user_metadata: {} }, 'some-other-secret-that-is-long-enough')
    const invite = await s.req('/invite', { method: 'POST', json: { email: 'forged@example.com' }, headers: bearer(admin) })
    expect(invite.status).toBe(401)
    expect(await body(invite)).toEqual({ code: 401, msg: 'Invalid token: signature is invalid' })
    expect(s.smtp.mailsTo('forged@example.com')).toEqual([])
  })
})

describe('an instance\'s replaced JWT secret (multi-instance)', () => {
  let m: TestServer
  beforeAll(async () => {
    m = await startServer({ env: { GOTRUE_MULTIINSTANCEMODE: 'true', GOTRUE_DB_ENCRYPTION_KEY: 'encryption-key-for-instance-secrets-in-tests' } })
  })
  afterAll(() => m.stop())

  test('a token signed with the old secret, already verified (and cached), is refused right after the update', async () => {
    const oldSecret = 'the-first-secret-of-this-site-long-enough'
    const newSecret = 'the-second-secret-of-this-site-long-enough'
    const created = await m.req('/instances', { method: 'POST', headers: OPERATOR, json: { uuid: crypto.randomUUID(), config: { site_url: 'https://rotate.example.org', jwt: { secret: oldSecret } } } })
    expect(created.status).toBe(201)
    const id = (await body(created)).id as string
    const system = (secret: string) => signAccessToken({ sub: '0', exp: Math.floor(Date.now() / 1000) + 600, email: '', app_metadata: null, user_metadata: null }, secret)
    const list = async (token: string) => m.req('/admin/users', { headers: { authorization: `Bearer ${token}`, 'x-nf-sign': await signHS256({ id }, 'operator-token-for-tests', undefined) } })
    const old = await system(oldSecret)
    expect((await list(old)).status).toBe(200)
    expect((await list(old)).status).toBe(200) // a cache hit now
    expect((await m.req(`/instances/${id}`, { method: 'PUT', headers: OPERATOR, json: { config: { jwt: { secret: newSecret } } } })).status).toBe(200)
    const refused = await list(old)
    expect(refused.status).toBe(401)
    expect(await body(refused)).toEqual({ code: 401, msg: 'Invalid token: signature is invalid' })
    expect((await list(await system(newSecret))).status).toBe(200)
  })
})
