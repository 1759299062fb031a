// Moving users between deployments: `gotrue admin export FILE` (or the streamed GET /admin/users/export) and
// `gotrue admin import FILE` into another database, including rows taken from the reference's MySQL `users`
// table (spec §11). What must survive: ids, emails, metadata, confirmation, password hashes — everyone logs in
// on the new deployment with the password they already had.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { boot, type Booted } from '../bin/serve.ts'
import { type Env, loadConfig } from '../lib/config.ts'
import { makeLogger } from '../lib/log.ts'
import { NIL_UUID, USER_COLUMNS } from '../lib/users.ts'
import { body, form, MYSQL_URL, TEST_ENV, dropNamespace } from './harness.ts'
import { OPERATOR } from './helpers.ts'

const BIN = join(import.meta.dir, '..', 'bin', 'gotrue.ts')
const AUD = 'api.netlify.com'
const EXPORT_SECRET = 'export-secret-for-tests'
const SCRIPT = Bun.which('script') // util-linux: runs a command on a pseudo-terminal
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
type Dialect = 'sqlite' | 'mysql'
const DIALECT: Dialect = MYSQL_URL ? 'mysql' : 'sqlite'
const opened: { close(): Promise<void> }[] = []
afterAll(async () => { for (const x of opened) await x.close() })

/** A migrated database (temp SQLite file or a fresh MySQL table namespace), the CLI on it, and a server on it. */
type Node = Awaited<ReturnType<typeof node>>
async function node(dialect: Dialect = DIALECT, extra: Env = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-transfer-'))
  const ns = `t${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...(TEST_ENV as Record<string, string>),
    GOTRUE_SMTP_OUTBOX_DIR: join(dir, 'outbox'),
    ...(dialect === 'mysql'
      ? { GOTRUE_DB_DRIVER: 'mysql', DATABASE_URL: MYSQL_URL, GOTRUE_DB_NAMESPACE: ns, GOTRUE_JWT_SECRET: `secret-${crypto.randomUUID()}` }
      : { GOTRUE_DB_DRIVER: 'sqlite', DATABASE_URL: join(dir, 'gotrue.db') }),
    ...(extra as Record<string, string>),
  }
  const cli = async (...args: string[]) => {
    const p = Bun.spawn(['bun', BIN, ...args], { cwd: dir, env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
    return { code, out, err }
  }
  if ((await cli('migrate')).code !== 0) throw new Error('migrate failed')
  const server: Booted = await boot(loadConfig({ env, cwd: dir }), { port: 0, log: makeLogger({ level: 'fatal' }) })
  const req = (path: string, init: RequestInit = {}) => fetch(server.url + path, init)
  const self = {
    dir, env, cli, req, db: server.deps.db,
    file: (name: string) => join(dir, name),
    login: (email: string, password: string, aud: string) =>
      req('/token', { ...form({ grant_type: 'password', username: email, password }), headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-jwt-aud': aud } }),
    /** Every stored user column (the state an import must reproduce), in a stable order. */
    rows: () => server.deps.db.all<Record<string, unknown>>(`SELECT ${USER_COLUMNS} FROM {users} ORDER BY email, aud`),
    async close() {
      const db = server.deps.db
      await dropNamespace(db, ns)
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  opened.push(self)
  return self
}

/** The users every source database gets: CLI-made (confirmed or not, admin, super admin, other audience) and
 *  API-made with metadata. */
const SEED = [
  { email: 'ann@example.com', password: 'ann-password', aud: AUD, confirmed: true },
  { email: 'bob@example.com', password: 'bob-password', aud: AUD, confirmed: false },
  { email: 'cat@example.com', password: 'cat-password', aud: AUD, confirmed: true },
  { email: 'dan@example.com', password: 'dan-password', aud: 'other.example', confirmed: true },
  { email: 'eve@example.com', password: 'eve-password', aud: AUD, confirmed: true },
]
async function seed(n: Node) {
  const ok = (r: { code: number; err: string }) => { if (r.code !== 0) throw new Error(r.err) }
  ok(await n.cli('admin', 'createuser', 'ann@example.com', 'ann-password', '--confirm', '--admin'))
  ok(await n.cli('admin', 'createuser', 'bob@example.com', 'bob-password'))
  const cat = await n.req('/admin/users', {
    method: 'POST', headers: { ...OPERATOR, 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'cat@example.com', password: 'cat-password', confirm: true, app_metadata: { roles: ['editor'] }, user_metadata: { full_name: 'Cat Ö', prefs: { theme: 'dark' } } }),
  })
  if (cat.status !== 200) throw new Error(await cat.text())
  ok(await n.cli('admin', 'createuser', 'dan@example.com', 'dan-password', '-a', 'other.example', '--confirm'))
  ok(await n.cli('admin', 'createuser', 'eve@example.com', 'eve-password', '--confirm', '--superadmin'))
}

/** Each seeded user on `n`: confirmed ones log in with their old password (as the same id), the others are
 *  told their email is not confirmed. */
async function expectSeedLogins(n: Node, ids: Map<string, unknown>) {
  for (const u of SEED) {
    const res = await n.login(u.email, u.password, u.aud)
    if (!u.confirmed) {
      expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: 'Email not confirmed' })
      continue
    }
    expect(res.status).toBe(200)
    const { access_token } = await body<{ access_token: string }>(res)
    expect(JSON.parse(Buffer.from(access_token.split('.')[1] ?? '', 'base64url').toString())).toMatchObject({ sub: ids.get(u.email), aud: u.aud })
  }
}
const idsOf = async (n: Node) => new Map((await n.rows()).map((r) => [String(r.email), r.id] as const))
const summary = (added: number, updated: number, unchanged: number, failed: number) =>
  `imported: ${added} new, ${updated} updated, ${unchanged} unchanged, ${failed} failed\n`

let src: Node
beforeAll(async () => {
  src = await node(DIALECT, { GOTRUE_API_EXPORT_SECRET: EXPORT_SECRET })
  await seed(src)
})

describe(`gotrue admin export → import into an empty database (${DIALECT})`, () => {
  let dst: Node
  let file: string
  beforeAll(async () => { dst = await node() })

  test('every user arrives with the same id, email, metadata, confirmation state and password hash', async () => {
    file = src.file('users.json')
    const exp = await src.cli('admin', 'export', file)
    expect(exp.code).toBe(0)
    expect(exp.err).toBe(`exported to ${file}\n`)
    const imp = await dst.cli('admin', 'import', file, '--allow-super-admin') // eve is a super admin
    expect(imp.code).toBe(0)
    expect(imp.out).toBe(summary(5, 0, 0, 0))
    expect(imp.err).toBe('') // no terminal: no progress text
    const rows = await dst.rows()
    expect(rows).toEqual(await src.rows())
    expect(rows.map((r) => r.encrypted_password)).toEqual(rows.map(() => expect.stringMatching(/^\$2b\$04\$/)))
    const cat = await body(await dst.req(`/admin/users/${(await idsOf(dst)).get('cat@example.com')}`, { headers: OPERATOR }))
    expect(cat).toMatchObject({ app_metadata: { provider: 'email', roles: ['editor'] }, user_metadata: { full_name: 'Cat Ö', prefs: { theme: 'dark' } } })
  })

  test('importing the same file again reports 0 new and changes nothing', async () => {
    const before = await dst.rows()
    const again = await dst.cli('admin', 'import', file, '--allow-super-admin')
    expect(again.code).toBe(0)
    expect(again.out).toBe(summary(0, 0, 5, 0))
    expect(await dst.rows()).toEqual(before)
  })

  test('a user changed since is put back to the file’s version (the file wins)', async () => {
    const id = (await idsOf(dst)).get('cat@example.com')
    const put = await dst.req(`/admin/users/${id}`, { method: 'PUT', headers: { ...OPERATOR, 'content-type': 'application/json' }, body: JSON.stringify({ user_metadata: { full_name: 'Changed' } }) })
    expect(put.status).toBe(200)
    expect((await dst.cli('admin', 'import', file, '--allow-super-admin')).out).toBe(summary(0, 1, 4, 0))
    expect(await dst.rows()).toEqual(await src.rows())
  })

  test('every user logs in on the new deployment with the same password (unconfirmed ones still are not)', async () => {
    await expectSeedLogins(dst, await idsOf(src))
  })

  test('the super admin is still one after the move (an admin of another audience)', async () => {
    const { access_token } = await body<{ access_token: string }>(await dst.login('eve@example.com', 'eve-password', AUD))
    const res = await dst.req('/admin/users', { headers: { authorization: `Bearer ${access_token}`, 'x-jwt-aud': 'other.example' } })
    expect(res.status).toBe(200)
    expect((await body<{ users: { email: string }[] }>(res)).users.map((u) => u.email)).toEqual(['dan@example.com'])
  })

  const ttyName = SCRIPT ? 'on a terminal the import shows its progress' : 'on a terminal the import shows its progress (SKIPPED: util-linux `script` is not installed)'
  test.skipIf(!SCRIPT)(ttyName, async () => {
    const p = Bun.spawn([SCRIPT ?? 'script', '-qec', `bun ${sh(BIN)} admin import ${sh(file)} --allow-super-admin`, '/dev/null'], { cwd: dst.dir, env: dst.env, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited])
    expect(code).toBe(0)
    expect(out).toContain('\rimporting… 5 of 5 users')
    expect(out).toMatch(/\r\nimported: 0 new, \d updated, \d unchanged, 0 failed\r\n/)
  })
})

describe('GET /admin/users/export streams a file the CLI imports', () => {
  let dst: Node
  beforeAll(async () => { dst = await node() })
  const get = (query: string, secret?: string) =>
    src.req(`/admin/users/export${query}`, { headers: { ...OPERATOR, ...(secret === undefined ? {} : { EXPORT_SECRET: secret }) } })

  test('without the right EXPORT_SECRET header: 401 Invalid export secret', async () => {
    for (const res of [await get(''), await get('', 'wrong-secret')]) {
      expect(res.status).toBe(401)
      expect(await body(res)).toEqual({ code: 401, msg: 'Invalid export secret' })
    }
  })

  test('the request audience only, with password hashes', async () => {
    const res = await get('', EXPORT_SECRET)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="users.json"')
    const doc = await body<{ users: { email: string; aud: string; encrypted_password: string }[]; aud: string }>(res)
    expect(doc.aud).toBe(AUD)
    expect(doc.users.map((u) => u.email).sort()).toEqual(['ann@example.com', 'bob@example.com', 'cat@example.com', 'eve@example.com'])
    for (const u of doc.users) expect(u.encrypted_password).toMatch(/^\$2b\$04\$/)
  })

  test('?all=true: every audience; `gotrue admin import` of the download reproduces the source', async () => {
    const res = await get('?all=true', EXPORT_SECRET)
    expect(res.status).toBe(200)
    const file = dst.file('download.json')
    await Bun.write(file, res)
    const imp = await dst.cli('admin', 'import', file, '--allow-super-admin')
    expect(imp.code).toBe(0)
    expect(imp.out).toBe(summary(5, 0, 0, 0))
    expect(await dst.rows()).toEqual(await src.rows())
    await expectSeedLogins(dst, await idsOf(src))
  })
})

describe('gotrue admin import of other sources', () => {
  let dst: Node
  beforeAll(async () => { dst = await node() })
  /** bcrypt as the reference's Go code writes it: `$2a$`, here at cost 4. */
  const goHash = async (pw: string) => (await Bun.password.hash(pw, { algorithm: 'bcrypt', cost: 4 })).replace(/^\$2b\$/, '$2a$')
  const refRow = (over: Record<string, unknown>) => ({
    instance_id: NIL_UUID, id: crypto.randomUUID(), aud: AUD, role: '', encrypted_password: '', confirmed_at: null, invited_at: null,
    confirmation_token: '', confirmation_sent_at: null, recovery_token: '', recovery_sent_at: null, email_change_token: '',
    email_change: '', email_change_sent_at: null, last_sign_in_at: null, raw_app_meta_data: '{"provider":"email"}',
    raw_user_meta_data: '{}', is_super_admin: 0, created_at: '2024-04-30 08:00:00', updated_at: '2024-05-01 10:00:00', ...over,
  })

  // Whole-second times: MySQL's binary protocol (prepared statements) hands `…:00` back without the `.000` that
  // was stored, so a comparison of the stored text with the file's saw a change where there was none.
  test('a file whose times are whole seconds imports again as unchanged', async () => {
    const row = refRow({ email: 'ref-seconds@example.com', confirmed_at: '2024-05-01 10:00:00', last_sign_in_at: '2024-05-02 11:00:00' })
    const file = dst.file('reference-seconds.json')
    await Bun.write(file, JSON.stringify([row]))
    expect((await dst.cli('admin', 'import', file)).out).toBe(summary(1, 0, 0, 0))
    expect((await dst.cli('admin', 'import', file)).out).toBe(summary(0, 0, 1, 0))
  })

  test('rows of the reference’s MySQL users table (a JSON array) import and those users log in', async () => {
    const one = refRow({
      email: 'ref-one@example.com', encrypted_password: await goHash('ref-one-pass'), confirmed_at: '2024-05-01 10:00:00',
      confirmation_sent_at: '2024-05-01 09:59:00', raw_app_meta_data: '{"provider":"email","roles":["editor"]}',
      raw_user_meta_data: '{"full_name":"Ref One"}', is_super_admin: '0', // string "0", as some MySQL JSON exports write it
    })
    const root = refRow({ email: 'ref-root@example.com', encrypted_password: await goHash('ref-root-pass'), confirmed_at: '2024-05-01 10:00:00', is_super_admin: 1, raw_app_meta_data: 'null', raw_user_meta_data: null })
    const pending = refRow({ email: 'ref-pending@example.com', encrypted_password: await goHash('ref-pending-pass') })
    const file = dst.file('reference-users.json')
    await Bun.write(file, JSON.stringify([one, root, pending], null, 2))
    const imp = await dst.cli('admin', 'import', file, '--allow-super-admin')
    expect(imp.err).toBe('')
    expect(imp.code).toBe(0)
    expect(imp.out).toBe(summary(3, 0, 0, 0))
    expect(await body(await dst.req(`/admin/users/${one.id}`, { headers: OPERATOR }))).toEqual({
      id: one.id, aud: AUD, role: '', email: 'ref-one@example.com', confirmed_at: '2024-05-01T10:00:00.000Z',
      confirmation_sent_at: '2024-05-01T09:59:00.000Z', app_metadata: { provider: 'email', roles: ['editor'] },
      user_metadata: { full_name: 'Ref One' }, created_at: '2024-04-30T08:00:00.000Z', updated_at: '2024-05-01T10:00:00.000Z',
    })
    expect(await body(await dst.req(`/admin/users/${root.id}`, { headers: OPERATOR }))).toMatchObject({ app_metadata: {}, user_metadata: {} })
    const token = async (email: string, pw: string) => {
      const res = await dst.login(email, pw, AUD)
      expect(res.status).toBe(200)
      return (await body<{ access_token: string }>(res)).access_token
    }
    const asAdmin = async (t: string) => dst.req('/admin/users', { headers: { authorization: `Bearer ${t}`, 'x-jwt-aud': 'other.example' } })
    expect((await asAdmin(await token('ref-root@example.com', 'ref-root-pass'))).status).toBe(200) // is_super_admin 1
    expect(await body(await asAdmin(await token('ref-one@example.com', 'ref-one-pass')))).toEqual({ code: 401, msg: 'User not allowed' }) // "0" is not 1
    expect(await body(await dst.login('ref-pending@example.com', 'ref-pending-pass', AUD))).toEqual({ error: 'invalid_grant', error_description: 'Email not confirmed' })
  })

  test('a file with bad records imports the rest, exits 1 and names each failed record', async () => {
    const good = refRow({ email: 'fine@example.com', encrypted_password: await goHash('fine-pass'), confirmed_at: '2024-05-01 10:00:00' })
    const badEmail = refRow({ email: 'not-an-email', encrypted_password: await goHash('x-password') })
    const badHash = refRow({ email: 'plain@example.com', encrypted_password: 'plaintext-password', confirmed_at: '2024-05-01 10:00:00' })
    const file = dst.file('bad.json')
    await Bun.write(file, JSON.stringify({ users: [good, badEmail, badHash] }))
    const imp = await dst.cli('admin', 'import', file)
    expect(imp.code).toBe(1)
    expect(imp.out).toBe(summary(1, 0, 0, 2))
    expect(imp.err).toBe(
      `  user #2 ("not-an-email", id ${badEmail.id}): invalid email "not-an-email": mail: missing '@' or angle-addr\n` +
      `  user #3 ("plain@example.com", id ${badHash.id}): user ${badHash.id}: encrypted_password must be a bcrypt hash ($2a$, $2b$ or $2y$)\n`)
    expect((await dst.login('fine@example.com', 'fine-pass', AUD)).status).toBe(200)
    for (const bad of [badEmail, badHash]) expect((await dst.req(`/admin/users/${bad.id}`, { headers: OPERATOR })).status).toBe(404)
  })

  test('a missing file is exit 1 with a message; no FILE at all is a usage error (exit 2)', async () => {
    const missing = await dst.cli('admin', 'import', dst.file('nope.json'))
    expect(missing.code).toBe(1)
    expect(missing.err).toBe(`gotrue: no such file ${dst.file('nope.json')}\n`)
    const none = await dst.cli('admin', 'import')
    expect(none.code).toBe(2)
    expect(none.err.trim()).toBe('gotrue admin: import needs a FILE (see gotrue admin --help)')
  })
})

describe('gotrue admin import refuses what it must not write, line by line', () => {
  let dst: Node
  beforeAll(async () => { dst = await node() })
  const hash = (pw: string) => Bun.password.hash(pw, { algorithm: 'bcrypt', cost: 4 })
  const user = async (over: Record<string, unknown>) => ({
    id: crypto.randomUUID(), aud: AUD, email: `${crypto.randomUUID().slice(0, 8)}@example.com`, confirmed_at: '2024-05-01T10:00:00.123Z',
    encrypted_password: await hash('attacker-pass'), app_metadata: { provider: 'email' }, user_metadata: {},
    created_at: '2024-04-30T08:00:00.123Z', updated_at: '2024-05-01T10:00:00.123Z', ...over, // ms: MySQL gives whole seconds back without .000
  })
  const importing = async (rows: unknown[], ...flags: string[]) => {
    const file = dst.file(`${crypto.randomUUID()}.json`)
    await Bun.write(file, JSON.stringify({ users: rows }))
    return dst.cli('admin', 'import', file, ...flags)
  }
  const stored = (id: string) => dst.db.get<Record<string, unknown>>(`SELECT ${USER_COLUMNS} FROM {users} WHERE id = ?`, [id])

  test('a file imported into one instance cannot overwrite (or move) a user of another instance', async () => {
    const A = crypto.randomUUID(), B = crypto.randomUUID()
    const made = await dst.cli('admin', 'createuser', 'victim@example.com', 'victim-pass', '--confirm', '-i', A)
    expect(made.code).toBe(0)
    const victim = JSON.parse(made.out) as { id: string }
    const before = await stored(victim.id)
    const row = await user({ id: victim.id, email: 'victim@example.com' })
    const imp = await importing([row], '-i', B)
    expect(imp.code).toBe(1)
    expect(imp.out).toBe(summary(0, 0, 0, 1))
    expect(imp.err).toBe(`  user #1 ("victim@example.com", id ${victim.id}): another user already has this email or id\n`)
    expect(await stored(victim.id)).toEqual(before)
    expect(before?.instance_id).toBe(A)
  })

  test('the nil UUID (the system user, admin of every audience) is no user id: refused, nothing written, no login', async () => {
    const row = await user({ id: NIL_UUID, email: 'system@example.com' })
    const imp = await importing([row])
    expect(imp.code).toBe(1)
    expect(imp.err).toBe(`  user #1 ("system@example.com", id ${NIL_UUID}): invalid id "${NIL_UUID}" (a UUID other than the nil UUID)\n`)
    expect(await stored(NIL_UUID)).toBeNull()
    expect((await dst.login('system@example.com', 'attacker-pass', AUD)).status).toBe(400)
    for (const id of ['0', '00000000-0000-0000-0000-00000000000g', 'abcdefab-abcd-abcd-abcd-abcdefabcdef-']) {
      const bad = await importing([await user({ id })])
      expect(bad.err).toContain('invalid id')
    }
  })

  test('is_super_admin needs --allow-super-admin: without it the record is refused with its line and nothing of it is written', async () => {
    const plain = await user({})
    const root = await user({ is_super_admin: true })
    const imp = await importing([plain, root])
    expect(imp.code).toBe(1)
    expect(imp.out).toBe(summary(1, 0, 0, 1))
    expect(imp.err).toBe(`  user #2 ("${root.email}", id ${root.id}): user ${root.id}: is_super_admin needs --allow-super-admin\n`)
    expect(await stored(root.id)).toBeNull()
    const allowed = await importing([plain, root], '--allow-super-admin')
    expect(allowed.out).toBe(summary(1, 0, 1, 0))
    expect((await stored(root.id))?.is_super_admin).toBe(1)
  })

  test('a password hash with a bcrypt cost above GOTRUE_BCRYPT_MAX_COST (or below 4) is refused', async () => {
    const four = await hash('x-password')
    const rows = [await user({ encrypted_password: four.replace('$2b$04$', '$2b$31$') }), await user({ encrypted_password: four.replace('$2b$04$', '$2a$15$') }), await user({ encrypted_password: four.replace('$2b$04$', '$2b$03$') })]
    const imp = await importing(rows)
    expect(imp.code).toBe(1)
    expect(imp.err).toBe(rows.map((r, i) => `  user #${i + 1} ("${r.email}", id ${r.id}): user ${r.id}: encrypted_password bcrypt cost ${[31, 15, 3][i]} is out of bounds (4 to 14)\n`).join(''))
    for (const r of rows) expect(await stored(r.id)).toBeNull()
  })
})

describe.skipIf(!MYSQL_URL)('across dialects: SQLite → MySQL → SQLite', () => {
  test('every user keeps logging in with the same password after each move', async () => {
    const lite = await node('sqlite')
    await seed(lite)
    const my = await node('mysql')
    const back = await node('sqlite')
    const ids = await idsOf(lite)
    for (const [from, to] of [[lite, my], [my, back]] as const) {
      const file = from.file(`move-${to.db.dialect}.json`)
      expect((await from.cli('admin', 'export', file)).code).toBe(0)
      const imp = await to.cli('admin', 'import', file, '--allow-super-admin')
      expect(imp.out).toBe(summary(5, 0, 0, 0))
      expect(await to.rows()).toEqual(await from.rows())
      await expectSeedLogins(to, ids)
    }
  })
})
