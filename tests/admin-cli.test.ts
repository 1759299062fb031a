// `gotrue admin …` as an operator runs it (spec §12): a subprocess against a migrated database, with a real
// server on the same database proving that what the CLI wrote works over HTTP. Exit codes: 0 done, 1 failed
// (duplicate, not found, bad data), 2 bad arguments — never a stack trace.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { boot, type Booted } from '../bin/serve.ts'
import { type Env, loadConfig } from '../lib/config.ts'
import { makeLogger } from '../lib/log.ts'
import { body, form, MYSQL_URL, TEST_ENV, dropNamespace } from './harness.ts'
import { OPERATOR } from './helpers.ts'

const BIN = join(import.meta.dir, '..', 'bin', 'gotrue.ts')
const AUD = 'api.netlify.com'
interface Run { code: number; out: string; err: string }

/** A migrated database (temp SQLite file, or a fresh MySQL table namespace), the CLI on it, and a server on it. */
async function cliNode(extra: Env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-admin-cli-'))
  const ns = `t${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...(TEST_ENV as Record<string, string>),
    GOTRUE_SMTP_OUTBOX_DIR: join(dir, 'outbox'),
    ...(MYSQL_URL
      ? { GOTRUE_DB_DRIVER: 'mysql', DATABASE_URL: MYSQL_URL, GOTRUE_DB_NAMESPACE: ns, GOTRUE_JWT_SECRET: `secret-${crypto.randomUUID()}` }
      : { GOTRUE_DB_DRIVER: 'sqlite', DATABASE_URL: join(dir, 'gotrue.db') }),
    ...(extra as Record<string, string>),
  }
  const cli = async (...args: string[]): Promise<Run> => {
    const p = Bun.spawn(['bun', BIN, ...args], { cwd: dir, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
    return { code, out, err }
  }
  const m = await cli('migrate')
  if (m.code !== 0) throw new Error(`migrate failed: ${m.err}`)
  const server: Booted = await boot(loadConfig({ env, cwd: dir }), { port: 0, log: makeLogger({ level: 'fatal' }) })
  const req = (path: string, init: RequestInit = {}) => fetch(server.url + path, init)
  return {
    cli, req, db: server.deps.db,
    login: (email: string, password: string, aud?: string) =>
      req('/token', { ...form({ grant_type: 'password', username: email, password }), headers: { 'content-type': 'application/x-www-form-urlencoded', ...(aud ? { 'x-jwt-aud': aud } : {}) } }),
    async close() {
      const db = server.deps.db
      await dropNamespace(db, ns)
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** An operator-facing failure: one clear line, no JavaScript stack. */
const noStack = (r: Run) => { expect(r.err).not.toMatch(/\n\s+at /); expect(r.err).not.toContain('error:') }
const userOf = (r: Run) => { expect(r.code).toBe(0); return JSON.parse(r.out) as { id: string; aud: string; role: string; email: string; confirmed_at?: string; app_metadata: unknown } }

let n: Awaited<ReturnType<typeof cliNode>>
beforeAll(async () => { n = await cliNode({ GOTRUE_JWT_ADMIN_GROUP_NAME: 'staff' }) })
afterAll(async () => { await n.close() })

describe(`gotrue admin: usage (${MYSQL_URL ? 'mysql' : 'sqlite'})`, () => {
  test('admin --help and admin createuser --help exit 0 and list every verb and flag', async () => {
    const help = await n.cli('admin', '--help')
    expect(help.code).toBe(0)
    for (const verb of ['createuser', 'deleteuser', 'list', 'export', 'import']) expect(help.out).toContain(verb)
    const create = await n.cli('admin', 'createuser', '--help')
    expect(create.code).toBe(0)
    for (const flag of ['--confirm', '--admin', '--superadmin', '--allow-super-admin', '-a, --aud', '-i, --instance_id', '--json']) expect(create.out).toContain(flag)
  })

  test('no verb: the usage on stderr, nothing on stdout, exit 2', async () => {
    const r = await n.cli('admin')
    expect(r.code).toBe(2)
    expect(r.out).toBe('')
    expect(r.err).toContain('Usage: gotrue admin <verb> [flags]')
  })

  test('an unknown verb or flag is exit 2 with a message naming it', async () => {
    const verb = await n.cli('admin', 'frobnicate')
    expect(verb.code).toBe(2)
    expect(verb.err.trim()).toBe('gotrue admin: unknown admin verb "frobnicate" (see gotrue admin --help)')
    const flag = await n.cli('admin', 'createuser', 'x@example.com', 'password1', '--bogus')
    expect(flag.code).toBe(2)
    expect(flag.err.trim()).toBe('gotrue admin: unknown flag --bogus (see gotrue admin --help)')
    const missing = await n.cli('admin', 'createuser', 'x@example.com')
    expect(missing.code).toBe(2)
    expect(missing.err).toContain('createuser needs <email> <password> [role]')
    expect((await n.cli('admin', 'deleteuser')).code).toBe(2)
    expect((await n.cli('admin', 'createuser', 'x@example.com', 'password1', '-a')).err).toContain('-a needs a value')
  })

  test('-i not-a-uuid is exit 2 with a message, never a crash', async () => {
    for (const verb of [['createuser', 'i@example.com', 'password1'], ['deleteuser', 'i@example.com'], ['list']]) {
      const r = await n.cli('admin', ...verb, '-i', 'not-a-uuid')
      expect(r.code).toBe(2)
      expect(r.err.trim()).toBe('gotrue admin: --instance_id must be a UUID, got "not-a-uuid" (see gotrue admin --help)')
      noStack(r)
    }
  })
})

describe('gotrue admin createuser', () => {
  test('prints the user JSON; without --confirm the user cannot log in yet (Email not confirmed)', async () => {
    const u = userOf(await n.cli('admin', 'createuser', 'plain@example.com', 'password1'))
    expect(u).toMatchObject({ aud: AUD, role: '', email: 'plain@example.com', app_metadata: { provider: 'email' }, user_metadata: {} })
    expect(u.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(u.confirmed_at).toBeUndefined()
    const res = await n.login('plain@example.com', 'password1')
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: 'Email not confirmed' })
  })

  test('--confirm: the user logs in over HTTP with that password, and only that password', async () => {
    const u = userOf(await n.cli('admin', 'createuser', 'Confirmed@Example.com', 'password1', '--confirm'))
    expect(u.confirmed_at).toMatch(/^\d{4}-\d\d-\d\dT/)
    const res = await n.login('confirmed@example.com', 'password1')
    expect(res.status).toBe(200)
    const tok = await body<{ access_token: string; refresh_token: string }>(res)
    const me = await body(await n.req('/user', { headers: { authorization: `Bearer ${tok.access_token}` } }))
    expect(me).toMatchObject({ id: u.id, email: 'Confirmed@Example.com', aud: AUD })
    expect(await body(await n.login('confirmed@example.com', 'password2'))).toEqual({ error: 'invalid_grant', error_description: 'No user found with that email, or password invalid.' })
  })

  test('--admin gives the role GOTRUE_JWT_ADMIN_GROUP_NAME (here "staff") and that user can call GET /admin/users; a plain user cannot', async () => {
    expect(userOf(await n.cli('admin', 'createuser', 'boss@example.com', 'password1', '--admin', '--confirm')).role).toBe('staff')
    expect(userOf(await n.cli('admin', 'createuser', 'minion@example.com', 'password1', '--confirm')).role).toBe('')
    const token = async (email: string) => (await body<{ access_token: string }>(await n.login(email, 'password1'))).access_token
    const list = await n.req('/admin/users?per_page=100', { headers: { authorization: `Bearer ${await token('boss@example.com')}` } })
    expect(list.status).toBe(200)
    const page = await body<{ users: { email: string }[]; aud: string }>(list)
    expect(page.aud).toBe(AUD)
    expect(page.users.map((x) => x.email)).toContain('minion@example.com')
    const denied = await n.req('/admin/users', { headers: { authorization: `Bearer ${await token('minion@example.com')}` } })
    expect(denied.status).toBe(401)
    expect(await body(denied)).toEqual({ code: 401, msg: 'User not allowed' })
    // An explicit role argument wins over --admin, as in the reference.
    expect(userOf(await n.cli('admin', 'createuser', 'editor@example.com', 'password1', 'editor', '--admin')).role).toBe('editor')
  })

  test('-a AUD puts the user in that audience (the same email may exist in another one)', async () => {
    const u = userOf(await n.cli('admin', 'createuser', 'confirmed@example.com', 'other-password', '-a', 'other.example', '--confirm'))
    expect(u.aud).toBe('other.example')
    const res = await n.login('confirmed@example.com', 'other-password', 'other.example')
    expect(res.status).toBe(200)
    const { access_token } = await body<{ access_token: string }>(res)
    const claims = JSON.parse(Buffer.from(access_token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>
    expect(claims).toMatchObject({ sub: u.id, aud: 'other.example' })
    // In the default audience that email belongs to another user, with another password.
    expect(await body(await n.login('confirmed@example.com', 'other-password'))).toEqual({ error: 'invalid_grant', error_description: 'No user found with that email, or password invalid.' })
  })

  test('--superadmin is an admin of every audience; an --admin of one audience is not', async () => {
    userOf(await n.cli('admin', 'createuser', 'root@example.com', 'password1', '--superadmin', '--confirm'))
    const as = async (email: string) => {
      const { access_token } = await body<{ access_token: string }>(await n.login(email, 'password1'))
      return n.req('/admin/users?per_page=100', { headers: { authorization: `Bearer ${access_token}`, 'x-jwt-aud': 'other.example' } })
    }
    const res = await as('root@example.com')
    expect(res.status).toBe(200)
    const page = await body<{ users: { email: string; aud: string }[]; aud: string }>(res)
    expect(page.aud).toBe('other.example')
    expect(page.users.map((x) => [x.email, x.aud])).toEqual([['confirmed@example.com', 'other.example']])
    const boss = await as('boss@example.com')
    expect(boss.status).toBe(401)
    expect(await body(boss)).toEqual({ code: 401, msg: 'User not allowed' })
  })

  test('a --superadmin of tenant-a is out of reach of a plain tenant-a admin: GET, PUT {password} and DELETE are 404', async () => {
    const root = userOf(await n.cli('admin', 'createuser', 'root@a.example', 'root-password', '--superadmin', '--confirm', '-a', 'tenant-a'))
    userOf(await n.cli('admin', 'createuser', 'admin@a.example', 'admin-password', '--admin', '--confirm', '-a', 'tenant-a'))
    const { access_token } = await body<{ access_token: string }>(await n.login('admin@a.example', 'admin-password', 'tenant-a'))
    const headers = { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' }
    for (const [method, json] of [['PUT', { password: 'taken-over-123' }], ['GET'], ['DELETE']] as const) {
      const res = await n.req(`/admin/users/${root.id}`, { method, headers, ...(json ? { body: JSON.stringify(json) } : {}) })
      expect(await body(res)).toEqual({ code: 404, msg: 'User not found' })
    }
    expect((await n.login('root@a.example', 'taken-over-123', 'tenant-a')).status).toBe(400)
    expect((await n.login('root@a.example', 'root-password', 'tenant-a')).status).toBe(200)
  })

  test('a duplicate email (any case) in the audience is exit 1 with a message', async () => {
    const r = await n.cli('admin', 'createuser', 'PLAIN@example.com', 'password1')
    expect(r.code).toBe(1)
    expect(r.out).toBe('')
    expect(r.err.trim()).toBe(`gotrue: a user with email PLAIN@example.com already exists in audience "${AUD}"`)
    noStack(r)
  })

  test('a too-short password or a bad email is exit 1 and creates nothing', async () => {
    const short = await n.cli('admin', 'createuser', 'short@example.com', 'pw')
    expect(short.code).toBe(1)
    expect(short.err.trim()).toBe('gotrue: Password should be at least 8 characters')
    const bad = await n.cli('admin', 'createuser', 'not-an-email', 'password1')
    expect(bad.code).toBe(1)
    expect(bad.err.trim()).toBe("gotrue: invalid email: mail: missing '@' or angle-addr")
    noStack(short); noStack(bad)
    const list = await n.cli('admin', 'list')
    expect(list.out).not.toContain('short@example.com')
    expect(list.out).not.toContain('not-an-email')
  })
})

describe('gotrue admin deleteuser', () => {
  /** A confirmed user with a live session: returns its id and refresh token. */
  async function signedIn(email: string) {
    const u = userOf(await n.cli('admin', 'createuser', email, 'password1', '--confirm'))
    const { refresh_token } = await body<{ refresh_token: string }>(await n.login(email, 'password1'))
    return { id: u.id, refresh_token }
  }
  async function expectGone(email: string, id: string, refresh_token: string) {
    const refresh = await n.req('/token', form({ grant_type: 'refresh_token', refresh_token }))
    expect(refresh.status).toBe(400)
    expect(await body(refresh)).toEqual({ error: 'invalid_grant', error_description: 'Invalid Refresh Token' })
    expect(await body(await n.login(email, 'password1'))).toEqual({ error: 'invalid_grant', error_description: 'No user found with that email, or password invalid.' })
    const get = await n.req(`/admin/users/${id}`, { headers: OPERATOR })
    expect(get.status).toBe(404)
  }

  test('by email: exit 0, the user is gone and its refresh token refused', async () => {
    const { id, refresh_token } = await signedIn('leaver@example.com')
    const r = await n.cli('admin', 'deleteuser', 'LEAVER@example.com')
    expect(r.code).toBe(0)
    expect(r.out.trim()).toBe(`deleted leaver@example.com (${id})`)
    await expectGone('leaver@example.com', id, refresh_token)
  })

  test('by id: exit 0, the user is gone and its refresh token refused', async () => {
    const { id, refresh_token } = await signedIn('byid@example.com')
    const r = await n.cli('admin', 'deleteuser', id)
    expect(r.code).toBe(0)
    expect(r.out.trim()).toBe(`deleted byid@example.com (${id})`)
    await expectGone('byid@example.com', id, refresh_token)
  })

  test('an unknown email, an unknown id or a non-UUID argument is exit 1 with a message, no stack trace', async () => {
    for (const who of ['nobody@example.com', crypto.randomUUID(), 'not-a-user']) {
      const r = await n.cli('admin', 'deleteuser', who)
      expect(r.code).toBe(1)
      expect(r.err.trim()).toBe(`gotrue: no user "${who}" in audience "${AUD}"`)
      noStack(r)
    }
    // The email of a user of another audience is not found in the default one.
    expect((await n.cli('admin', 'deleteuser', 'confirmed@example.com', '-a', 'nowhere.example')).code).toBe(1)
    expect((await n.login('confirmed@example.com', 'other-password', 'other.example')).status).toBe(200)
  })
})

describe('gotrue admin list', () => {
  test('one line per user (email, id, confirmation, role, aud); --json is valid JSON without password hashes', async () => {
    const a = userOf(await n.cli('admin', 'createuser', 'one@list.example', 'password1', '-a', 'list.example', '--confirm', '--admin'))
    const b = userOf(await n.cli('admin', 'createuser', 'two@list.example', 'password1', '-a', 'list.example'))
    const r = await n.cli('admin', 'list', '-a', 'list.example')
    expect(r.code).toBe(0)
    expect(r.out.trimEnd().split('\n')).toEqual([
      `one@list.example\t${a.id}\tconfirmed\tstaff\tlist.example`,
      `two@list.example\t${b.id}\tunconfirmed\t\tlist.example`,
    ])
    const j = await n.cli('admin', 'list', '--json', '-a', 'list.example')
    expect(j.code).toBe(0)
    const doc = JSON.parse(j.out) as { users: Record<string, unknown>[]; aud: string }
    expect(doc.aud).toBe('list.example')
    expect(doc.users).toEqual([a, b].map((u) => expect.objectContaining({ id: u.id, email: u.email, aud: 'list.example' })))
    for (const u of doc.users) expect(u).not.toHaveProperty('encrypted_password')
    // Without -a: every audience of the instance.
    const all = (await n.cli('admin', 'list')).out.trimEnd().split('\n')
    expect(all.filter((l) => l.endsWith('\tlist.example'))).toHaveLength(2)
    expect(all.some((l) => l.startsWith('confirmed@example.com\t') && l.endsWith('\tother.example'))).toBe(true)
  })
})
