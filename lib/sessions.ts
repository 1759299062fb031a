// Sessions: an access JWT plus an opaque refresh token. Refresh tokens are 256-bit random at the root of a
// family; each rotation's successor is HMAC(secret, parent), so a replay of the parent within the grace window
// can be answered with the same successor without ever storing a usable token (only SHA-256 hashes are kept).
// A family is a session: access tokens carry its id as `session_id` (supabase/auth's claim), so a request made
// with an access token knows which session made it.
import { t } from 'elysia'
import type { Config } from './config.ts'
import { hmac, randomToken, sha256 } from './crypto.ts'
import { type Db, dbTime, parseTime } from './db/index.ts'
import { signAccessToken } from './jwt.ts'
import { parseMeta, type UserRow } from './users.ts'

export const TokenBody = t.Object({
  access_token: t.String(),
  token_type: t.Literal('bearer'),
  expires_in: t.Integer(),
  refresh_token: t.String(),
}, { description: 'Access and refresh token' })
export type TokenResponse = typeof TokenBody.static

export function mintAccessToken(config: Config, user: UserRow, now: Date, sessionId?: string): Promise<string> {
  return signAccessToken({
    aud: user.aud || undefined,
    exp: Math.floor(now.getTime() / 1000) + config.jwt.exp,
    sub: user.id,
    email: user.email,
    app_metadata: parseMeta(user.raw_app_meta_data),
    user_metadata: parseMeta(user.raw_user_meta_data),
    session_id: sessionId,
  }, config.jwt.secret)
}

export const successorOf = (secret: string, raw: string): string => hmac(secret, `refresh-successor:${raw}`).slice(0, 43)

export interface RefreshInsert { instanceId: string; userId: string; raw: string; familyId: string; parentId: string | null; now: Date }
/** Row ids (and new families) are time-ordered UUIDs (v7): each insert lands at the end of the primary-key index
 *  instead of on a random page of it, which keeps the refresh grant's cost flat as the table grows (measured from
 *  1 k to 1 M users). They identify rows only; the token itself is the 256-bit random secret, stored hashed. */
export async function insertRefreshToken(db: Db, r: RefreshInsert): Promise<string> {
  const id = Bun.randomUUIDv7()
  const now = dbTime(r.now)
  await db.run(
    'INSERT INTO {refresh_tokens} (id, instance_id, user_id, token_hash, family_id, parent_id, revoked, revoked_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, NULL, ?, ?)',
    [id, r.instanceId, r.userId, sha256(r.raw), r.familyId, r.parentId, now, now],
  )
  return id
}

/** Starts a new token family for the user (login, verify, external sign-in) and returns the token response. */
export async function issueSession(db: Db, config: Config, user: UserRow, now: Date): Promise<TokenResponse> {
  const raw = randomToken()
  const familyId = Bun.randomUUIDv7()
  await insertRefreshToken(db, { instanceId: user.instance_id, userId: user.id, raw, familyId, parentId: null, now })
  return tokenResponse(config, user, raw, now, familyId)
}

export async function tokenResponse(config: Config, user: UserRow, refreshToken: string, now: Date, familyId: string): Promise<TokenResponse> {
  return { access_token: await mintAccessToken(config, user, now, familyId), token_type: 'bearer', expires_in: config.jwt.exp, refresh_token: refreshToken }
}

/** After a change of password or email (by the user, a recovery or an admin): every session of the user ends
 *  but `keep`, the one that made the change (null: all of them). Called inside the transaction that writes the
 *  change, so a device signed in with the old credentials cannot refresh its way past it. Access tokens already
 *  issued stay valid until they expire (GOTRUE_JWT_EXP). */
export async function endOtherSessions(db: Db, instanceId: string, userId: string, keep: string | null): Promise<void> {
  await db.run('DELETE FROM {refresh_tokens} WHERE instance_id = ? AND user_id = ? AND family_id <> ?', [instanceId, userId, keep ?? ''])
}

/** Logout: every refresh token of the user, on every device (GoTrue's documented behaviour). */
export const revokeUserSessions = (db: Db, instanceId: string, userId: string): Promise<void> => endOtherSessions(db, instanceId, userId, null)

/** The session an access token was issued for, when it names one (tokens from before `session_id` do not). */
export const sessionOf = (claims: { session_id?: unknown }): string | null =>
  typeof claims.session_id === 'string' && claims.session_id ? claims.session_id : null

/** Why a session may not be refreshed any more (supabase/auth's wording), or null. `lastUsed` is the time its
 *  current refresh token was issued or last used. The family's start is read only when a timebox is set. */
export async function sessionExpiry(db: Db, config: Config, familyId: string, lastUsed: string, now: Date): Promise<string | null> {
  const { timebox, inactivity_timeout: idle } = config.sessions
  if (timebox > 0) {
    const first = await db.get<{ t: string | null }>('SELECT MIN(created_at) AS t FROM {refresh_tokens} WHERE family_id = ?', [familyId])
    if (now.getTime() - (parseTime(first?.t ?? null) ?? 0) > timebox * 1000) return 'Invalid Refresh Token: Session Expired'
  }
  if (idle > 0 && now.getTime() - (parseTime(lastUsed) ?? 0) > idle * 1000) return 'Invalid Refresh Token: Session Expired (Inactivity)'
  return null
}

/** Cookie mode (X-Use-Cookie): the access token in an HttpOnly cookie; `session` makes it a session cookie.
 *  `Secure` is set unless SITE_URL is plain http (the reference always sets it, which breaks local dev). */
export function accessCookie(config: Config, useCookie: string | null, accessToken: string, now: Date): string | undefined {
  if (!useCookie || config.cookie.duration <= 0) return undefined
  const secure = config.site_url.startsWith('https:') ? '; Secure' : ''
  const base = `${config.cookie.key}=${accessToken}; Path=/; HttpOnly${secure}; SameSite=Lax`
  if (useCookie === 'session') return base
  const expires = new Date(now.getTime() + config.cookie.duration * 1000).toUTCString()
  return `${base}; Max-Age=${config.cookie.duration}; Expires=${expires}`
}

export function clearedCookie(config: Config): string {
  const secure = config.site_url.startsWith('https:') ? '; Secure' : ''
  return `${config.cookie.key}=; Path=/; HttpOnly${secure}; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`
}
