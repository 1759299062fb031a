// The one step that turns a mail link's token into a session, shared by POST /verify and the account pages
// (features/pages.ts): the rate limit, the password rules, the signup webhook before the transaction, and the
// transaction that consumes the token, updates the user and issues the session. Tokens are looked up by hash,
// single use (deleted in the same transaction that issues the session) and expire.
import { requireFreeEmail } from './accounts.ts'
import { actorOf, writeAudit } from './audit.ts'
import { clientOf } from './client.ts'
import { dbTime } from './db/index.ts'
import type { Deps } from './deps.ts'
import { notFound, unprocessable } from './errors.ts'
import { enforce, RULES } from './limits.ts'
import { consumeOtp, findOtp, type OtpType, otpExpired } from './otp.ts'
import { endOtherSessions, issueSession } from './sessions.ts'
import { emailKey, findUserById, passwordProblem, toUser, updateUser, type UserPatch } from './users.ts'
import { type HookReply, replyPatch } from './webhooks.ts'

/** /verify's `type` → the token types it accepts (signup also takes an invite, as gotrue-js sends it). */
const TYPES: Record<string, OtpType[]> = {
  signup: ['confirmation', 'invite'], invite: ['invite'], recovery: ['recovery'], email_change: ['email_change'],
}
const EXPIRED: Record<OtpType, string> = {
  confirmation: 'Confirmation token expired', invite: 'Confirmation token expired',
  recovery: 'Recovery token expired', email_change: 'Email change token expired', authorization_code: 'Authorization code expired',
}

export interface VerifyInput {
  type: string | undefined
  token: string | undefined
  password?: string
  /** Set `password` on a recovery too (the reset-password page); /verify takes a password for an invite only. */
  resetPassword?: boolean
}
type Server = { requestIP(r: Request): { address: string } | null } | null

/** Consumes the token and issues a session, or throws the GoTrue error (422 no token/type, weak password,
 *  expired; 404 unknown or used token; 429 over GOTRUE_RATE_LIMIT_VERIFY, one budget for /verify and the pages). */
export async function verifyToken(deps: Deps, input: VerifyInput, request: Request, server: Server) {
  const { config, db, clock, hasher, instanceId, webhooks } = deps
  const token = (input.token ?? '').trim()
  if (!token) throw unprocessable('Verify requires a token')
  const types = Object.hasOwn(TYPES, input.type ?? '') ? TYPES[input.type ?? ''] : undefined // not `constructor`, `__proto__`, …
  if (!types) throw unprocessable('Verify requires a verification type')
  await enforce(deps.limiter, RULES(config).verify, [clientOf(config, request, server)], clock.now().getTime())
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
    const otp = await findOtp(db, instanceId, types, token)
    const user = otp && !otpExpired(config, otp, now) && (await findUserById(db, instanceId, otp.user_id))
    // an invite without a (good) password fails below: tell the receiver nothing about it
    if (otp?.token_type === 'invite' && (!password || weak)) throw unprocessable(weak || 'Invited users must specify a password')
    if (user && !user.confirmed_at) reply = await webhooks.send('signup', instanceId, toUser({ ...user, confirmed_at: dbTime(now) }))
  }
  return db.tx(async (tx) => {
    const otp = await findOtp(tx, instanceId, types, token)
    const user = otp && (await findUserById(tx, instanceId, otp.user_id))
    if (!otp || !user) throw notFound('User not found')
    if (otpExpired(config, otp, now)) throw unprocessable(EXPIRED[otp.token_type])
    const patch: UserPatch = user.confirmed_at ? {} : replyPatch(reply)
    // Accepting an invite always sets the password given. The reference asks for one only while the user
    // has none, so a password from a signup of the invited address in the meantime would survive the
    // invitee's acceptance and let whoever chose it log in (account pre-hijacking through an invite).
    if (otp.token_type === 'invite' || (otp.token_type === 'recovery' && input.resetPassword)) {
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
    if (otp.token_type === 'recovery' && !user.confirmed_at && !patch.encrypted_password) patch.encrypted_password = ''
    await consumeOtp(tx, otp.id)
    if (!user.confirmed_at) {
      patch.confirmed_at = dbTime(now)
      await writeAudit(tx, instanceId, actorOf(user), 'user_signedup', now)
    }
    if (otp.token_type === 'recovery' && patch.encrypted_password) await writeAudit(tx, instanceId, actorOf(user), 'user_modified', now)
    const updated = Object.keys(patch).length ? await updateUser(tx, user, patch, now) : user
    // Whoever recovers the account or confirms its new address gets the only session: every older one ends
    // (a device signed in by someone who knew the old password, or with the old address).
    if (otp.token_type === 'recovery' || otp.token_type === 'email_change') await endOtherSessions(tx, instanceId, user.id, null, now)
    return { session: await issueSession(tx, config, updated, now), kind: otp.token_type }
  })
}
