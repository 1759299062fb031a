// Property-based fuzzing of every route's body, query and headers against one real server: hand-written cases
// cover what we thought of, the properties find what we did not. Fixed seed 42; FUZZ_RUNS inputs per property
// (60 in the full run, 10,000 in `bun run fuzz`; the fast tier runs only the examples at the end). Every request
// must get an answer, never a 5xx, and every non-2xx (but 302/204) is JSON in a GoTrue error shape
// (tests/fuzz/oracle.ts). Requests that must be refused are sent in batches and the whole database is hashed
// before and after each batch: a refusal writes nothing. The refusal properties run first, while only the fixture accounts exist
// (the later properties create users and may change passwords, which could turn a "refused" login into a hit).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import fc, { type Arbitrary } from 'fast-check'
import { signAccessToken, signHS256 } from '../lib/jwt.ts'
import { body, form, JWT_SECRET, slow, startServer, type TestServer, tokenFromMail } from './harness.ts'
import {
  Body, bodies, CAP, capped, emails, fields, FORM_CT, formEncode, headers, JSON_CT, junk, meta, password, PROTO, queries, text, tokenish,
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
/** Signs any claims, of any type, with the real secret. */
const raw = (claims: Record<string, unknown>) => signHS256(claims as Parameters<typeof signHS256>[0], JWT_SECRET)
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
    await raw({ ...claims(), sub: 12345 }), await raw({ ...claims(), sub: { id: ids.fixture } }), await raw({ ...claims(), sub: [ids.fixture] }),
    await raw({ ...claims(), exp: String(exp) }), await raw({ ...claims(), nbf: exp }),
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
}, 60_000)
afterAll(async () => {
  console.log(report())
  await s.stop() // drops the run's tables on MySQL: can take longer than the default hook time on a busy machine
}, 60_000)

// ---- arbitraries over the fixtures (built lazily: the tokens exist only after beforeAll) ----
const anyAuth = () => fc.oneof(
  ...[tokens.good, tokens.admins, tokens.junk].map((list) => fc.constantFrom(...list).map((t) => `Bearer ${t}`)),
  headers({ tokens: [...tokens.good, ...tokens.junk] }).map((h) => h.authorization),
)
// fetch trims header values: 'Bearer operator-token-for-tests ' is the operator token, not junk
const junkAuth = () => fc.oneof(fc.constantFrom(...tokens.junk).map((t) => `Bearer ${t}`),
  headers({ tokens: tokens.junk }).map((h) => h.authorization).filter((a) => a?.trim() !== `Bearer ${OPERATOR}`))
const notAdminAuth = () => fc.oneof(junkAuth(), fc.constantFrom(...tokens.good).map((t) => `Bearer ${t}`))
const bearerOf = (list: () => string[]) => () => fc.constantFrom(...list()).map((t) => `Bearer ${t}`)
const withAuth = (auth: Arbitrary<string | undefined>, aud = true) => headers({ auth, aud })
const noAt = text.map((t) => t.replaceAll('@', ''))
/** A path segment of at most 2,000 chars (under Bun's 16 KiB head limit); a lone surrogate becomes invalid UTF-8. */
const segment = (t: string) => { try { return encodeURIComponent(t).slice(0, 2000) } catch { return '%ED%A0%80' } }
const uuidLike = fc.oneof(fc.uuid(), text.map(segment), fc.constantFrom('%ff', '..', '%2e%2e', 'export', '00000000-0000-0000-0000-000000000000', '%00'))

const post = (path: string, b: Body, h: Record<string, string>, method = 'POST'): Req => ({ method, path, headers: h, body: b })
const get = (path: string, q: string, h: Record<string, string>): Req => ({ method: 'GET', path: q ? `${path}?${q}` : path, headers: h })

const signupKeys = ['email', 'password', 'data']
const signupBody = (email: Arbitrary<unknown>) => bodies(fields({ email, password, data: meta }), signupKeys)
const tokenFields = (pw: Arbitrary<string>, refresh: Arbitrary<string>) => fields({
  grant_type: fc.oneof(fc.constantFrom('password', 'refresh_token', 'authorization_code'), fc.mixedCase(fc.constantFrom('password', 'refresh_token')), text),
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
  queries(fields({ provider, invite_token: invite, code_challenge: fc.oneof(text, fc.string({ unit: fc.constantFrom(...'ABCXYZabcxyz0189-._~'), minLength: 43, maxLength: 128 })), code_challenge_method: fc.oneof(fc.mixedCase(fc.constantFrom('s256', 'plain')), text) }))
const callbackFields = (state: Arbitrary<string>) => fields({ state, code: tokenish, error: text, error_description: text })

slow.describe('refused requests are answered in the GoTrue shape and change nothing', () => {
  const admins = () => bearerOf(() => tokens.admins)()
  const refuse = (name: string, arb: () => Arbitrary<Req>, anyStatus = false) => test(name, () => refusedBatches(s, arb(), { anyStatus }), TIMEOUT)

  refuse('POST /signup: bad types, no valid email, or an already confirmed one', () =>
    fc.tuple(signupBody(fc.oneof(noAt, fc.mixedCase(fc.constantFrom(...CONFIRMED)))), withAuth(anyAuth(), false)).map(([b, h]) => post('/signup', b, h)))
  refuse('POST /verify: every token is unknown', () =>
    fc.tuple(bodies(fields({ type: fc.oneof(fc.constantFrom('signup', 'invite', 'recovery', 'email_change', ...PROTO), text), token: tokenish, password }), ['type', 'token', 'password']), withAuth(anyAuth()))
      .map(([b, h]) => post('/verify', b, h)))
  refuse('POST /recover: unknown addresses get 200 {} and write nothing', () =>
    fc.tuple(bodies(fields({ email: fc.oneof(noAt, fc.string().map((l) => `${l.replaceAll('@', '')}@nobody.invalid`)) }), ['email']), withAuth(anyAuth()))
      .map(([b, h]) => post('/recover', b, h)), true)
  const badLogin = () => tokenFields(password.filter((p) => p !== PW), tokenish)
  refuse('POST /token, form and JSON bodies: wrong passwords, unknown refresh tokens and codes, bad grants', () =>
    fc.tuple(bodies(badLogin(), tokenKeys), withAuth(anyAuth())).map(([b, h]) => post('/token', b, h)))
  refuse('POST /token, query string', () => fc.tuple(queries(badLogin()), withAuth(anyAuth())).map(([q, h]): Req => ({ method: 'POST', path: `/token?${q}`, headers: h })))
  refuse('GET /user: any bearer, audience and query (read-only)', () => fc.tuple(queries(fields({ a: text })), withAuth(anyAuth())).map(([q, h]) => get('/user', q, h)), true)
  refuse('PUT /user: junk bearers, or a wrong email_change_token', () => fc.oneof(
    fc.tuple(bodies(userFields(tokenish), userKeys), withAuth(junkAuth())).map(([b, h]) => post('/user', b, h, 'PUT')),
    // JSON or form only, the token first: a spliced byte, a duplicate key or a cut could drop it and turn the PUT into a success
    fc.tuple(userFields(tokenish), tokenish, fc.boolean(), withAuth(bearerOf(() => tokens.good)())).map(([{ email_change_token: _, ...o }, t, asForm, h]) =>
      post('/user', capped(asForm ? new Body('form', FORM_CT, formEncode({ email_change_token: t, ...o })) : new Body('json', JSON_CT, JSON.stringify({ email_change_token: t, ...o }))), h, 'PUT')),
  ))
  refuse('POST /logout: junk bearers', () => fc.tuple(bodies(fields({ a: junk }), ['a']), withAuth(junkAuth())).map(([b, h]) => post('/logout', b, h)))
  refuse('POST /invite: without an admin, or without a new valid email', () => fc.oneof(
    fc.tuple(bodies(fields({ email: emails(KNOWN), data: meta }), ['email', 'data']), withAuth(notAdminAuth())).map(([b, h]) => post('/invite', b, h)),
    fc.tuple(bodies(fields({ email: fc.oneof(noAt, fc.mixedCase(fc.constantFrom(...KNOWN))), data: meta }), ['email', 'data']), withAuth(admins(), false)).map(([b, h]) => post('/invite', b, h)),
  ))
  refuse('POST /admin/users: without an admin, or without a valid email', () => fc.oneof(
    fc.tuple(bodies(adminFields(emails(KNOWN)), adminKeys), withAuth(notAdminAuth())).map(([b, h]) => post('/admin/users', b, h)),
    fc.tuple(bodies(adminFields(noAt, false), adminKeys), withAuth(admins(), false)).map(([b, h]) => post('/admin/users', b, h)),
  ))
  refuse('PUT /admin/users/:id: without an admin, or for unknown ids', () => fc.oneof(
    fc.tuple(bodies(adminFields(emails(KNOWN)), adminKeys), withAuth(notAdminAuth())).map(([b, h]) => post(`/admin/users/${ids.victim}`, b, h, 'PUT')),
    fc.tuple(uuidLike, bodies(adminFields(emails(KNOWN)), adminKeys), withAuth(admins())).map(([id, b, h]) => post(`/admin/users/${id}`, b, h, 'PUT')),
  ))
  refuse('DELETE /admin/users/:id: without an admin, or for unknown ids', () => fc.oneof(
    fc.tuple(bodies(fields({ a: junk }), ['a']), withAuth(notAdminAuth())).map(([b, h]) => post(`/admin/users/${ids.victim}`, b, h, 'DELETE')),
    fc.tuple(uuidLike, bodies(fields({ a: junk }), ['a']), withAuth(admins())).map(([id, b, h]) => post(`/admin/users/${id}`, b, h, 'DELETE')),
  ))
  for (const path of ['/admin/users', '/admin/users/:id', '/admin/users/export', '/admin/audit']) {
    refuse(`GET ${path}: any bearer and query (read-only)`, () => fc.tuple(fc.oneof(fc.constant(ids.victim ?? ''), uuidLike), listQuery, withAuth(anyAuth()))
      .map(([id, q, h]) => get(path.replace(':id', id), q, h)), true)
  }
  refuse('GET /authorize: unknown providers and invite tokens', () => fc.tuple(fc.oneof(
    authorizeQuery(text.filter((p) => p.toLowerCase() !== 'github'), fc.oneof(tokenish, text)),
    authorizeQuery(fc.mixedCase(fc.constant('github')), tokenish).filter((q) => q.includes('invite_token=')),
  ), withAuth(anyAuth())).map(([q, h]) => get('/authorize', q, h)))
  refuse('GET /callback: unknown or missing state', () => fc.tuple(queries(callbackFields(tokenish)), withAuth(anyAuth())).map(([q, h]) => get('/callback', q, h)))
  refuse('POST /callback: unknown or missing state', () => fc.tuple(queries(callbackFields(tokenish)), bodies(callbackFields(tokenish), ['state', 'code', 'error']), withAuth(anyAuth()))
    .map(([q, b, h]) => post(`/callback?${q}`, b, h)))
  for (const path of ['/settings', '/health']) {
    refuse(`GET ${path}: any query and headers (read-only)`, () => fc.tuple(queries(fields({ a: text })), withAuth(anyAuth())).map(([q, h]) => get(path, q, h)), true)
  }
  // Elysia's `normalize: true` (app.ts) mirrors a body onto an object schema before validating it: a string became
  // {"0": "a", "1": "b", …}, an array {"0": …}, a number {}. Metadata is now declared unknown and checked by metadataOf().
  refuse('metadata that is not a JSON object (a string, an array, a number) is refused, never stored key by key', () => fc.tuple(
    fc.oneof(fc.string({ minLength: 1 }), fc.array(fc.jsonValue(), { minLength: 1 }), fc.integer(), fc.boolean()), fc.uuid(),
    fc.constantFrom('/signup data', '/invite data', '/user data', '/user app_metadata', '/admin/users user_metadata', 'PUT /admin/users app_metadata'),
  ).map(([value, id, target]): Req => {
    const field = target.split(' ').pop() ?? ''
    const json = (o: Record<string, unknown>) => new Body('json', JSON_CT, JSON.stringify({ ...o, [field]: value }))
    const op = { authorization: `Bearer ${OPERATOR}` }
    if (target.startsWith('/signup')) return post('/signup', json({ email: `typed-${id}@example.com`, password: PW }), {})
    if (target.startsWith('/invite')) return post('/invite', json({ email: `typed-${id}@example.com` }), op)
    if (target.startsWith('/user')) return post('/user', json({}), { authorization: `Bearer ${tokens.good[0]}` }, 'PUT')
    if (target.startsWith('/admin')) return post('/admin/users', json({ email: `typed-${id}@example.com` }), op)
    return post(`/admin/users/${ids.victim}`, json({}), op, 'PUT')
  }))
})

slow.describe('any input: an answer, no 5xx, GoTrue error shapes', () => {
  const admins = () => bearerOf(() => tokens.admins)()
  test('POST /signup', () => fuzz(fc.tuple(signupBody(emails(KNOWN)), withAuth(anyAuth())), ([b, h]) => send(s, post('/signup', b, h))), TIMEOUT)
  test('POST /recover', () => fuzz(fc.tuple(bodies(fields({ email: emails(KNOWN) }), ['email']), withAuth(anyAuth())), ([b, h]) => send(s, post('/recover', b, h))), TIMEOUT)

  const login = () => tokenFields(fc.oneof(password, fc.constant(PW)), fc.oneof(tokenish, fc.constant(refreshToken)))
  test('POST /token, form and JSON bodies, with real passwords and refresh tokens among the inputs', () =>
    fuzz(fc.tuple(bodies(login(), tokenKeys), withAuth(anyAuth())), ([b, h]) => send(s, post('/token', b, h))), TIMEOUT)
  test('POST /token, query string', () =>
    fuzz(fc.tuple(queries(login()), withAuth(anyAuth())), ([q, h]) => send(s, { method: 'POST', path: `/token?${q}`, headers: h })), TIMEOUT)

  test('PUT /user with a valid bearer', () => fuzz(fc.tuple(bodies(userFields(fc.oneof(text, tokenish)), userKeys), withAuth(bearerOf(() => tokens.good)())),
    ([b, h]) => send(s, post('/user', b, h, 'PUT'))), TIMEOUT)
  test('POST /logout with a valid bearer', () => fuzz(fc.tuple(bodies(fields({ a: junk }), ['a']), withAuth(bearerOf(() => [...tokens.good, ...tokens.admins])())),
    ([b, h]) => send(s, post('/logout', b, h))), TIMEOUT)
  test('POST /invite as an admin', () => fuzz(fc.tuple(bodies(fields({ email: emails(KNOWN), data: meta }), ['email', 'data']), withAuth(admins())),
    ([b, h]) => send(s, post('/invite', b, h))), TIMEOUT)
  test('POST /admin/users as an admin', () => fuzz(fc.tuple(bodies(adminFields(emails(KNOWN)), adminKeys), withAuth(admins())),
    ([b, h]) => send(s, post('/admin/users', b, h))), TIMEOUT)
  test('PUT /admin/users/:id as an admin', () => fuzz(fc.tuple(bodies(adminFields(emails(KNOWN)), adminKeys), withAuth(admins())),
    ([b, h]) => send(s, post(`/admin/users/${ids.victim}`, b, h, 'PUT'))), TIMEOUT)
  test('DELETE /admin/users/:id as an admin: a fresh user, with any headers, query and body', () => fuzz(
    fc.tuple(queries(fields({ a: text })), bodies(fields({ a: junk }), ['a']), withAuth(admins())),
    async ([q, b, h]) => {
      const created = await s.req('/admin/users', { method: 'POST', headers: { authorization: `Bearer ${OPERATOR}` }, json: { email: `gone-${crypto.randomUUID()}@example.com` } })
      expect(created.status).toBe(200)
      await send(s, post(`/admin/users/${(await body(created)).id}?${q}`, b, h, 'DELETE'))
    }), TIMEOUT)

  test('GET /authorize, with the real invite token among the inputs', () => fuzz(
    fc.tuple(authorizeQuery(fc.oneof(fc.mixedCase(fc.constant('github')), text), fc.oneof(tokenish, fc.constant(inviteToken))), withAuth(anyAuth())),
    ([q, h]) => send(s, get('/authorize', q, h))), TIMEOUT)
  for (const method of ['GET', 'POST']) {
    test(`${method} /callback with a real state from /authorize`, () => fuzz(
      fc.tuple(queries(callbackFields(tokenish)), bodies(callbackFields(tokenish), ['code', 'error', 'error_description']), withAuth(anyAuth())),
      async ([q, b, h]) => {
        const start = await s.req('/authorize?provider=github', { redirect: 'manual' })
        const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? ''
        const path = `/callback?${q}&state=${encodeURIComponent(state)}`
        // the browser that started the flow sends its state cookie back, so the fuzzed fields reach the exchange
        const cookie = /^(gotrue-oauth-state=[^;]*)/.exec(start.headers.get('set-cookie') ?? '')?.[1] ?? ''
        const hc = { ...h, cookie }
        const a = await send(s, method === 'GET' ? get(path, '', hc) : post(path, b, hc))
        // a real state is consumed by the callback: the site is told the outcome, or the request was malformed
        expect([302, 400, 413, 422]).toContain(a.status)
      }), TIMEOUT)
  }

  test('any method on any path', () => fuzz(
    fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
      fc.constantFrom('/signup', '/verify', '/recover', '/token', '/user', '/logout', '/invite', '/admin/users', `/admin/users/${ids.victim}`, '/admin/audit',
        '/authorize', '/callback', '/settings', '/health', '/', '/admin', '/users', '/%ff', '/../etc/passwd', '/signup/', '//signup', '/SIGNUP'),
      bodies(fields({ email: emails(KNOWN), password }), signupKeys), withAuth(anyAuth())),
    ([method, path, b, h]) => send(s, method === 'GET' ? { method, path, headers: h } : post(path, b, h, method), 'any method, any path')), TIMEOUT)
})

describe('examples at the edges the properties sample', () => {
  test('JSON nested deeper than 64 levels is a 400 before any handler (lib/hooks.ts says why); 64 levels are stored', async () => {
    const nested = (d: number) => `{"email":"deep-${d}@example.com","password":"${PW}","data":{"x":${'['.repeat(d - 2)}${']'.repeat(d - 2)}}}`
    const over = await s.req('/signup', { method: 'POST', headers: { 'content-type': JSON_CT }, body: nested(65) })
    expect(over.status).toBe(400)
    expect(await body(over)).toEqual({ code: 400, msg: 'Could not parse request body: JSON nested deeper than 64 levels' })
    const at = await s.req('/signup', { method: 'POST', headers: { 'content-type': JSON_CT }, body: nested(64) })
    expect(at.status).toBe(200)
    expect(JSON.stringify((await body(at)).user_metadata)).toBe(`{"x":${'['.repeat(62)}${']'.repeat(62)}}`)
  })

  test('a value whose own toString is not a function, in a field that must be a string: 422, not 500', async () => {
    for (const raw of ['{"email":{"toString":1}}', `{"email":${'['.repeat(60)}${']'.repeat(60)}}`]) {
      const res = await s.req('/recover', { method: 'POST', headers: { 'content-type': JSON_CT }, body: raw })
      expect(res.status).toBe(422)
      expect(await body(res)).toEqual({ code: 422, msg: expect.stringMatching(/^Invalid (body: email: |request: )/) })
    }
  })

  test('the verification type is looked up as an own key: "constructor" is no type', async () => {
    const res = await s.req('/verify', { method: 'POST', json: { type: 'constructor', token: 'x' } })
    expect(await body(res)).toEqual({ code: 422, msg: 'Verify requires a verification type' })
  })

  test('an email whose local part has a leading, trailing or doubled dot is a 422 (SMTP refused it: a 500)', async () => {
    for (const email of ['a..b@example.com', '.a@example.com', 'a.@example.com']) {
      const res = await s.req('/signup', { method: 'POST', json: { email, password: PW } })
      expect(await body(res)).toEqual({ code: 422, msg: 'Unable to validate email address: mail: invalid address' })
    }
  })

  test('an X-JWT-AUD longer than the aud column is a 400 (it was a 500 on MySQL)', async () => {
    const res = await s.req('/signup', { method: 'POST', headers: { 'x-jwt-aud': 'a'.repeat(256) }, json: { email: 'long-aud@example.com', password: PW } })
    expect(await body(res)).toEqual({ code: 400, msg: 'Audience too long (at most 255 characters)' })
  })

  test('an admin JWT whose sub is not a string is refused (it was a 500)', async () => {
    const token = await raw({ aud: 'api.netlify.com', exp: Math.floor(Date.now() / 1000) + 60, sub: { id: ids.boss } })
    const res = await s.req('/admin/users', { headers: { authorization: `Bearer ${token}` } })
    expect(await body(res)).toEqual({ code: 401, msg: 'Invalid admin user' })
  })

  test('a body far beyond the cap (declared 2 MiB) gets the JSON 413 too', async () => {
    const res = await s.req('/signup', { method: 'POST', headers: { 'content-type': JSON_CT }, body: 'x'.repeat(2 * CAP) })
    expect(res.status).toBe(413)
    expect(await body(res)).toEqual({ code: 413, msg: `Request body too large (limit ${CAP} bytes)` })
  })

  slow.test(`every route received at least FUZZ_RUNS (${RUNS}) inputs`, () => {
    const routes = ['POST /signup', 'POST /verify', 'POST /recover', 'POST /token', 'GET /user', 'PUT /user', 'POST /logout', 'POST /invite',
      'GET /admin/users', 'POST /admin/users', 'GET /admin/users/:id', 'PUT /admin/users/:id', 'DELETE /admin/users/:id', 'GET /admin/users/export',
      'GET /admin/audit', 'GET /authorize', 'GET /callback', 'POST /callback', 'GET /settings', 'GET /health', 'any method, any path']
    expect(routes.filter((r) => (stats.get(r)?.inputs ?? 0) < RUNS)).toEqual([])
  })
})
