// One-time tokens (confirmation, invite, recovery, email change): 256-bit random, only the SHA-256 stored,
// one live token per user and type, single use, expiring. The raw value exists only in the mail link.
import type { Config } from './config.ts'
import { type Db, dbTime, parseTime, WriteConflict } from './db/index.ts'
import { randomToken, safeEqual, sha256 } from './crypto.ts'

// Passwordless sign-in mails a link token (`magiclink`) and a short code (`magiclink_code`) for the same sign-in.
// A password change's reauthentication nonce (`reauthentication`) is a short code too (features/reauthenticate.ts).
export type OtpType = 'confirmation' | 'invite' | 'recovery' | 'email_change' | 'authorization_code' | 'magiclink' | 'magiclink_code' | 'reauthentication'
export interface OtpRow { id: string; user_id: string; token_type: OtpType; token_hash: string; relates_to: string; created_at: string }

/** Lifetime in seconds of each type, from config. */
export function otpMaxAge(config: Config, type: OtpType): number {
  const m = config.mailer
  if (type === 'authorization_code') return config.external.auth_code_lifetime
  if (type === 'magiclink' || type === 'magiclink_code' || type === 'reauthentication') return m.otp_exp
  return type === 'invite' ? m.invite_max_age : type === 'recovery' ? m.recovery_max_age : m.confirmation_max_age
}

/** Replaces the user's token of this type with a fresh one; returns the raw token (for the mail only). */
export async function issueOtp(db: Db, instanceId: string, userId: string, type: OtpType, now: Date, relatesTo = ''): Promise<string> {
  const raw = randomToken()
  await revokeOtp(db, userId, type)
  await insertOtp(db, instanceId, {
    id: crypto.randomUUID(), user_id: userId, token_type: type, token_hash: sha256(raw), relates_to: relatesTo, created_at: dbTime(now),
  })
  return raw
}

/** Puts a token row back as it was (undo: a re-signup whose mail failed must leave the owner's link working). */
export async function insertOtp(db: Db, instanceId: string, o: OtpRow): Promise<void> {
  await db.run(
    'INSERT INTO {one_time_tokens} (id, instance_id, user_id, token_type, token_hash, relates_to, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [o.id, instanceId, o.user_id, o.token_type, o.token_hash, o.relates_to, o.created_at],
  )
}

/** Finds a live-or-expired token of one of `types` by its raw value, locking the row inside a transaction. */
export function findOtp(db: Db, instanceId: string, types: OtpType[], raw: string): Promise<OtpRow | null> {
  return findOtpByHash(db, instanceId, types, sha256(raw))
}

/** The same, by the token's SHA-256 (when only the hash was kept, as in an OAuth flow state). */
export async function findOtpByHash(db: Db, instanceId: string, types: OtpType[], hash: string): Promise<OtpRow | null> {
  const row = await db.get<OtpRow>(
    `SELECT id, user_id, token_type, token_hash, relates_to, created_at FROM {one_time_tokens} WHERE token_hash = ? AND instance_id = ? FOR UPDATE`,
    [hash, instanceId],
  )
  // The index lookup is by hash (nothing secret leaks from its timing); the final check is constant-time.
  if (!row || !types.includes(row.token_type) || !safeEqual(row.token_hash, hash)) return null
  return row
}

/** A confirmation token that an external sign-in mailed (an address its provider had not verified) names the
 *  provider link that sign-in made, and the browser that made it (lib/held-browser.ts): confirming through it in
 *  that browser keeps that link and no other; anywhere else the link goes too (lib/verify.ts). */
const IDENTITY_MARK = 'identity:'
const BROWSER_SEP = ' '
export const identityMark = (identityId: string, browserMark: string): string => `${IDENTITY_MARK}${identityId}${BROWSER_SEP}${browserMark}`
const marks = (row: OtpRow): [string, string] => {
  if (row.token_type !== 'confirmation' || !row.relates_to.startsWith(IDENTITY_MARK)) return ['', '']
  const [identity = '', browser = ''] = row.relates_to.slice(IDENTITY_MARK.length).split(BROWSER_SEP)
  return [identity, browser]
}
/** The provider link a token's confirmation would vouch for, or '' (every other token: links made before are
 *  unproven). */
export const markedIdentity = (row: OtpRow): string => marks(row)[0]
/** The browser binding of such a token ('' for a token stored before it had one: its link is not kept). */
export const markedBrowser = (row: OtpRow): string => marks(row)[1]

export const otpExpired = (config: Config, row: OtpRow, now: Date): boolean =>
  now.getTime() > (parseTime(row.created_at) ?? 0) + otpMaxAge(config, row.token_type) * 1000

/** Spends a token found under its row lock. Nothing deleted means another transaction spent it meanwhile (a
 *  Galera node applying another node's write between the lock and this delete): the transaction is run again
 *  and finds the token gone, so a token never serves twice. */
export async function consumeOtp(db: Db, id: string): Promise<void> {
  if ((await db.run('DELETE FROM {one_time_tokens} WHERE id = ?', [id])).changes !== 1) throw new WriteConflict('one-time token spent by a concurrent transaction')
}

/** The user's token of a type, locking the row inside a transaction: concurrent confirmations of one token
 *  (MySQL) wait for the first to consume it and then find nothing, instead of all reading the same snapshot. */
export async function findOtpForUser(db: Db, userId: string, type: OtpType): Promise<OtpRow | null> {
  return db.get<OtpRow>(
    'SELECT id, user_id, token_type, token_hash, relates_to, created_at FROM {one_time_tokens} WHERE user_id = ? AND token_type = ? FOR UPDATE',
    [userId, type],
  )
}

/** Removes the user's token of a type (undo after a failed mail). */
export async function revokeOtp(db: Db, userId: string, type: OtpType): Promise<void> {
  await db.run('DELETE FROM {one_time_tokens} WHERE user_id = ? AND token_type = ?', [userId, type])
}

/** A uniformly random decimal code (rejection sampling: no digit is likelier than another). */
export function randomCode(length: number): string {
  let out = ''
  const buf = new Uint8Array(32)
  while (out.length < length) {
    crypto.getRandomValues(buf)
    for (const b of buf) if (b < 250 && out.length < length) out += String(b % 10)
  }
  return out
}

/** A code is short, so its hash is bound to its user: one table-wide precomputation cannot cover every user, and
 *  two users' equal codes never collide on the unique hash index. (10^6 values stay cheap to invert from a dump:
 *  what protects a code is its short life and the attempt cap, not the hash.) */
export const codeHash = (userId: string, code: string): string => sha256(`code:${userId}:${code}`)

/** Replaces the user's code of this type; returns the code (for the mail only). */
export async function issueCode(db: Db, instanceId: string, userId: string, type: OtpType, now: Date, length: number): Promise<string> {
  const code = randomCode(length)
  await revokeOtp(db, userId, type)
  await insertOtp(db, instanceId, { id: crypto.randomUUID(), user_id: userId, token_type: type, token_hash: codeHash(userId, code), relates_to: '', created_at: dbTime(now) })
  return code
}
