// What the MFA routes share (features/factors.ts, features/recovery-codes.ts, features/admin-factors.ts) and what
// the rest of the service asks of MFA (GET /user lists the factors, PUT /user may require aal2): the factor rows
// and their JSON, deleting a factor, the aal checks, sealing TOTP secrets, supabase's error codes, the rate rules.
import { actorOf, writeAudit } from './audit.ts'
import type { Config } from './config.ts'
import { type Db, dbTime, isoTime, parseTime } from './db/index.ts'
import { badRequest, errorBody, HttpError, notFound, unauthorized } from './errors.ts'
import { isUuid } from './ids.ts'
import type { AccessClaims } from './jwt.ts'
import type { Rule } from './limits.ts'
import { encryptionKey, openValue, sealValue } from './sealing.ts'
import { requireLiveSession } from './revocations.ts'
import { Factor, findUserById, NIL_UUID, type UserRow } from './users.ts'

const SYSTEM_SUBS = new Set(['0', NIL_UUID])

/** An unverified factor is a QR code nobody scanned back: it expires after a day (supabase/auth does the same). */
export const UNVERIFIED_FACTOR_TTL_MS = 24 * 3600 * 1000

export const FactorBody = Factor
export type FactorJson = typeof FactorBody.static

export interface FactorRow {
  id: string; instance_id: string; user_id: string; friendly_name: string; factor_type: string; status: string
  secret: string | null; last_step: number; failed_attempts: number; locked_until: string | null
  created_at: string; updated_at: string; last_challenged_at: string | null
}
export const FACTOR_COLUMNS = 'id, instance_id, user_id, friendly_name, factor_type, status, secret, last_step, failed_attempts, locked_until, created_at, updated_at, last_challenged_at'

/** An error with supabase/auth's `error_code` (lib/dialect.ts shows it to supabase clients). */
export const mfaError = (status: number, msg: string, code: string, headers?: Record<string, string>): HttpError =>
  Object.assign(new HttpError(status, msg, undefined, headers), { errorCode: code })

export function requireMfa(config: Config): void {
  if (!config.mfa.enabled) throw mfaError(422, 'MFA is disabled', 'mfa_totp_enroll_not_enabled')
}

export function factorJson(r: FactorRow): FactorJson {
  const last = isoTime(r.last_challenged_at)
  return {
    id: r.id, friendly_name: r.friendly_name, factor_type: r.factor_type as FactorJson['factor_type'], status: r.status as FactorJson['status'],
    created_at: isoTime(r.created_at) ?? '', updated_at: isoTime(r.updated_at) ?? '', ...(last && { last_challenged_at: last }),
  }
}

const live = (r: FactorRow, now: Date): boolean =>
  r.status === 'verified' || now.getTime() - (parseTime(r.created_at) ?? 0) < UNVERIFIED_FACTOR_TTL_MS

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** The user's factors, oldest first; unverified ones past their day are left out (and removed on the next enroll).
 *  GET /user asks this on every call, mostly for users without a factor: the rows (at most
 *  GOTRUE_MFA_MAX_ENROLLED_FACTORS, ≤ 100) are sorted here, because an ORDER BY that the index does not cover costs
 *  SQLite a temporary sort of several µs even when no row matches, more than the rest of the read. */
export async function userFactors(db: Db, instanceId: string, userId: string, now: Date): Promise<FactorRow[]> {
  const rows = await db.all<FactorRow>(`SELECT ${FACTOR_COLUMNS} FROM {mfa_factors} WHERE instance_id = ? AND user_id = ? LIMIT 200`, [instanceId, userId])
  if (rows.length > 1) rows.sort((a, b) => cmp(String(a.created_at), String(b.created_at)) || cmp(a.id, b.id))
  return rows.filter((r) => live(r, now))
}

/** `lock`: read FOR UPDATE, for a transaction that writes rows hanging off the factor: a plain read may be older
 *  than a delete committed meanwhile, and the write would then fail on the foreign key (a 500). */
export async function findFactor(db: Db, instanceId: string, userId: string, id: string, now: Date, lock = false): Promise<FactorRow | null> {
  const r = await db.get<FactorRow>(`SELECT ${FACTOR_COLUMNS} FROM {mfa_factors} WHERE id = ? AND instance_id = ? AND user_id = ?${lock ? ' FOR UPDATE' : ''}`, [id, instanceId, userId])
  return r && live(r, now) ? r : null
}

export async function hasVerifiedFactor(db: Db, instanceId: string, userId: string): Promise<boolean> {
  return Boolean(await db.get("SELECT id FROM {mfa_factors} WHERE instance_id = ? AND user_id = ? AND status = 'verified' LIMIT 1", [instanceId, userId]))
}

export const aalOf = (claims: AccessClaims): string => (claims.aal === 'aal2' ? 'aal2' : 'aal1')

/** The 403 of a route that asks for aal2 (requireAal2IfVerified), for its response map and the OpenAPI document. */
export const Aal2Required = errorBody(403, 'AAL2 required')

/** A user with a verified factor acts at aal2 only: an aal1 token (a stolen password's) may not remove or replace
 *  what protects the account. */
export async function requireAal2IfVerified(db: Db, instanceId: string, userId: string, claims: AccessClaims): Promise<void> {
  if (aalOf(claims) === 'aal2') return
  if (await hasVerifiedFactor(db, instanceId, userId)) throw mfaError(403, 'AAL2 required', 'insufficient_aal')
}

/** Runs `fn` in a transaction whose first statement writes the user's row. Every transaction that changes a user's
 *  factors or their failure counts runs through here, because each decides on rows the others change without
 *  writing the same ones: "is another verified factor left?" (two deletes), "are there recovery codes yet?" (two
 *  generates), "how many wrong codes so far?" (parallel guesses). Writing one common row makes them exclude each
 *  other on every backend:
 *  - SQLite: writers are already serialised (BEGIN IMMEDIATE); the write costs little.
 *  - One MySQL server: the row lock orders them, and as nothing was read before it, the snapshot that later plain
 *    reads use (REPEATABLE READ takes it at the first one) starts after the previous holder committed.
 *  - Galera: a row lock does not reach the other nodes, but of two transactions that wrote the same row only the
 *    first to commit is certified; the other fails as a deadlock, db.tx runs it again, and the rerun sees the
 *    winner's commit (or fails certification again until it does).
 *  The stored value always changes (the time, or a millisecond past it when it is already the time): on MySQL an
 *  UPDATE that leaves the row as it was writes nothing, and Galera certifies only what was written. The user's
 *  `updated_at` moves with its factors, which are part of its JSON. A user deleted meanwhile is a 404, as the
 *  route's own lookup would have answered a moment later. */
export async function factorTx<R>(db: Db, user: Pick<UserRow, 'instance_id' | 'id'>, now: Date, fn: (tx: Db) => Promise<R>, caller: { config: Config; session: string | null } | null = null): Promise<Settled<R>> {
  const at = dbTime(now), after = dbTime(new Date(now.getTime() + 1))
  try {
    return await db.tx(async (tx) => {
      const { changes } = await tx.run('UPDATE {users} SET updated_at = CASE WHEN updated_at = ? THEN ? ELSE ? END WHERE instance_id = ? AND id = ?',
        [at, after, at, user.instance_id, user.id])
      if (!changes) throw notFound('User not found')
      // the caller's session (none for an admin) still stands, now that the user's row is held (sessionStillLive)
      if (caller) await requireLiveSession(tx, caller.config, caller.session)
      const result = await fn(tx)
      if (result instanceof Unchanged) throw result
      return result as Settled<R>
    })
  } catch (e) {
    if (e instanceof Unchanged) return e.value as Settled<R>
    throw e
  }
}

/** A factorTx answer that changed nothing (no such factor, no such challenge, locked): its transaction is rolled
 *  back, so the user's row is not written. Committed, such requests would move the user's updated_at for nothing,
 *  and on Galera each would be a write-set that conflicts with the user's other writes on other nodes: an
 *  unthrottled DELETE of random factor ids would then make the user's own logins fail there. */
export class Unchanged<T> {
  /** Tracing does not mark the transaction's span failed for it (lib/tracing.ts). */
  readonly rollbackOnly = true
  constructor(readonly value: T) {}
}
export const unchanged = <T>(value: T): Unchanged<T> => new Unchanged(value)
/** What factorTx answers for a handler's result: an Unchanged one's value, any other as it is. */
type Settled<R> = R extends Unchanged<infer V> ? V : R

/** Deletes a factor (its challenges and codes go with it). Recovery codes never stay as the only factor: when the
 *  last verified TOTP factor goes, they go too. Returns false when the user has no such factor. Run inside
 *  factorTx: otherwise two deletes of the user's last two TOTP factors each see the other still there. */
export async function deleteFactor(db: Db, user: UserRow, factor: Pick<FactorRow, 'id' | 'factor_type'>, now: Date, by: { id: string; email: string } = actorOf(user)): Promise<boolean> {
  const { changes } = await db.run('DELETE FROM {mfa_factors} WHERE id = ? AND instance_id = ? AND user_id = ?', [factor.id, user.instance_id, user.id])
  if (!changes) return false
  await writeAudit(db, user.instance_id, by, 'factor_deleted', now, { factor_id: factor.id })
  db.notices.notify('factor_deleted', user, factor.id, factor.factor_type)
  const others = await db.get("SELECT id FROM {mfa_factors} WHERE instance_id = ? AND user_id = ? AND status = 'verified' AND factor_type <> 'recovery_code' LIMIT 1", [user.instance_id, user.id])
  if (!others) {
    const codes = db.notices.wants('factor_deleted')
      ? await db.all<{ id: string }>("SELECT id FROM {mfa_factors} WHERE instance_id = ? AND user_id = ? AND factor_type = 'recovery_code'", [user.instance_id, user.id])
      : []
    await db.run("DELETE FROM {mfa_factors} WHERE instance_id = ? AND user_id = ? AND factor_type = 'recovery_code'", [user.instance_id, user.id])
    for (const c of codes) db.notices.notify('factor_deleted', user, c.id, 'recovery_code')
  }
  return true
}

/** The sealed TOTP secret is bound to its instance and factor: copied into another row, it does not open. */
const secretAad = (instanceId: string, factorId: string) => `${instanceId}/mfa_factors/${factorId}`
function keyOf(config: Config): Buffer {
  if (!config.db.encryption_key) throw mfaError(422, 'MFA requires GOTRUE_DB_ENCRYPTION_KEY to be set', 'mfa_totp_enroll_not_enabled')
  return encryptionKey(config)
}
export const sealSecret = (config: Config, instanceId: string, factorId: string, secret: string): string =>
  sealValue(keyOf(config), secret, secretAad(instanceId, factorId))
export const openSecret = (config: Config, instanceId: string, factorId: string, sealed: string): string =>
  openValue(keyOf(config), sealed, secretAad(instanceId, factorId))

/** Challenge and verify requests per client (GOTRUE_MFA_RATE_LIMIT_CHALLENGE_AND_VERIFY per minute), and failed
 *  verification attempts per user and factor from anywhere: 5 per 5 minutes, so guessing a 6-digit code (3 valid at
 *  a time) from many addresses stays under half a percent a day, and every failure is in the audit log. */
export const mfaRules = (c: Config) => ({
  client: { name: 'mfa-client', limit: c.mfa.rate_limit_challenge_and_verify, windowSec: 60 },
  factor: { name: 'mfa-factor', limit: 5, windowSec: 300 },
}) satisfies Record<string, Rule>


/** The user an access token names, for the MFA routes. */
export async function userOfClaims(db: Db, instanceId: string, claims: AccessClaims): Promise<UserRow> {
  if (typeof claims.sub !== 'string' || !isUuid(claims.sub) || SYSTEM_SUBS.has(claims.sub)) throw badRequest('Could not read User ID claim')
  const user = await findUserById(db, instanceId, claims.sub)
  if (!user) throw notFound('User not found')
  return user
}

export interface FactorInsert { id: string; instanceId: string; userId: string; name: string; type: 'totp' | 'recovery_code'; status: 'verified' | 'unverified'; secret: string | null; now: Date }
export async function insertFactor(db: Db, f: FactorInsert): Promise<void> {
  await db.run('INSERT INTO {mfa_factors} (id, instance_id, user_id, friendly_name, factor_type, status, secret, last_step, failed_attempts, locked_until, created_at, updated_at, last_challenged_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, NULL, ?, ?, NULL)',
    [f.id, f.instanceId, f.userId, f.name, f.type, f.status, f.secret, dbTime(f.now), dbTime(f.now)])
}
