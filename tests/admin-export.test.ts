// GET /admin/users/export (spec §2.2, §8.2): only when GOTRUE_API_EXPORT_SECRET is set; then admin credentials
// AND the `EXPORT_SECRET: <secret>` header. The body is the list's `{"users":[…],"aud":"…"}` with each user's
// `encrypted_password`, streamed from the database in batches (ours), so a large table never sits in memory.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { body, form, startServer, type TestServer } from './harness.ts'
import { OPERATOR } from './helpers.ts'

type Exported = { id: string; email: string; aud: string; created_at: string; encrypted_password: string }
const SECRET = 'export-secret-for-tests'
const exportReq = (s: TestServer, headers: Record<string, string>, query = '') => s.req(`/admin/users/export${query}`, { headers })
const create = (s: TestServer, json: Record<string, unknown>, headers: Record<string, string> = OPERATOR) =>
  s.req('/admin/users', { method: 'POST', json, headers })

describe('without GOTRUE_API_EXPORT_SECRET', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer() })
  afterAll(() => s.stop())

  test('GET /admin/users/export is a user id: 400 user_id must be an UUID', async () => {
    for (const headers of [OPERATOR, { ...OPERATOR, export_secret: SECRET }]) {
      const res = await exportReq(s, headers)
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual({ code: 400, msg: 'user_id must be an UUID' })
    }
  })
})

describe('with GOTRUE_API_EXPORT_SECRET', () => {
  let s: TestServer
  const MANY = 300
  const hashed = { email: 'hashed@example.com', password: 'exported-password' }
  let gotrueHash = ''
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_API_EXPORT_SECRET: SECRET } })
    gotrueHash = (await Bun.password.hash(hashed.password, { algorithm: 'bcrypt', cost: 4 })).replace(/^\$2b\$/, '$2a$')
    expect((await create(s, { email: hashed.email, password_hash: gotrueHash, confirm: true })).status).toBe(200)
    expect((await create(s, { email: 'plain@example.com', password: 'password-123', confirm: true })).status).toBe(200)
    expect((await create(s, { email: 'elsewhere@example.com' }, { ...OPERATOR, 'x-jwt-aud': 'other.example.com' })).status).toBe(200)
    for (let i = 0; i < MANY; i += 25) {
      const batch = Array.from({ length: Math.min(25, MANY - i) }, (_, j) => create(s, { email: `bulk${i + j}@example.com`, user_metadata: { n: i + j, note: 'quote " comma , brace }' } }))
      for (const res of await Promise.all(batch)) expect(res.status).toBe(200)
    }
  })
  afterAll(() => s.stop())

  test('admin credentials are required first: 401 without a token or for a non-admin user', async () => {
    let res = await exportReq(s, { export_secret: SECRET })
    expect(res.status).toBe(401)
    expect(await body(res)).toEqual({ code: 401, msg: 'This endpoint requires a Bearer token' })
    const login = await s.req('/token', form({ grant_type: 'password', username: 'plain@example.com', password: 'password-123' }))
    const { access_token } = await body<{ access_token: string }>(login)
    res = await exportReq(s, { authorization: `Bearer ${access_token}`, export_secret: SECRET })
    expect(res.status).toBe(401)
    expect(await body(res)).toEqual({ code: 401, msg: 'User not allowed' })
  })

  test('then the EXPORT_SECRET header: missing or wrong is 401 Invalid export secret', async () => {
    for (const extra of [{}, { export_secret: 'wrong' }, { export_secret: `${SECRET}x` }, { export_secret: '' }] as Record<string, string>[]) {
      const res = await exportReq(s, { ...OPERATOR, ...extra })
      expect(res.status).toBe(401)
      expect(await body(res)).toEqual({ code: 401, msg: 'Invalid export secret' })
    }
  })

  test(`streams {"users":[…],"aud":"…"} with encrypted_password: ${MANY}+ users, complete and parseable`, async () => {
    const res = await exportReq(s, { ...OPERATOR, export_secret: SECRET })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toStartWith('application/json')
    expect(res.headers.get('content-length')).toBeNull() // sent as it is read, not buffered first
    const text = await res.text()
    expect(text).toStartWith('{"users":[')
    const doc = JSON.parse(text) as { users: Exported[]; aud: string }
    expect(Object.keys(doc)).toEqual(['users', 'aud'])
    expect(doc.aud).toBe('api.netlify.com')
    expect(doc.users).toHaveLength(MANY + 2)
    expect(new Set(doc.users.map((u) => u.id)).size).toBe(MANY + 2)
    const emails = new Set(doc.users.map((u) => u.email))
    for (let i = 0; i < MANY; i++) expect(emails.has(`bulk${i}@example.com`)).toBe(true)
    expect(emails.has('elsewhere@example.com')).toBe(false) // another audience
    for (const u of doc.users) {
      expect(u).toHaveProperty('encrypted_password')
      expect(u.aud).toBe('api.netlify.com')
    }
    const times = doc.users.map((u) => Date.parse(u.created_at))
    expect([...times].sort((a, b) => a - b)).toEqual(times) // oldest first
    const bulk = doc.users.find((u) => u.email === 'bulk7@example.com') as Exported & { user_metadata: unknown }
    expect(bulk.user_metadata).toEqual({ n: 7, note: 'quote " comma , brace }' })
    expect(bulk.encrypted_password).toBe('') // created without a password
  })

  test('the hashes are the real ones: a GoTrue $2a$ hash comes back unchanged, a password verifies', async () => {
    const doc = await body<{ users: Exported[] }>(await exportReq(s, { ...OPERATOR, export_secret: SECRET }))
    expect(doc.users.find((u) => u.email === hashed.email)?.encrypted_password).toBe(gotrueHash)
    const plain = doc.users.find((u) => u.email === 'plain@example.com')?.encrypted_password ?? ''
    expect(plain).toMatch(/^\$2[aby]\$04\$/)
    expect(await Bun.password.verify('password-123', plain)).toBe(true)
  })

  test('the request audience applies (X-JWT-AUD); all=true exports every audience', async () => {
    let doc = await body<{ users: Exported[]; aud: string }>(await exportReq(s, { ...OPERATOR, export_secret: SECRET, 'x-jwt-aud': 'other.example.com' }))
    expect(doc.aud).toBe('other.example.com')
    expect(doc.users.map((u) => u.email)).toEqual(['elsewhere@example.com'])
    doc = await body(await exportReq(s, { ...OPERATOR, export_secret: SECRET }, '?all=true'))
    expect(doc.users).toHaveLength(MANY + 3)
    expect(new Set(doc.users.map((u) => u.aud))).toEqual(new Set(['api.netlify.com', 'other.example.com']))
  })

  test('an audience admin exports its own audience only; all=true is refused', async () => {
    expect((await create(s, { email: 'boss@example.com', password: 'password-123', confirm: true, role: 'admin' })).status).toBe(200)
    const login = await s.req('/token', form({ grant_type: 'password', username: 'boss@example.com', password: 'password-123' }))
    const auth = { authorization: `Bearer ${(await body<{ access_token: string }>(login)).access_token}`, export_secret: SECRET }
    const doc = await body<{ users: Exported[]; aud: string }>(await exportReq(s, auth))
    expect(doc.aud).toBe('api.netlify.com')
    expect(doc.users).toHaveLength(MANY + 3)
    const res = await exportReq(s, auth, '?all=true')
    expect(res.status).toBe(401)
    expect(await body(res)).toEqual({ code: 401, msg: 'User not allowed' })
  })
})

describe('super admins in an export', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_API_EXPORT_SECRET: SECRET } })
    for (const json of [{ email: 'root@example.com' }, { email: 'boss@example.com', role: 'admin' }, { email: 'member@example.com' }]) {
      expect((await create(s, { ...json, password: 'password-123', confirm: true })).status).toBe(200)
    }
    await s.db.run('UPDATE {users} SET is_super_admin = 1 WHERE email_key = ?', ['root@example.com'])
  })
  afterAll(() => s.stop())

  test('an audience admin’s export leaves out its audience’s super admin (and its password hash); the operator’s has it', async () => {
    const login = await s.req('/token', form({ grant_type: 'password', username: 'boss@example.com', password: 'password-123' }))
    const auth = { authorization: `Bearer ${(await body<{ access_token: string }>(login)).access_token}`, export_secret: SECRET }
    const doc = await body<{ users: Exported[] }>(await exportReq(s, auth))
    expect(doc.users.map((u) => u.email).sort()).toEqual(['boss@example.com', 'member@example.com'])
    const full = await body<{ users: (Exported & { is_super_admin?: true })[] }>(await exportReq(s, { ...OPERATOR, export_secret: SECRET }))
    expect(full.users.find((u) => u.email === 'root@example.com')).toMatchObject({ is_super_admin: true, encrypted_password: expect.stringMatching(/^\$2b\$04\$/) })
  })
})
