// Property-based fuzzing of every route's body, query and headers against one real server (issue 9, item 1).
// Fixed seed 42; FUZZ_RUNS inputs per property (60 here, 10,000 in `bun run fuzz`). Every request must get an
// answer, never a 5xx, and every non-2xx (but 302/204) is JSON in a GoTrue error shape (tests/fuzz/oracle.ts).
// Requests that must be refused are sent in batches and the whole database is hashed before and after each
// batch: a refusal writes nothing. The refusal properties run first, while only the fixture accounts exist
// (the later properties create users and may change passwords, which could turn a "refused" login into a hit).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import fc, { type Arbitrary } from 'fast-check'
import { signAccessToken, signHS256 } from '../lib/jwt.ts'
import { body, form, JWT_SECRET, startServer, type TestServer, tokenFromMail } from './harness.ts'
import {
  Body, bodies, CAP, emails, fields, FORM_CT, formEncode, headers, JSON_CT, junk, meta, password, queries, text, tokenish,
} from './fuzz/inputs.ts'
import { fuzz, refusedBatches, report, type Req, RUNS, send, stats, TIMEOUT } from './fuzz/oracle.ts'

const OPERATOR = 'operator-token-for-tests'
const PW = 'fixture-password-1'
const KNOWN = ['fixture@example.com', 'boss@example.com', 'victim@example.com', 'pending@example.com', 'invited@example.com']
const CONFIRMED = KNOWN.slice(0, 3)

let s: TestServer
const ids: Record<string, string> = {}
/** Bearer tokens: `good` are accepted by /user (a user, the same user for another audience); `admins` by the
 *  admin routes (operator token, an admin user, the system super admin); `junk` by nothing. */
const tokens = { good: [] as string[], admins: [] as string[], junk: [] as string[] }
let refreshToken = ''
let inviteToken = ''

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
async function mintTokens(): Promise<void> {
  const exp = Math.floor(Date.now() / 1000) + 30 * 86_400
  const claims = (over: Record<string, unknown> = {}) =>
    ({ aud: 'api.netlify.com', exp, sub: ids.fixture ?? '', email: KNOWN[0] ?? '', app_metadata: { provider: 'email' }, user_metadata: {}, ...over })
  const user = await signAccessToken(claims(), JWT_SECRET)
  const boss = await signAccessToken(claims({ sub: ids.boss, email: 'boss@example.com' }), JWT_SECRET)
  tokens.good = [user, await signAccessToken(claims({ aud: 'other-aud' }), JWT_SECRET)]
  tokens.admins = [OPERATOR, boss, await signAccessToken(claims({ sub: '0', email: '' }), JWT_SECRET)]
  const [h, , sig] = user.split('.')
  tokens.junk = [
    await signAccessToken(claims({ exp: exp - 40 * 86_400 }), JWT_SECRET), // expired
    await signAccessToken(claims({ sub: '0' }), 'another-secret-that-is-long-enough-for-hs256'), // wrong key
    await signHS256({ aud: 'api.netlify.com', sub: ids.fixture }, JWT_SECRET), // no exp
    `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims({ sub: '0' }))}.`, // alg none
    `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims())}.${sig}`, // alg swapped
    `${h}.${b64(claims({ sub: ids.boss }))}.${sig}`, // tampered payload
    await signAccessToken(claims({ sub: crypto.randomUUID() }), JWT_SECRET), // unknown user
    await signAccessToken(claims({ sub: 'not-a-uuid' }), JWT_SECRET),
    await signHS256({ ...claims(), sub: 12345 }, JWT_SECRET), // claims of the wrong type, validly signed
    await signHS256({ ...claims(), sub: { id: ids.fixture } }, JWT_SECRET),
    await signHS256({ ...claims(), sub: [ids.fixture] }, JWT_SECRET),
    await signHS256({ ...claims(), exp: String(exp) }, JWT_SECRET),
    await signHS256({ ...claims(), nbf: exp }, JWT_SECRET),
    user.slice(0, -2), `${user}.x`, refreshToken,
  ]
}

beforeAll(async () => {
  s = await startServer({
    env: {
      GOTRUE_EXTERNAL_GITHUB_ENABLED: 'true', GOTRUE_EXTERNAL_GITHUB_CLIENT_ID: 'client', GOTRUE_EXTERNAL_GITHUB_SECRET: 'secret',
      GOTRUE_EXTERNAL_GITHUB_REDIRECT_URI: 'https://example.netlify.com/.netlify/identity/callback',
      GOTRUE_EXTERNAL_GITHUB_URL: 'http://127.0.0.1:9', // nothing listens: every code exchange fails fast
    },
  })
  const admin = { authorization: `Bearer ${OPERATOR}` }
  for (const [name, extra] of [['fixture', {}], ['boss', { role: 'admin' }], ['victim', {}]] as const) {
    const res = await s.req('/admin/users', { method: 'POST', headers: admin, json: { email: `${name}@example.com`, password: PW, confirm: true, ...extra } })
    expect(res.status).toBe(200)
    ids[name] = String((await body(res)).id)
  }
  expect((await s.req('/signup', { method: 'POST', json: { email: 'Pending@Example.com', password: PW } })).status).toBe(200)
  expect((await s.req('/invite', { method: 'POST', headers: admin, json: { email: 'invited@example.com' } })).status).toBe(200)
  inviteToken = tokenFromMail(await s.smtp.waitForMail('invited@example.com'), 'invite_token')
  const login = await s.req('/token', form({ grant_type: 'password', username: KNOWN[0] ?? '', password: PW }))
  expect(login.status).toBe(200)
  refreshToken = String((await body(login)).refresh_token)
  await mintTokens()
  // a pending email change, so a wrong email_change_token meets a real one
  const change = await s.req('/user', { method: 'PUT', headers: { authorization: `Bearer ${tokens.good[0]}` }, json: { email: 'fixture-new@example.com' } })
  expect(change.status).toBe(200)
})
afterAll(async () => {
  console.log(report())
  await s.stop()
})

// ---- arbitraries over the fixtures (built lazily: the tokens exist only after beforeAll) ----
const anyAuth = () => fc.oneof(
  fc.constantFrom(...tokens.good, ...tokens.admins, ...tokens.junk).map((t) => `Bearer ${t}`),
  headers({ tokens: [...tokens.good, ...tokens.junk] }).map((h) => h.authorization),
)
// fetch trims header values: 'Bearer operator-token-for-tests ' is the operator token, not junk
const junkAuth = () => fc.oneof(fc.constantFrom(...tokens.junk).map((t) => `Bearer ${t}`),
  headers({ tokens: tokens.junk }).map((h) => h.authorization).filter((a) => a?.trim() !== `Bearer ${OPERATOR}`))
const notAdminAuth = () => fc.oneof(junkAuth(), fc.constantFrom(...tokens.good).map((t) => `Bearer ${t}`))
const bearerOf = (list: () => string[]) => () => fc.constantFrom(...list()).map((t) => `Bearer ${t}`)
const withAuth = (auth: Arbitrary<string | undefined>, aud = true) => headers({ auth, aud })
const noAt = text.map((t) => t.replaceAll('@', ''))
const uuidLike = fc.oneof(fc.uuid(), text.map(encodeURIComponent), fc.constantFrom('%ff', '..', '%2e%2e', 'export', '00000000-0000-0000-0000-000000000000', '%00'))

const post = (path: string, b: Body, h: Record<string, string>, method = 'POST'): Req => ({ method, path, headers: h, body: b })
const get = (path: string, q: string, h: Record<string, string>): Req => ({ method: 'GET', path: q ? `${path}?${q}` : path, headers: h })

const signupKeys = ['email', 'password', 'data']
const signupBody = (email: Arbitrary<unknown>) => bodies(fields({ email, password, data: meta }), signupKeys)
const tokenFields = (pw: Arbitrary<string>, refresh: Arbitrary<string>) => fields({
  grant_type: fc.oneof(fc.mixedCase(fc.constantFrom('password', 'refresh_token', 'authorization_code')), text),
  username: emails(KNOWN), password: pw, refresh_token: refresh, code: tokenish, code_verifier: text,
})
const tokenKeys = ['grant_type', 'username', 'password', 'refresh_token', 'code', 'code_verifier']
const userKeys = ['email', 'password', 'email_change_token', 'data', 'app_metadata']
const userFields = (changeToken: Arbitrary<string>) => fields({ email: emails(KNOWN), password, email_change_token: changeToken, data: meta, app_metadata: meta })
const adminKeys = ['email', 'password', 'password_hash', 'aud', 'role', 'confirm', 'user_metadata', 'app_metadata']
const adminFields = (email: Arbitrary<string>, withAud = true) => fields({
  email, password, password_hash: fc.oneof(text, fc.constant(`$2a$04$${'a'.repeat(53)}`)), ...(withAud ? { aud: text } : {}), role: text,
  confirm: fc.boolean(), user_metadata: meta, app_metadata: meta,
})
const listQuery = queries(fields({ page: text, per_page: text, sort: text, filter: text, email: emails(KNOWN), cursor: text, query: text, all: text }))
const authorizeQuery = (provider: Arbitrary<string>, invite: Arbitrary<string>) =>
  queries(fields({ provider, invite_token: invite, code_challenge: fc.oneof(text, fc.base64String({ minLength: 43, maxLength: 43 })), code_challenge_method: fc.oneof(fc.mixedCase(fc.constantFrom('s256', 'plain')), text) }))
const callbackFields = (state: Arbitrary<string>) => fields({ state, code: tokenish, error: text, error_description: text })

describe('refused requests are answered in the GoTrue shape and change nothing', () => {
  test('POST /signup: bad types, no valid email, or an already confirmed one', () => refusedBatches(s, 'POST /signup',
    fc.tuple(signupBody(fc.oneof(noAt, fc.mixedCase(fc.constantFrom(...CONFIRMED)))), withAuth(anyAuth(), false)).map(([b, h]) => post('/signup', b, h))), TIMEOUT)

  test('POST /verify: every token is unknown', () => refusedBatches(s, 'POST /verify',
    fc.tuple(bodies(fields({ type: fc.oneof(fc.constantFrom('signup', 'invite', 'recovery', 'email_change'), text), token: tokenish, password }), ['type', 'token', 'password']), withAuth(anyAuth()))
      .map(([b, h]) => post('/verify', b, h))), TIMEOUT)

  test('POST /recover: unknown addresses get 200 {} and write nothing', () => refusedBatches(s, 'POST /recover',
    fc.tuple(bodies(fields({ email: fc.oneof(noAt, fc.string().map((l) => `${l.replaceAll('@', '')}@nobody.invalid`)) }), ['email']), withAuth(anyAuth()))
      .map(([b, h]) => post('/recover', b, h)), { anyStatus: true }), TIMEOUT)

  const badLogin = () => tokenFields(password.filter((p) => p !== PW), tokenish)
  test('POST /token (form and JSON bodies): wrong passwords, unknown refresh tokens and codes, bad grants', () => refusedBatches(s, 'POST /token (body)',
    fc.tuple(bodies(badLogin(), tokenKeys), withAuth(anyAuth())).map(([b, h]) => post('/token', b, h))), TIMEOUT)

  test('POST /token (query string)', () => refusedBatches(s, 'POST /token (query)',
    fc.tuple(queries(badLogin()), withAuth(anyAuth())).map(([q, h]) => ({ method: 'POST', path: `/token?${q}`, headers: h }))), TIMEOUT)

  test('GET /user: any bearer, audience and query (read-only)', () => refusedBatches(s, 'GET /user',
    fc.tuple(queries(fields({ a: text })), withAuth(anyAuth())).map(([q, h]) => get('/user', q, h)), { anyStatus: true }), TIMEOUT)

  test('PUT /user: junk bearers, or a wrong email_change_token', () => refusedBatches(s, 'PUT /user',
    fc.oneof(
      fc.tuple(bodies(userFields(tokenish), userKeys), withAuth(junkAuth())).map(([b, h]) => post('/user', b, h, 'PUT')),
      // JSON or form only: a spliced byte or a duplicate key could drop the token and turn the PUT into a success
      fc.tuple(userFields(tokenish), tokenish, fc.boolean(), withAuth(bearerOf(() => tokens.good)())).map(([o, t, asForm, h]) =>
        post('/user', asForm ? new Body('form', FORM_CT, formEncode({ ...o, email_change_token: t })) : new Body('json', JSON_CT, JSON.stringify({ ...o, email_change_token: t })), h, 'PUT')),
    )), TIMEOUT)

  test('POST /logout: junk bearers', () => refusedBatches(s, 'POST /logout',
    fc.tuple(bodies(fields({ a: junk }), ['a']), withAuth(junkAuth())).map(([b, h]) => post('/logout', b, h))), TIMEOUT)

  test('POST /invite: without an admin, or without a new valid email', () => refusedBatches(s, 'POST /invite',
    fc.oneof(
      fc.tuple(bodies(fields({ email: emails(KNOWN), data: meta }), ['email', 'data']), withAuth(notAdminAuth())).map(([b, h]) => post('/invite', b, h)),
      fc.tuple(bodies(fields({ email: fc.oneof(noAt, fc.mixedCase(fc.constantFrom(...KNOWN))), data: meta }), ['email', 'data']), withAuth(bearerOf(() => tokens.admins)(), false))
        .map(([b, h]) => post('/invite', b, h)),
    )), TIMEOUT)

  test('POST, PUT and DELETE /admin/users: without an admin, for unknown ids, or without a valid email', () => refusedBatches(s, 'POST|PUT|DELETE /admin/users',
    fc.oneof(
      fc.tuple(bodies(adminFields(emails(KNOWN)), adminKeys), withAuth(notAdminAuth())).map(([b, h]) => post('/admin/users', b, h)),
      fc.tuple(bodies(adminFields(noAt, false), adminKeys), withAuth(bearerOf(() => tokens.admins)())).map(([b, h]) => post('/admin/users', b, h)),
      fc.tuple(bodies(adminFields(emails(KNOWN)), adminKeys), withAuth(notAdminAuth())).map(([b, h]) => post(`/admin/users/${ids.victim}`, b, h, 'PUT')),
      fc.tuple(uuidLike, bodies(adminFields(emails(KNOWN)), adminKeys), withAuth(bearerOf(() => tokens.admins)())).map(([id, b, h]) => post(`/admin/users/${id}`, b, h, 'PUT')),
      fc.tuple(fc.oneof(uuidLike, fc.constant(ids.victim ?? '')), withAuth(notAdminAuth())).map(([id, h]): Req => ({ method: 'DELETE', path: `/admin/users/${id}`, headers: h })),
      fc.tuple(uuidLike, withAuth(bearerOf(() => tokens.admins)())).map(([id, h]): Req => ({ method: 'DELETE', path: `/admin/users/${id}`, headers: h })),
    )), TIMEOUT)

  test('GET /admin/users, /admin/users/:id, /admin/users/export and /admin/audit: any bearer and query (read-only)', () => refusedBatches(s, 'GET /admin/*',
    fc.tuple(fc.constantFrom('/admin/users', '/admin/users/export', '/admin/audit', `/admin/users/${ids.victim}`), fc.oneof(uuidLike, fc.constant('')), listQuery, withAuth(anyAuth()))
      .map(([path, id, q, h]) => get(id && path === '/admin/users' ? `${path}/${id}` : path, q, h)), { anyStatus: true }), TIMEOUT)

  test('GET /authorize: unknown providers and invite tokens', () => refusedBatches(s, 'GET /authorize',
    fc.tuple(fc.oneof(
      authorizeQuery(text.filter((p) => p.toLowerCase() !== 'github'), fc.oneof(tokenish, text)),
      authorizeQuery(fc.mixedCase(fc.constant('github')), tokenish).filter((q) => q.includes('invite_token=')),
    ), withAuth(anyAuth())).map(([q, h]) => get('/authorize', q, h))), TIMEOUT)

  test('GET and POST /callback: unknown or missing state', () => refusedBatches(s, 'GET|POST /callback',
    fc.oneof(
      fc.tuple(queries(callbackFields(tokenish)), withAuth(anyAuth())).map(([q, h]) => get('/callback', q, h)),
      fc.tuple(queries(callbackFields(tokenish)), bodies(callbackFields(tokenish), ['state', 'code', 'error']), withAuth(anyAuth())).map(([q, b, h]) => post(`/callback?${q}`, b, h)),
    )), TIMEOUT)

  test('GET /settings and /health: any query and headers (read-only)', () => refusedBatches(s, 'GET /settings|/health',
    fc.tuple(fc.constantFrom('/settings', '/health'), queries(fields({ a: text })), withAuth(anyAuth())).map(([p, q, h]) => get(p, q, h)), { anyStatus: true }), TIMEOUT)
})

describe('any input: an answer, no 5xx, GoTrue error shapes', () => {
  const adminAuth = () => bearerOf(() => tokens.admins)()
  test('POST /signup', () => fuzz(fc.tuple(signupBody(emails(KNOWN)), withAuth(anyAuth())),
    ([b, h]) => send(s, 'POST /signup', post('/signup', b, h))), TIMEOUT)

  test('POST /recover', () => fuzz(fc.tuple(bodies(fields({ email: emails(KNOWN) }), ['email']), withAuth(anyAuth())),
    ([b, h]) => send(s, 'POST /recover', post('/recover', b, h))), TIMEOUT)

  const login = () => tokenFields(fc.oneof(password, fc.constant(PW)), fc.oneof(tokenish, fc.constant(refreshToken)))
  test('POST /token (form and JSON bodies), with real passwords and refresh tokens among the inputs', () => fuzz(fc.tuple(bodies(login(), tokenKeys), withAuth(anyAuth())),
    ([b, h]) => send(s, 'POST /token (body)', post('/token', b, h))), TIMEOUT)

  test('POST /token (query string)', () => fuzz(fc.tuple(queries(login()), withAuth(anyAuth())),
    ([q, h]) => send(s, 'POST /token (query)', { method: 'POST', path: `/token?${q}`, headers: h })), TIMEOUT)

  test('PUT /user with a valid bearer', () => fuzz(fc.tuple(bodies(userFields(fc.oneof(text, tokenish)), userKeys), withAuth(bearerOf(() => tokens.good)())),
    ([b, h]) => send(s, 'PUT /user', post('/user', b, h, 'PUT'))), TIMEOUT)

  test('POST /logout with a valid bearer', () => fuzz(fc.tuple(bodies(fields({ a: junk }), ['a']), withAuth(bearerOf(() => [...tokens.good, ...tokens.admins])())),
    ([b, h]) => send(s, 'POST /logout', post('/logout', b, h))), TIMEOUT)

  test('POST /invite as an admin', () => fuzz(fc.tuple(bodies(fields({ email: emails(KNOWN), data: meta }), ['email', 'data']), withAuth(adminAuth())),
    ([b, h]) => send(s, 'POST /invite', post('/invite', b, h))), TIMEOUT)

  test('POST /admin/users and PUT /admin/users/:id as an admin', () => fuzz(
    fc.tuple(fc.boolean(), bodies(adminFields(emails(KNOWN)), adminKeys), withAuth(adminAuth())),
    ([create, b, h]) => send(s, 'POST|PUT /admin/users', create ? post('/admin/users', b, h) : post(`/admin/users/${ids.victim}`, b, h, 'PUT'))), TIMEOUT)

  test('DELETE /admin/users/:id as an admin: a fresh user, with any headers, query and body', () => fuzz(
    fc.tuple(queries(fields({ a: text })), bodies(fields({ a: junk }), ['a']), withAuth(adminAuth()), fc.nat()),
    async ([q, b, h, n]) => {
      const created = await s.req('/admin/users', { method: 'POST', headers: { authorization: `Bearer ${OPERATOR}` }, json: { email: `gone-${n}-${crypto.randomUUID()}@example.com` } })
      expect(created.status).toBe(200)
      await send(s, 'DELETE /admin/users/:id', post(`/admin/users/${(await body(created)).id}?${q}`, b, h, 'DELETE'))
    }), TIMEOUT)

  test('GET /authorize, with the real invite token among the inputs', () => fuzz(
    fc.tuple(authorizeQuery(fc.oneof(fc.mixedCase(fc.constant('github')), text), fc.oneof(tokenish, fc.constant(inviteToken))), withAuth(anyAuth())),
    ([q, h]) => send(s, 'GET /authorize', get('/authorize', q, h))), TIMEOUT)

  test('GET and POST /callback with a real state from /authorize', () => fuzz(
    fc.tuple(fc.boolean(), queries(callbackFields(tokenish)), bodies(callbackFields(tokenish), ['code', 'error', 'error_description']), withAuth(anyAuth())),
    async ([asGet, q, b, h]) => {
      const start = await s.req('/authorize?provider=github', { redirect: 'manual' })
      const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? ''
      const path = `/callback?${q}&state=${encodeURIComponent(state)}`
      const a = await send(s, 'GET|POST /callback', asGet ? get(path, '', h) : post(path, b, h))
      // a real state is consumed by the first callback: the site is told the outcome, or the request was malformed
      expect(a.status === 302 || a.status === 400 || a.status === 422).toBe(true)
    }), TIMEOUT)

  test('any method on any path', () => fuzz(
    fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      fc.constantFrom('/signup', '/verify', '/recover', '/token', '/user', '/logout', '/invite', '/admin/users', `/admin/users/${ids.victim}`, '/admin/audit',
        '/authorize', '/callback', '/settings', '/health', '/', '/admin', '/users', '/%ff', '/../etc/passwd', '/signup/', '//signup', '/SIGNUP'),
      bodies(fields({ email: emails(KNOWN), password }), signupKeys), withAuth(anyAuth())),
    ([method, path, b, h]) => send(s, 'any method, any path', method === 'GET' ? { method, path, headers: h } : post(path, b, h, method))), TIMEOUT)
})

describe('examples at the edges the properties sample', () => {
  test('JSON nested deeper than 10,000 levels is a 400 (GoTrue decodes up to 10,000); 10,000 levels are stored', async () => {
    const nested = (d: number) => `{"email":"deep-${d}@example.com","password":"${PW}","data":{"x":${'['.repeat(d - 2)}${']'.repeat(d - 2)}}}`
    const over = await s.req('/signup', { method: 'POST', headers: { 'content-type': JSON_CT }, body: nested(10_001) })
    expect(over.status).toBe(400)
    expect(await body(over)).toEqual({ code: 400, msg: 'Could not parse request body: JSON nested deeper than 10000 levels' })
    const at = await s.req('/signup', { method: 'POST', headers: { 'content-type': JSON_CT }, body: nested(10_000) })
    expect(at.status).toBe(200)
  })

  test('a body far beyond the cap (declared 2 MiB) gets the JSON 413 too', async () => {
    const res = await s.req('/signup', { method: 'POST', headers: { 'content-type': JSON_CT }, body: 'x'.repeat(2 * CAP) })
    expect(res.status).toBe(413)
    expect(await body(res)).toEqual({ code: 413, msg: `Request body too large (limit ${CAP} bytes)` })
  })

  test(`every route received at least FUZZ_RUNS (${RUNS}) inputs`, () => {
    const routes = ['POST /signup', 'POST /verify', 'POST /recover', 'POST /token (body)', 'POST /token (query)', 'GET /user', 'PUT /user', 'POST /logout',
      'POST /invite', 'POST|PUT|DELETE /admin/users', 'POST|PUT /admin/users', 'DELETE /admin/users/:id', 'GET /admin/*', 'GET /authorize', 'GET|POST /callback',
      'GET /settings|/health', 'any method, any path']
    for (const route of routes) expect({ route, inputs: stats.get(route)?.inputs ?? 0 }).toEqual({ route, inputs: expect.any(Number) })
    expect(routes.filter((r) => (stats.get(r)?.inputs ?? 0) < RUNS)).toEqual([])
  })
})
