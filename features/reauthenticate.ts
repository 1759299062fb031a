// GET /reauthenticate (supabase/auth's, `auth.reauthenticate()` in supabase-js): mails the signed-in user a short
// code, the nonce, that PUT /user takes beside a new password when GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_
// REAUTHENTICATION is on (features/user.ts checks it). A stolen access token alone then cannot replace the
// password of a session older than a day. The nonce is a code of MAILER_OTP_LENGTH digits stored hashed and
// bound to its user (lib/otp.ts), lives MAILER_OTP_EXP, works once, and a new one replaces the old. At most one
// mail per SMTP_MAX_FREQUENCY (a 429 that says when, as supabase answers) and GOTRUE_RATE_LIMIT_OTP per client and
// address; a failed mail puts the earlier nonce back.
import { Elysia, t } from 'elysia'
import { mailOrUndo } from '../lib/accounts.ts'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { clientOf } from '../lib/client.ts'
import { parseTime } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { badRequest, ErrorBody, notFound, tooManyRequests, unprocessable, withErrorCode } from '../lib/errors.ts'
import { guards, SYSTEM_SUBS } from '../lib/guards.ts'
import { isUuid } from '../lib/ids.ts'
import { enforce, RULES } from '../lib/limits.ts'
import { findOtpForUser, insertOtp, issueCode, revokeOtp } from '../lib/otp.ts'
import { emailKey, findUserById, parseMeta } from '../lib/users.ts'

export function reauthenticate(deps: Deps) {
  const { config, db, clock, instanceId, mailer } = deps
  return new Elysia({ name: 'reauthenticate' })
    .use(guards(deps))
    .model({ 'reauthenticate.response': t.Object({}) })
    .get('/reauthenticate', async ({ claims, request, server }) => {
      const sub = typeof claims.sub === 'string' ? claims.sub : ''
      if (!isUuid(sub) || SYSTEM_SUBS.has(sub)) throw badRequest('Could not read User ID claim')
      const found = await findUserById(db, instanceId, sub)
      if (!found) throw notFound('User not found')
      if (!found.email) throw withErrorCode(badRequest('Reauthentication requires the user to have an email or a phone number'), 'validation_failed')
      if (!found.confirmed_at) throw withErrorCode(unprocessable('Please verify your email first.'), 'email_not_confirmed')
      await enforce(deps.limiter, RULES(config).otp, [clientOf(config, request, server), emailKey(found.email)], clock.now().getTime())
      const now = clock.now()
      const { user, code, earlier } = await db.tx(async (tx) => {
        const user = (await findUserById(tx, instanceId, sub, true)) ?? found
        // The time of the last nonce mail is its row: inside SMTP_MAX_FREQUENCY the last nonce stands.
        const earlier = await findOtpForUser(tx, user.id, 'reauthentication')
        const wait = earlier ? (parseTime(earlier.created_at) ?? 0) + config.smtp.max_frequency * 1000 - now.getTime() : 0
        if (wait > 0) {
          const seconds = Math.ceil(wait / 1000)
          throw withErrorCode(tooManyRequests(`For security purposes, you can only request this after ${seconds} seconds.`, seconds), 'over_email_send_rate_limit')
        }
        const code = await issueCode(tx, instanceId, user.id, 'reauthentication', now, config.mailer.otp_length)
        await writeAudit(tx, instanceId, actorOf(user), 'user_reauthenticate_requested', now)
        return { user, code, earlier }
      })
      await mailOrUndo(deps,
        () => mailer.send('reauthentication', user.email, {
          SiteURL: config.site_url, ConfirmationURL: '', Email: user.email, Token: code, Data: parseMeta(user.raw_user_meta_data), RedirectTo: config.site_url,
        }),
        'Error sending reauthentication email', 'reauthentication nonce after mail failure', async (tx) => {
          await revokeOtp(tx, user.id, 'reauthentication')
          if (earlier) await insertOtp(tx, instanceId, earlier)
        })
      return {}
    }, {
      auth: 'user',
      response: { 200: 'reauthenticate.response', 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody, 429: ErrorBody, 500: ErrorBody },
      detail: {
        summary: 'Mail the signed-in user a nonce for a password change (supabase)', tags: ['accounts'], security: [{ bearer: [] }],
        description: 'PUT /user takes it as `nonce` beside `password`; required when GOTRUE_SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION is on and the session is older than 24 hours.',
      },
    })
}
