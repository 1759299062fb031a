// POST /verify: consume a one-time token from a mail link and log the user in. Types: signup (confirmation,
// or an invite with a password, as gotrue-js sends it), invite, recovery, email_change. Tokens are looked up
// by hash, single use (deleted in the same transaction that issues the session) and expire.
import { Elysia, t } from 'elysia'
import { requireFreeEmail } from '../lib/accounts.ts'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { dbTime } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody, notFound, unprocessable } from '../lib/errors.ts'
import { clientOf } from '../lib/client.ts'
import { enforce, RULES } from '../lib/limits.ts'
import { consumeOtp, findOtp, type OtpType, otpExpired } from '../lib/otp.ts'
import { accessCookie, endOtherSessions, issueSession, TokenBody } from '../lib/sessions.ts'
import { emailKey, findUserById, passwordProblem, toUser, updateUser, type UserPatch } from '../lib/users.ts'
import { type HookReply, replyPatch } from '../lib/webhooks.ts'

export const VerifyBody = t.Object({
  type: t.Optional(t.String({ maxLength: 32 })),
  token: t.Optional(t.String({ maxLength: 512 })),
  password: t.Optional(t.String({ maxLength: 1024 })),
}, { additionalProperties: true })

const TYPES: Record<string, OtpType[]> = {
  signup: ['confirmation', 'invite'], invite: ['invite'], recovery: ['recovery'], email_change: ['email_change'],
}
const EXPIRED: Record<OtpType, string> = {
  confirmation: 'Confirmation token expired', invite: 'Confirmation token expired',
  recovery: 'Recovery token expired', email_change: 'Email change token expired', authorization_code: 'Authorization code expired',
}

export function verify(deps: Deps) {
  const { config, db, clock, hasher, instanceId, webhooks } = deps
  return new Elysia({ name: 'verify' })
    .model({ 'verify.body': VerifyBody, 'verify.response': TokenBody })
    .post('/verify', async ({ body, headers, set, request, server }) => {
      const token = (body.token ?? '').trim()
      if (!token) throw unprocessable('Verify requires a token')
      const types = Object.hasOwn(TYPES, body.type ?? '') ? TYPES[body.type ?? ''] : undefined // not `constructor`, `__proto__`, …
      if (!types) throw unprocessable('Verify requires a verification type')
      await enforce(deps.limiter, RULES(config).verify, [clientOf(config, request, server)], clock.now().getTime())
      const password = body.password ?? ''
      // Hash before the transaction (bcrypt must not hold the database); used only for an invite.
      const weak = password && types.includes('invite') ? passwordProblem(config.password.min_length, password) : undefined
      const hash = password && types.includes('invite') && !weak ? await hasher.hash(password) : ''
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
      const session = await db.tx(async (tx) => {
        const otp = await findOtp(tx, instanceId, types, token)
        const user = otp && (await findUserById(tx, instanceId, otp.user_id))
        if (!otp || !user) throw notFound('User not found')
        if (otpExpired(config, otp, now)) throw unprocessable(EXPIRED[otp.token_type])
        const patch: UserPatch = user.confirmed_at ? {} : replyPatch(reply)
        // Accepting an invite always sets the password given. The reference asks for one only while the user
        // has none, so a password from a signup of the invited address in the meantime would survive the
        // invitee's acceptance and let whoever chose it log in (account pre-hijacking through an invite).
        if (otp.token_type === 'invite') {
          if (!password) throw unprocessable('Invited users must specify a password')
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
        if (otp.token_type === 'recovery' && !user.confirmed_at) patch.encrypted_password = ''
        await consumeOtp(tx, otp.id)
        if (!user.confirmed_at) {
          patch.confirmed_at = dbTime(now)
          await writeAudit(tx, instanceId, actorOf(user), 'user_signedup', now)
        }
        const updated = Object.keys(patch).length ? await updateUser(tx, user, patch, now) : user
        // Whoever recovers the account or confirms its new address gets the only session: every older one ends
        // (a device signed in by someone who knew the old password, or with the old address).
        if (otp.token_type === 'recovery' || otp.token_type === 'email_change') await endOtherSessions(tx, instanceId, user.id, null)
        return issueSession(tx, config, updated, now)
      })
      const cookie = accessCookie(config, headers['x-use-cookie'] ?? null, session.access_token, now)
      if (cookie) set.headers['set-cookie'] = cookie
      return session
    }, {
      body: 'verify.body',
      response: { 200: 'verify.response', 404: ErrorBody, 422: ErrorBody, 429: ErrorBody },
      detail: { summary: 'Confirm a signup, accept an invite, recover, or confirm an email change, with the token from a mail', tags: ['accounts'] },
    })
}
