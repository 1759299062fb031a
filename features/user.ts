// GET /user and PUT /user for the bearer of an access token. PUT merges `data` into user_metadata, changes the
// password (policy applies), starts an email change (a confirmation mail to the new address) or confirms one
// with `email_change_token`; `app_metadata` only for admins. Every successful PUT is audited. With
// GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION a new password also needs the `nonce` GET /reauthenticate
// mailed (features/reauthenticate.ts), unless the session started less than a day ago (supabase's rule).
import { Elysia, t } from 'elysia'
import { jsonBody } from '../lib/body.ts'
import { checkEmail, columnsOf, mailOrUndo, mergedMeta, mergedUserData, requireFreeEmail, restoreUser } from '../lib/accounts.ts'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { safeEqual, sha256 } from '../lib/crypto.ts'
import { dbTime, type Db, parseTime } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { badRequest, ErrorBody, notFound, unauthorized, unprocessable, withErrorCode } from '../lib/errors.ts'
import { guards, isAdminFor, SYSTEM_SUBS } from '../lib/guards.ts'
import { addressProven } from '../lib/identities.ts'
import { isUuid } from '../lib/ids.ts'
import type { AccessClaims } from '../lib/jwt.ts'
import { clientOf } from '../lib/client.ts'
import { enforce, RULES } from '../lib/limits.ts'
import { allowedRedirect, mailVars } from '../lib/links.ts'
import { codeHash, consumeOtp, findOtpForUser, issueOtp, otpExpired, revokeOtp } from '../lib/otp.ts'
import { Aal2Required, factorJson, requireAal2IfVerified, userFactors } from '../lib/mfa.ts'
import { endOtherSessions, sessionOf } from '../lib/sessions.ts'
import { requireLiveSession } from '../lib/revocations.ts'
import {
  emailKey, findUserById, mergeMeta, readUserWithFactorFlag, parseMeta, passwordProblem, toUser, updateUser, User, type UserPatch, type UserRow, MetadataInput, metadataOf
} from '../lib/users.ts'

export const UserUpdateBody = t.Object({
  email: t.Optional(t.String({ maxLength: 320 })),
  password: t.Optional(t.String({ maxLength: 1024 })),
  email_change_token: t.Optional(t.String({ maxLength: 512 })),
  nonce: t.Optional(t.String({ maxLength: 64, description: 'the code GET /reauthenticate mailed, for a password change (supabase)' })),
  data: MetadataInput,
  app_metadata: MetadataInput,
}, { additionalProperties: true })


function subOf(claims: AccessClaims): string {
  if (typeof claims.sub !== 'string' || !isUuid(claims.sub) || SYSTEM_SUBS.has(claims.sub)) throw badRequest('Could not read User ID claim')
  return claims.sub
}

async function loadUser(deps: Deps, db: Db, claims: AccessClaims, lock = false): Promise<UserRow> {
  const user = await findUserById(db, deps.instanceId, subOf(claims), lock)
  if (!user) throw notFound('User not found')
  return user
}

/** How long after its sign-in a session may change the password without a nonce (supabase/auth's 24 hours). */
const RECENT_SIGN_IN_MS = 24 * 3600 * 1000
/** When the token's session started (null: the token names none, or the session is not the user's). */
async function sessionStart(db: Db, instanceId: string, userId: string, sessionId: string | null): Promise<number | null> {
  if (!sessionId) return null
  const row = await db.get<{ created_at: string }>('SELECT created_at FROM {sessions} WHERE id = ? AND instance_id = ? AND user_id = ?', [sessionId, instanceId, userId])
  return row ? parseTime(row.created_at) : null
}
// supabase/auth's answers (user.go, reauthenticate.go).
const reauthenticationNeeded = () => withErrorCode(badRequest('Password update requires reauthentication'), 'reauthentication_needed')
const nonceNotValid = () => withErrorCode(unprocessable('Nonce has expired or is invalid'), 'reauthentication_not_valid')

/** ErrorBody as an OpenAPI response, for routes that document their responses without checking them. */
const ERROR_RESPONSE = {
  description: 'GoTrue error',
  content: { 'application/json': { schema: ErrorBody } },
}

export function user(deps: Deps) {
  /** The request audience (X-JWT-AUD, else JWT_AUD) must be the token's own. */
  const checkAudience = (header: string | null | undefined, claims: AccessClaims) => {
    const tokenAud = typeof claims.aud === 'string' ? claims.aud : ''
    if ((header && header !== tokenAud) || (!header && !tokenAud && deps.config.jwt.aud)) throw badRequest("Token audience doesn't match request audience")
  }
  const { config, db, clock, hasher, mailer, instanceId } = deps

  /** Before a password change with the setting on: a session younger than a day needs no nonce; any other needs
   *  one. A nonce that is given is checked whatever the session's age (here its tries are counted, the
   *  transaction compares and spends it): a client that sends one expects it to count. Tries are counted per
   *  nonce, as a mailed code's (MAILER_OTP_MAX_ATTEMPTS, then the nonce is void), so a stolen access token cannot
   *  guess its way through the 10^6 codes. */
  async function checkReauthentication(claims: AccessClaims, nonce: string): Promise<void> {
    const userId = String(claims.sub)
    if (!nonce) {
      const started = await sessionStart(db, instanceId, userId, sessionOf(claims))
      if (started === null || clock.now().getTime() - started >= RECENT_SIGN_IN_MS) throw reauthenticationNeeded()
      return
    }
    const row = await findOtpForUser(db, userId, 'reauthentication')
    if (!row) throw nonceNotValid()
    const max = config.mailer.otp_max_attempts
    if (await deps.limiter.hit(`otp-code:${row.id}`, max, config.mailer.otp_exp, clock.now().getTime()) > 0) {
      await revokeOtp(db, userId, 'reauthentication')
      throw nonceNotValid()
    }
  }

  return new Elysia({ name: 'user' })
    .use(guards(deps))
    .model({ 'user.response': User, 'user.update': UserUpdateBody })
    // The hot path: headers read one by one rather than through Elysia's `headers` object (built from
    // every header), and no response schema check at run time — toUser builds the body field by field from the
    // row, the tests hold it to the User schema, and the schema is still what the OpenAPI document says.
    .get('/user', async ({ claims, request }) => {
      checkAudience(request.headers.get('x-jwt-aud'), claims)
      const sub = subOf(claims)
      const row = await readUserWithFactorFlag(db, instanceId, sub)
      if (!row) throw notFound('User not found')
      const found = toUser(row.user)
      // supabase/auth's `factors`, only when there are some (its omitempty): users without MFA keep GoTrue's keys.
      const factors = config.mfa.enabled && row.hasFactors ? await userFactors(db, instanceId, found.id, clock.now()) : []
      return factors.length ? { ...found, factors: factors.map(factorJson) } : found
    }, {
      auth: 'user',
      detail: {
        summary: 'The current user', tags: ['accounts'], security: [{ bearer: [] }],
        responses: {
          200: { description: 'A GoTrue user', content: { 'application/json': { schema: { $ref: '#/components/schemas/user.response' } } } },
          ...Object.fromEntries([400, 401, 404].map((status) => [status, ERROR_RESPONSE])),
        },
      },
    })
    .put('/user', async ({ claims, body, headers, query, request, server }) => {
      const data = metadataOf(body.data, 'data')
      const appMetadata = metadataOf(body.app_metadata, 'app_metadata')
      checkAudience(headers['x-jwt-aud'], claims) // the reference checks this on GET only; a token of one audience must not edit in another
      const password = body.password ?? ''
      if (password) {
        const weak = passwordProblem(config.password.min_length, password)
        if (weak) throw unprocessable(weak)
      }
      const newEmail = (body.email ?? '').trim()
      const changeToken = (body.email_change_token ?? '').trim()
      if (!changeToken && newEmail) {
        await enforce(deps.limiter, RULES(config).otp, [clientOf(config, request, server), String(claims.sub)], clock.now().getTime())
      }
      // A second factor protects the account only if a password alone cannot replace the password or the address.
      if ((password || (newEmail && !changeToken)) && config.mfa.enabled && config.mfa.require_aal2_for_changes) {
        await requireAal2IfVerified(db, instanceId, String(claims.sub), claims)
      }
      const reauthenticating = !!password && config.security.update_password_require_reauthentication
      const nonce = reauthenticating ? (body.nonce ?? '').trim() : ''
      if (reauthenticating) await checkReauthentication(claims, nonce)
      const hash = password ? await hasher.hash(password) : ''
      if (!changeToken && newEmail) checkEmail(newEmail)
      const now = clock.now()
      const { before, patch, updated, mail } = await db.tx(async (tx) => {
        const user = await loadUser(deps, tx, claims, true) // locked: the merge below writes it back
        await requireLiveSession(tx, config, sessionOf(claims))
        const patch: UserPatch = {}
        if (nonce) {
          const row = await findOtpForUser(tx, user.id, 'reauthentication')
          if (!row || otpExpired(config, row, now) || !safeEqual(row.token_hash, codeHash(user.id, nonce))) throw nonceNotValid()
          await consumeOtp(tx, row.id)
        }
        if (hash) patch.encrypted_password = hash
        if (appMetadata && !isAdminFor(deps, user, config.jwt.aud)) throw unauthorized('Updating app_metadata requires admin privileges')
        // what the request's data and app_metadata are merged onto: the profile, less what a proof below takes back
        let base = user
        let mail: { token: string; to: string } | null = null
        if (changeToken) {
          const otp = await findOtpForUser(tx, user.id, 'email_change')
          if (otp && otpExpired(config, otp, now)) throw unprocessable('Email change token expired')
          if (!otp || !safeEqual(otp.token_hash, sha256(changeToken))) throw unauthorized("Email Change Token didn't match token on file")
          await requireFreeEmail(tx, instanceId, user.aud, otp.relates_to, user.id)
          await consumeOtp(tx, otp.id)
          Object.assign(patch, { email: otp.relates_to, email_change: '', email_change_sent_at: null })
          // The new address is proven by mail: a link nobody proved goes (lib/identities.ts); this session goes on.
          const taken = await addressProven(tx, user, '', now, sessionOf(claims))
          // what the gone links gave the profile goes too; this request's own data is merged onto what is left
          if (taken) {
            Object.assign(patch, taken)
            base = { ...user, ...taken }
          }
        } else if (newEmail && emailKey(newEmail) !== emailKey(user.email)) {
          await requireFreeEmail(tx, instanceId, user.aud, newEmail)
          const token = await issueOtp(tx, instanceId, user.id, 'email_change', now, newEmail)
          Object.assign(patch, { email_change: newEmail, email_change_sent_at: dbTime(now) })
          mail = { token, to: newEmail }
        } else if (newEmail && newEmail !== user.email) {
          patch.email = newEmail // same address, new capitalisation
        }
        if (data) {
          // GOTRUE_USER_DATA_SCHEMA checks the data against the profile it was sent for; what a proof takes back is
          // not the request's, and is not checked (as when the confirmation comes without data)
          const checked = mergedUserData(deps, user.raw_user_meta_data, data)
          patch.raw_user_meta_data = base === user ? checked : JSON.stringify(mergeMeta(parseMeta(base.raw_user_meta_data), data))
        }
        if (appMetadata) patch.raw_app_meta_data = mergedMeta(base.raw_app_meta_data, appMetadata)
        // A new password that starts no change itself takes the account's credentials back, as a recovery does: a
        // change pending from before (started by whoever held a session then) goes with the other sessions.
        if (hash && !changeToken && !mail) {
          await revokeOtp(tx, user.id, 'email_change')
          Object.assign(patch, { email_change: '', email_change_sent_at: null })
        }
        // A new password or a confirmed new address ends the user's other sessions; the one making the change
        // goes on (an access token from before sessions were named ends them all). A pending change ends
        // nothing: until its link is used, the old credentials are still the account's.
        if (hash || changeToken) await endOtherSessions(tx, user, sessionOf(claims), now, 'credentials_changed')
        // With a change mail to send, the audit entry waits until the mail went out (the PUT may still fail).
        if (!mail) await writeAudit(tx, instanceId, actorOf(user), 'user_modified', now)
        return { before: user, patch, updated: await updateUser(tx, user, patch, now), mail }
      })
      if (mail) {
        // The PUT fails as a whole (the reference rolls back its one transaction): put back every column this
        // request changed — password and metadata too — and drop the pending change and its token.
        const earlier = { ...columnsOf(before, Object.keys(patch) as (keyof UserPatch)[]), email_change: '', email_change_sent_at: null }
        await mailOrUndo(deps,
          () => mailer.send('email_change', mail.to, mailVars(config, 'email_change', updated.email, mail.token, parseMeta(updated.raw_user_meta_data), mail.to, allowedRedirect(config, query.redirect_to))),
          'Error sending change email', 'user update after mail failure', (tx) => restoreUser(tx, deps, updated, earlier, 'email_change', null, mail.token))
        await db.tx((tx) => writeAudit(tx, instanceId, { id: updated.id, email: before.email }, 'user_modified', now))
      }
      return toUser(updated)
    }, {
      auth: 'user',
      parse: jsonBody('Could not read User Update params'),
      body: 'user.update',
      response: { 200: 'user.response', 400: ErrorBody, 401: ErrorBody, 403: Aal2Required, 404: ErrorBody, 422: ErrorBody, 429: ErrorBody, 500: ErrorBody },
      detail: { summary: 'Update the current user: data, password, email (with confirmation)', tags: ['accounts'], security: [{ bearer: [] }] },
    })
}
