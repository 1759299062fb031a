// What every ceiling server shares: a synchronous HS256 check with node:crypto (alg, exp, aud, signature in
// constant time), HS256 signing, the users/refresh_tokens tables (same columns and indexes as the project's
// SQLite migration, same pragmas as lib/db/sqlite.ts) and the GoTrue user JSON. Deliberately minimal: this is
// the floor of the work a request needs, not a second implementation.
import { Database } from 'bun:sqlite'
import { createHmac, timingSafeEqual } from 'node:crypto'

export interface Claims { aud?: string; exp: number; sub: string; email: string; [k: string]: unknown }

const b64json = (part: string): unknown => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))

/** The claims of a valid token, or null: three parts, alg HS256, matching HMAC (constant time), exp in the future, aud. */
export function verifyHS256(token: string, key: Buffer, aud: string, nowSec: number): Claims | null {
  const d1 = token.indexOf('.')
  const d2 = token.indexOf('.', d1 + 1)
  if (d1 < 1 || d2 < 0 || token.indexOf('.', d2 + 1) >= 0) return null
  try {
    const header = b64json(token.slice(0, d1)) as { alg?: unknown }
    if (header.alg !== 'HS256') return null
    const sig = Buffer.from(token.slice(d2 + 1), 'base64url')
    const mac = createHmac('sha256', key).update(token.slice(0, d2)).digest()
    if (sig.length !== mac.length || !timingSafeEqual(sig, mac)) return null
    const claims = b64json(token.slice(d1 + 1, d2)) as Claims
    if (typeof claims.exp !== 'number' || claims.exp <= nowSec) return null
    if (aud && claims.aud !== aud) return null
    return claims
  } catch { return null }
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', kid: 'nf-ident', typ: 'JWT' })).toString('base64url')
export function signHS256(claims: Record<string, unknown>, key: Buffer): string {
  const body = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`
  return `${body}.${createHmac('sha256', key).update(body).digest('base64url')}`
}

export const USER_COLUMNS =
  'instance_id, id, aud, role, email, encrypted_password, confirmed_at, invited_at, confirmation_sent_at, recovery_sent_at, ' +
  'email_change, email_change_sent_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data, is_super_admin, created_at, updated_at'

export interface UserRow {
  id: string; aud: string; role: string; email: string
  confirmed_at: string | null; invited_at: string | null; confirmation_sent_at: string | null; recovery_sent_at: string | null
  email_change: string; email_change_sent_at: string | null; last_sign_in_at: string | null
  raw_app_meta_data: string | null; raw_user_meta_data: string | null; created_at: string; updated_at: string
}

const iso = (v: string | null): string | null => (v ? `${v.replace(' ', 'T')}${v.includes('.') ? '' : '.000'}Z` : null)
const meta = (raw: string | null): Record<string, unknown> => {
  if (!raw) return {}
  try { const v = JSON.parse(raw); return v && typeof v === 'object' && !Array.isArray(v) ? v : {} } catch { return {} }
}

/** GoTrue's user JSON (the same keys, order and omissions as GET /user). */
export function userJson(r: UserRow): Record<string, unknown> {
  const u: Record<string, unknown> = { id: r.id, aud: r.aud, role: r.role, email: r.email }
  for (const k of ['confirmed_at', 'invited_at', 'confirmation_sent_at', 'recovery_sent_at'] as const) {
    const v = iso(r[k])
    if (v) u[k] = v
  }
  if (r.email_change) u.new_email = r.email_change
  if (r.email_change_sent_at) u.email_change_sent_at = iso(r.email_change_sent_at)
  if (r.last_sign_in_at) u.last_sign_in_at = iso(r.last_sign_in_at)
  u.app_metadata = meta(r.raw_app_meta_data)
  u.user_metadata = meta(r.raw_user_meta_data)
  u.created_at = iso(r.created_at)
  u.updated_at = iso(r.updated_at)
  return u
}

export const DDL = `
CREATE TABLE IF NOT EXISTS users (
  instance_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000', id TEXT PRIMARY KEY,
  aud TEXT NOT NULL DEFAULT '', role TEXT NOT NULL DEFAULT '', email TEXT NOT NULL, email_key TEXT NOT NULL,
  encrypted_password TEXT NOT NULL DEFAULT '', confirmed_at TEXT NULL, invited_at TEXT NULL,
  confirmation_sent_at TEXT NULL, recovery_sent_at TEXT NULL, email_change TEXT NOT NULL DEFAULT '',
  email_change_sent_at TEXT NULL, last_sign_in_at TEXT NULL, raw_app_meta_data TEXT NULL,
  raw_user_meta_data TEXT NULL, is_super_admin INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS users_instance_aud_email_key ON users (instance_id, aud, email_key);
CREATE TABLE IF NOT EXISTS refresh_tokens (
  id TEXT PRIMARY KEY, instance_id TEXT NOT NULL, user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL, family_id TEXT NOT NULL, parent_id TEXT NULL, revoked INTEGER NOT NULL DEFAULT 0,
  revoked_at TEXT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS refresh_tokens_hash ON refresh_tokens (token_hash);
CREATE INDEX IF NOT EXISTS refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family_id);`

/** Opens (and creates) a ceiling database with the project's pragmas. */
export function openCeilingDb(path: string): Database {
  const db = new Database(path, { create: true, strict: true })
  db.run('PRAGMA journal_mode = WAL')
  db.run('PRAGMA synchronous = NORMAL')
  db.run('PRAGMA foreign_keys = ON')
  db.run('PRAGMA busy_timeout = 5000')
  db.exec(DDL)
  return db
}

export const dbTime = (d: Date): string => d.toISOString().replace('T', ' ').slice(0, 23)
const fromIso = (v: unknown): string | null => (typeof v === 'string' && v ? dbTime(new Date(v)) : null)

/** Copies users, as GET /user / signup answered them, into a ceiling database (so it answers the same JSON). */
export function insertUsers(db: Database, users: Record<string, unknown>[]): void {
  const ins = db.prepare(`INSERT OR REPLACE INTO users (${USER_COLUMNS}, email_key) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`)
  db.transaction(() => {
    for (const u of users) {
      const email = String(u.email)
      ins.run('00000000-0000-0000-0000-000000000000', String(u.id), String(u.aud ?? ''), String(u.role ?? ''), email,
        fromIso(u.confirmed_at), fromIso(u.invited_at), fromIso(u.confirmation_sent_at), fromIso(u.recovery_sent_at),
        String(u.new_email ?? ''), fromIso(u.email_change_sent_at), fromIso(u.last_sign_in_at),
        JSON.stringify(u.app_metadata ?? {}), JSON.stringify(u.user_metadata ?? {}),
        fromIso(u.created_at) as string, fromIso(u.updated_at) as string, email.toLowerCase())
    }
  })()
}

/** Env of a ceiling process: PORT, CEILING_DB, JWT_SECRET, JWT_AUD. */
export function ceilingEnv(): { port: number; dbPath: string; key: Buffer; aud: string } {
  const need = (k: string) => {
    const v = process.env[k]
    if (v === undefined) throw new Error(`ceiling: ${k} is required`)
    return v
  }
  return { port: Number(need('PORT')), dbPath: need('CEILING_DB'), key: Buffer.from(need('JWT_SECRET')), aud: process.env.JWT_AUD ?? '' }
}
