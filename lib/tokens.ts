// Token responses: the access JWT GoTrue's clients read (and supabase's, with the user and expiry beside it), the
// opaque refresh token (256-bit random at the root of a family; each rotation's successor is HMAC(secret, parent),
// so a replay of the parent within the grace window can be answered with the same successor without ever storing a
// usable token: only SHA-256 hashes are kept), and the cookie mode. Sessions (lib/sessions.ts) decide when one is
// issued; this is what one is made of.
import { t } from 'elysia'
import type { Config } from './config.ts'
import { SESSION_EXTRA, type SessionExtra } from './dialect.ts'
import { hmac, sha256 } from './crypto.ts'
import { type Db, dbTime } from './db/index.ts'
import { signAccessToken } from './jwt.ts'
import type { FactorJson } from './mfa.ts'
import { parseMeta, toUser, User, type UserRow } from './users.ts'

export const TokenBody = t.Object({
  access_token: t.String(),
  token_type: t.Literal('bearer'),
  expires_in: t.Integer(),
  refresh_token: t.String(),
  expires_at: t.Optional(t.Integer({ description: 'supabase clients only: when the access token expires (Unix seconds)' })),
  user: t.Optional(User),
}, {
  description: 'Access and refresh token (supabase clients: with `expires_at` and `user`)',
  examples: [{ access_token: 'eyJhbGciOiJIUzI1NiIsImtpZCI6ImRlZmF1bHQiLCJ0eXAiOiJKV1QifQ.eyJzdWIiOiI1ZjBjM2EyZSJ9.c2lnbmF0dXJl', token_type: 'bearer', expires_in: 3600, refresh_token: 'kXq3V9m2Yc7L0pTzR8wNfA4hJ6sDbE1u' }],
})
/** GoTrue's token response; the user and expiry ride along under a symbol, for the supabase dialect (lib/dialect.ts). */
export type TokenResponse = typeof TokenBody.static & { [SESSION_EXTRA]?: SessionExtra }

/** How a session was authenticated: supabase/auth's `aal` (aal2 once a second factor was verified in it) and `amr`
 *  (each method with the Unix time it was used). Carried by its access tokens after GoTrue's own claims. */
export interface AmrEntry { method: string; timestamp: number }
export interface SessionAuth { aal: 'aal1' | 'aal2'; amr: AmrEntry[] }

export function mintAccessToken(config: Config, user: UserRow, now: Date, sessionId?: string, auth?: SessionAuth): Promise<string> {
  return signAccessToken({
    aud: user.aud || undefined,
    exp: Math.floor(now.getTime() / 1000) + config.jwt.exp,
    sub: user.id,
    email: user.email,
    app_metadata: parseMeta(user.raw_app_meta_data),
    user_metadata: parseMeta(user.raw_user_meta_data),
    session_id: sessionId,
    iat: Math.floor(now.getTime() / 1000),
    aal: auth?.aal,
    amr: auth?.amr,
  }, config.jwt)
}

export const successorOf = (secret: string, raw: string): string => hmac(secret, `refresh-successor:${raw}`).slice(0, 43)

export interface RefreshInsert { instanceId: string; userId: string; raw: string; familyId: string; parentId: string | null; now: Date }
/** Row ids (and new families) are time-ordered UUIDs (v7): each insert lands at the end of the primary-key index
 *  instead of on a random page of it, which keeps the refresh grant's cost flat as the table grows (measured from
 *  1 k to 1 M users). They identify rows only; the token itself is the 256-bit random secret, stored hashed.
 *  Queued with Db.later: a duplicate hash would take a collision of 256 random bits (or of the HMAC chain). */
export async function insertRefreshToken(db: Db, r: RefreshInsert): Promise<string> {
  const id = Bun.randomUUIDv7()
  const now = dbTime(r.now)
  await db.later(
    'INSERT INTO {refresh_tokens} (id, instance_id, user_id, token_hash, family_id, parent_id, revoked, revoked_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, NULL, ?, ?)',
    [id, r.instanceId, r.userId, sha256(r.raw), r.familyId, r.parentId, now, now],
  )
  return id
}

/** `auth.factors`: the user's MFA factors, which supabase's session user lists (auth-js reads the next level there). */
export async function tokenResponse(config: Config, user: UserRow, refreshToken: string, now: Date, familyId: string, auth?: SessionAuth & { factors?: FactorJson[] }): Promise<TokenResponse> {
  const shown = toUser(user)
  return {
    access_token: await mintAccessToken(config, user, now, familyId, auth), token_type: 'bearer', expires_in: config.jwt.exp, refresh_token: refreshToken,
    [SESSION_EXTRA]: { user: auth?.factors?.length ? { ...shown, factors: auth.factors } : shown, expires_at: Math.floor(now.getTime() / 1000) + config.jwt.exp },
  }
}
