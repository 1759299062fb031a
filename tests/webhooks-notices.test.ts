// Notification webhooks for sessions and second factors (lib/notices.ts): sent once, after the commit, only when
// listed in GOTRUE_WEBHOOK_EVENTS, with GoTrue's {event, instance_id, user} plus a `session` or `factor` object, and
// signed like every webhook. A real receiver (tests/fakes/webhook-receiver.ts); codes computed here (RFC 6238).
// Dropped events of a rolled-back or retried transaction: tests/db.test.ts (afterCommit) covers the mechanism.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { decodeJwt, jwtVerify } from 'jose'
import type { Env } from '../lib/config.ts'
import { NOTICE_EVENTS } from '../lib/config-schema.ts'
import { NIL_UUID } from '../lib/users.ts'
import { type HookCall, startWebhookReceiver } from './fakes/webhook-receiver.ts'
import { body, startServer, type TestServer } from './harness.ts'
import { bearer, confirmedUser, login, MFA_KEY, OPERATOR, PASSWORD, refresh, type Tokens, totp } from './helpers.ts'

const SECRET = 'notice-signing-secret'
const receiver = startWebhookReceiver()
const servers: TestServer[] = []
async function start(env: Env): Promise<TestServer> {
  const s = await startServer({
    env: {
      ...MFA_KEY, GOTRUE_WEBHOOK_URL: receiver.url, GOTRUE_WEBHOOK_ALLOW_LOCAL: 'true', GOTRUE_WEBHOOK_SECRET: SECRET,
      GOTRUE_WEBHOOK_TIMEOUT_SEC: '1', GOTRUE_WEBHOOK_RETRIES: '1', GOTRUE_MFA_RATE_LIMIT_CHALLENGE_AND_VERIFY: '0',
      GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL: '0', ...env,
    },
  })
  servers.push(s)
  return s
}
beforeEach(() => receiver.reset())
afterAll(async () => {
  for (const s of servers) await s.stop()
  await receiver.stop()
})

interface Notice { event: string; instance_id: string; user: { id: string; email: string }; session?: { id: string; reason?: string }; factor?: { id: string; factor_type: string } }
const sessionOf = (jwt: string) => decodeJwt(jwt).session_id as string

/** Exactly `n` calls arrive (waiting for them, then a moment longer for any extra one), each signed and well-formed. */
async function arrived(n: number): Promise<Notice[]> {
  if (n) await receiver.waitForCalls(n, 3000)
  await Bun.sleep(150)
  expect(receiver.calls.map((c) => c.headers['x-netlify-event'])).toHaveLength(n)
  return Promise.all(receiver.calls.map(checked))
}
async function checked(call: HookCall): Promise<Notice> {
  const sent = call.json<Notice>()
  expect(call.headers['x-netlify-event']).toBe(`identity_${sent.event}`)
  expect(sent.instance_id).toBe(NIL_UUID)
  expect(Object.keys(sent).sort()).toEqual(['event', 'instance_id', sent.session ? 'session' : 'factor', 'user'].sort())
  const { payload } = await jwtVerify(call.headers['x-webhook-signature'] ?? '', new TextEncoder().encode(SECRET), { algorithms: ['HS256'], issuer: 'gotrue', subject: NIL_UUID })
  expect(payload.sha256).toBe(new Bun.CryptoHasher('sha256').update(call.raw).digest('hex'))
  return sent
}
/** What arrived, order-free: [event, user id, session or factor id, reason or factor type]. */
const summary = (ns: Notice[]) => ns.map((n) => [n.event, n.user.id, n.session?.id ?? n.factor?.id, n.session ? n.session.reason : n.factor?.factor_type]).sort()

async function signIn(s: TestServer, email: string): Promise<Tokens> {
  const res = await login(s, email)
  expect(res.status).toBe(200)
  return body<Tokens>(res)
}

describe('every notification event subscribed', () => {
  let s: TestServer
  beforeAll(async () => { s = await start({ GOTRUE_WEBHOOK_EVENTS: NOTICE_EVENTS.join(',') }) })

  test('login: session_created with the user and the session the access token names; no secrets in the body', async () => {
    const u = await confirmedUser(s)
    await arrived(0) // creating the user through the admin API is no notice
    const tokens = await signIn(s, u.email)
    const [n] = await arrived(1)
    expect(n?.event).toBe('session_created')
    expect(n?.user).toMatchObject({ id: u.id, email: u.email })
    expect(n?.session).toEqual({ id: sessionOf(tokens.access_token) })
    const raw = receiver.calls[0]?.raw ?? ''
    for (const secret of [tokens.access_token, tokens.refresh_token, PASSWORD]) expect(raw).not.toContain(secret)
  })

  test('refresh: session_refreshed; reusing the rotated token refuses it and sends only the revocation', async () => {
    const u = await confirmedUser(s)
    const first = await signIn(s, u.email)
    const id = sessionOf(first.access_token)
    await arrived(1)
    receiver.reset()
    const res = await refresh(s, first.refresh_token)
    expect(res.status).toBe(200)
    expect(summary(await arrived(1))).toEqual([['session_refreshed', u.id, id, undefined]])
    receiver.reset()
    const reuse = await refresh(s, first.refresh_token)
    expect(reuse.status).toBe(400)
    expect(summary(await arrived(1))).toEqual([['session_revoked', u.id, id, 'refresh_token_reused']])
    receiver.reset()
    // the family is gone: a third try ends nothing more and sends nothing
    expect((await refresh(s, first.refresh_token)).status).toBe(400)
    await arrived(0)
  })

  test('logout, DELETE /user/sessions/{id}, admin ends, a password change: session_revoked once per ended session, with its reason', async () => {
    const u = await confirmedUser(s)
    const [a, b, c, d] = [await signIn(s, u.email), await signIn(s, u.email), await signIn(s, u.email), await signIn(s, u.email)]
    const [ia, ib, ic, id] = [a, b, c, d].map((t) => sessionOf(t!.access_token))
    await arrived(4)

    receiver.reset()
    expect((await s.req('/logout?scope=local', { method: 'POST', headers: bearer(a!.access_token) })).status).toBe(204)
    expect(summary(await arrived(1))).toEqual([['session_revoked', u.id, ia, 'logout']])

    receiver.reset()
    expect((await s.req(`/user/sessions/${ib}`, { method: 'DELETE', headers: bearer(c!.access_token) })).status).toBe(204)
    expect(summary(await arrived(1))).toEqual([['session_revoked', u.id, ib, 'user']])

    receiver.reset()
    expect((await s.req(`/admin/users/${u.id}/sessions/${ic}`, { method: 'DELETE', headers: OPERATOR })).status).toBe(204)
    expect(summary(await arrived(1))).toEqual([['session_revoked', u.id, ic, 'admin']])
    receiver.reset()
    expect((await s.req(`/admin/users/${u.id}/sessions/${ic}`, { method: 'DELETE', headers: OPERATOR })).status).toBe(404)
    await arrived(0)

    // a new password ends every other session, not the one making the change
    const e = await signIn(s, u.email)
    const ie = sessionOf(e.access_token)
    await arrived(1)
    receiver.reset()
    expect((await s.req('/user', { method: 'PUT', headers: bearer(d!.access_token), json: { password: 'another-long-password' } })).status).toBe(200)
    expect(summary(await arrived(1))).toEqual([['session_revoked', u.id, ie, 'credentials_changed']])

    // an admin ending them all: the one left
    receiver.reset()
    expect((await s.req(`/admin/users/${u.id}/sessions`, { method: 'DELETE', headers: OPERATOR })).status).toBe(204)
    expect(summary(await arrived(1))).toEqual([['session_revoked', u.id, id, 'admin']])
  })

  test('MFA: enrolled, challenge failed, verified (ending an aal1 session), recovery code failed and used, deleted (cascade and admin)', async () => {
    const u = await confirmedUser(s)
    const main = await signIn(s, u.email)
    const other = await signIn(s, u.email)
    await arrived(2)
    const h = bearer(main.access_token)

    receiver.reset()
    const enrolled = await body<{ id: string; totp: { secret: string } }>(await s.req('/factors', { method: 'POST', headers: h, json: { factor_type: 'totp' } }))
    const fid = enrolled.id
    const raw = () => receiver.calls.map((c) => c.raw).join('\n')
    expect(summary(await arrived(1))).toEqual([['factor_enrolled', u.id, fid, 'totp']])
    expect(raw()).not.toContain(enrolled.totp.secret)

    receiver.reset()
    const challenge = async () => (await body<{ id: string }>(await s.req(`/factors/${fid}/challenge`, { method: 'POST', headers: h }))).id
    const wrong = await s.req(`/factors/${fid}/verify`, { method: 'POST', headers: h, json: { challenge_id: await challenge(), code: '000000' } })
    expect(wrong.status).toBe(422)
    expect(summary(await arrived(1))).toEqual([['challenge_failed', u.id, fid, 'totp']])

    receiver.reset()
    const code = totp(enrolled.totp.secret, s.clock.now().getTime())
    const ok = await s.req(`/factors/${fid}/verify`, { method: 'POST', headers: h, json: { challenge_id: await challenge(), code } })
    expect(ok.status).toBe(200)
    const aal2 = bearer((await body<Tokens>(ok)).access_token)
    expect(summary(await arrived(2))).toEqual([
      ['factor_verified', u.id, fid, 'totp'],
      ['session_revoked', u.id, sessionOf(other.access_token), 'aal2_reached'],
    ].sort())
    expect(raw()).not.toContain(code)

    receiver.reset()
    const generated = await body<{ id: string; codes: string[] }>(await s.req('/factors/recovery-codes', { method: 'POST', headers: aal2, json: {} }))
    expect(generated.codes.length).toBeGreaterThan(0)
    await arrived(0) // generating codes is no notice of its own (recovery_codes_generated stays an audit entry)

    // a new aal1 session uses a recovery code: one failure, then a right code
    const third = await signIn(s, u.email)
    await arrived(1)
    receiver.reset()
    const h3 = bearer(third.access_token)
    expect((await s.req('/factors/recovery-codes/verify', { method: 'POST', headers: h3, json: { code: 'not-a-code' } })).status).toBe(422)
    expect(summary(await arrived(1))).toEqual([['challenge_failed', u.id, generated.id, 'recovery_code']])
    receiver.reset()
    const used = await s.req('/factors/recovery-codes/verify', { method: 'POST', headers: h3, json: { code: generated.codes[0] } })
    expect(used.status).toBe(200)
    expect(summary(await arrived(1))).toEqual([['recovery_code_used', u.id, generated.id, 'recovery_code']])
    expect(raw()).not.toContain(generated.codes[0])

    // removing the last TOTP factor removes the recovery codes too: two factor_deleted
    receiver.reset()
    expect((await s.req(`/factors/${fid}`, { method: 'DELETE', headers: aal2 })).status).toBe(200)
    expect(summary(await arrived(2))).toEqual([
      ['factor_deleted', u.id, fid, 'totp'],
      ['factor_deleted', u.id, generated.id, 'recovery_code'],
    ].sort())

    // an admin removes a factor
    receiver.reset()
    const again = await body<{ id: string }>(await s.req('/factors', { method: 'POST', headers: bearer((await signIn(s, u.email)).access_token), json: { factor_type: 'totp' } }))
    await arrived(2)
    receiver.reset()
    expect((await s.req(`/admin/users/${u.id}/factors/${again.id}`, { method: 'DELETE', headers: OPERATOR })).status).toBe(200)
    expect(summary(await arrived(1))).toEqual([['factor_deleted', u.id, again.id, 'totp']])
  })

  test('a failing receiver fails nothing: the login answers 200, the event is not retried into the request', async () => {
    const u = await confirmedUser(s)
    receiver.setDefault({ status: 500 })
    const res = await login(s, u.email)
    expect(res.status).toBe(200)
    await arrived(1)
  })

  test("the receiver's reply is ignored: metadata stays as it was", async () => {
    const u = await confirmedUser(s)
    receiver.setDefault({ status: 200, body: { app_metadata: { roles: ['planted'] }, user_metadata: { planted: true } } })
    const tokens = await signIn(s, u.email)
    await arrived(1)
    const me = await body<{ app_metadata: Record<string, unknown>; user_metadata: Record<string, unknown> }>(await s.req('/user', { headers: bearer(tokens.access_token) }))
    expect(me.app_metadata.roles).toBeUndefined()
    expect(me.user_metadata.planted).toBeUndefined()
  })
})

describe('not subscribed', () => {
  test('nothing arrives for sessions or factors when GOTRUE_WEBHOOK_EVENTS lists other events', async () => {
    const s = await start({ GOTRUE_WEBHOOK_EVENTS: 'userdeleted' })
    const u = await confirmedUser(s)
    const a = await signIn(s, u.email)
    const b = await signIn(s, u.email)
    expect((await refresh(s, a.refresh_token)).status).toBe(200)
    expect((await refresh(s, a.refresh_token)).status).toBe(400) // reuse: the family ends
    const h = bearer(b.access_token)
    const f = await body<{ id: string; totp: { secret: string } }>(await s.req('/factors', { method: 'POST', headers: h, json: { factor_type: 'totp' } }))
    const ch = await body<{ id: string }>(await s.req(`/factors/${f.id}/challenge`, { method: 'POST', headers: h }))
    expect((await s.req(`/factors/${f.id}/verify`, { method: 'POST', headers: h, json: { challenge_id: ch.id, code: totp(f.totp.secret, s.clock.now().getTime()) } })).status).toBe(200)
    expect((await s.req(`/admin/users/${u.id}/factors/${f.id}`, { method: 'DELETE', headers: OPERATOR })).status).toBe(200)
    expect((await s.req('/logout', { method: 'POST', headers: h })).status).toBe(204)
    await Bun.sleep(150)
    expect(receiver.calls).toHaveLength(0)
    // the subscribed event still goes
    expect((await s.req(`/admin/users/${u.id}`, { method: 'DELETE', headers: OPERATOR })).status).toBe(200)
    expect((await receiver.waitForCalls(1))[0]?.headers['x-netlify-event']).toBe('identity_userdeleted')
  })
})

describe('a receiver that stalls', () => {
  const slow = startWebhookReceiver()
  const logFile = `${require('node:os').tmpdir()}/notices-${crypto.randomUUID()}.log`
  let s: TestServer
  beforeAll(async () => {
    slow.setDefault({ delayMs: 3000 })
    s = await start({
      GOTRUE_WEBHOOK_URL: slow.url, GOTRUE_WEBHOOK_EVENTS: 'session_refreshed', GOTRUE_WEBHOOK_MAX_IN_FLIGHT: '2',
      GOTRUE_WEBHOOK_TIMEOUT_SEC: '5', GOTRUE_LOG_FILE: logFile, GOTRUE_LOG_LEVEL: 'warn',
    })
  })
  afterAll(async () => { await slow.stop() })

  test('at most GOTRUE_WEBHOOK_MAX_IN_FLIGHT notifications wait on it; the others are dropped with a warning, the refreshes all succeed', async () => {
    const u = await confirmedUser(s)
    let token = (await signIn(s, u.email)).refresh_token
    for (let i = 0; i < 6; i++) {
      const res = await refresh(s, token)
      expect(res.status).toBe(200)
      token = (await body<Tokens>(res)).refresh_token
    }
    await slow.waitForCalls(2, 3000)
    await Bun.sleep(300)
    expect(slow.calls).toHaveLength(2) // the other four were dropped while two were pending
    const warnings = (await Bun.file(logFile).text()).split('\n').filter((l) => l.includes('webhook notifications dropped'))
    expect(warnings.length).toBeGreaterThanOrEqual(1)
    expect(JSON.parse(warnings[0] as string)).toMatchObject({ level: 'warn', event: 'session_refreshed', in_flight: 2 })
  })
})
