// The 1 k → 1 M users figure: filler accounts written straight into the database (seeding a million accounts
// through POST /signup would cost a million bcrypt hashes, about 17 hours at cost 10 on one core). The accounts the
// load uses are still created through the API; the fillers only make the tables big: each filler is a confirmed
// user with a distinct email, random metadata and one live refresh token, spread over the key space by random
// UUIDs like real ones. The "1 M" database is a copy of the "1 k" one plus fillers, so both hold the same
// API-made accounts and the same access tokens work on both.
import { Database } from 'bun:sqlite'
import { connect } from './mysql.ts'

const INSTANCE = '00000000-0000-0000-0000-000000000000'
const BATCH = 2000

const dbTime = (d: Date) => d.toISOString().replace('T', ' ').replace('Z', '')
const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString('hex')

interface Filler { user: unknown[]; token: unknown[] }
function filler(tag: string, i: number, aud: string, now: string): Filler {
  const id = crypto.randomUUID()
  const email = `filler-${tag}-${i}@example.com`
  const user = [INSTANCE, id, aud, 'authenticated', email, email, '', now, now, '{"provider":"email"}', `{"n":"${hex(8)}"}`, now, now]
  const token = [crypto.randomUUID(), INSTANCE, id, hex(32), crypto.randomUUID(), now, now]
  return { user, token }
}
const USER_COLS = '(instance_id, id, aud, role, email, email_key, encrypted_password, confirmed_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)'
const TOKEN_COLS = '(id, instance_id, user_id, token_hash, family_id, created_at, updated_at)'

/** Adds `n` filler users (and one refresh token each) to a SQLite database (any namespace: none in the bench). */
export function fillSqlite(path: string, n: number, tag: string, aud: string): void {
  const db = new Database(path)
  db.exec('PRAGMA busy_timeout = 10000')
  const now = dbTime(new Date())
  const u = db.prepare(`INSERT INTO users ${USER_COLS} VALUES (${Array(13).fill('?').join(', ')})`)
  const t = db.prepare(`INSERT INTO refresh_tokens ${TOKEN_COLS} VALUES (${Array(7).fill('?').join(', ')})`)
  for (let done = 0; done < n; done += 50_000) {
    db.transaction(() => {
      for (let i = done; i < Math.min(n, done + 50_000); i++) {
        const f = filler(tag, i, aud, now)
        u.run(...(f.user as string[]))
        t.run(...(f.token as string[]))
      }
    })()
  }
  db.close()
}

/** A copy of a SQLite database (consistent while a server has it open in WAL mode). */
export function copySqlite(from: string, to: string): void {
  const db = new Database(from)
  db.exec('PRAGMA busy_timeout = 10000')
  db.prepare('VACUUM INTO ?').run(to)
  db.close()
}

export function countSqlite(path: string): { users: number; tokens: number } {
  const db = new Database(path, { readonly: true })
  const c = (t: string) => (db.query(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n
  const out = { users: c('users'), tokens: c('refresh_tokens') }
  db.close()
  return out
}

/** Adds `n` filler users (and one refresh token each) to the `<ns>_…` tables of a MySQL database. */
export async function fillMysql(url: string, ns: string, n: number, tag: string, aud: string): Promise<void> {
  const c = await connect(url)
  try {
    await c.query('SET SESSION unique_checks = 0, foreign_key_checks = 0')
    const now = dbTime(new Date())
    for (let done = 0; done < n; done += BATCH) {
      const fs = Array.from({ length: Math.min(BATCH, n - done) }, (_, k) => filler(tag, done + k, aud, now))
      await c.query('START TRANSACTION')
      await c.query(`INSERT INTO \`${ns}_users\` ${USER_COLS} VALUES ?`, [fs.map((f) => f.user)])
      await c.query(`INSERT INTO \`${ns}_refresh_tokens\` ${TOKEN_COLS} VALUES ?`, [fs.map((f) => f.token)])
      await c.query('COMMIT')
    }
    await c.query(`ANALYZE TABLE \`${ns}_users\`, \`${ns}_refresh_tokens\``)
  } finally { await c.end() }
}

/** Copies every `<from>_…` table (structure and rows) to `<to>_…`. */
export async function copyMysql(url: string, from: string, to: string): Promise<void> {
  const c = await connect(url)
  try {
    const [rows] = await c.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [`${from}\\_%`])
    await c.query('SET SESSION foreign_key_checks = 0')
    for (const { t } of rows as { t: string }[]) {
      const dest = `${to}${t.slice(from.length)}`
      await c.query(`CREATE TABLE \`${dest}\` LIKE \`${t}\``)
      await c.query(`INSERT INTO \`${dest}\` SELECT * FROM \`${t}\``)
    }
  } finally { await c.end() }
}

export async function countMysql(url: string, ns: string): Promise<{ users: number; tokens: number }> {
  const c = await connect(url)
  try {
    const count = async (t: string) => ((await c.query(`SELECT COUNT(*) AS n FROM \`${ns}_${t}\``))[0] as { n: number }[])[0]?.n ?? 0
    return { users: Number(await count('users')), tokens: Number(await count('refresh_tokens')) }
  } finally { await c.end() }
}
