// GET /admin/audit and the entries the admin user API writes (spec §8.7, §8.3–8.6, §14 audit_test).
// A bare JSON array, newest first, with X-Total-Count and Link; `query=author:|action:|type:` filters by a
// case-insensitive substring. Ours differs deliberately: junk pagination is 422, and the filter value is a literal
// substring (`%` and `_` are not LIKE wildcards).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { body, form, startServer, type TestServer } from './harness.ts'
import { login as loginAs, OPERATOR } from './helpers.ts'

type Entry = { id: string; created_at: string; payload: Record<string, unknown> & { action: string } }
const NIL = '00000000-0000-0000-0000-000000000000'

let s: TestServer
let admin = { id: '', token: '' }
let target = ''
const auditRes = (query = '', headers: Record<string, string> = OPERATOR) => s.req(`/admin/audit${query}`, { headers })
async function entries(query = ''): Promise<Entry[]> {
  const res = await auditRes(query)
  expect(res.status).toBe(200)
  return body<Entry[]>(res)
}
const actions = async (query = '') => (await entries(query)).map((e) => e.payload.action)

// The story: the operator creates an admin (Grace Hopper); she logs in, creates a user, renames it, deletes it.
// The clock moves a second between steps so "newest first" has one right answer.
beforeAll(async () => {
  s = await startServer()
  const asAdmin = () => ({ authorization: `Bearer ${admin.token}` })
  let res = await s.req('/admin/users', { method: 'POST', headers: OPERATOR, json: {
    email: 'grace@navy.example.com', password: 'password-123', confirm: true, role: 'admin', user_metadata: { full_name: 'Grace "Amazing Grace" Hopper' },
  } })
  admin.id = (await body<{ id: string }>(res)).id
  s.clock.advance(1)
  res = await s.req('/token', form({ grant_type: 'password', username: 'grace@navy.example.com', password: 'password-123' }))
  admin.token = (await body<{ access_token: string }>(res)).access_token
  s.clock.advance(1)
  res = await s.req('/admin/users', { method: 'POST', headers: asAdmin(), json: { email: 'target@example.com', password: 'password-123' } })
  target = (await body<{ id: string }>(res)).id
  s.clock.advance(1)
  expect((await s.req(`/admin/users/${target}`, { method: 'PUT', headers: asAdmin(), json: { email: 'renamed@example.com', role: 'editor' } })).status).toBe(200)
  s.clock.advance(1)
  expect((await s.req(`/admin/users/${target}`, { method: 'DELETE', headers: asAdmin() })).status).toBe(200)
})
afterAll(() => s.stop())

describe('GET /admin/audit', () => {
  test('a bare array, newest first, with X-Total-Count and Link', async () => {
    const res = await auditRes()
    expect(res.status).toBe(200)
    expect(res.headers.get('x-total-count')).toBe('6')
    expect(res.headers.get('link')).toBe('</admin/audit?page=1>; rel="last"')
    const list = await body<Entry[]>(res)
    expect(Array.isArray(list)).toBe(true)
    expect(list.map((e) => e.payload.action)).toEqual(['user_deleted', 'user_modified', 'user_signedup', 'session_created', 'login', 'user_signedup'])
    for (const e of list) {
      expect(Object.keys(e).sort()).toEqual(['created_at', 'id', 'payload'])
      expect(e.id).toMatch(/^[0-9a-f-]{36}$/)
      expect(Date.parse(e.created_at)).not.toBeNaN()
      expect(Date.parse(e.payload.timestamp as string)).not.toBeNaN()
    }
    const times = list.map((e) => Date.parse(e.created_at))
    expect([...times].sort((a, b) => b - a)).toEqual(times)
  })

  test('admin actions: actor = the admin (named from full_name), traits {user_id, user_email}', async () => {
    const [deleted, modified, signedup] = await entries()
    const actor = { actor_id: admin.id, actor_email: 'grace@navy.example.com', actor_name: 'Grace "Amazing Grace" Hopper' }
    expect(deleted?.payload).toEqual({
      timestamp: expect.any(String), ...actor, action: 'user_deleted', log_type: 'team', traits: { user_id: target, user_email: 'renamed@example.com' },
    })
    expect(modified?.payload).toEqual({
      timestamp: expect.any(String), ...actor, action: 'user_modified', log_type: 'user', traits: { user_id: target, user_email: 'renamed@example.com' },
    })
    expect(signedup?.payload).toEqual({
      timestamp: expect.any(String), ...actor, action: 'user_signedup', log_type: 'team', traits: { user_id: target, user_email: 'target@example.com' },
    })
  })

  test('the operator token acts as operator@netlify.com with the nil UUID and no name', async () => {
    const first = (await entries()).at(-1)
    expect(first?.payload).toEqual({
      timestamp: expect.any(String), actor_id: NIL, actor_email: 'operator@netlify.com',
      action: 'user_signedup', log_type: 'team', traits: { user_id: admin.id, user_email: 'grace@navy.example.com' },
    })
  })

  test('a login entry names its user too (actor_name from full_name, as every reference audit entry)', async () => {
    const login = (await entries('?query=action:login'))[0]
    expect(login?.payload).toEqual({
      timestamp: expect.any(String), actor_id: admin.id, actor_email: 'grace@navy.example.com', actor_name: 'Grace "Amazing Grace" Hopper', action: 'login', log_type: 'account',
    })
  })

  test('query=action:, type:, author: filter by case-insensitive substring', async () => {
    expect(await actions('?query=action:user_deleted')).toEqual(['user_deleted'])
    expect(await actions('?query=action:USER_DEL')).toEqual(['user_deleted'])
    expect(await actions('?query=type:team')).toEqual(['user_deleted', 'user_signedup', 'user_signedup'])
    expect(await actions('?query=type:account')).toEqual(['login'])
    expect(await actions('?query=author:grace@navy')).toEqual(['user_deleted', 'user_modified', 'user_signedup', 'session_created', 'login'])
    expect(await actions('?query=author:@NAVY.example.com')).toEqual(['user_deleted', 'user_modified', 'user_signedup', 'session_created', 'login'])
    expect(await actions('?query=author:operator@netlify')).toEqual(['user_signedup'])
    expect(await actions('?query=author:nobody-at-all')).toEqual([])
    // author also searches actor_name (quotes included)
    expect(await actions('?query=author:hopper')).toEqual(expect.arrayContaining(['user_deleted', 'user_modified', 'user_signedup']))
    expect(await actions(`?query=${encodeURIComponent('author:"amazing grace" hop')}`)).toEqual(expect.arrayContaining(['user_deleted', 'user_modified', 'user_signedup']))
    const res = await auditRes('?query=action:user_deleted')
    expect(res.headers.get('x-total-count')).toBe('1')
    expect(res.headers.get('link')).toBe('</admin/audit?page=1&query=action%3Auser_deleted>; rel="last"')
  })

  test('the filter value is literal: _ and % are not wildcards', async () => {
    expect(await actions('?query=action:user_')).toEqual(['user_deleted', 'user_modified', 'user_signedup', 'user_signedup'])
    expect(await actions('?query=action:user%25')).toEqual([])
    expect(await actions('?query=action:us_r')).toEqual([])
  })

  test('a bad scope or a missing colon is 400 Invalid query scope', async () => {
    for (const q of ['foo:bar', 'nocolon', ':user_deleted', 'Action:login', 'constructor:x', '__proto__:x']) {
      const res = await auditRes(`?query=${encodeURIComponent(q)}`)
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual({ code: 400, msg: `Invalid query scope: ${q}` })
    }
  })

  test('pagination: next/prev/last keep the query; junk page or per_page is 422', async () => {
    let res = await auditRes('?per_page=2')
    expect(res.headers.get('link')).toBe('</admin/audit?page=2&per_page=2>; rel="next", </admin/audit?page=3&per_page=2>; rel="last"')
    expect((await body<Entry[]>(res)).map((e) => e.payload.action)).toEqual(['user_deleted', 'user_modified'])
    res = await auditRes('?per_page=2&page=3')
    expect(res.headers.get('link')).toBe('</admin/audit?page=2&per_page=2>; rel="prev", </admin/audit?page=3&per_page=2>; rel="last"')
    expect((await body<Entry[]>(res)).map((e) => e.payload.action)).toEqual(['login', 'user_signedup'])
    res = await auditRes('?per_page=2&page=2&query=type:team')
    expect(res.headers.get('x-total-count')).toBe('3')
    expect(res.headers.get('link')).toBe('</admin/audit?page=1&per_page=2&query=type%3Ateam>; rel="prev", </admin/audit?page=2&per_page=2&query=type%3Ateam>; rel="last"')
    for (const q of ['page=x', 'page=0', 'per_page=0', 'per_page=-5']) {
      res = await auditRes(`?${q}`)
      expect(res.status).toBe(422)
      expect(String((await body(res)).msg)).toStartWith('Bad Pagination Parameters: ')
    }
  })

  test('(last: it adds entries) admins only: 401 without a token or for a non-admin', async () => {
    let res = await auditRes('', {})
    expect(res.status).toBe(401)
    expect(await body(res)).toEqual({ code: 401, msg: 'This endpoint requires a Bearer token' })
    await s.req('/admin/users', { method: 'POST', headers: OPERATOR, json: { email: 'nobody@example.com', password: 'password-123', confirm: true } })
    const { access_token } = await body<{ access_token: string }>(await s.req('/token', form({ grant_type: 'password', username: 'nobody@example.com', password: 'password-123' })))
    res = await auditRes('', { authorization: `Bearer ${access_token}` })
    expect(await body(res)).toEqual({ code: 401, msg: 'User not allowed' })
  })
})

describe('audiences: an audience admin sees the entries of its own audience’s users only', () => {
  let adminB = ''
  const emailsIn = (list: Entry[]) => list.flatMap((e) => [e.payload.actor_email as string, (e.payload.traits as { user_email?: string } | undefined)?.user_email ?? []].flat())
  beforeAll(async () => {
    const B = { ...OPERATOR, 'x-jwt-aud': 'tenant-b' }
    for (const json of [{ email: 'boss@b.example', role: 'admin' }, { email: 'member@b.example' }, { email: 'root@b.example' }]) {
      const res = await s.req('/admin/users', { method: 'POST', headers: B, json: { ...json, password: 'password-123', confirm: true } })
      expect(res.status).toBe(200)
    }
    // a super admin living in tenant-b: its own entries are not the audience admin's to read
    await s.db.run('UPDATE {users} SET is_super_admin = 1 WHERE email_key = ?', ['root@b.example'])
    const login = async (username: string) => {
      const res = await loginAs(s, username, 'password-123', { 'x-jwt-aud': 'tenant-b' })
      expect(res.status).toBe(200)
      return (await body<{ access_token: string }>(res)).access_token
    }
    adminB = await login('boss@b.example')
    await login('root@b.example')
    const member = (await body<{ users: { id: string }[] }>(await s.req('/admin/users?email=member@b.example', { headers: B }))).users[0]?.id
    expect((await s.req(`/admin/users/${member}`, { method: 'PUT', headers: { authorization: `Bearer ${adminB}` }, json: { role: 'editor' } })).status).toBe(200)
  })

  test('the tenant-b admin sees tenant-b’s entries and nothing of the other audience or of the super admin', async () => {
    const res = await auditRes('?per_page=100', { authorization: `Bearer ${adminB}` })
    expect(res.status).toBe(200)
    const list = await body<Entry[]>(res)
    expect(list.map((e) => e.payload.action).sort()).toEqual(['login', 'session_created', 'user_modified', 'user_signedup', 'user_signedup'])
    for (const email of emailsIn(list)) expect(['boss@b.example', 'member@b.example', 'operator@netlify.com']).toContain(email)
    expect(res.headers.get('x-total-count')).toBe('5')
  })

  test('the api.netlify.com admin sees nothing of tenant-b; the operator sees both', async () => {
    const res = await auditRes('?per_page=100', { authorization: `Bearer ${admin.token}` })
    expect(res.status).toBe(200)
    const mine = emailsIn(await body<Entry[]>(res))
    expect(mine.filter((e) => e.endsWith('@b.example'))).toEqual([])
    expect(mine).toContain('grace@navy.example.com')
    const all = emailsIn(await entries('?per_page=100'))
    expect(all).toContain('member@b.example')
    expect(all).toContain('root@b.example')
    expect(all).toContain('grace@navy.example.com')
  })
})
