// The user row, its GoTrue JSON form, and the user statements two or more features share.
import { t } from 'elysia'
import { type Db, dbTime, isoTime, type Param } from './db/index.ts'
import { unprocessable } from './errors.ts'
import { Coalescer } from './db/coalesce.ts'

export const NIL_UUID = '00000000-0000-0000-0000-000000000000'
export type Metadata = Record<string, unknown>

export interface UserRow {
  instance_id: string
  id: string
  aud: string
  role: string
  email: string
  encrypted_password: string
  confirmed_at: string | null
  invited_at: string | null
  confirmation_sent_at: string | null
  recovery_sent_at: string | null
  email_change: string
  email_change_sent_at: string | null
  last_sign_in_at: string | null
  raw_app_meta_data: string | null
  raw_user_meta_data: string | null
  is_super_admin: number
  created_at: string
  updated_at: string
}

export const USER_COLUMNS =
  'instance_id, id, aud, role, email, encrypted_password, confirmed_at, invited_at, confirmation_sent_at, recovery_sent_at, ' +
  'email_change, email_change_sent_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data, is_super_admin, created_at, updated_at'

const Time = t.String({ format: 'date-time' })
const Identity = t.Object({
  identity_id: t.String(), id: t.String(), user_id: t.String(), provider: t.String(), email: t.String(),
  identity_data: t.Record(t.String(), t.Unknown()),
  last_sign_in_at: t.Optional(Time), created_at: Time, updated_at: Time,
}, { description: 'A sign-in identity of the user (supabase\'s shape)' })
/** An MFA factor (supabase/auth's shape; lib/mfa.ts reads and writes them). */
export const Factor = t.Object({
  id: t.String(),
  friendly_name: t.String(),
  factor_type: t.UnionEnum(['totp', 'recovery_code']),
  status: t.UnionEnum(['verified', 'unverified']),
  created_at: Time,
  updated_at: Time,
  last_challenged_at: t.Optional(Time),
}, { description: 'An MFA factor (supabase/auth\'s shape)' })
/** The user object of GoTrue's wire contract (spec §1.2): absent timestamps are omitted, never null. */
export const User = t.Object({
  id: t.String({ format: 'uuid' }),
  aud: t.String(),
  role: t.String(),
  email: t.String({ docFormat: 'email' }),
  confirmed_at: t.Optional(Time),
  invited_at: t.Optional(Time),
  confirmation_sent_at: t.Optional(Time),
  recovery_sent_at: t.Optional(Time),
  new_email: t.Optional(t.String({ docFormat: 'email' })),
  email_change_sent_at: t.Optional(Time),
  last_sign_in_at: t.Optional(Time),
  app_metadata: t.Record(t.String(), t.Unknown()),
  user_metadata: t.Record(t.String(), t.Unknown()),
  created_at: Time,
  updated_at: Time,
  // supabase's fields, for supabase clients only (lib/dialect.ts adds them).
  email_confirmed_at: t.Optional(t.String({ format: 'date-time', description: 'supabase clients only: confirmed_at' })),
  phone: t.Optional(t.String({ description: 'supabase clients only: always empty (no phone sign-in)' })),
  is_anonymous: t.Optional(t.Boolean({ description: 'supabase clients only: always false' })),
  identities: t.Optional(t.Array(Identity, { description: 'supabase clients only: one per sign-in provider of app_metadata' })),
  factors: t.Optional(t.Array(Factor, { description: 'MFA factors (GET /user and sessions), only when the user has some' })),
}, {
  description: 'A GoTrue user (supabase clients: with supabase\'s extra fields)',
  examples: [{
    id: '5f0c3a2e-8b1d-4c6f-9a7e-2d4b6c8e0f13', aud: 'api.netlify.com', role: '', email: 'ada@example.com',
    confirmed_at: '2025-03-14T09:26:53Z', confirmation_sent_at: '2025-03-14T09:25:10Z', last_sign_in_at: '2025-03-14T09:26:53Z',
    app_metadata: { provider: 'email' }, user_metadata: { full_name: 'Ada Lovelace' },
    created_at: '2025-03-14T09:25:10Z', updated_at: '2025-03-14T09:26:53Z',
  }],
})
export type UserJson = typeof User.static

export const parseMeta = (raw: string | null): Metadata => {
  if (!raw) return {}
  try {
    const v = JSON.parse(raw)
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {}
  } catch { return {} }
}

export function toUser(row: UserRow): UserJson {
  const u: Record<string, unknown> = { id: row.id, aud: row.aud, role: row.role, email: row.email }
  for (const k of ['confirmed_at', 'invited_at', 'confirmation_sent_at', 'recovery_sent_at'] as const) {
    const v = isoTime(row[k])
    if (v) u[k] = v
  }
  if (row.email_change) u.new_email = row.email_change
  const ecs = isoTime(row.email_change_sent_at)
  if (ecs) u.email_change_sent_at = ecs
  const lsi = isoTime(row.last_sign_in_at)
  if (lsi) u.last_sign_in_at = lsi
  u.app_metadata = parseMeta(row.raw_app_meta_data)
  u.user_metadata = parseMeta(row.raw_user_meta_data)
  u.created_at = isoTime(row.created_at)
  u.updated_at = isoTime(row.updated_at)
  return u as UserJson
}

/** Emails compare case-insensitively and without surrounding space; the stored `email` keeps the case given. */
export const emailKey = (email: string): string => email.trim().toLowerCase()

const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/
/** A plain addr-spec (no display names, no comments); undefined when valid, else the reason. */
export function emailProblem(email: string): string | undefined {
  if (email.length > 254) return 'email address is too long'
  if (!email.includes('@')) return "mail: missing '@' or angle-addr"
  const local = email.slice(0, email.lastIndexOf('@'))
  // a dot-atom has no leading, trailing or doubled dot (RFC 5322 3.4.1): SMTP servers refuse `a..b@x.y`
  if (local.length > 64 || !EMAIL.test(email) || /^\.|\.\.|\.$/.test(local)) return 'mail: invalid address'
  return undefined
}

/** Merge `patch` into `base`: keys with null values are deleted (GoTrue's metadata update rule). */
export function mergeMeta(base: Metadata, patch: Metadata): Metadata {
  const out: Metadata = { ...base }
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = v
  }
  return out
}

/** `lock`: inside a transaction that reads the row to write it back (a metadata merge), take the row lock, so a
 *  concurrent update on MySQL waits instead of merging into a stale snapshot and losing the other's change. */
// Built once: a statement string made anew on every call costs the adapters a hash of ~300 characters per lookup.
const BY_ID = `SELECT ${USER_COLUMNS} FROM {users} WHERE instance_id = ? AND id = ?`
const BY_ID_LOCKED = `${BY_ID} FOR UPDATE`
export async function findUserById(db: Db, instanceId: string, id: string, lock = false): Promise<UserRow | null> {
  return db.get<UserRow>(lock ? BY_ID_LOCKED : BY_ID, [instanceId, id])
}

/** The row, and whether the user has any MFA factor, in one statement. The hot paths (GET /user, the refresh
 *  grant) answer with the user's factors, which almost no user has: a second statement on every call cost GET /user
 *  about a sixth of its throughput, so they read the factors only when this says there are some. */
/** The select-list term for "this user has an MFA factor", for the user row under `alias`. */
export const factorFlag = (alias: string) => `EXISTS (SELECT 1 FROM {mfa_factors} f WHERE f.user_id = ${alias}.id) AS has_factors`
const BY_ID_WITH_FACTOR_FLAG = `SELECT ${USER_COLUMNS}, ${factorFlag('{users}')} ` +
  'FROM {users} WHERE instance_id = ? AND id = ?'
export async function findUserWithFactorFlag(db: Db, instanceId: string, id: string): Promise<{ user: UserRow; hasFactors: boolean } | null> {
  const row = await db.get<UserRow & { has_factors: number | string }>(BY_ID_WITH_FACTOR_FLAG, [instanceId, id])
  return row ? { user: row, hasFactors: Number(row.has_factors) > 0 } : null
}

/** GET /user's read through the pool: on MySQL, concurrent requests share statements (lib/db/coalesce.ts), one
 *  `id IN (…)` for every user asked for while the previous ones ran; SQLite reads in-process and gains nothing. */
export function readUserWithFactorFlag(db: Db, instanceId: string, id: string): Promise<{ user: UserRow; hasFactors: boolean } | null> {
  if (db.dialect !== 'mysql') return findUserWithFactorFlag(db, instanceId, id)
  let byInstance = readers.get(db)
  if (!byInstance) readers.set(db, (byInstance = new Map()))
  let reader = byInstance.get(instanceId)
  if (!reader) {
    reader = new Coalescer(async (ids) => {
      // As text, not a prepared statement: per request, our server's CPU fell by about a quarter (lib/db/mysql.ts).
      // Nothing is prepared, so the batch goes as it is (up to 64 statement texts, one per size, are kept).
      const rows = await db.all<UserRow & { has_factors: number | string }>(byIdsStatement(ids.length), [instanceId, ...ids], { text: true })
      return new Map(rows.map((row) => [row.id, { user: row, hasFactors: Number(row.has_factors) > 0 }]))
    }, { maxInFlight: 2, maxBatch: 64, stuckMs: 1000 })
    byInstance.set(instanceId, reader)
  }
  return reader.get(id)
}
const readers = new WeakMap<Db, Map<string, Coalescer<{ user: UserRow; hasFactors: boolean }>>>()
const byIds = new Map<number, string>()
function byIdsStatement(n: number): string {
  let sql = byIds.get(n)
  if (!sql) byIds.set(n, (sql = `${BY_ID_WITH_FACTOR_FLAG.slice(0, -'id = ?'.length)}id IN (${Array(n).fill('?').join(', ')})`))
  return sql
}

/** `lock`: inside a transaction that decides from the row what to write, take the row lock and read the latest
 *  committed row (on MySQL a plain read answers from the transaction's snapshot, which may predate a commit the
 *  write would then undo). Only where a row is expected: a locking read that finds nothing locks the gap in the
 *  unique index, and two transactions inserting the same address into it would deadlock. */
const BY_EMAIL = `SELECT ${USER_COLUMNS} FROM {users} WHERE instance_id = ? AND aud = ? AND email_key = ?`
const BY_EMAIL_LOCKED = `${BY_EMAIL} FOR UPDATE`
export async function findUserByEmail(db: Db, instanceId: string, aud: string, email: string, lock = false): Promise<UserRow | null> {
  return db.get<UserRow>(lock ? BY_EMAIL_LOCKED : BY_EMAIL, [instanceId, aud, emailKey(email)])
}

/** Whether any user of the instance is in `aud` (an index prefix lookup on (instance_id, aud, email_key)). */
export async function audienceHasUsers(db: Db, instanceId: string, aud: string): Promise<boolean> {
  return (await db.get('SELECT id FROM {users} WHERE instance_id = ? AND aud = ? LIMIT 1', [instanceId, aud])) !== null
}

export interface NewUser {
  instanceId: string; id?: string; aud: string; role: string; email: string; encryptedPassword: string
  appMetadata: Metadata; userMetadata: Metadata | null; confirmedAt?: Date | null; invitedAt?: Date | null; now: Date
}

/** The row a new user will have (also what the validate webhook is shown before the insert). */
export function newUserRow(u: NewUser): UserRow {
  const now = dbTime(u.now)
  return {
    instance_id: u.instanceId, id: u.id ?? crypto.randomUUID(), aud: u.aud, role: u.role, email: u.email.trim(),
    encrypted_password: u.encryptedPassword, confirmed_at: u.confirmedAt ? dbTime(u.confirmedAt) : null,
    invited_at: u.invitedAt ? dbTime(u.invitedAt) : null, confirmation_sent_at: null, recovery_sent_at: null,
    email_change: '', email_change_sent_at: null, last_sign_in_at: null,
    raw_app_meta_data: JSON.stringify(u.appMetadata), raw_user_meta_data: JSON.stringify(u.userMetadata ?? {}),
    is_super_admin: 0, created_at: now, updated_at: now,
  }
}

/** Inserts a user and returns its row. A duplicate (instance, aud, email) throws UniqueViolation. */
export async function insertUser(db: Db, u: NewUser): Promise<UserRow> {
  const row = newUserRow(u)
  await insertUserRow(db, row)
  return row
}

/** Inserts a complete row as given (an import keeps the exported id, times and hash); the one users INSERT. */
export async function insertUserRow(db: Db, row: UserRow): Promise<void> {
  await db.run(
    `INSERT INTO {users} (${USER_COLUMNS}, email_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [row.instance_id, row.id, row.aud, row.role, row.email, row.encrypted_password, row.confirmed_at, row.invited_at,
      row.confirmation_sent_at, row.recovery_sent_at, row.email_change, row.email_change_sent_at, row.last_sign_in_at,
      row.raw_app_meta_data, row.raw_user_meta_data, row.is_super_admin, row.created_at, row.updated_at, emailKey(row.email)],
  )
}

type Mutable = 'role' | 'email' | 'encrypted_password' | 'confirmed_at' | 'invited_at' | 'confirmation_sent_at' | 'recovery_sent_at' |
  'email_change' | 'email_change_sent_at' | 'last_sign_in_at' | 'raw_app_meta_data' | 'raw_user_meta_data' | 'is_super_admin' | 'aud'
export type UserPatch = Partial<Pick<UserRow, Mutable>>
const MUTABLE = new Set<string>(['role', 'email', 'encrypted_password', 'confirmed_at', 'invited_at', 'confirmation_sent_at', 'recovery_sent_at',
  'email_change', 'email_change_sent_at', 'last_sign_in_at', 'raw_app_meta_data', 'raw_user_meta_data', 'is_super_admin', 'aud'])

/** Applies `patch` to the row in the database (and returns the updated row). `updated_at` is always set
 *  (the reference never updates it). Changing `email` keeps `email_key` in step. Column names come only from
 *  the fixed whitelist above; values only through `?`. */
export async function updateUser(db: Db, row: UserRow, patch: UserPatch, now: Date): Promise<UserRow> {
  const cols = Object.keys(patch).filter((k) => MUTABLE.has(k))
  const next = { ...row, ...patch, updated_at: dbTime(now) } as UserRow
  const sets = [...cols.map((c) => `${c} = ?`), 'updated_at = ?']
  const params: Param[] = [...cols.map((c) => next[c as Mutable] as Param), next.updated_at]
  if (cols.includes('email')) { sets.push('email_key = ?'); params.push(emailKey(next.email)) }
  await db.run(`UPDATE {users} SET ${sets.join(', ')} WHERE id = ?`, [...params, row.id])
  return next
}

/** Takes this window's confirmation mail for an unconfirmed user: sets confirmation_sent_at unless the user is
 *  confirmed or a confirmation mail went out less than `maxFrequency` seconds before `now`. One conditional UPDATE
 *  whose count of matched rows says who won: two requests at once (on one server, whose reads may come from
 *  snapshots taken before the other's commit, or on two Galera nodes) cannot both see the old time and both send.
 *  The caller issues the link only after winning, and sends it after the commit. */
export async function claimConfirmationMail(db: Db, id: string, now: Date, maxFrequency: number): Promise<boolean> {
  const { changes } = await db.run(
    'UPDATE {users} SET confirmation_sent_at = ?, updated_at = ? WHERE id = ? AND confirmed_at IS NULL AND (confirmation_sent_at IS NULL OR confirmation_sent_at <= ?)',
    [dbTime(now), dbTime(now), id, dbTime(new Date(now.getTime() - maxFrequency * 1000))],
  )
  return changes === 1
}

export async function deleteUser(db: Db, id: string): Promise<void> {
  await db.run('DELETE FROM {users} WHERE id = ?', [id])
}

/** The password policy for newly set passwords (never applied to existing logins); undefined when fine. */
export function passwordProblem(minLength: number, password: string): string | undefined {
  if (password.length < minLength) return `Password should be at least ${minLength} characters`
  if (new TextEncoder().encode(password).length > 72) return 'Password cannot be longer than 72 bytes'
  return undefined
}

/** A metadata field of a request body (`data`, `user_metadata`, `app_metadata`). Declared `unknown` on purpose:
 *  for an object schema Elysia coerces a string or an array into an object ("abc" → {"0":"a","1":"b","2":"c"}),
 *  which would be stored key by key. metadataOf() checks it instead: an object, or null/absent. */
export const MetadataInput = t.Optional(t.Unknown({ description: 'a JSON object (null or absent: no change)', examples: [{ full_name: 'Ada Lovelace' }] }))
export function metadataOf(v: unknown, field: string): Metadata | null | undefined {
  if (v === undefined || v === null) return v
  if (typeof v !== 'object' || Array.isArray(v)) throw unprocessable(`${field} must be a JSON object`)
  return v as Metadata
}
