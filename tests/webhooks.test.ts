// Outgoing GoTrue webhooks (spec §9, hook_test.go, signup_test.go TestWebhookTriggered / TestFailingWebhook),
// against a real receiver. Where we differ from the reference on purpose (lib/webhooks.ts says why): a 4xx reply
// is final (no retry), attempts back off, loopback/private targets need GOTRUE_WEBHOOK_ALLOW_LOCAL=true, error
// messages never show the URL's userinfo or query, and hooks never run inside a database transaction.
// Which resolved addresses count as local: tests/ssrf.test.ts; a receiver that hangs: tests/outage-webhook.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { decodeJwt, jwtVerify } from 'jose'
import type { Env } from '../lib/config.ts'
import { findUserByEmail, NIL_UUID } from '../lib/users.ts'
import { type HookCall, startWebhookReceiver } from './fakes/webhook-receiver.ts'
import { body, type TestServer, startServer, tokenFromMail } from './harness.ts'
import { login, OPERATOR, PASSWORD } from './helpers.ts'

const SECRET = 'webhook-signing-secret'
const USER_KEYS = ['app_metadata', 'aud', 'created_at', 'email', 'id', 'role', 'updated_at', 'user_metadata']
const FAILED = { code: 422, msg: 'Failed to handle signup webhook' }

const receiver = startWebhookReceiver({ hostname: '::' }) // reachable as 127.0.0.1, [::1], localhost and 0.0.0.0
const servers: TestServer[] = []
async function start(env: Env): Promise<TestServer> {
  const s = await startServer({
    env: { GOTRUE_WEBHOOK_URL: receiver.url, GOTRUE_WEBHOOK_ALLOW_LOCAL: 'true', GOTRUE_WEBHOOK_TIMEOUT_SEC: '1', GOTRUE_WEBHOOK_RETRIES: '2', ...env },
  })
  servers.push(s)
  return s
}
beforeEach(() => receiver.reset())
afterAll(async () => {
  for (const s of servers) await s.stop()
  await receiver.stop()
})

const signup = (s: TestServer, email: string, data?: Record<string, unknown>) =>
  s.req('/signup', { method: 'POST', json: { email, password: PASSWORD, data } })
const row = (s: TestServer, email: string) => findUserByEmail(s.db, NIL_UUID, 'api.netlify.com', email)
const payload = (c: HookCall | undefined) => c?.json<{ event: string; instance_id: string; user: Record<string, unknown> }>()
const events = () => receiver.calls.map((c) => c.headers['x-netlify-event'])

describe('validate on signup (signed, 2 attempts, 1 s timeout)', () => {
  let s: TestServer
  beforeAll(async () => { s = await start({ GOTRUE_WEBHOOK_EVENTS: 'validate', GOTRUE_WEBHOOK_SECRET: SECRET }) })

  test('one signed JSON call with exactly event, instance_id and the user the signup then returns', async () => {
    const res = await signup(s, 'hooked@example.com', { a: 1, name: 'Zoë 🚀' })
    expect(res.status).toBe(200)
    const created = await body(res)
    expect(receiver.calls).toHaveLength(1)
    const [call] = receiver.calls
    expect(call?.method).toBe('POST')
    expect(call?.path).toBe('/hook')
    expect(call?.headers['content-type']).toBe('application/json')
    expect(call?.headers['x-netlify-event']).toBe('identity_validate')
    const sent = payload(call)
    expect(Object.keys(sent ?? {}).sort()).toEqual(['event', 'instance_id', 'user'])
    expect(sent?.event).toBe('validate')
    expect(sent?.instance_id).toBe('00000000-0000-0000-0000-000000000000')
    expect(Object.keys(sent?.user ?? {}).sort()).toEqual(USER_KEYS)
    expect(sent?.user).toMatchObject({
      id: created.id as string, aud: 'api.netlify.com', role: '', email: 'hooked@example.com',
      app_metadata: { provider: 'email' }, user_metadata: { a: 1, name: 'Zoë 🚀' },
    })

    // What a receiver does: verify the JWT with the shared secret, then compare the body's hash.
    const signature = call?.headers['x-webhook-signature'] ?? ''
    const key = new TextEncoder().encode(SECRET)
    const { payload: claims } = await jwtVerify(signature, key, { algorithms: ['HS256'], issuer: 'gotrue', subject: NIL_UUID })
    expect(Object.keys(claims).sort()).toEqual(['iat', 'iss', 'sha256', 'sub'])
    expect(claims.sha256).toBe(new Bun.CryptoHasher('sha256').update(call?.raw ?? '').digest('hex'))
    expect(Math.abs((claims.iat ?? 0) - Date.now() / 1000)).toBeLessThan(60)
    await expect(jwtVerify(signature, new TextEncoder().encode('another secret'))).rejects.toThrow()
  })

  test('a 4xx reply rejects the signup at once: 422, no retry, no user, no mail', async () => {
    receiver.reply({ status: 400, body: { msg: 'not on the guest list' } })
    const res = await signup(s, 'rejected@example.com')
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual(FAILED)
    expect(receiver.calls).toHaveLength(1)
    expect(await row(s, 'rejected@example.com')).toBeNull()
    expect(s.smtp.mailsTo('rejected@example.com')).toHaveLength(0)
  })

  test('a 5xx reply is retried GOTRUE_WEBHOOK_RETRIES times, then 422', async () => {
    receiver.setDefault({ status: 500 })
    const res = await signup(s, 'flaky@example.com')
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual(FAILED)
    expect(receiver.calls).toHaveLength(2)
    expect(await row(s, 'flaky@example.com')).toBeNull()
  })

  test('a retry that succeeds lets the signup through', async () => {
    receiver.reply({ status: 503 })
    expect((await signup(s, 'second-try@example.com')).status).toBe(200)
    expect(receiver.calls).toHaveLength(2)
  })

  test('only 200, 202 and 204 are success: 201 counts as a failure', async () => {
    receiver.reply({ status: 202 }, { status: 204 }, { status: 201 }, { status: 201 })
    expect((await signup(s, 'accepted@example.com')).status).toBe(200)
    expect((await signup(s, 'no-content@example.com')).status).toBe(200)
    expect((await signup(s, 'created@example.com')).status).toBe(422)
    expect(receiver.calls).toHaveLength(4)
  })

  test('a JSON reply replaces both metadata objects of the new user', async () => {
    receiver.reply({ body: { user_metadata: { plan: 'pro' }, app_metadata: { roles: ['x'] } } })
    const res = await signup(s, 'upgraded@example.com', { plan: 'free', other: 1 })
    expect(res.status).toBe(200)
    const user = await body(res)
    expect(user.user_metadata).toEqual({ plan: 'pro' })
    expect(user.app_metadata).toEqual({ roles: ['x'] })
    const stored = await row(s, 'upgraded@example.com')
    expect(JSON.parse(stored?.raw_user_meta_data ?? '')).toEqual({ plan: 'pro' })
    expect(JSON.parse(stored?.raw_app_meta_data ?? '')).toEqual({ roles: ['x'] })
  })

  test.each([
    ['answers late', { delayMs: 1500 }],
    ['stalls mid-body', { stallMs: 1500, body: { user_metadata: {} } }],
  ] as const)('a receiver that %s past the timeout: 504 after the configured attempts, no user', async (_name, reply) => {
    receiver.setDefault(reply)
    const res = await signup(s, 'slow@example.com')
    expect(res.status).toBe(504)
    expect(await body(res)).toEqual({ code: 504, msg: 'Failed to perform webhook in time frame (1 seconds)', error_id: expect.any(String) })
    expect(receiver.calls).toHaveLength(2)
    expect(await row(s, 'slow@example.com')).toBeNull()
  })

  test.each(['ok, fine', '[1]', '{"user_metadata":"pro"}', '{"app_metadata":["admin"]}'])('a reply of %s is malformed: 500, no user', async (reply) => {
    receiver.reply({ body: reply })
    const res = await signup(s, 'garbled@example.com')
    expect(res.status).toBe(500)
    const err = await body(res)
    expect(err.msg).toStartWith('Webhook returned malformed JSON: ')
    expect(err.error_id).toBeString()
    expect(await row(s, 'garbled@example.com')).toBeNull()
  })

  test.each([
    ['a chunked blank body', { chunked: true, body: '\n' }],
    ['JSON null', { body: 'null' }],
    ['null metadata', { body: { user_metadata: null, app_metadata: null } }],
  ] as const)('a 200 with %s changes nothing', async (_name, reply) => {
    receiver.reply(reply)
    const email = `unchanged-${crypto.randomUUID().slice(0, 8)}@example.com`
    const res = await signup(s, email, { a: 1 })
    expect(res.status).toBe(200)
    expect(await body(res)).toMatchObject({ user_metadata: { a: 1 }, app_metadata: { provider: 'email' } })
  })

  test('POST /invite is validated too, and the reply metadata is used', async () => {
    receiver.reply({ status: 403 }, { body: { user_metadata: { team: 'blue' } } })
    const refused = await s.req('/invite', { method: 'POST', headers: OPERATOR, json: { email: 'gatecrasher@example.com' } })
    expect(refused.status).toBe(422)
    expect(await row(s, 'gatecrasher@example.com')).toBeNull()
    const res = await s.req('/invite', { method: 'POST', headers: OPERATOR, json: { email: 'guest@example.com', data: { team: 'red' } } })
    expect(res.status).toBe(200)
    const invited = await body(res)
    expect(invited.user_metadata).toEqual({ team: 'blue' })
    expect(events()).toEqual(['identity_validate', 'identity_validate'])
    expect(payload(receiver.calls[1])?.user).toMatchObject({ id: invited.id as string, email: 'guest@example.com', user_metadata: { team: 'red' } })
  })
})

describe('relative URL, no secret, only the listed events', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await start({
      GOTRUE_SITE_URL: receiver.origin, GOTRUE_WEBHOOK_URL: '/hooks', GOTRUE_WEBHOOK_EVENTS: 'validate,login', GOTRUE_MAILER_AUTOCONFIRM: 'true',
    })
  })

  test('the URL is resolved against SITE_URL; no signature header; signup (not listed) is not sent', async () => {
    expect((await signup(s, 'relative@example.com')).status).toBe(200)
    expect(receiver.calls.map((c) => c.path)).toEqual(['/hooks'])
    expect(receiver.calls[0]?.headers).not.toHaveProperty('x-webhook-signature')
    expect(events()).toEqual(['identity_validate'])
    expect((await login(s, 'relative@example.com')).status).toBe(200)
    expect(events()).toEqual(['identity_validate', 'identity_login'])
  })
})

describe('signup and login events (autoconfirm, one attempt)', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await start({ GOTRUE_WEBHOOK_EVENTS: 'signup,login', GOTRUE_WEBHOOK_RETRIES: '1', GOTRUE_MAILER_AUTOCONFIRM: 'true' })
  })

  test('signup fires after the user is confirmed; its reply updates the user', async () => {
    receiver.reply({ body: { user_metadata: { welcomed: true } } })
    const res = await signup(s, 'auto@example.com', { a: 1 })
    expect(res.status).toBe(200)
    const user = await body(res)
    expect(events()).toEqual(['identity_signup'])
    const sent = payload(receiver.calls[0])
    expect(sent?.event).toBe('signup')
    expect(sent?.user).toMatchObject({ id: user.id as string, email: 'auto@example.com', user_metadata: { a: 1 } })
    expect(sent?.user.confirmed_at).toBeString()
    expect(user.user_metadata).toEqual({ welcomed: true })
    expect(JSON.parse((await row(s, 'auto@example.com'))?.raw_user_meta_data ?? '')).toEqual({ welcomed: true })
  })

  test('a failing signup hook fails the signup and leaves no user', async () => {
    receiver.reply({ status: 500 })
    const res = await signup(s, 'undone@example.com')
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual(FAILED)
    expect(await row(s, 'undone@example.com')).toBeNull()
  })

  test('the password grant fires login; reply metadata is in the access token and in GET /user', async () => {
    expect((await signup(s, 'admin-by-hook@example.com')).status).toBe(200)
    receiver.reset()
    receiver.reply({ body: { app_metadata: { roles: ['admin'] } } })
    const res = await login(s, 'admin-by-hook@example.com')
    expect(res.status).toBe(200)
    const { access_token } = await body<{ access_token: string }>(res)
    expect(events()).toEqual(['identity_login'])
    expect(payload(receiver.calls[0])?.user.email).toBe('admin-by-hook@example.com')
    expect(decodeJwt(access_token).app_metadata).toEqual({ roles: ['admin'] })
    const me = await body(await s.req('/user', { headers: { authorization: `Bearer ${access_token}` } }))
    expect(me.app_metadata).toEqual({ roles: ['admin'] })
  })

  test('a password changed while a login waits on its hook (its old password already checked): that login gets no session', async () => {
    const email = 'changed-meanwhile@example.com'
    expect((await signup(s, email)).status).toBe(200)
    const { access_token } = await body<{ access_token: string }>(await login(s, email))
    receiver.reset()
    receiver.reply({ delayMs: 500 }) // under the server's 1 s hook timeout
    const racing = login(s, email)
    await receiver.waitForCalls(1)
    const changed = await s.req('/user', { method: 'PUT', headers: { authorization: `Bearer ${access_token}` }, json: { password: 'a brand new password 42' } })
    expect(changed.status).toBe(200)
    const res = await racing
    expect({ status: res.status, body: await body(res) }).toEqual({
      status: 400, body: { error: 'invalid_grant', error_description: 'No user found with that email, or password invalid.' },
    })
    const user = await row(s, email)
    const live = await s.db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM {sessions} WHERE user_id = ? AND revoked_at IS NULL', [user?.id ?? ''])
    expect(Number(live?.n)).toBe(1) // the session that changed the password
  })

  test('a failing login hook: 422 {code,msg} and no session', async () => {
    expect((await signup(s, 'blocked@example.com')).status).toBe(200)
    receiver.reply({ status: 401 })
    const res = await login(s, 'blocked@example.com')
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual(FAILED)
    const user = await row(s, 'blocked@example.com')
    expect(user?.last_sign_in_at).toBeNull()
    const tokens = await s.db.get<{ n: number | string }>('SELECT COUNT(*) AS n FROM {refresh_tokens} WHERE user_id = ?', [user?.id ?? ''])
    expect(Number(tokens?.n)).toBe(0)
  })
})

describe('signup event on /verify (one attempt)', () => {
  let s: TestServer
  beforeAll(async () => { s = await start({ GOTRUE_WEBHOOK_EVENTS: 'signup', GOTRUE_WEBHOOK_RETRIES: '1' }) })
  const verify = (type: string, token: string) => s.req('/verify', { method: 'POST', json: { type, token } })

  test('confirmation fires signup; a failure fails the verify and the token stays usable', async () => {
    const res = await signup(s, 'confirm-me@example.com')
    expect(res.status).toBe(200)
    const { id } = await body(res)
    expect(receiver.calls).toHaveLength(0) // signup without autoconfirm confirms nobody
    const token = tokenFromMail(await s.smtp.waitForMail('confirm-me@example.com'), 'confirmation_token')

    receiver.reply({ status: 400 }, { body: { user_metadata: { from: 'hook' } } })
    const failed = await verify('signup', token)
    expect(failed.status).toBe(422)
    expect(await body(failed)).toEqual(FAILED)
    expect((await row(s, 'confirm-me@example.com'))?.confirmed_at).toBeNull()

    const ok = await verify('signup', token)
    expect(ok.status).toBe(200)
    const { access_token } = await body<{ access_token: string }>(ok)
    expect(decodeJwt(access_token).user_metadata).toEqual({ from: 'hook' })
    expect(events()).toEqual(['identity_signup', 'identity_signup'])
    expect(payload(receiver.calls[1])?.user).toMatchObject({ id: id as string, email: 'confirm-me@example.com' })
    expect((await row(s, 'confirm-me@example.com'))?.confirmed_at).toBeString()
  })

  test('recovery of a confirmed user does not fire signup; of an unconfirmed one it does', async () => {
    const recover = async (email: string, count: number) => {
      expect((await s.req('/recover', { method: 'POST', json: { email } })).status).toBe(200)
      return tokenFromMail(await s.smtp.waitForMail(email, { count }), 'recovery_token')
    }
    expect((await verify('recovery', await recover('confirm-me@example.com', 2))).status).toBe(200)
    expect(receiver.calls).toHaveLength(0)

    expect((await signup(s, 'never-confirmed@example.com')).status).toBe(200)
    expect((await verify('recovery', await recover('never-confirmed@example.com', 2))).status).toBe(200)
    expect(events()).toEqual(['identity_signup'])
    expect(payload(receiver.calls[0])?.user.email).toBe('never-confirmed@example.com')
  })
  test('an invite accepted without a password fails before the hook: the receiver hears of no signup', async () => {
    const invited = await s.req('/invite', { method: 'POST', headers: OPERATOR, json: { email: 'invitee@example.com' } })
    expect(invited.status).toBe(200)
    const token = tokenFromMail(await s.smtp.waitForMail('invitee@example.com'), 'invite_token')
    const res = await verify('signup', token)
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg: 'Invited users must specify a password' })
    expect(receiver.calls).toHaveLength(0)
  })
})

describe('usermodified and userdeleted (admin, after the commit)', () => {
  let s: TestServer
  beforeAll(async () => { s = await start({ GOTRUE_WEBHOOK_EVENTS: 'usermodified,userdeleted', GOTRUE_WEBHOOK_RETRIES: '1' }) })
  const create = async (email: string) => {
    const res = await s.req('/admin/users', { method: 'POST', headers: OPERATOR, json: { email, password: PASSWORD } })
    expect(res.status).toBe(200)
    return (await body(res)).id as string
  }

  test('PUT sends the updated user, DELETE the deleted one', async () => {
    const id = await create('managed@example.com')
    expect(receiver.calls).toHaveLength(0) // creating is not one of the two events
    const put = await s.req(`/admin/users/${id}`, { method: 'PUT', headers: OPERATOR, json: { user_metadata: { name: 'New Name' } } })
    expect(put.status).toBe(200)
    const [modified] = await receiver.waitForCalls(1)
    expect(modified?.headers['x-netlify-event']).toBe('identity_usermodified')
    expect(payload(modified)?.event).toBe('usermodified')
    expect(payload(modified)?.user).toMatchObject({ id, email: 'managed@example.com', user_metadata: { name: 'New Name' } })

    expect((await s.req(`/admin/users/${id}`, { method: 'DELETE', headers: OPERATOR })).status).toBe(200)
    const [, deleted] = await receiver.waitForCalls(2)
    expect(deleted?.headers['x-netlify-event']).toBe('identity_userdeleted')
    expect(payload(deleted)?.user).toMatchObject({ id, email: 'managed@example.com' })
    expect(Object.keys(payload(deleted) ?? {}).sort()).toEqual(['event', 'instance_id', 'user'])
  })

  test('a failing receiver does not fail the admin calls', async () => {
    receiver.setDefault({ status: 500 })
    const id = await create('unlucky@example.com')
    expect((await s.req(`/admin/users/${id}`, { method: 'PUT', headers: OPERATOR, json: { role: 'editor' } })).status).toBe(200)
    expect((await s.req(`/admin/users/${id}`, { method: 'DELETE', headers: OPERATOR })).status).toBe(200)
    await receiver.waitForCalls(2)
    expect(await row(s, 'unlucky@example.com')).toBeNull()
  })
})

describe('targets that cannot be reached', () => {
  const dead = startWebhookReceiver() // stopped at once: its port then refuses connections
  // Answers half a reply, then hangs up: no Bun.serve can do that, so a raw socket.
  const hangup = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data(sock) { sock.end('HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{') } } })
  beforeAll(() => dead.stop())
  afterAll(() => hangup.stop(true))
  const port = receiver.port
  const local = (url: string): [Env, number, string] => [{ GOTRUE_WEBHOOK_ALLOW_LOCAL: undefined, GOTRUE_WEBHOOK_URL: url }, 502, `Failed to connect to ${url}`]
  const cases: [string, Env, number, string][] = [
    ['connection refused', { GOTRUE_WEBHOOK_URL: dead.url }, 502, `Failed to connect to ${dead.url}`],
    ['unresolvable host', { GOTRUE_WEBHOOK_URL: 'http://gotrue-hook.invalid/hook' }, 502, 'Failed to connect to http://gotrue-hook.invalid/hook'],
    // Userinfo (sent as Basic auth) and the query may be the receiver's credentials: the client never sees them.
    ['credentials in the URL', { GOTRUE_WEBHOOK_URL: dead.url.replace('//', '//hook:s3cret@') + '?key=s3cret' }, 502, `Failed to connect to ${dead.url}`],
    ['hang-up mid-reply', { GOTRUE_WEBHOOK_URL: `http://127.0.0.1:${hangup.port}/hook` }, 500, `Failed to trigger webhook to http://127.0.0.1:${hangup.port}/hook`],
    // The SSRF guard: without GOTRUE_WEBHOOK_ALLOW_LOCAL, loopback in every spelling is refused before connecting
    // (the receiver listens on all of them, so a missing guard would show up as a call).
    ['127.0.0.1 without ALLOW_LOCAL', ...local(receiver.url)],
    ['0.0.0.0', ...local(`http://0.0.0.0:${port}/`)],
    ['[::1]', ...local(`http://[::1]:${port}/`)],
    ['localhost', ...local(`http://localhost:${port}/`)],
    ['IPv4-mapped IPv6', { GOTRUE_WEBHOOK_ALLOW_LOCAL: undefined, GOTRUE_WEBHOOK_URL: `http://[::ffff:127.0.0.1]:${port}/` }, 502, `Failed to connect to http://[::ffff:7f00:1]:${port}/`],
  ]
  test.each(cases)('%s', async (_name, env, status, msg) => {
    const s = await start({ GOTRUE_WEBHOOK_EVENTS: 'validate', ...env })
    const res = await signup(s, 'nowhere@example.com')
    expect(res.status).toBe(status)
    expect(await body(res)).toEqual({ code: status, msg, error_id: expect.any(String) })
    expect(receiver.calls).toHaveLength(0)
    expect(await row(s, 'nowhere@example.com')).toBeNull()
  })
})

describe('a receiver whose reply has no end', () => {
  // 64 MiB of reply, sent as fast as it is read: the hook reads at most GOTRUE's reply cap of it and hangs up.
  let pulled = 0
  const flood = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: () => {
      pulled = 0
      const chunk = new Uint8Array(64 * 1024).fill(0x20)
      return new Response(new ReadableStream({
        pull(c) {
          if (pulled >= 64 * 1024 * 1024) return c.close()
          pulled += chunk.length
          c.enqueue(chunk)
        },
      }), { headers: { 'content-type': 'application/json' } })
    },
  })
  afterAll(() => flood.stop(true))

  test('is cut off past 1 MiB: the hook fails (500 malformed) without reading the rest', async () => {
    const s = await start({ GOTRUE_WEBHOOK_URL: `http://127.0.0.1:${flood.port}/hook`, GOTRUE_WEBHOOK_EVENTS: 'login', GOTRUE_WEBHOOK_RETRIES: '1', GOTRUE_WEBHOOK_TIMEOUT_SEC: '10', GOTRUE_MAILER_AUTOCONFIRM: 'true' })
    expect((await signup(s, 'flooded@example.com')).status).toBe(200)
    const res = await login(s, 'flooded@example.com')
    expect(res.status).toBe(500)
    expect(await body(res)).toMatchObject({ msg: 'Webhook returned malformed JSON: reply over 1 MiB' })
    expect(pulled).toBeLessThan(16 * 1024 * 1024)
  })
})
