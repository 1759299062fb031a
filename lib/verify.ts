// The one step that turns a mail link's token into a session, shared by POST /verify, the account pages
// (features/pages.ts) and supabase's PKCE exchange (POST /token grant_type=pkce, for a link mailed to a client
// that sent a code_challenge): the rate limit, the password rules, the signup webhook before the transaction, and
// the transaction that consumes the token, updates the user and issues the session. Tokens are looked up by hash,
// single use (deleted in the same transaction that issues the session) and expire. A token bound to a challenge
// (lib/pkce.ts) is taken only by the exchange, with its verifier; every other token only by the other two.
import { requireFreeEmail } from './accounts.ts'
import { actorOf, writeAudit } from './audit.ts'
import { clientOf } from './client.ts'
import { safeEqual } from './crypto.ts'
import { dbTime } from './db/index.ts'
import type { Deps } from './deps.ts'
import { forbidden, notFound, unprocessable } from './errors.ts'
import { clearHeldBrowser, fromHeldBrowser } from './held-browser.ts'
import { addressProven, profileAfterProof, UNPROVEN_GONE } from './identities.ts'
import { enforce, RULES } from './limits.ts'
import { hasVerifiedFactor } from './mfa.ts'
import { codeHash, consumeOtp, findOtp, findOtpForUser, markedBrowser, markedIdentity, type OtpRow, type OtpType, otpExpired, revokeOtp } from './otp.ts'
import { badCodeVerifier, bindingOf, flowStateExpired, flowStateNotFound, verifierMatches } from './pkce.ts'
import { revocationsChanged } from './revocations.ts'
import { endOtherSessions, issueSession } from './sessions.ts'
import { emailKey, findUserByEmail, findUserById, passwordProblem, toUser, updateUser, type UserPatch } from './users.ts'
import { type HookReply, replyPatch } from './webhooks.ts'

/** /verify's `type` → the token types it accepts (signup also takes an invite, as gotrue-js sends it). `email`
 *  and `magiclink` are supabase's passwordless types; `email` covers a signup confirmation too, as there. */
const TYPES: Record<string, OtpType[]> = {
  signup: ['confirmation', 'invite'], invite: ['invite'], recovery: ['recovery'], email_change: ['email_change'],
  email: ['magiclink', 'confirmation'], magiclink: ['magiclink'],
}
/** The mailed links a PKCE exchange redeems (an invite or an email change never carries a challenge). */
const PKCE_LINK_TYPES: OtpType[] = ['confirmation', 'magiclink', 'recovery']
/** The types whose mail carries a short code besides the link (features/otp.ts); a new user's first sign-in
 *  code may be verified as `signup` too, as supabase's clients do. */
const CODE_TYPES: Record<string, OtpType> = { email: 'magiclink_code', magiclink: 'magiclink_code', signup: 'magiclink_code' }
/** The answer to a wrong, used or expired code, the same in every case (nothing tells which). */
const badCode = () => forbidden('Token has expired or is invalid')
const EXPIRED: Record<OtpType, string> = {
  confirmation: 'Confirmation token expired', invite: 'Confirmation token expired',
  recovery: 'Recovery token expired', email_change: 'Email change token expired', authorization_code: 'Authorization code expired',
  magiclink: 'Token has expired or is invalid', magiclink_code: 'Token has expired or is invalid',
  reauthentication: 'Nonce has expired or is invalid', // never a /verify type (PUT /user takes it)
}

export interface VerifyInput {
  type: string | undefined
  token: string | undefined
  password?: string
  /** Set `password` on a recovery too (the reset-password page); /verify takes a password for an invite only. */
  resetPassword?: boolean
  /** With a short code (`token` of MAILER_OTP_LENGTH digits): the address it was mailed to, and its audience. */
  email?: string
  aud?: string
  /** The PKCE exchange: `token` is the ?code= of a link whose request carried a code_challenge, and this its
   *  verifier (`type` is not needed: the token's row tells it). */
  codeVerifier?: string
}
type Server = { requestIP(r: Request): { address: string } | null } | null

/** Consumes the token and issues a session, or throws the GoTrue error (422 no token/type, weak password,
 *  expired; 404 unknown or used token; 429 over GOTRUE_RATE_LIMIT_VERIFY, one budget for /verify and the pages). */
export async function verifyToken(deps: Deps, input: VerifyInput, request: Request, server: Server) {
  const { config, db, clock, hasher, instanceId, webhooks } = deps
  const token = (input.token ?? '').trim()
  if (!token) throw unprocessable('Verify requires a token')
  const verifier = input.codeVerifier
  const pkce = verifier !== undefined
  const types = pkce ? PKCE_LINK_TYPES : Object.hasOwn(TYPES, input.type ?? '') ? TYPES[input.type ?? ''] : undefined // not `constructor`, `__proto__`, …
  if (!types) throw unprocessable('Verify requires a verification type')
  // The exchange spends POST /token's budget, which its route has already counted.
  if (!pkce) await enforce(deps.limiter, RULES(config).verify, [clientOf(config, request, server)], clock.now().getTime())
  const codeType = !pkce && input.email && new RegExp(`^\\d{${config.mailer.otp_length}}$`).test(token) ? CODE_TYPES[input.type ?? ''] : undefined
  if (input.email && /^\d{1,10}$/.test(token) && !codeType) throw badCode()
  const userId = codeType ? (await findUserByEmail(db, instanceId, input.aud || config.jwt.aud, input.email ?? ''))?.id : undefined
  if (codeType && !userId) throw badCode()
  if (codeType && userId) await countCodeAttempt(deps, userId, codeType)
  /** The token row: by the link token's hash, or the user's code row when the code matches (constant time). */
  const find = async (tx: typeof db): Promise<OtpRow | null> => {
    if (!codeType || !userId) {
      const row = await findOtp(tx, instanceId, types, token)
      return row && (bindingOf(row) !== null) === pkce ? row : null
    }
    const row = await findOtpForUser(tx, userId, codeType)
    return row && safeEqual(row.token_hash, codeHash(userId, token)) ? row : null
  }
  /** The exchange's verifier answers the challenge the row is bound to (always true for the other callers). */
  const proven = (row: OtpRow): boolean => !pkce || verifierMatches(bindingOf(row) ?? '', verifier)
  /** The provider link a confirmation keeps: its own sign-in's, answered in the browser that signed in
   *  (lib/held-browser.ts); '' for every other token and browser. */
  const keeps = (row: OtpRow): string => fromHeldBrowser(markedBrowser(row), request.headers.get('cookie')) ? markedIdentity(row) : ''
  const password = input.password ?? ''
  const takesPassword = types.includes('invite') || (input.resetPassword === true && types.includes('recovery'))
  // Hash before the transaction (bcrypt must not hold the database).
  const weak = password && takesPassword ? passwordProblem(config.password.min_length, password) : undefined
  const hash = password && takesPassword && !weak ? await hasher.hash(password) : ''
  const now = clock.now()
  // The signup webhook fires when the user becomes confirmed; it runs before the transaction (never while
  // holding the database), and its reply may replace the metadata the new session carries.
  let reply: HookReply | null = null
  if (webhooks.wants('signup')) {
    const otp = await find(db)
    const user = otp && proven(otp) && !otpExpired(config, otp, now) && (await findUserById(db, instanceId, otp.user_id))
    // an invite without a (good) password fails below: tell the receiver nothing about it
    if (otp?.token_type === 'invite' && (!password || weak)) throw unprocessable(weak || 'Invited users must specify a password')
    // It is told the profile the account will have: without what the provider links this confirmation drops gave it
    // (so that a reply echoing what it was sent does not put that back).
    const keep = otp ? keeps(otp) : ''
    if (user && !user.confirmed_at) reply = await webhooks.send('signup', instanceId, toUser({ ...user, ...await profileAfterProof(db, user, keep, 'email'), confirmed_at: dbTime(now) }))
  }
  const done = await db.tx(async (tx) => {
    const otp = await find(tx)
    const user = otp && (await findUserById(tx, instanceId, otp.user_id))
    if (!otp || !user) throw pkce ? flowStateNotFound() : codeType ? badCode() : notFound('User not found')
    // A PKCE code is spent by a wrong verifier too (it cannot be retried); the refusal is thrown after the commit.
    if (pkce && (otpExpired(config, otp, now) || !proven(otp))) {
      await consumeOtp(tx, otp.id)
      return { refused: otpExpired(config, otp, now) ? flowStateExpired() : badCodeVerifier() }
    }
    if (otpExpired(config, otp, now)) throw unprocessable(EXPIRED[otp.token_type])
    const patch: UserPatch = user.confirmed_at ? {} : replyPatch(reply)
    // Accepting an invite always sets the password given. The reference asks for one only while the user
    // has none, so a password from a signup of the invited address in the meantime would survive the
    // invitee's acceptance and let whoever chose it log in (account pre-hijacking through an invite).
    // A mailed link is one factor, as a password is: with GOTRUE_MFA_REQUIRE_AAL2_FOR_CHANGES a user with a
    // verified factor sets a new password from an aal2 session only. The link still signs them in (aal1), and
    // the caller tells them to finish with their second factor (as supabase's recovery flow does).
    const needsAal2 = otp.token_type === 'recovery' && input.resetPassword === true && config.mfa.enabled
      && config.mfa.require_aal2_for_changes && await hasVerifiedFactor(tx, instanceId, user.id)
    if (otp.token_type === 'invite' || (otp.token_type === 'recovery' && input.resetPassword && !needsAal2)) {
      if (!password) throw unprocessable(otp.token_type === 'invite' ? 'Invited users must specify a password' : 'A new password is required')
      if (weak) throw unprocessable(weak)
      patch.encrypted_password = hash
    }
    if (otp.token_type === 'email_change') {
      await requireFreeEmail(tx, instanceId, user.aud, otp.relates_to, user.id)
      if (emailKey(otp.relates_to) !== emailKey(user.email) || otp.relates_to !== user.email) patch.email = otp.relates_to
      patch.email_change = ''
      patch.email_change_sent_at = null
    }
    // A recovery link confirms a pending signup, whose password may be someone else's: anyone can sign up an
    // address they do not own and wait for its owner to recover it. The owner gets a session and sets a password.
    // The same for a passwordless sign-in of a pending signup.
    const passwordless = otp.token_type === 'magiclink' || otp.token_type === 'magiclink_code'
    if ((otp.token_type === 'recovery' || passwordless) && !user.confirmed_at && !patch.encrypted_password) patch.encrypted_password = ''
    await consumeOtp(tx, otp.id)
    // The link and the code of one sign-in are one credential: using either spends both.
    if (passwordless) for (const type of ['magiclink', 'magiclink_code'] as const) await revokeOtp(tx, user.id, type)
    // The mail proves the mailbox, not a provider account linked before it: one whose unverified address started
    // this account would otherwise keep signing in to it after its owner confirms or recovers it (pre-hijacking,
    // also under autoconfirm, where that sign-in made a confirmed account). Only the confirmation that sign-in
    // mailed keeps (and proves) the link it made, and only when answered in the browser that signed in
    // (lib/held-browser.ts): anyone's provider account can have the address mailed, and its owner clicking that
    // mail unasked proves the mailbox, not that provider account. On a confirmed account the link's holder may
    // have set the password too: it goes unless this link sets one (recovery with a password, an invite).
    const keep = keeps(otp)
    const taken = await addressProven(tx, user, keep, now)
    const unlinked = taken !== null
    if (unlinked && otp.token_type !== 'email_change') Object.assign(patch, UNPROVEN_GONE)
    // What the gone links gave the profile goes with them (what the signup hook replied stands: it was told the
    // profile without it).
    if (taken) for (const [k, v] of Object.entries(taken)) if (!(k in patch)) Object.assign(patch, { [k]: v })
    if (unlinked && user.confirmed_at && !patch.encrypted_password) patch.encrypted_password = ''
    if (!user.confirmed_at) {
      patch.confirmed_at = dbTime(now)
      await writeAudit(tx, instanceId, actorOf(user), 'user_signedup', now)
    }
    if (otp.token_type === 'recovery' && patch.encrypted_password) await writeAudit(tx, instanceId, actorOf(user), 'user_modified', now)
    // A recovery takes the account back: an email change pending from before (started by whoever held a session or
    // the password then) would otherwise move the account to that address once its link is used.
    if (otp.token_type === 'recovery') { // whatever the columns say: an undo may have cleared them, not the token
      await revokeOtp(tx, user.id, 'email_change')
      Object.assign(patch, { email_change: '', email_change_sent_at: null })
    }
    const updated = Object.keys(patch).length ? await updateUser(tx, user, patch, now) : user
    // Whoever recovers the account or confirms its new address gets the only session: every older one ends
    // (a device signed in by someone who knew the old password, or with the old address).
    if (otp.token_type === 'recovery' || otp.token_type === 'email_change') await endOtherSessions(tx, updated, null, now, 'credentials_changed')
    const origin = { method: 'otp', userAgent: request.headers.get('user-agent'), client: clientOf(config, request, server) }
    // The browser's secret of that sign-in has served: it goes.
    const clearCookie = keep ? clearHeldBrowser(config, markedBrowser(otp)) : ''
    return { session: await issueSession(tx, config, updated, now, origin), kind: otp.token_type, passwordNeedsAal2: needsAal2, unlinked, clearCookie }
  })
  if ('refused' in done) throw done.refused
  if (done.unlinked) revocationsChanged() // after the commit too: a node's read may have run before it
  return done
}

/** Counts one try of a short code against the live code it would match: after MAILER_OTP_MAX_ATTEMPTS tries the
 *  code is void and a new one must be mailed (whose own count starts at zero). Tries are counted per code, not
 *  per address, so someone guessing cannot lock the owner out for longer than it takes to ask for a new code;
 *  with /otp's mail budget per address (GOTRUE_RATE_LIMIT_OTP an hour) that caps guesses at attempts x budget
 *  an hour out of 10^length codes. */
async function countCodeAttempt(deps: Deps, userId: string, type: OtpType): Promise<void> {
  const { config, db, limiter, clock } = deps
  const row = await findOtpForUser(db, userId, type)
  if (!row) throw badCode()
  const max = config.mailer.otp_max_attempts
  const wait = await limiter.hit(`otp-code:${row.id}`, max, config.mailer.otp_exp, clock.now().getTime())
  if (wait > 0) {
    await revokeOtp(db, userId, type)
    throw badCode()
  }
}
