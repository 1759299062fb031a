// Rate limits (lib/limits.ts): fixed windows of GOTRUE_RATE_LIMIT_* hits per client (GOTRUE_RATE_LIMIT_HEADER's
// value, else the socket address) and per account, GoTrue's 429 {"code":429,"msg":"Rate limit exceeded"} with a
// Retry-After, a shared hourly mail budget, and Redis (GOTRUE_REDIS_URL) so that nodes add up and an outage
// fails open. TEST_ENV switches every limit off; each server here sets the ones it tests.
// Client values and emails are random: Redis counters outlive a run by up to an hour.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { body, REDIS_URL, redisProblem, startServer, type TestServer } from './harness.ts'
import { confirmedUser, freshEmail, OPERATOR, PASSWORD } from './helpers.ts'

const H = 'x-client-ip'
const LIMITED = { code: 429, msg: 'Rate limit exceeded' }
const BAD_LOGIN = { error: 'invalid_grant', error_description: 'No user found with that email, or password invalid.' }

const uid = () => crypto.randomUUID().slice(0, 8)
const client = () => `203.0.113.${uid()}`
const from = (c?: string): Record<string, string> => (c ? { [H]: c } : {})

const post = (s: TestServer, path: string, json: unknown, c?: string, headers: Record<string, string> = {}) =>
  s.req(path, { method: 'POST', json, headers: { ...from(c), ...headers } })
const token = (s: TestServer, fields: Record<string, string>, c?: string, headers: Record<string, string> = {}) =>
  s.req('/token', { method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...from(c), ...headers } })
const unsupported = (s: TestServer, c?: string, headers?: Record<string, string>) => token(s, { grant_type: 'nope' }, c, headers)
const login = (s: TestServer, username: string, password: string, c = client()) => token(s, { grant_type: 'password', username, password }, c)
const verify = (s: TestServer, c?: string) => post(s, '/verify', { type: 'signup', token: 'no-such-token' }, c)
const signup = (s: TestServer, address: string, c = client()) => post(s, '/signup', { email: address, password: PASSWORD }, c)
const recover = (s: TestServer, address: string, c = client()) => post(s, '/recover', { email: address }, c)
const invite = (s: TestServer, address: string, c = client()) => post(s, '/invite', { email: address }, c, OPERATOR)
const userRows = (s: TestServer, address: string) => s.db.all('SELECT id FROM {users} WHERE email_key = ?', [address.toLowerCase()])

/** The 429 every rule answers: GoTrue's body and a whole number of seconds, at most the window, to wait. */
async function expectLimited(res: Response, windowSec: number) {
  expect(res.status).toBe(429)
  expect(await body(res)).toEqual(LIMITED)
  const retry = res.headers.get('retry-after') ?? ''
  expect(retry).toMatch(/^\d+$/)
  expect(Number(retry)).toBeGreaterThanOrEqual(1)
  expect(Number(retry)).toBeLessThanOrEqual(windowSec)
}
async function expectUnsupported(res: Response) {
  expect(res.status).toBe(400)
  expect(await body(res)).toEqual({ error: 'unsupported_grant_type' })
}
async function expectNoUser(res: Response) { // /verify with an unknown token: the answer when not limited
  expect(res.status).toBe(404)
  expect(await body(res)).toEqual({ code: 404, msg: 'User not found' })
}

describe('per client and per account, in memory (limit 3 each, client from X-Client-IP)', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: {
      GOTRUE_RATE_LIMIT_HEADER: 'X-Client-IP', GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '3', GOTRUE_RATE_LIMIT_LOGIN: '3',
      GOTRUE_RATE_LIMIT_VERIFY: '3', GOTRUE_RATE_LIMIT_OTP: '3', GOTRUE_SMTP_MAX_FREQUENCY: '0', // only our limits act
    } })
  })
  afterAll(async () => { await s.stop() })
  const tokenClient = client(), verifyClient = client()
  let signupLimited = ''

  test('an IPv6 client counts by its /64 (one host holds a whole prefix); IPv4-mapped IPv6 is its IPv4 address', async () => {
    const g = uid().slice(0, 4)
    const net = `2001:db8:${g}:7`
    for (const c of [`${net}::1`, `${net}::2`, `${net}:0:0:0:3`]) await expectUnsupported(await unsupported(s, c))
    await expectLimited(await unsupported(s, `${net}:ffff::4`), 300)
    await expectUnsupported(await unsupported(s, `2001:db8:${g}:8::1`)) // the next /64 is another client
    const v4 = `198.51.100.${1 + Math.floor(Math.random() * 254)}`
    for (const c of [v4, `::ffff:${v4}`, v4]) await expectUnsupported(await unsupported(s, c))
    await expectLimited(await unsupported(s, `::FFFF:${v4}`), 300)
  })

  test('/token: 3 requests per client, then 429 whatever the grant; X-Forwarded-For does not help; another client is not limited', async () => {
    for (let i = 0; i < 3; i++) await expectUnsupported(await unsupported(s, tokenClient))
    await expectLimited(await unsupported(s, tokenClient), 300)
    const u = await confirmedUser(s)
    await expectLimited(await login(s, u.email, u.password, tokenClient), 300)
    await expectLimited(await unsupported(s, tokenClient, { 'x-forwarded-for': '192.0.2.1' }), 300)
    await expectUnsupported(await unsupported(s, client()))
    expect((await login(s, u.email, u.password)).status).toBe(200)
  })

  test('/token: a request without the header is keyed by its socket address, so leaving the header out lifts nothing', async () => {
    for (let i = 0; i < 3; i++) await expectUnsupported(await unsupported(s))
    await expectLimited(await unsupported(s), 300)
    await expectUnsupported(await unsupported(s, client()))
  })

  test('/verify: 3 per client, then 429; another client is not limited', async () => {
    for (let i = 0; i < 3; i++) await expectNoUser(await verify(s, verifyClient))
    await expectLimited(await verify(s, verifyClient), 300)
    await expectNoUser(await verify(s, client()))
  })

  test('/signup per email: 3 signups of one address (any case, any client), then 429 for the 4th', async () => {
    signupLimited = freshEmail('signup')
    for (const address of [signupLimited, signupLimited.toUpperCase(), signupLimited]) {
      const res = await signup(s, address)
      expect(res.status).toBe(200)
      expect((await body(res)).email).toBe(signupLimited) // a re-signup of the unconfirmed user
    }
    await expectLimited(await signup(s, signupLimited), 3600)
    expect(await userRows(s, signupLimited)).toHaveLength(1)
  })

  test('/signup per client: 3 signups from one client, then 429 and no user for the 4th address', async () => {
    const c = client()
    for (let i = 0; i < 3; i++) expect((await signup(s, freshEmail('many'), c)).status).toBe(200)
    const fourth = freshEmail('fourth')
    await expectLimited(await signup(s, fourth, c), 3600)
    expect(await userRows(s, fourth)).toHaveLength(0)
    expect((await signup(s, fourth)).status).toBe(200)
  })

  test('/recover per email, known or unknown alike: 3 requests, then 429; per client: 3 addresses, then 429', async () => {
    const known = (await confirmedUser(s)).email, unknown = freshEmail('nobody')
    for (const address of [known, unknown]) {
      for (let i = 0; i < 3; i++) {
        const res = await recover(s, address)
        expect(res.status).toBe(200)
        expect(await body(res)).toEqual({})
      }
      await expectLimited(await recover(s, address), 3600)
    }
    const c = client()
    for (let i = 0; i < 3; i++) expect((await recover(s, freshEmail('r'), c)).status).toBe(200)
    await expectLimited(await recover(s, freshEmail('r'), c), 3600)
    expect((await recover(s, freshEmail('r'))).status).toBe(200)
  })

  test('/invite per email (a repeat that fails still counts) and per client, then 429 without a user', async () => {
    const address = freshEmail('invitee')
    expect((await invite(s, address)).status).toBe(200)
    for (let i = 0; i < 2; i++) {
      const res = await invite(s, address)
      expect(res.status).toBe(422)
      expect(await body(res)).toEqual({ code: 422, msg: 'Email address already registered by another user' })
    }
    await expectLimited(await invite(s, address), 3600)
    const c = client()
    for (let i = 0; i < 3; i++) expect((await invite(s, freshEmail('inv'), c)).status).toBe(200)
    const fourth = freshEmail('inv4')
    await expectLimited(await invite(s, fourth, c), 3600)
    expect(await userRows(s, fourth)).toHaveLength(0)
  })

  test('PUT /user email change: 3 per client and 3 per account; other updates are not limited', async () => {
    const bearer = async () => {
      const u = await confirmedUser(s)
      const { access_token } = await body<{ access_token: string }>(await login(s, u.email, u.password))
      return { authorization: `Bearer ${access_token}` }
    }
    const [one, two] = [await bearer(), await bearer()]
    const change = (auth: Record<string, string>, c: string, to = freshEmail('new')) =>
      s.req('/user', { method: 'PUT', json: { email: to }, headers: { ...auth, ...from(c) } })
    const c = client()
    let pending = ''
    for (const auth of [one, one, two]) {
      pending = freshEmail('new')
      const res = await change(auth, c, pending)
      expect(res.status).toBe(200)
      expect((await body(res)).new_email).toBe(pending)
    }
    await expectLimited(await change(two, c), 3600) // the client's 4th; account two has made only one
    expect((await body(await s.req('/user', { headers: two }))).new_email).toBe(pending) // nothing changed
    expect((await change(one, client())).status).toBe(200) // account one's 3rd
    await expectLimited(await change(one, client()), 3600) // account one's 4th, from a fresh client
    const data = await s.req('/user', { method: 'PUT', json: { data: { plan: 'pro' } }, headers: { ...one, ...from(c) } })
    expect(data.status).toBe(200)
    expect((await body<{ user_metadata: unknown }>(data)).user_metadata).toEqual({ plan: 'pro' })
  })

  test('after the window, requests pass again: 5 minutes for /token and /verify, an hour for signup', async () => {
    await expectLimited(await unsupported(s, tokenClient), 300)
    await expectLimited(await signup(s, signupLimited), 3600)
    s.clock.advance(301)
    await expectUnsupported(await unsupported(s, tokenClient))
    await expectNoUser(await verify(s, verifyClient))
    await expectLimited(await signup(s, signupLimited), 3600)
    s.clock.advance(3600)
    expect((await signup(s, signupLimited)).status).toBe(200)
  })
})

describe('password grant: failures per account and client, and a ceiling per account (limits 3 and 10; /token unlimited)', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_RATE_LIMIT_HEADER: 'X-Client-IP', GOTRUE_RATE_LIMIT_LOGIN: '3', GOTRUE_RATE_LIMIT_LOGIN_ACCOUNT: '10' } })
  })
  afterAll(async () => { await s.stop() })
  const guesser = client()
  let throttled: { email: string; password: string }, ceilinged: { email: string; password: string }

  test('password grant: 3 failures per account and client, then 429 for that client, even with the right password', async () => {
    throttled = await confirmedUser(s)
    for (const username of [throttled.email, throttled.email.toUpperCase(), ` ${throttled.email}`]) {
      const res = await login(s, username, 'wrong-password', guesser)
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual(BAD_LOGIN)
    }
    await expectLimited(await login(s, throttled.email, throttled.password, guesser), 300)
    await expectLimited(await login(s, throttled.email, 'wrong-password', guesser), 300)
    const other = await confirmedUser(s)
    expect((await login(s, other.email, other.password, guesser)).status).toBe(200) // another account, same client
  })

  test('password grant: the owner on another client still logs in; successes never count; its own failures do', async () => {
    const owner = client()
    for (let i = 0; i < 5; i++) expect((await login(s, throttled.email, throttled.password, owner)).status).toBe(200)
    for (let i = 0; i < 3; i++) expect(await body(await login(s, throttled.email, 'wrong-password', owner))).toEqual(BAD_LOGIN)
    await expectLimited(await login(s, throttled.email, throttled.password, owner), 300)
    expect((await login(s, throttled.email, throttled.password, client())).status).toBe(200) // 6 failures so far, under 10
  })

  test('password grant: 20 parallel guesses from one client get exactly 3 answers, the rest 429', async () => {
    const u = await confirmedUser(s), c = client()
    const statuses = (await Promise.all(Array.from({ length: 20 }, () => login(s, u.email, 'wrong-password', c)))).map((r) => r.status)
    expect(statuses.filter((x) => x === 400)).toHaveLength(3)
    expect(statuses.filter((x) => x === 429)).toHaveLength(17)
  })

  test('password grant: past 10 failures per account from all clients, every client that has failed gets 429; a fresh client one guess; the owner still logs in', async () => {
    const u = ceilinged = await confirmedUser(s)
    const failing: string[] = []
    for (let i = 0; i < 5; i++) {
      const c = client()
      failing.push(c)
      for (let j = 0; j < 2; j++) expect(await body(await login(s, u.email, 'wrong-password', c))).toEqual(BAD_LOGIN)
    }
    // every client that has been failing on this account is refused, even with the right password
    for (const c of failing) await expectLimited(await login(s, u.email, u.password, c), 300)
    // a fresh address gets one guess, then it is a failing client like the others
    const fresh = client()
    expect(await body(await login(s, u.email, 'wrong-password', fresh))).toEqual(BAD_LOGIN)
    await expectLimited(await login(s, u.email, 'wrong-password', fresh), 300)
    await expectLimited(await login(s, u.email, u.password, fresh), 300)
    // the owner, who has not been failing, is not locked out by guesses from elsewhere, however many
    const owner = client()
    for (let i = 0; i < 3; i++) expect((await login(s, u.email, u.password, owner)).status).toBe(200)
  })

  test('password grant: unknown accounts are throttled alike, per client and per account (a 429 tells nothing about existence)', async () => {
    const ghost = freshEmail('ghost'), c = client()
    for (let i = 0; i < 3; i++) expect(await body(await login(s, ghost, 'whatever-password', c))).toEqual(BAD_LOGIN)
    await expectLimited(await login(s, ghost, 'whatever-password', c), 300)
    const others = Array.from({ length: 7 }, () => client())
    for (const o of others) expect(await body(await login(s, ghost, 'whatever-password', o))).toEqual(BAD_LOGIN)
    for (const o of others) await expectLimited(await login(s, ghost, 'whatever-password', o), 300)
  })

  test('after 5 minutes the client and the account may log in again', async () => {
    await expectLimited(await login(s, throttled.email, throttled.password, guesser), 300)
    const failed = client()
    expect(await body(await login(s, ceilinged.email, 'wrong-password', failed))).toEqual(BAD_LOGIN)
    await expectLimited(await login(s, ceilinged.email, ceilinged.password, failed), 300)
    s.clock.advance(301)
    expect((await login(s, throttled.email, throttled.password, guesser)).status).toBe(200)
    expect((await login(s, ceilinged.email, ceilinged.password, failed)).status).toBe(200)
  })
})

describe('without GOTRUE_RATE_LIMIT_HEADER, with the default limit', () => {
  let s: TestServer
  // '' counts as unset: /token gets its default of 30 per 5 minutes.
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '' } }) })
  afterAll(async () => { await s.stop() })

  test('the socket address is the key: 30 requests from 127.0.0.1, then 429 whatever X-Client-IP says', async () => {
    for (let i = 0; i < 30; i++) await expectUnsupported(await unsupported(s, client()))
    await expectLimited(await unsupported(s, client()), 300)
    await expectLimited(await unsupported(s), 300)
  })
})

describe('rate limit (GOTRUE_RATE_LIMIT_HEADER)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_RATE_LIMIT_HEADER: 'My-Custom-Header', GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '30' } }) })
  afterAll(() => s.stop())

  const post = (headers: Record<string, string>) => s.req('/token', { method: 'POST', headers })

  test('30 requests per header value pass; the 31st gets 429; X-Forwarded-For does not help; another value passes', async () => {
    for (let i = 0; i < 30; i++) {
      const res = await post({ 'My-Custom-Header': '1.2.3.4' })
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual({ error: 'unsupported_grant_type' })
    }
    const limited = await post({ 'My-Custom-Header': '1.2.3.4' })
    expect(limited.status).toBe(429)
    expect(await body(limited)).toEqual({ code: 429, msg: 'Rate limit exceeded' })
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)

    const forwarded = await post({ 'My-Custom-Header': '1.2.3.4', 'X-Forwarded-For': '5.6.7.8' })
    expect(forwarded.status).toBe(429)

    const other = await post({ 'My-Custom-Header': '5.6.7.8' })
    expect(other.status).toBe(400)
    expect(await body(other)).toEqual({ error: 'unsupported_grant_type' })
  })
})

describe('0 switches a rule off', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: {
      GOTRUE_RATE_LIMIT_HEADER: 'X-Client-IP', GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '0', GOTRUE_RATE_LIMIT_LOGIN: '0',
      GOTRUE_RATE_LIMIT_LOGIN_ACCOUNT: '0', GOTRUE_RATE_LIMIT_VERIFY: '0', GOTRUE_RATE_LIMIT_OTP: '0', GOTRUE_SMTP_MAX_FREQUENCY: '0',
    } })
  })
  afterAll(async () => { await s.stop() })

  test('35 (more than every default) password grants, /verify and /recover from one client to one account all pass', async () => {
    const c = client(), u = await confirmedUser(s), address = freshEmail('often')
    for (let i = 0; i < 35; i++) expect(await body(await login(s, u.email, 'wrong-password', c))).toEqual(BAD_LOGIN)
    expect((await login(s, u.email, u.password, c)).status).toBe(200)
    for (let i = 0; i < 35; i++) await expectNoUser(await verify(s, c))
    for (let i = 0; i < 35; i++) expect((await recover(s, address, c)).status).toBe(200)
  })
})

describe('GOTRUE_RATE_LIMIT_EMAIL_SENT=2: one hourly budget for every mail', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_RATE_LIMIT_EMAIL_SENT: '2' } }) })
  afterAll(async () => { await s.stop() })

  test('the third mail fails with 429: the signup leaves no user, the invite no invitee; an hour later mail flows again', async () => {
    const [a, b, c, d] = [freshEmail('a'), freshEmail('b'), freshEmail('c'), freshEmail('d')]
    for (const address of [a, b]) {
      expect((await signup(s, address)).status).toBe(200)
      await s.smtp.waitForMail(address)
    }
    await expectLimited(await signup(s, c), 3600)
    expect(await userRows(s, c)).toHaveLength(0)
    await expectLimited(await invite(s, d), 3600)
    expect(await userRows(s, d)).toHaveLength(0)
    expect(s.smtp.mailsTo(c)).toHaveLength(0)
    s.clock.advance(3601)
    expect((await signup(s, c)).status).toBe(200)
    expect((await s.smtp.waitForMail(c)).subject).toBe('Confirm Your Signup')
  })
})

const redisDown = await redisProblem(REDIS_URL)
// Without Redis a developer may skip these; CI (which starts Redis) must not.
const skipRedis = redisDown !== null && !process.env.CI
const redisTitle = skipRedis ? `GOTRUE_REDIS_URL (skipped: no Redis at ${REDIS_URL}: ${redisDown})` : 'GOTRUE_REDIS_URL: limits shared by nodes'

describe.skipIf(skipRedis)(redisTitle, () => {
  let a: TestServer, b: TestServer
  beforeAll(async () => {
    // one namespace: Redis keys are prefixed by it, so nodes of one deployment share it
    const env = { GOTRUE_REDIS_URL: REDIS_URL, GOTRUE_RATE_LIMIT_HEADER: 'X-Client-IP', GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '5', GOTRUE_RATE_LIMIT_LOGIN: '3', GOTRUE_RATE_LIMIT_LOGIN_ACCOUNT: '6', GOTRUE_DB_NAMESPACE: `t${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}` }
    ;[a, b] = await Promise.all([startServer({ env }), startServer({ env })])
  })
  afterAll(async () => { await Promise.all([a?.stop(), b?.stop()]) })

  test(`Redis answers at ${REDIS_URL}`, () => { expect(redisDown).toBeNull() })

  test('two servers count together: 3 requests on one and 3 on the other with a limit of 5, the 6th is 429', async () => {
    const c = client()
    for (const s of [a, a, a, b, b]) await expectUnsupported(await unsupported(s, c))
    await expectLimited(await unsupported(b, c), 300)
    await expectLimited(await unsupported(a, c), 300)
    await expectUnsupported(await unsupported(a, client()))
  })

  test('failed logins add up across nodes per account and client; the owner elsewhere logs in; successes do not count', async () => {
    // Each node has its own database here: the user exists on a only, and b counts its failures all the same.
    // Every client stays within /token's 5 requests.
    const u = await confirmedUser(a), x = client(), y = client()
    for (const s of [a, b, a]) expect(await body(await login(s, u.email, 'wrong-password', x))).toEqual(BAD_LOGIN)
    await expectLimited(await login(a, u.email, u.password, x), 300)
    for (const s of [a, a]) expect((await login(s, u.email, u.password, y)).status).toBe(200)
    for (const s of [b, a, b]) expect(await body(await login(s, u.email, 'wrong-password', y))).toEqual(BAD_LOGIN)
    // 6 failures: the account's ceiling, shared by the nodes: a client that has failed is refused on either node,
    // a fresh one gets one guess, the owner's right password from a fresh client still works
    await expectLimited(await login(b, u.email, u.password, y), 300)
    const w = client()
    expect(await body(await login(b, u.email, 'wrong-password', w))).toEqual(BAD_LOGIN)
    await expectLimited(await login(a, u.email, u.password, w), 300)
    expect((await login(a, u.email, u.password, client())).status).toBe(200)
    const v = await confirmedUser(a), z = client()
    const statuses = (await Promise.all(Array.from({ length: 5 }, (_, i) => login(i % 2 ? a : b, v.email, 'wrong-password', z)))).map((r) => r.status)
    expect(statuses.sort()).toEqual([400, 400, 400, 429, 429]) // z's budget, taken atomically in Redis
  })
})

describe('GOTRUE_REDIS_URL unreachable (nothing listens on its port)', () => {
  let s: TestServer
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-redis-down-'))
  const logFile = join(dir, 'gotrue.log')
  const SCRAPER = { authorization: 'Bearer metrics-token-for-tests' }
  beforeAll(async () => {
    s = await startServer({ env: {
      GOTRUE_REDIS_URL: 'redis://127.0.0.1:1', GOTRUE_RATE_LIMIT_HEADER: 'X-Client-IP', GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '2', GOTRUE_RATE_LIMIT_OTP: '1',
      GOTRUE_LOG_LEVEL: 'warn', GOTRUE_LOG_FILE: logFile, GOTRUE_METRICS_TOKEN: 'metrics-token-for-tests',
    } })
  })
  afterAll(async () => {
    await s.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  /** gotrue_rate_limit_store_errors_total as GET /metrics shows it (the series is there from the start). */
  const storeErrors = async () => {
    const res = await s.req('/metrics', { headers: SCRAPER })
    expect(res.status).toBe(200)
    const m = /^gotrue_rate_limit_store_errors_total (\d+)$/m.exec(await res.text())
    expect(m).not.toBeNull()
    return Number(m?.[1])
  }
  const failOpenWarnings = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l) as { level: string; msg: string; error?: string })
    .filter((l) => l.msg === 'rate limiter unavailable, request allowed')

  test('fails open: requests over the limit are allowed, each with a warning and one count in gotrue_rate_limit_store_errors_total; the server stays up', async () => {
    const before = await storeErrors()
    expect(before).toBe(0)
    const c = client()
    // /token counts each request once against the client's budget of 2: five answered, none limited
    for (let i = 0; i < 5; i++) await expectUnsupported(await unsupported(s, c))
    expect(await storeErrors()).toBe(5)
    const warnings = failOpenWarnings()
    expect(warnings).toHaveLength(5)
    for (const w of warnings) expect(w).toMatchObject({ level: 'warn', error: expect.any(String) })
    // /signup checks the client and the address (a budget of 1 each): three signups, six checks, all allowed
    const address = freshEmail('open')
    for (let i = 0; i < 3; i++) expect((await signup(s, address, c)).status).toBe(200)
    expect(await storeErrors()).toBe(11)
    expect(failOpenWarnings()).toHaveLength(11)
    const health = await s.req('/health')
    expect(health.status).toBe(200)
    expect((await body(health)).name).toBe('GoTrue')
  })
})
