// The admin user API (spec §2.2, §2.3, §8.1–8.6, §14 admin_test, §15 items 4, 5, 16, 22): who may call it, the list
// (Link, sort, filter, keyset cursor), create, get, update, delete. Where ours deliberately differs (422 pagination
// errors, literal filter, cursor, password_hash, unique emails, audience-scoped ids, …) the test says so.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { connect, type Socket } from 'node:net'
import { signAccessToken } from '../lib/jwt.ts'
import { body, form, JWT_SECRET, startServer, type TestServer } from './harness.ts'
import { login, OPERATOR, PASSWORD } from './helpers.ts'

type Json = Record<string, unknown>
const bearer = (token: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, ...extra })

const create = (s: TestServer, json: Json, headers: Record<string, string> = OPERATOR) => s.req('/admin/users', { method: 'POST', json, headers })
const put = (s: TestServer, id: string, json: Json, headers: Record<string, string> = OPERATOR) => s.req(`/admin/users/${id}`, { method: 'PUT', json, headers })
const list = (s: TestServer, query = '', headers: Record<string, string> = OPERATOR) => s.req(`/admin/users${query}`, { headers })
async function created(s: TestServer, json: Json, headers: Record<string, string> = OPERATOR): Promise<Json & { id: string }> {
  const res = await create(s, json, headers)
  expect(res.status).toBe(200)
  return body(res)
}
async function sessionOf(s: TestServer, email: string, password = PASSWORD) {
  const res = await login(s, email, password)
  expect(res.status).toBe(200)
  return body<{ access_token: string; refresh_token: string }>(res)
}
const jwtFor = (sub: string) => signAccessToken({ aud: 'api.netlify.com', exp: Math.floor(Date.now() / 1000) + 3600, sub,
  email: 'functions@netlify.com', app_metadata: {}, user_metadata: {} }, JWT_SECRET)
const emails = (users: unknown) => (users as { email: string }[]).map((u) => u.email)
/** A raw HTTP/1.1 exchange, for what fetch refuses to send (a GET with a body); resolves with the status line. */
function rawStatusLine(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    let out = ''
    connect(Number(port), hostname, function (this: Socket) { this.write(request) }) // no half-close: Bun drops a pending response
      .on('data', (d) => { out += d.toString() }).on('end', () => resolve(out.split('\r\n')[0] ?? '')).on('error', reject)
  })
}

describe('admin credentials (§8.1) and audiences (§2.3)', () => {
  let s: TestServer
  let adminToken = ''
  beforeAll(async () => {
    s = await startServer()
    await created(s, { email: 'boss@example.com', password: PASSWORD, confirm: true, role: 'admin', user_metadata: { full_name: 'Big Boss' } })
    await created(s, { email: 'plain@example.com', password: PASSWORD, confirm: true })
    adminToken = (await sessionOf(s, 'boss@example.com')).access_token
  })
  afterAll(() => s.stop())

  test('401 without a Bearer token, with a bad JWT, and for a JWT whose user does not exist', async () => {
    for (const authorization of [undefined, 'Basic abc', 'Bearer', 'Bearer a b']) {
      const res = await list(s, '', authorization ? { authorization } : {})
      expect(res.status).toBe(401)
      expect(await body(res)).toEqual({ code: 401, msg: 'This endpoint requires a Bearer token' })
    }
    const forged = await signAccessToken({ aud: 'api.netlify.com', exp: Math.floor(Date.now() / 1000) + 60, sub: '0', email: '', app_metadata: {}, user_metadata: {} }, 'another-secret-another-secret-another')
    expect(await body(await list(s, '', bearer(forged)))).toEqual({ code: 401, msg: 'Invalid token: signature is invalid' })
    const res = await list(s, '', bearer('not-a-jwt'))
    expect(res.status).toBe(401)
    expect(String((await body(res)).msg)).toStartWith('Invalid token: ')
    expect(await body(await list(s, '', bearer(await jwtFor(crypto.randomUUID()))))).toEqual({ code: 401, msg: 'Invalid admin user' })
  })

  test("401 User not allowed with a normal user's JWT, on every admin route", async () => {
    const { access_token } = await sessionOf(s, 'plain@example.com')
    const someone = crypto.randomUUID()
    for (const [method, path] of [['GET', '/admin/users'], ['POST', '/admin/users'], ['GET', `/admin/users/${someone}`],
      ['PUT', `/admin/users/${someone}`], ['DELETE', `/admin/users/${someone}`], ['GET', '/admin/audit']] as const) {
      const res = await s.req(path, { method, headers: bearer(access_token), ...(method === 'POST' || method === 'PUT' ? { json: { email: 'x@example.com' } } : {}) })
      expect(res.status).toBe(401)
      expect(await body(res)).toEqual({ code: 401, msg: 'User not allowed' })
    }
  })

  test('the operator token, system-user JWTs (sub "0" and the nil UUID), an admin-role user and app_metadata.roles all work', async () => {
    const plain = (await body<{ users: Json[] }>(await list(s, '?email=plain@example.com'))).users[0] as Json
    expect((await put(s, plain.id as string, { app_metadata: { roles: ['admin'] } })).status).toBe(200)
    const rolesToken = (await sessionOf(s, 'plain@example.com')).access_token
    for (const token of ['operator-token-for-tests', await jwtFor('0'), await jwtFor('00000000-0000-0000-0000-000000000000'), adminToken, rolesToken]) {
      const res = await list(s, '', bearer(token))
      expect(res.status).toBe(200)
      expect(emails((await body(res)).users).sort()).toEqual(['boss@example.com', 'plain@example.com'])
    }
    const res = await put(s, plain.id as string, { role: 'writer' }, bearer(await jwtFor('00000000-0000-0000-0000-000000000000')))
    expect(res.status).toBe(200) // TestAdminUserUpdateAsSystemUser
    expect((await s.db.get<{ role: string }>('SELECT role FROM {users} WHERE id = ?', [plain.id as string]))?.role).toBe('writer')
  })

  test('X-JWT-AUD with the operator token selects the audience for create and list', async () => {
    const u = await created(s, { email: 'op@example.com', password: PASSWORD }, { ...OPERATOR, 'x-jwt-aud': 'op-test-aud' })
    expect(u.aud).toBe('op-test-aud')
    const res = await list(s, '', { ...OPERATOR, 'x-jwt-aud': 'op-test-aud' })
    expect(res.headers.get('x-total-count')).toBe('1')
    expect(await body(res)).toEqual({ users: [u], aud: 'op-test-aud' })
    expect((await body(await list(s))).aud).toBe('api.netlify.com')
    expect((await create(s, { email: 'op@example.com', password: PASSWORD })).status).toBe(200) // once per audience
  })

  test('an audience admin: other audiences are 404 (401 when asked for by X-JWT-AUD); the operator sees them', async () => {
    const other = await created(s, { email: 'far@example.com', password: PASSWORD }, { ...OPERATOR, 'x-jwt-aud': 'other.example.com' })
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await s.req(`/admin/users/${other.id}`, { method, headers: bearer(adminToken), ...(method === 'PUT' ? { json: { role: 'x' } } : {}) })
      expect(res.status).toBe(404)
      expect(await body(res)).toEqual({ code: 404, msg: 'User not found' })
    }
    let res = await list(s, '', bearer(adminToken, { 'x-jwt-aud': 'other.example.com' }))
    expect(await body(res)).toEqual({ code: 401, msg: 'User not allowed' })
    res = await create(s, { email: 'sneaky@example.com', aud: 'other.example.com' }, bearer(adminToken)) // §8.1: body aud is checked
    expect(await body(res)).toEqual({ code: 401, msg: 'User not allowed' })
    expect((await created(s, { email: 'sneaky@example.com', aud: 'body-aud.example.com' })).aud).toBe('body-aud.example.com') // the operator may
    expect(await body(await s.req(`/admin/users/${other.id}`, { headers: OPERATOR }))).toEqual(other)
    expect((await s.req(`/admin/users/${other.id}`, { headers: bearer(await jwtFor('0')) })).status).toBe(200)
  })
})

describe('GET /admin/users: list, Link, sort, filter, cursor (§8.2)', () => {
  let s: TestServer
  const link = (res: Response) => (res.headers.get('link') ?? '').split(', ')
  /** The Link header without our extra rel="next-cursor" part: what the reference sends. */
  const pageLinks = (res: Response) => link(res).filter((p) => !p.endsWith('rel="next-cursor"')).join(', ')
  const nextCursor = (res: Response) => /^<([^>]+)>; rel="next-cursor"$/.exec(link(res).find((p) => p.endsWith('rel="next-cursor"')) ?? '')?.[1]
  const listed = async (query: string) => {
    const res = await list(s, query)
    expect(res.status).toBe(200)
    return emails((await body(res)).users)
  }
  beforeAll(async () => {
    s = await startServer()
    for (const [email, full_name] of [['zed@example.com', 'Test User'], ['test1@example.com', ''], ['Test2@example.com', 'Someone Else']]) {
      await created(s, { email, password: PASSWORD, user_metadata: full_name ? { full_name } : {} })
      s.clock.advance(1) // distinct created_at, so the order is known
    }
  })
  afterAll(() => s.stop())

  test('{users, aud}, newest first, X-Total-Count, and one page: Link </admin/users?page=1>; rel="last"', async () => {
    const res = await list(s)
    expect(res.headers.get('x-total-count')).toBe('3')
    expect(res.headers.get('link')).toBe('</admin/users?page=1>; rel="last"')
    const out = await body<{ users: Json[]; aud: string }>(res)
    expect(Object.keys(out).sort()).toEqual(['aud', 'users'])
    expect(out.aud).toBe('api.netlify.com')
    expect(emails(out.users)).toEqual(['Test2@example.com', 'test1@example.com', 'zed@example.com'])
    expect(out.users[2]?.user_metadata).toEqual({ full_name: 'Test User' })
    expect(out.users[0]).not.toHaveProperty('encrypted_password')
  })

  test('per_page=1: next/prev/last Links as the reference; no results: page=0 in last', async () => {
    let res = await list(s, '?per_page=1')
    expect(res.headers.get('x-total-count')).toBe('3')
    expect(pageLinks(res)).toBe('</admin/users?page=2&per_page=1>; rel="next", </admin/users?page=3&per_page=1>; rel="last"')
    expect(emails((await body(res)).users)).toEqual(['Test2@example.com'])
    res = await list(s, '?page=2&per_page=1')
    expect(pageLinks(res)).toBe('</admin/users?page=3&per_page=1>; rel="next", </admin/users?page=1&per_page=1>; rel="prev", </admin/users?page=3&per_page=1>; rel="last"')
    expect(emails((await body(res)).users)).toEqual(['test1@example.com'])
    res = await list(s, '?per_page=1&page=3&sort=created_at%20asc')
    expect(pageLinks(res)).toBe('</admin/users?page=2&per_page=1&sort=created_at+asc>; rel="prev", </admin/users?page=3&per_page=1&sort=created_at+asc>; rel="last"')
    expect(emails((await body(res)).users)).toEqual(['Test2@example.com'])
    res = await list(s, '?filter=nobody-matches')
    expect(res.headers.get('x-total-count')).toBe('0')
    expect(res.headers.get('link')).toBe('</admin/users?filter=nobody-matches&page=0>; rel="last"')
    expect((await body(res)).users).toEqual([])
  })

  test('sort: created_at asc/desc (direction case-insensitive), email asc/desc; bad field or direction is 400', async () => {
    expect(await listed('?sort=created_at%20asc')).toEqual(['zed@example.com', 'test1@example.com', 'Test2@example.com'])
    expect(await listed('?sort=created_at%20DESC')).toEqual(['Test2@example.com', 'test1@example.com', 'zed@example.com'])
    expect(await listed('?sort=created_at')).toEqual(['Test2@example.com', 'test1@example.com', 'zed@example.com'])
    expect(await listed('?sort=email%20asc')).toEqual(['test1@example.com', 'Test2@example.com', 'zed@example.com'])
    expect(await listed('?sort=email%20desc')).toEqual(['zed@example.com', 'Test2@example.com', 'test1@example.com'])
    for (const [sort, msg] of [
      ['name asc', "Bad Sort Parameters: bad field for sort 'name'"], ['constructor', "Bad Sort Parameters: bad field for sort 'constructor'"],
      ['created_at sideways', "Bad Sort Parameters: bad direction for sort 'sideways', only 'asc' and 'desc' allowed"],
    ]) {
      const res = await list(s, `?sort=${encodeURIComponent(sort as string)}`)
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual({ code: 400, msg })
    }
  })

  test('filter: case-insensitive substring of email or full_name; email: exact address', async () => {
    expect(await listed('?filter=test1')).toEqual(['test1@example.com'])
    expect(await listed('?filter=TEST2')).toEqual(['Test2@example.com'])
    expect(await listed('?filter=User')).toEqual(['zed@example.com'])
    expect(await listed('?filter=someone%20else')).toEqual(['Test2@example.com'])
    expect(await listed('?email=TEST1@Example.com')).toEqual(['test1@example.com'])
    expect(await listed('?email=test1')).toEqual([])
  })

  test('filter is literal: % and _ are not wildcards (the reference passes them to LIKE); quotes in names match', async () => {
    for (const email of ['a_b@lit.test', 'axb@lit.test', '100%sure@lit.test']) await created(s, { email })
    await created(s, { email: 'quote@lit.test', user_metadata: { full_name: 'Dan "The Man" O\'Neil \\o/' } })
    expect(await listed(`?filter=${encodeURIComponent('"the man" o\'neil \\o/')}`)).toEqual(['quote@lit.test'])
    expect(await listed('?filter=a_b')).toEqual(['a_b@lit.test'])
    expect(await listed('?filter=%25')).toEqual(['100%sure@lit.test'])
    expect(await listed('?filter=a%25b')).toEqual([])
  })

  test('junk or zero pagination parameters are 422 (the reference: 400, or a dropped connection for per_page=0); GET with a body works', async () => {
    for (const [query, msg] of [
      ['page=abc', 'page must be a positive integer, got "abc"'], ['page=0', 'page must be a positive integer, got "0"'],
      ['page=-1', 'page must be a positive integer, got "-1"'], ['per_page=0', 'per_page must be an integer from 1 to 1000, got "0"'],
      ['per_page=1.5', 'per_page must be an integer from 1 to 1000, got "1.5"'], ['per_page=1001', 'per_page must be an integer from 1 to 1000, got "1001"'],
      ['cursor=%21%21', 'invalid cursor'],
    ]) {
      const res = await list(s, `?${query}`)
      expect(res.status).toBe(422)
      expect(await body(res)).toEqual({ code: 422, msg: `Bad Pagination Parameters: ${msg}` })
    }
    // §15 item 16: the reference also drops the connection for a GET with a body
    const json = '{"aud":"api.netlify.com"}'
    expect(await rawStatusLine(s.url, `GET /admin/users HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer operator-token-for-tests\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${json.length}\r\nConnection: close\r\n\r\n${json}`)).toBe('HTTP/1.1 200 OK')
  })

  test('keyset cursor: rel="next-cursor" walks every user exactly once while new users are inserted', async () => {
    const originals: string[] = []
    for (let i = 0; i < 7; i++) originals.push((await created(s, { email: `walk${i}@cursor.test` })).id)
    let k = 0
    for (const sort of ['', 'created_at asc', 'email asc', 'email desc']) {
      let next: string | undefined = `/admin/users?filter=cursor.test&per_page=3${sort ? `&sort=${encodeURIComponent(sort)}` : ''}`
      const seen: string[] = []
      for (let pages = 0; next; pages++) {
        expect(pages).toBeLessThan(10)
        const res: Response = await s.req(next, { headers: OPERATOR })
        expect(res.status).toBe(200)
        const users = (await body<{ users: { id: string; email: string }[] }>(res)).users
        for (const u of users) expect(u.email).toEndWith('@cursor.test') // the filter survives the cursor
        seen.push(...users.map((u) => u.id))
        next = nextCursor(res)
        if (next) expect(next).toMatch(/^\/admin\/users\?cursor=[\w-]+&per_page=3(&|$)/)
        else expect(users.length).toBeLessThan(3)
        // a newcomer between pages: newest, and first by email (a…) or last (z…); offsets would repeat a user
        await created(s, { email: `${k % 2 ? 'z' : 'a'}${++k}@cursor.test` })
      }
      expect(new Set(seen).size).toBe(seen.length)
      for (const id of originals) expect(seen).toContain(id)
    }
  })
})

describe('GET /admin/users/{id}, POST, PUT, DELETE (§8.3–8.6)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer() })
  afterAll(() => s.stop())
  const get = (id: string) => s.req(`/admin/users/${id}`, { headers: OPERATOR })
  const audit = async (action: string) => (await s.db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}'))
    .map((r) => JSON.parse(r.payload) as Json).filter((p) => p.action === action)

  test('GET: 400 for a non-UUID id, 404 for an unknown one, 200 with the user', async () => {
    let res = await get('not-a-uuid')
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: 'user_id must be an UUID' })
    res = await get(crypto.randomUUID())
    expect(res.status).toBe(404)
    expect(await body(res)).toEqual({ code: 404, msg: 'User not found' })
    const u = await created(s, { email: 'get@example.com', password: PASSWORD, user_metadata: { full_name: 'Test Get User' } })
    res = await get(u.id)
    expect(res.status).toBe(200)
    const got = await body(res)
    expect(got).toEqual(u)
    expect(got).toMatchObject({ email: 'get@example.com', app_metadata: { provider: 'email' }, user_metadata: { full_name: 'Test Get User' } })
  })

  test('POST creates: email echoed, provider email, role, confirm sets confirmed_at; no mail, audit user_signedup', async () => {
    const res = await create(s, { email: 'New.User@Example.com', password: PASSWORD, role: 'editor', confirm: true })
    expect(res.status).toBe(200)
    const u = await body(res)
    expect(Object.keys(u).sort()).toEqual(['app_metadata', 'aud', 'confirmed_at', 'created_at', 'email', 'id', 'role', 'updated_at', 'user_metadata'])
    expect(u).toMatchObject({ email: 'New.User@Example.com', aud: 'api.netlify.com', role: 'editor', app_metadata: { provider: 'email' }, user_metadata: {} })
    expect(Date.parse(u.confirmed_at as string)).not.toBeNaN()
    expect((await login(s, 'new.user@example.com', PASSWORD)).status).toBe(200)
    const plain = await created(s, { email: 'unconfirmed@example.com', password: PASSWORD })
    expect(plain.role).toBe('')
    expect(plain).not.toHaveProperty('confirmed_at')
    expect(await audit('user_signedup')).toContainEqual(expect.objectContaining({
      actor_id: '00000000-0000-0000-0000-000000000000', actor_email: 'operator@netlify.com', log_type: 'team',
      traits: { user_id: u.id, user_email: 'New.User@Example.com' },
    }))
    expect(s.smtp.mailsTo('new.user@example.com')).toHaveLength(0)
  })

  test('POST refuses duplicates (any case), bad emails and weak passwords with 422', async () => {
    await created(s, { email: 'dup@example.com', password: PASSWORD })
    const cases: [Json, string][] = [
      [{ email: 'dup@example.com', password: PASSWORD }, 'Email address already registered by another user'],
      [{ email: ' DUP@Example.COM ' }, 'Email address already registered by another user'],
      [{ email: 'not-an-email' }, "Unable to validate email address: mail: missing '@' or angle-addr"],
      [{ email: 'short@example.com', password: 'short' }, 'Password should be at least 8 characters'],
      [{ email: 'hash@example.com', password_hash: 'md5:0123456789abcdef' }, 'password_hash must be a bcrypt hash ($2a$, $2b$ or $2y$)'],
    ]
    for (const [json, msg] of cases) {
      const res = await create(s, json)
      expect(res.status).toBe(422)
      expect(await body(res)).toEqual({ code: 422, msg })
    }
    expect(await s.db.all('SELECT id FROM {users} WHERE email_key IN (?, ?)', ['short@example.com', 'hash@example.com'])).toHaveLength(0)
  })

  test('POST with a GoTrue ($2a$) bcrypt password_hash: the matching password logs in', async () => {
    const hash = (await Bun.password.hash('imported-secret', { algorithm: 'bcrypt', cost: 4 })).replace(/^\$2b\$/, '$2a$')
    expect(hash).toStartWith('$2a$04$')
    await created(s, { email: 'imported@example.com', password_hash: hash, confirm: true })
    expect((await s.db.get<{ encrypted_password: string }>('SELECT encrypted_password FROM {users} WHERE email_key = ?', ['imported@example.com']))?.encrypted_password).toBe(hash)
    expect((await login(s, 'imported@example.com', 'imported-secret')).status).toBe(200)
    expect((await login(s, 'imported@example.com', 'wrong-secret')).status).toBe(400)
  })

  test('a confirmed user created without a password cannot log in with an empty password (§15 item 4)', async () => {
    await created(s, { email: 'nopass@example.com', confirm: true })
    const res = await login(s, 'nopass@example.com', '')
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: 'No user found with that email, or password invalid.' })
  })

  test('PUT updates role, app_metadata (merged, null deletes), user_metadata, password and confirm; audit user_modified', async () => {
    const u = await created(s, { email: 'upd@example.com', password: PASSWORD, user_metadata: { name: 'Old', keep: 1 } })
    expect((await put(s, u.id, { app_metadata: { plan: 'pro', drop: true } })).status).toBe(200)
    const res = await put(s, u.id, { role: 'writer', app_metadata: { roles: ['writer', 'editor'], drop: null },
      user_metadata: { name: 'New', extra: 'x' }, password: 'brand-new-password', confirm: true })
    expect(res.status).toBe(200)
    const out = await body(res)
    expect(out).toMatchObject({
      id: u.id, email: 'upd@example.com', role: 'writer',
      app_metadata: { provider: 'email', plan: 'pro', roles: ['writer', 'editor'] }, user_metadata: { name: 'New', keep: 1, extra: 'x' },
    })
    expect(out.app_metadata).not.toHaveProperty('drop')
    expect(Date.parse(out.confirmed_at as string)).not.toBeNaN()
    expect(await body(await get(u.id))).toEqual(out)
    expect((await login(s, 'upd@example.com', PASSWORD)).status).toBe(400)
    expect((await login(s, 'upd@example.com', 'brand-new-password')).status).toBe(200)
    expect(await audit('user_modified')).toContainEqual(expect.objectContaining({
      actor_email: 'operator@netlify.com', log_type: 'user', traits: { user_id: u.id, user_email: 'upd@example.com' },
    }))
    expect(await body(await put(s, u.id, { password: 'short' }))).toEqual({ code: 422, msg: 'Password should be at least 8 characters' })
  })

  test('PUT validates a new email and keeps it unique in the audience (§15 item 22)', async () => {
    const u = await created(s, { email: 'mover@example.com', password: PASSWORD })
    await created(s, { email: 'taken@example.com', password: PASSWORD })
    let res = await put(s, u.id, { email: 'Mover <mover@example.com>' })
    expect(res.status).toBe(422)
    expect(String((await body(res)).msg)).toStartWith('Unable to validate email address: ')
    expect(await body(await put(s, u.id, { email: 'TAKEN@example.com' }))).toEqual({ code: 422, msg: 'Email address already registered by another user' })
    res = await put(s, u.id, { email: 'Moved@Example.com' })
    expect(res.status).toBe(200)
    expect((await body(res)).email).toBe('Moved@Example.com')
    expect(await body(await login(s, 'moved@example.com', PASSWORD))).toEqual({ error: 'invalid_grant', error_description: 'Email not confirmed' })
  })

  test('DELETE answers 200 {}, removes the user and its refresh tokens; audit user_deleted', async () => {
    const u = await created(s, { email: 'gone@example.com', password: PASSWORD, confirm: true })
    const { refresh_token } = await sessionOf(s, 'gone@example.com')
    const res = await s.req(`/admin/users/${u.id}`, { method: 'DELETE', headers: OPERATOR })
    expect(res.status).toBe(200)
    expect(await body(res)).toEqual({})
    expect((await get(u.id)).status).toBe(404)
    expect(await s.db.all('SELECT id FROM {refresh_tokens} WHERE user_id = ?', [u.id])).toHaveLength(0)
    const refresh = await s.req('/token', form({ grant_type: 'refresh_token', refresh_token }))
    expect(refresh.status).toBe(400)
    expect(await body(refresh)).toEqual({ error: 'invalid_grant', error_description: 'Invalid Refresh Token' })
    expect(await audit('user_deleted')).toContainEqual(expect.objectContaining({
      actor_email: 'operator@netlify.com', log_type: 'team', traits: { user_id: u.id, user_email: 'gone@example.com' },
    }))
    expect(await body(await s.req(`/admin/users/${u.id}`, { method: 'DELETE', headers: OPERATOR }))).toEqual({ code: 404, msg: 'User not found' })
  })
})

describe('GOTRUE_EXTERNAL_EMAIL_DISABLED', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_EXTERNAL_EMAIL_DISABLED: 'true' } }) })
  afterAll(() => s.stop())

  test('POST /admin/users is 400 Unsupported email provider; listing still works', async () => {
    const res = await create(s, { email: 'x@example.com', password: PASSWORD })
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: 'Unsupported email provider' })
    expect((await list(s)).status).toBe(200)
  })
})

describe('GOTRUE_USER_DATA_SCHEMA applies to admin user_metadata', () => {
  let s: TestServer
  const schema = { type: 'object', properties: { age: { type: 'integer', minimum: 0 } } }
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_USER_DATA_SCHEMA: JSON.stringify(schema) } }) })
  afterAll(() => s.stop())

  test('create and update are 422 Invalid user data: /path: … and nothing is stored', async () => {
    let res = await create(s, { email: 'schema@example.com', user_metadata: { age: 'old' } })
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg: 'Invalid user data: /age: expected integer, got string' })
    const u = await created(s, { email: 'schema@example.com', user_metadata: { age: 30 } })
    res = await put(s, u.id, { user_metadata: { age: -1 } })
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual({ code: 422, msg: 'Invalid user data: /age: must be >= 0' })
    expect((await body(await s.req(`/admin/users/${u.id}`, { headers: OPERATOR }))).user_metadata).toEqual({ age: 30 })
  })
})

describe('super admins: only a super admin (or the operator) reads, changes or deletes one', () => {
  let s: TestServer
  let root: Json & { id: string }
  let tenantAdmin = ''
  beforeAll(async () => {
    s = await startServer()
    // what `gotrue admin createuser root@a … --superadmin -a tenant-a` writes: a super admin living in tenant-a
    root = await created(s, { email: 'root@a.example', password: PASSWORD, confirm: true }, { ...OPERATOR, 'x-jwt-aud': 'tenant-a' })
    await s.db.run('UPDATE {users} SET is_super_admin = 1 WHERE id = ?', [root.id])
    await created(s, { email: 'admin@a.example', password: PASSWORD, confirm: true, role: 'admin' }, { ...OPERATOR, 'x-jwt-aud': 'tenant-a' })
    await created(s, { email: 'member@a.example', password: PASSWORD, confirm: true }, { ...OPERATOR, 'x-jwt-aud': 'tenant-a' })
    const res = await login(s, 'admin@a.example', PASSWORD, { 'x-jwt-aud': 'tenant-a' })
    expect(res.status).toBe(200)
    tenantAdmin = (await body<{ access_token: string }>(res)).access_token
  })
  afterAll(() => s.stop())
  const stored = async () => s.db.get<{ encrypted_password: string; role: string }>('SELECT encrypted_password, role FROM {users} WHERE id = ?', [root.id])

  test('an audience admin gets 404 User not found for GET, PUT (password, email, role) and DELETE of its audience’s super admin', async () => {
    const before = await stored()
    for (const [method, json] of [['GET'], ['PUT', { password: 'taken-over-123' }], ['PUT', { email: 'mine@a.example' }], ['PUT', { role: 'nobody' }], ['DELETE']] as const) {
      const res = await s.req(`/admin/users/${root.id}`, { method, headers: bearer(tenantAdmin), ...(json ? { json } : {}) })
      expect(res.status).toBe(404)
      expect(await body(res)).toEqual({ code: 404, msg: 'User not found' })
    }
    expect(await stored()).toEqual(before)
    expect((await login(s, 'root@a.example', 'taken-over-123')).status).toBe(400)
  })

  test('an audience admin cannot mint a sign-in link for its audience’s super admin (generate_link: 404, nothing issued), nor read or end its sessions and factors', async () => {
    const tokens = async () => (await s.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM {one_time_tokens} WHERE user_id = ?', [root.id]))?.n
    const before = await tokens()
    for (const json of [{ type: 'magiclink' }, { type: 'recovery' }, { type: 'email_change_new', new_email: 'mine@a.example' }, { type: 'invite' }]) {
      const res = await s.req('/admin/generate_link', { method: 'POST', headers: bearer(tenantAdmin), json: { email: 'root@a.example', ...json } })
      expect(res.status).toBe(404)
      expect(await body(res)).toMatchObject({ code: 404, msg: 'User not found' })
    }
    expect(await tokens()).toBe(before)
    for (const path of [`/admin/users/${root.id}/sessions`, `/admin/users/${root.id}/factors`]) {
      expect((await s.req(path, { headers: bearer(tenantAdmin) })).status).toBe(404)
    }
    // the operator still may
    const ok = await s.req('/admin/generate_link', { method: 'POST', headers: { ...OPERATOR, 'x-jwt-aud': 'tenant-a' }, json: { email: 'root@a.example', type: 'recovery' } })
    expect(ok.status).toBe(200)
  })

  test('the audience admin’s list leaves super admins out; its own audience’s other users are there', async () => {
    const res = await list(s, '', bearer(tenantAdmin))
    expect(res.status).toBe(200)
    expect(emails((await body(res)).users).sort()).toEqual(['admin@a.example', 'member@a.example'])
    expect(res.headers.get('x-total-count')).toBe('2')
    expect(emails((await body(await list(s, '?email=root@a.example', bearer(tenantAdmin)))).users)).toEqual([])
  })

  test('the operator and the super admin itself still read and change it', async () => {
    expect((await s.req(`/admin/users/${root.id}`, { headers: { ...OPERATOR, 'x-jwt-aud': 'tenant-a' } })).status).toBe(200)
    const res = await login(s, 'root@a.example', PASSWORD, { 'x-jwt-aud': 'tenant-a' })
    const rootToken = (await body<{ access_token: string }>(res)).access_token
    expect((await put(s, root.id, { user_metadata: { full_name: 'Root' } }, bearer(rootToken))).status).toBe(200)
    expect(emails((await body(await list(s, '', { ...OPERATOR, 'x-jwt-aud': 'tenant-a' }))).users)).toContain('root@a.example')
  })
})

describe('supplied bcrypt hashes: cost 4 to GOTRUE_BCRYPT_MAX_COST (default 14)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer() })
  afterAll(() => s.stop())
  /** A well-formed bcrypt hash of any cost, made from a real cost-4 hash (no one waits for a cost-31 hash). */
  const withCost = async (cost: number, password = 'planted-secret') =>
    (await Bun.password.hash(password, { algorithm: 'bcrypt', cost: 4 })).replace(/^\$2b\$04\$/, `$2b$${String(cost).padStart(2, '0')}$`)

  test('POST and PUT with a $2b$31$ (or $2b$15$, or $2b$03$) password_hash are 422 and say why; nothing is stored', async () => {
    for (const cost of [31, 15, 3]) {
      const res = await create(s, { email: `cost${cost}@example.com`, password_hash: await withCost(cost), confirm: true })
      expect(res.status).toBe(422)
      expect(await body(res)).toEqual({ code: 422, msg: `password_hash bcrypt cost ${cost} is out of bounds (4 to 14)` })
    }
    expect(await s.db.all('SELECT id FROM {users} WHERE email_key LIKE ?', ['cost%'])).toHaveLength(0)
    const u = await created(s, { email: 'costly@example.com', password: PASSWORD, confirm: true })
    const res = await put(s, u.id, { password_hash: await withCost(31) })
    expect(await body(res)).toEqual({ code: 422, msg: 'password_hash bcrypt cost 31 is out of bounds (4 to 14)' })
    expect((await login(s, 'costly@example.com', PASSWORD)).status).toBe(200)
  })

  test('a cost-14 hash is accepted', async () => {
    const res = await create(s, { email: 'cost14@example.com', password_hash: await withCost(14) })
    expect(res.status).toBe(200)
  })

  test('a high-cost hash already in the database: login answers at once with invalid_grant, it never hashes at cost 31', async () => {
    const u = await created(s, { email: 'planted@example.com', password: PASSWORD, confirm: true })
    await s.db.run('UPDATE {users} SET encrypted_password = ? WHERE id = ?', [await withCost(31), u.id])
    const started = performance.now()
    const res = await login(s, 'planted@example.com', 'planted-secret')
    expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: 'No user found with that email, or password invalid.' })
    expect(performance.now() - started).toBeLessThan(2000)
  }, 10_000)
})
