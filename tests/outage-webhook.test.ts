// A webhook receiver that hangs: the request waiting for it is bounded by WEBHOOK_TIMEOUT_SEC, answers 504, and
// leaves nothing half-done. No database transaction is held meanwhile: on SQLite, where one open transaction
// would stop every other request, reads and writes of other clients keep being answered while the hook hangs.
// Receivers that answer with errors: webhooks.test.ts; SMTP outages: outage-smtp.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.ts'
import { body, form, startServer, type TestServer } from './harness.ts'
import { bearer, OPERATOR, PASSWORD, userWithSession } from './helpers.ts'

const userRow = (s: TestServer, email: string) => s.db.get<{ id: string }>('SELECT id FROM {users} WHERE email_key = ?', [email])
const auditFor = async (s: TestServer, email: string) =>
  (await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}')).map((r) => JSON.parse(r.payload) as Record<string, unknown>)
    .filter((p) => JSON.stringify(p).includes(email))

describe('a webhook receiver that hangs (validate hook, 2 s timeout, 1 attempt)', () => {
  let s: TestServer
  let hook: WebhookReceiver
  beforeAll(async () => {
    hook = startWebhookReceiver()
    s = await startServer({ env: {
      GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_WEBHOOK_URL: hook.url, GOTRUE_WEBHOOK_ALLOW_LOCAL: 'true',
      GOTRUE_WEBHOOK_EVENTS: 'validate', GOTRUE_WEBHOOK_TIMEOUT_SEC: '2', GOTRUE_WEBHOOK_RETRIES: '1',
    } })
  })
  afterAll(async () => { await s.stop(); await hook.stop() })

  test('the hung signup ends in 504 after its timeout, with no user; meanwhile reads and writes of others are answered', async () => {
    const other = await userWithSession(s, 'bystander@example.com')
    hook.reset()
    hook.setDefault({ status: 200, delayMs: 8000 }) // longer than the timeout: the receiver never answers in time
    const email = 'hung-hook@example.com'
    let answered = false
    const started = performance.now()
    const pending = s.req('/signup', { method: 'POST', json: { email, password: PASSWORD } }).then((r) => { answered = true; return r })
    await hook.waitForCalls(1, 5000) // the signup is inside the server, waiting for the receiver

    // While the hook hangs: a read, a login (a write transaction), a refresh (a write transaction with a row
    // lock), a metadata update and an admin listing all complete, and the signup is still waiting.
    expect((await s.req('/user', { headers: bearer(other.session.access_token) })).status).toBe(200)
    expect((await s.req('/token', form({ grant_type: 'password', username: 'bystander@example.com', password: PASSWORD }))).status).toBe(200)
    expect((await s.req('/token', form({ grant_type: 'refresh_token', refresh_token: other.session.refresh_token }))).status).toBe(200)
    expect((await s.req('/user', { method: 'PUT', json: { data: { during: 'hook' } }, headers: bearer(other.session.access_token) })).status).toBe(200)
    expect((await s.req('/admin/users', { headers: OPERATOR })).status).toBe(200)
    expect(answered).toBe(false)

    const res = await pending
    const elapsed = performance.now() - started
    expect(res.status).toBe(504)
    expect(await body(res)).toEqual({ code: 504, msg: 'Failed to perform webhook in time frame (2 seconds)', error_id: res.headers.get('x-request-id') as string })
    expect(hook.calls).toHaveLength(1)
    // Bounded by the timeout: not before it (the hook really was waited for), and well before the receiver's 8 s.
    expect(elapsed).toBeGreaterThanOrEqual(1900)
    expect(elapsed).toBeLessThan(7000)
    expect(await userRow(s, email)).toBeNull()
  })
})

describe('a signup webhook (autoconfirm) that hangs: the signup is undone', () => {
  let s: TestServer
  let hook: WebhookReceiver
  beforeAll(async () => {
    hook = startWebhookReceiver()
    hook.setDefault({ status: 200, delayMs: 4000 })
    s = await startServer({ env: {
      GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_WEBHOOK_URL: hook.url, GOTRUE_WEBHOOK_ALLOW_LOCAL: 'true',
      GOTRUE_WEBHOOK_EVENTS: 'signup', GOTRUE_WEBHOOK_TIMEOUT_SEC: '1', GOTRUE_WEBHOOK_RETRIES: '1',
    } })
  })
  afterAll(async () => { await s.stop(); await hook.stop() })

  test('504 after the timeout; no user, no session, and no user_signedup audit entry left behind', async () => {
    const email = 'hung-signup-hook@example.com'
    const res = await s.req('/signup', { method: 'POST', json: { email, password: PASSWORD } })
    expect(res.status).toBe(504)
    expect(await body(res)).toEqual({ code: 504, msg: 'Failed to perform webhook in time frame (1 seconds)', error_id: res.headers.get('x-request-id') as string })
    expect(await userRow(s, email)).toBeNull()
    expect(await auditFor(s, email)).toEqual([])
    const login = await s.req('/token', form({ grant_type: 'password', username: email, password: PASSWORD }))
    expect(login.status).toBe(400)
  })
})
