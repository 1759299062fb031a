// Crash safety: `gotrue serve` killed with SIGKILL in the middle of a signup + login + refresh load, then
// restarted on the same database, five times over. What a client was told (a 2xx with its body) must still be
// true after the restart: every acknowledged signup's user exists and logs in, every acknowledged refresh token
// (or, when a rotation committed but its answer was lost in the kill, its successor) still refreshes. What
// nobody was told must not show as half-done work: no token or identity without its user, no rotation without
// its successor or its audit entries, no signup without its confirmation, and SQLite's integrity_check is `ok`.
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../lib/config.ts'
import { sha256 } from '../lib/crypto.ts'
import { type Db, openDb } from '../lib/db/index.ts'
import { dropNamespace, form, JWT_SECRET, MYSQL_URL, slow, TEST_ENV } from './harness.ts'
import { PASSWORD } from './helpers.ts'

const BIN = join(import.meta.dir, '..', 'bin', 'gotrue.ts')
const ROUNDS = 5
const LOOPS = 8
/** Acknowledged writes to wait for in each round before the kill, so it lands in the middle of the load. */
const WRITES_BEFORE_KILL = 60

const dir = mkdtempSync(join(tmpdir(), 'gotrue-crash-'))
const namespace = `t${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`
const dbEnv: Record<string, string> = MYSQL_URL
  ? { GOTRUE_DB_DRIVER: 'mysql', DATABASE_URL: MYSQL_URL, GOTRUE_DB_NAMESPACE: namespace }
  : { GOTRUE_DB_DRIVER: 'sqlite', DATABASE_URL: join(dir, 'gotrue.db') }

interface Served { child: Bun.Subprocess<'ignore', 'ignore', 'pipe'>; url: string }

/** `gotrue serve` as a separate process (so SIGKILL really kills the writer), on a free port. */
async function serve(): Promise<Served> {
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000)
    const child = Bun.spawn(['bun', BIN, 'serve'], {
      cwd: dir, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe',
      env: {
        PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...TEST_ENV, GOTRUE_LOG_LEVEL: 'error',
        PORT: String(port), GOTRUE_API_HOST: '127.0.0.1', GOTRUE_DB_AUTOMIGRATE: 'true', GOTRUE_JWT_SECRET: JWT_SECRET,
        GOTRUE_MAILER_AUTOCONFIRM: 'true',
        // A replay of a token whose rotation committed unseen must find its successor across the restart.
        GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL: '3600',
        ...dbEnv,
      },
    })
    const url = `http://127.0.0.1:${port}`
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline && child.exitCode === null) {
      if (await fetch(`${url}/health`).then((r) => r.status === 200, () => false)) return { child, url }
      await Bun.sleep(50)
    }
    child.kill('SIGKILL')
    await child.exited
    if (attempt >= 2) throw new Error(`gotrue serve did not start: ${await new Response(child.stderr).text()}`)
  }
}

/** What clients were told: signups with their user id, and every refresh token handed out, per chain. */
const acked = { signups: [] as { email: string; id: string }[], tokens: [] as string[], lastOfChain: new Map<string, string>() }
const counts = { signups: 0, logins: 0, refreshes: 0 }
const writes = () => counts.signups + counts.logins + counts.refreshes

/** POST and read the JSON body; null when the request failed, was not 2xx, or the body did not arrive whole. */
async function post(url: string, init: RequestInit): Promise<Record<string, unknown> | null> {
  try {
    const res = await fetch(url, init)
    const text = await res.text()
    return res.status >= 200 && res.status < 300 ? (JSON.parse(text) as Record<string, unknown>) : null
  } catch { return null }
}

/** One client: signup, login, then three refreshes along the chain; until the server stops answering. */
async function loop(url: string, round: number, worker: number): Promise<void> {
  for (let k = 0; ; k++) {
    const email = `crash-r${round}-w${worker}-${k}@example.com`
    const user = await post(`${url}/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) })
    if (!user) return
    acked.signups.push({ email, id: user.id as string })
    counts.signups++
    const session = await post(`${url}/token`, form({ grant_type: 'password', username: email, password: PASSWORD }))
    if (!session) return
    let token = session.refresh_token as string
    acked.tokens.push(token)
    acked.lastOfChain.set(email, token)
    counts.logins++
    for (let r = 0; r < 3; r++) {
      const next = await post(`${url}/token`, form({ grant_type: 'refresh_token', refresh_token: token }))
      if (!next) return
      token = next.refresh_token as string
      acked.tokens.push(token)
      acked.lastOfChain.set(email, token)
      counts.refreshes++
    }
  }
}

function checkerDb(): Promise<Db> {
  return openDb(loadConfig({ env: { ...dbEnv }, cwd: dir }))
}

const count = async (db: Db, sql: string, params: (string | number)[] = []) =>
  Number((await db.get<{ n: number }>(sql, params))?.n ?? -1)

/** Rows that only a half-done write could leave behind; each query must find none. */
const PARTIAL: Record<string, string> = {
  'refresh token without its user': 'SELECT COUNT(*) AS n FROM {refresh_tokens} r LEFT JOIN {users} u ON u.id = r.user_id WHERE u.id IS NULL',
  'one-time token without its user': 'SELECT COUNT(*) AS n FROM {one_time_tokens} o LEFT JOIN {users} u ON u.id = o.user_id WHERE u.id IS NULL',
  'identity without its user': 'SELECT COUNT(*) AS n FROM {identities} i LEFT JOIN {users} u ON u.id = i.user_id WHERE u.id IS NULL',
  'autoconfirmed signup left unconfirmed': 'SELECT COUNT(*) AS n FROM {users} WHERE confirmed_at IS NULL',
  'rotated token without a successor': 'SELECT COUNT(*) AS n FROM {refresh_tokens} p WHERE p.revoked = 1 AND NOT EXISTS (SELECT 1 FROM {refresh_tokens} c WHERE c.parent_id = p.id)',
  'successor whose parent is missing': 'SELECT COUNT(*) AS n FROM {refresh_tokens} c LEFT JOIN {refresh_tokens} p ON p.id = c.parent_id WHERE c.parent_id IS NOT NULL AND p.id IS NULL',
  'token rotated twice': 'SELECT COUNT(*) AS n FROM (SELECT parent_id FROM {refresh_tokens} WHERE parent_id IS NOT NULL GROUP BY parent_id HAVING COUNT(*) > 1) x',
}

const report: Record<string, unknown>[] = []
let current: Served | null = null
afterAll(async () => {
  if (current && current.child.exitCode === null) current.child.kill('SIGKILL')
  await current?.child.exited
  if (MYSQL_URL) {
    const db = await checkerDb()
    await dropNamespace(db, namespace)
    await db.close()
  }
  rmSync(dir, { recursive: true, force: true })
})

slow.describe(`SIGKILL under load, ${ROUNDS} rounds (${MYSQL_URL ? 'MySQL' : 'SQLite file'})`, () => {
  test('every acknowledged write survives the kill; no partial rows; the database is intact', { timeout: 180_000 }, async () => {
    current = await serve()
    for (let round = 1; round <= ROUNDS; round++) {
      const server = current
      const target = writes() + WRITES_BEFORE_KILL
      const loops = Array.from({ length: LOOPS }, (_, w) => loop(server.url, round, w))
      const deadline = Date.now() + 30_000
      while (writes() < target && Date.now() < deadline && server.child.exitCode === null) await Bun.sleep(2)
      expect(writes()).toBeGreaterThanOrEqual(target) // the load really ran (the server did not die on its own)
      server.child.kill('SIGKILL')
      expect(await server.child.exited).not.toBe(0)
      await Promise.all(loops) // every client saw the connection die
      const ackedThisRound = { signups: counts.signups, logins: counts.logins, refreshes: counts.refreshes }

      current = await serve()
      const { url } = current
      const db = await checkerDb()
      try {
        // Every acknowledged signup: the user row with the id the client was given, and it logs in.
        const found = await Promise.all(acked.signups.map((u) =>
          db.get<{ id: string }>('SELECT id FROM {users} WHERE email_key = ?', [u.email]).then((r) => r?.id === u.id)))
        const signupsFound = found.filter(Boolean).length
        expect(signupsFound).toBe(acked.signups.length)
        const logins = await Promise.all(acked.signups.map((u) => post(`${url}/token`, form({ grant_type: 'password', username: u.email, password: PASSWORD }))))
        expect(logins.filter((l) => l === null).length).toBe(0)

        // Every refresh token handed out is stored (by its hash); the last one of each chain still refreshes
        // (directly, or through the successor its unacknowledged rotation committed).
        const stored = await Promise.all(acked.tokens.map((t) => db.get('SELECT id FROM {refresh_tokens} WHERE token_hash = ?', [sha256(t)])))
        const tokensFound = stored.filter((r) => r !== null).length
        expect(tokensFound).toBe(acked.tokens.length)
        const chains = [...acked.lastOfChain.entries()]
        const refreshed = await Promise.all(chains.map(([, t]) => post(`${url}/token`, form({ grant_type: 'refresh_token', refresh_token: t }))))
        const chainsAlive = refreshed.filter((r) => r !== null).length
        expect(chainsAlive).toBe(chains.length)
        for (const [i, r] of refreshed.entries()) acked.lastOfChain.set(chains[i]?.[0] ?? '', r?.refresh_token as string)

        // No half-done work, in any table.
        const partial: Record<string, number> = {}
        for (const [what, sql] of Object.entries(PARTIAL)) partial[what] = await count(db, sql)
        expect(partial).toEqual(Object.fromEntries(Object.keys(PARTIAL).map((k) => [k, 0])))
        // Each rotation, login and signup wrote its audit entries in the same transaction as its rows.
        const actions = (await db.all<{ payload: string }>('SELECT payload FROM {audit_log_entries}')).map((r) => (JSON.parse(r.payload) as { action: string }).action)
        const n = (a: string) => actions.filter((x) => x === a).length
        const rows = {
          rotations: await count(db, 'SELECT COUNT(*) AS n FROM {refresh_tokens} WHERE parent_id IS NOT NULL'),
          families: await count(db, 'SELECT COUNT(*) AS n FROM {refresh_tokens} WHERE parent_id IS NULL'),
          users: await count(db, 'SELECT COUNT(*) AS n FROM {users}'),
        }
        expect({ token_refreshed: n('token_refreshed'), token_revoked: n('token_revoked'), login: n('login'), user_signedup: n('user_signedup') })
          .toEqual({ token_refreshed: rows.rotations, token_revoked: rows.rotations, login: rows.families, user_signedup: rows.users })

        let integrity = 'n/a (MySQL: InnoDB recovers itself)'
        if (db.dialect === 'sqlite') {
          integrity = (await db.all<{ integrity_check: string }>('PRAGMA integrity_check')).map((r) => r.integrity_check).join('; ')
          expect(integrity).toBe('ok')
          expect(await db.all('PRAGMA foreign_key_check')).toEqual([])
        }
        report.push({
          round, ackedSoFar: ackedThisRound, ackedSignupsTotal: acked.signups.length, signupsFound,
          ackedTokensTotal: acked.tokens.length, tokensFound, chains: chains.length, chainsAlive, rowsAfterRestart: rows, integrity,
        })
      } finally { await db.close() }
    }
    console.log(`crash safety (${MYSQL_URL ? 'mysql' : 'sqlite'}):\n${report.map((r) => JSON.stringify(r)).join('\n')}`)
    expect(report).toHaveLength(ROUNDS)
  })
})
