// POST /token, the OAuth2 token endpoint: grant_type password, refresh_token, authorization_code (GoTrue's PKCE
// exchange) or pkce (supabase's, which also redeems the codes of its email flows), from a form body, a JSON body
// or the query string. Grant failures are OAuth errors ({error, error_description}, 400); the pkce grant's are
// supabase's (lib/pkce.ts).
// Refresh tokens rotate on every use inside one transaction holding the row lock. A rotated token presented
// again within SECURITY_REFRESH_TOKEN_REUSE_INTERVAL gets the same successor (concurrent tabs and retries);
// later, it is treated as stolen and its whole family is revoked.
import { Elysia, t } from 'elysia'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { type Db, dbTime, parseTime } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody, OAuthError, OAuthErrorBody } from '../lib/errors.ts'
import { requestAud, requireEmailProvider } from '../lib/guards.ts'
import { HEADERS } from '../lib/openapi.ts'
import { sha256 } from '../lib/crypto.ts'
import { consumeOtp, findOtp, otpExpired } from '../lib/otp.ts'
import { badCodeVerifier, bindingOf, flowStateExpired, flowStateNotFound, PKCE_TYPES, pkceParamsMissing, verifierMatches } from '../lib/pkce.ts'
import { verifyToken } from '../lib/verify.ts'
import { clientOf } from '../lib/client.ts'
import { noteGrant } from '../lib/metrics.ts'
import { enforce, reserveLogin, RULES } from '../lib/limits.ts'
import { revocationsChanged } from '../lib/revocations.ts'
import { issueSession, lockRefreshToken, sessionAuth, sessionExpiry, type SessionOrigin, touchSession } from '../lib/sessions.ts'
import { accessCookie, clearedCookie } from '../lib/access-cookie.ts'
import { insertRefreshToken, successorOf, TokenBody, tokenResponse, type TokenResponse } from '../lib/tokens.ts'
import { emailKey, findUserByEmail, findUserById, toUser, updateUser, type UserRow } from '../lib/users.ts'
import { replyPatch } from '../lib/webhooks.ts'

const Fields = {
  grant_type: t.Optional(t.String({ maxLength: 64 })),
  username: t.Optional(t.String({ maxLength: 320 })),
  email: t.Optional(t.String({ maxLength: 320, description: 'the email, as supabase clients send it (username wins when both are given)' })),
  password: t.Optional(t.String({ maxLength: 1024 })),
  refresh_token: t.Optional(t.String({ maxLength: 512 })),
  code: t.Optional(t.String({ maxLength: 512 })),
  code_verifier: t.Optional(t.String({ maxLength: 256 })),
  auth_code: t.Optional(t.String({ maxLength: 512, description: 'the PKCE code, as supabase clients send it (grant_type=pkce)' })),
}
export const TokenForm = t.Object(Fields, { additionalProperties: true, description: 'application/x-www-form-urlencoded (or JSON)' })
export const TokenQuery = t.Object(Fields, { additionalProperties: true })

// The contract, one schema per grant (the OpenAPI document's request body): what each grant reads. The route
// itself validates TokenForm, as loose as the reference (form, JSON or query; a missing field is the grant's
// OAuth error, not a validation error).
const grant = <G extends string>(g: G, fields: Parameters<typeof t.Object>[0], description: string) =>
  t.Object({ grant_type: t.Literal(g), ...fields }, { description })
export const Grants = {
  'token.password': grant('password', {
    username: t.Optional(t.String({ maxLength: 320, description: 'the email' })),
    email: t.Optional(t.String({ maxLength: 320, description: 'the email, as supabase clients send it' })),
    password: t.String({ maxLength: 1024 }),
  }, 'Sign in with email and password: the email as `username` (GoTrue\'s clients) or as `email` (supabase\'s); one of them is needed'),
  'token.refresh_token': grant('refresh_token', { refresh_token: t.String({ maxLength: 512 }) }, 'Exchange a refresh token for a new session (the token rotates)'),
  'token.authorization_code': grant('authorization_code', { code: t.String({ maxLength: 512 }), code_verifier: t.String({ maxLength: 256 }) }, 'Exchange a PKCE code from an external sign-in'),
  'token.pkce': grant('pkce', { auth_code: t.String({ maxLength: 512 }), code_verifier: t.String({ maxLength: 256 }) },
    "supabase's PKCE exchange: the ?code= of an external sign-in or of a mail link (signup confirmation, magic link, recovery) asked for with a code_challenge; errors 404 flow_state_not_found, 422 flow_state_expired, 400 bad_code_verifier"),
}
const grantSchema = {
  oneOf: Object.keys(Grants).map((k) => ({ $ref: `#/components/schemas/${k}` })),
  discriminator: { propertyName: 'grant_type', mapping: Object.fromEntries(Object.keys(Grants).map((k) => [k.slice('token.'.length), `#/components/schemas/${k}`])) },
}

interface RefreshRow { id: string; user_id: string; instance_id: string; family_id: string; revoked: number; revoked_at: string | null; created_at: string; updated_at: string }

/** A descendant of a replayed token, read without a lock: the grant already holds the replayed token's row (and
 *  its user's), and nothing can end the family without writing that row, so the descendant found live stays the
 *  family's until the grant commits (a refresh spending it meanwhile waits for the user's row, and the replay then
 *  answered a token that its own grace window covers). Locking it instead deadlocked with that refresh: each held
 *  one of the family's tokens and waited for the other's. */
async function findDescendant(db: Db, raw: string): Promise<RefreshRow | null> {
  return db.get<RefreshRow>('SELECT id, user_id, instance_id, family_id, revoked, revoked_at, created_at, updated_at FROM {refresh_tokens} WHERE token_hash = ?', [sha256(raw)])
}
/** Without rotation one row serves the whole session: its updated_at records the last use (idle timeout). */
async function touchRefreshToken(db: Db, id: string, now: Date): Promise<void> {
  await db.run('UPDATE {refresh_tokens} SET updated_at = ? WHERE id = ?', [dbTime(now), id])
}
/** Reuse of a rotated token: the family is taken to be stolen, so the session ends, access tokens included. */
async function revokeFamily(db: Db, user: UserRow, familyId: string, now: Date): Promise<void> {
  await db.run('UPDATE {refresh_tokens} SET revoked = 1, revoked_at = COALESCE(revoked_at, ?), updated_at = ? WHERE family_id = ?', [dbTime(now), dbTime(now), familyId])
  const { changes } = await db.run('UPDATE {sessions} SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', [dbTime(now), familyId])
  revocationsChanged()
  if (changes) db.notices.notify('session_revoked', user, familyId, 'refresh_token_reused')
}

const invalid = () => new OAuthError('invalid_grant', 'Invalid Refresh Token')

export function token(deps: Deps) {
  const { config, db, clock, hasher, instanceId, log, webhooks } = deps
  const rules = RULES(config)

  async function passwordGrant(username: string, password: string, aud: string, client: string, userAgent: string | null): Promise<TokenResponse> {
    const bad = () => new OAuthError('invalid_grant', 'No user found with that email, or password invalid.')
    // Guessing is limited by failures: per account and client, so that someone else's wrong guesses never lock
    // the owner out, and per account from all clients, a looser ceiling for guesses spread over many addresses.
    // Each attempt takes a slot before the hash and gives it back when the password was right. Unknown accounts
    // go through the same steps, so neither the 429 nor the timing tells whether an account exists.
    const account = `${aud}\n${emailKey(username)}`
    const release = await reserveLogin(deps.limiter, rules.login, rules.loginAccount, account, client, clock.now().getTime())
    const user = username ? await findUserByEmail(db, instanceId, aud, username) : null
    if (!user) {
      await hasher.burn(password) // same bcrypt cost whether or not the account exists
      throw bad()
    }
    // The password is checked before the confirmation state, so "Email not confirmed" is only ever told to
    // someone who knows the password.
    if (!(await hasher.verify(password, user.encrypted_password))) throw bad()
    await release(clock.now().getTime()) // the right password: not a failure
    if (!user.confirmed_at) throw new OAuthError('invalid_grant', 'Email not confirmed')
    // The login webhook runs before the transaction (never while holding the database); its reply may rewrite
    // the metadata the access token carries. A failing hook fails the login (format A error).
    const reply = webhooks.wants('login') ? await webhooks.send('login', instanceId, toUser(user)) : null
    const now = clock.now()
    const session = await db.tx(async (tx) => {
      // The hash was checked outside the transaction (bcrypt takes a tenth of a second, the hook longer): a password
      // changed meanwhile ended every session of the user, and must end this one before it starts. Read under the
      // row's lock, which a password change holds until it commits.
      const current = await findUserById(tx, instanceId, user.id, true)
      if (!current || current.encrypted_password !== user.encrypted_password) throw bad()
      const fresh = await updateUser(tx, current, { ...replyPatch(reply), last_sign_in_at: dbTime(now) }, now)
      await writeAudit(tx, instanceId, actorOf(user), 'login', now)
      return issueSession(tx, config, fresh, now, { userAgent, client })
    })
    log.info('login', { metering: true, action: 'login', login_method: 'password', instance_id: instanceId, user_id: user.id })
    return session
  }

  async function refreshGrant(raw: string): Promise<TokenResponse> {
    if (!raw) throw new OAuthError('invalid_request', 'refresh_token required')
    const now = clock.now()
    const secret = config.jwt.secret
    const result = await db.tx(async (tx): Promise<TokenResponse | { ended: string } | 'reused' | 'invalid' | 'expired'> => {
      // The token's row lock and everything the grant decides on, in one statement (lockRefreshToken).
      const found = await lockRefreshToken(tx, instanceId, sha256(raw))
      if (!found) return 'invalid'
      const { token: row, user, hasFactors } = found
      if (row.revoked) {
        const revokedAt = parseTime(row.revoked_at) ?? 0
        const grace = config.security.refresh_token_reuse_interval * 1000
        if (grace > 0 && now.getTime() - revokedAt <= grace) { // 0 = reuse detected at once, even within the same ms
          // Within the grace window: answer with the live descendant (the successor chain is HMAC-derived).
          let next = raw
          for (let i = 0; i < 20; i++) {
            next = successorOf(secret, next)
            const child = await findDescendant(tx, next)
            if (!child || child.family_id !== row.family_id) break
            // (a revoked session's tokens are all spent or gone; checked anyway, the view read it for nothing else)
            if (!child.revoked && !found.auth?.revoked) {
              const ended = await sessionExpiry(tx, config, row.family_id, child.updated_at, now, found.started) // the grace path too
              return ended ? { ended } : tokenResponse(config, user, next, now, row.family_id, await sessionAuth(tx, config, row.family_id, now, hasFactors))
            }
          }
        }
        await revokeFamily(tx, user, row.family_id, now)
        return 'reused'
      }
      if (now.getTime() - (parseTime(row.created_at) ?? 0) > config.jwt.refresh_token_lifetime * 1000) return 'expired'
      const ended = await sessionExpiry(tx, config, row.family_id, row.updated_at, now, found.started)
      if (ended) return { ended }
      const rotate = config.security.refresh_token_rotation_enabled
      // the session's aal and amr carry over; with rotation the given token is spent in the same step
      const auth = await touchSession(tx, config, instanceId, user.id, row.family_id, now, hasFactors, found.auth, rotate ? row.id : null)
      if (!auth) return 'invalid' // ended, tokens left behind
      tx.notices.notify('session_refreshed', user, row.family_id)
      if (!rotate) {
        if (config.sessions.inactivity_timeout > 0) await touchRefreshToken(tx, row.id, now)
        return tokenResponse(config, user, raw, now, row.family_id, auth)
      }
      const next = successorOf(secret, raw)
      await insertRefreshToken(tx, { instanceId, userId: user.id, raw: next, familyId: row.family_id, parentId: row.id, now })
      await writeAudit(tx, instanceId, actorOf(user), ['token_refreshed', 'token_revoked'], now, { session_id: row.family_id })
      return tokenResponse(config, user, next, now, row.family_id, auth)
    }, { readCommitted: true }) // every decision rests on the token's row lock and checked writes (TxOptions)
    const cleared = { 'set-cookie': clearedCookie(config) }
    if (result === 'expired') throw new OAuthError('invalid_grant', 'Refresh token expired', cleared)
    if (result === 'reused') {
      revocationsChanged() // after the commit too: a node's read may have run before it
      log.warn('refresh token reuse detected: token family revoked', { instance_id: instanceId })
      throw new OAuthError('invalid_grant', 'Invalid Refresh Token', cleared)
    }
    if (result === 'invalid') throw invalid()
    if ('ended' in result) throw new OAuthError('invalid_grant', result.ended, cleared)
    return result
  }

  /** The PKCE exchange (RFC 7636) of the one-time ?code= that /callback gave a client that sent a code_challenge.
   *  The code is consumed whatever the outcome, so a wrong verifier cannot be retried. */
  async function codeGrant(code: string, verifier: string, origin: SessionOrigin): Promise<TokenResponse | 'not_found' | 'expired' | 'bad_verifier'> {
    const now = clock.now()
    return db.tx(async (tx) => {
      const otp = await findOtp(tx, instanceId, ['authorization_code'], code)
      const binding = otp && bindingOf(otp)
      if (!otp || !binding) return 'not_found'
      await consumeOtp(tx, otp.id)
      if (otpExpired(config, otp, now)) return 'expired'
      if (!verifierMatches(binding, verifier)) return 'bad_verifier'
      const user = await findUserById(tx, instanceId, otp.user_id)
      return user ? issueSession(tx, config, user, now, origin) : 'not_found'
    })
  }

  /** supabase's exchange: the code of an external sign-in, or a mail link's token that was bound to a challenge
   *  (the confirmation, magic link or recovery step of lib/verify.ts, taken with the verifier). */
  async function pkceGrant(code: string, verifier: string, origin: SessionOrigin, request: Request, server: Parameters<typeof verifyToken>[3]): Promise<TokenResponse> {
    if (!code || !verifier) throw pkceParamsMissing()
    // Which flow the code belongs to; each path finds it again under its own lock, so one of two concurrent
    // exchanges wins and the other finds nothing.
    const row = await findOtp(db, instanceId, PKCE_TYPES, code)
    if (!row || !bindingOf(row)) throw flowStateNotFound()
    if (row.token_type !== 'authorization_code') return (await verifyToken(deps, { type: undefined, token: code, codeVerifier: verifier }, request, server)).session
    const result = await codeGrant(code, verifier, origin)
    if (result === 'not_found') throw flowStateNotFound()
    if (result === 'expired') throw flowStateExpired()
    if (result === 'bad_verifier') throw badCodeVerifier()
    return result
  }

  return new Elysia({ name: 'token' })
    .model({ 'token.form': TokenForm, 'token.response': TokenBody, ...Grants })
    .post('/token', async ({ body, query, headers, set, request, server }) => {
      const f = { ...query, ...(body && typeof body === 'object' ? body : {}) } as Record<string, unknown>
      const str = (k: string) => (typeof f[k] === 'string' ? (f[k] as string) : '')
      let session: TokenResponse
      const userAgent = request.headers.get('user-agent')
      switch (str('grant_type')) {
        // Only the password grant needs the email provider: with GOTRUE_EXTERNAL_EMAIL_DISABLED a provider-only
        // site still refreshes sessions and exchanges PKCE codes (the reference blocked every grant).
        case 'password':
          requireEmailProvider(deps)
          session = await passwordGrant((str('username') || str('email')).trim(), str('password'), requestAud(deps, headers), clientOf(config, request, server), userAgent)
          break
        case 'refresh_token': session = await refreshGrant(str('refresh_token').trim()); break
        case 'authorization_code': {
          const code = str('code').trim(), verifier = str('code_verifier')
          if (!code || !verifier) throw new OAuthError('invalid_request', 'code and code_verifier required')
          const result = await codeGrant(code, verifier, { userAgent, client: clientOf(config, request, server) })
          // GoTrue's grant tells none of the reasons apart
          if (typeof result === 'string') throw new OAuthError('invalid_grant', 'Invalid, expired or already used code, or wrong code_verifier')
          session = result
          break
        }
        case 'pkce': session = await pkceGrant(str('auth_code').trim(), str('code_verifier'), { userAgent, client: clientOf(config, request, server) }, request, server); break
        default: throw new OAuthError('unsupported_grant_type')
      }
      const cookie = accessCookie(config, headers['x-use-cookie'] ?? null, session.access_token, clock.now())
      if (cookie) set.headers['set-cookie'] = cookie
      return session
    }, {
      // Per client (GOTRUE_RATE_LIMIT_HEADER's value, else the socket address), before any grant work.
      transform: ({ request, server, body, query }) => {
        noteGrant(request, body, query) // login or refresh, for the metrics, even when the limit answers
        return enforce(deps.limiter, rules.token, [clientOf(config, request, server)], clock.now().getTime())
      },
      body: t.Optional(TokenForm),
      query: TokenQuery,
      response: { 200: 'token.response', 400: t.Union([OAuthErrorBody, ErrorBody]), 404: ErrorBody, 422: ErrorBody, 429: ErrorBody, 500: ErrorBody },
      detail: {
        summary: 'OAuth2 token endpoint: password, refresh_token, authorization_code and pkce (PKCE) grants', tags: ['token'],
        parameters: [HEADERS.aud, HEADERS.cookie],
        requestBody: {
          required: true,
          content: Object.fromEntries(['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'].map((type) => [type, { schema: grantSchema, example: { grant_type: 'password', username: 'ada@example.com', password: 'correct-horse-battery' } }])),
        },
      },
    })
}
