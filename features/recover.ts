// POST /recover: mail a password-recovery link. Answers 200 {} whether or not the email exists, throttles
// known and unknown emails alike (SMTP_MAX_FREQUENCY → 429), and sends the mail after responding, so neither
// the body, the status nor the latency tells an attacker which addresses have accounts.
import { Elysia, t } from 'elysia'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { dbTime } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody, tooManyRequests, unprocessable } from '../lib/errors.ts'
import { requestAud, requireEmailProvider } from '../lib/guards.ts'
import { clientOf, enforce, RULES } from '../lib/limits.ts'
import { mailVars } from '../lib/links.ts'
import { issueOtp, revokeOtp } from '../lib/otp.ts'
import { Throttle } from '../lib/ratelimit.ts'
import { emailKey, findUserByEmail, parseMeta, updateUser } from '../lib/users.ts'

export const RecoverBody = t.Object({ email: t.Optional(t.String({ maxLength: 320 })) }, { additionalProperties: true })

export function recover(deps: Deps) {
  const { config, db, clock, mailer, log, instanceId } = deps
  const throttle = new Throttle()
  return new Elysia({ name: 'recover' })
    .model({ 'recover.body': RecoverBody, 'recover.response': t.Object({}) })
    .post('/recover', async ({ body, headers, request, server }) => {
      const email = (body.email ?? '').trim()
      if (!email) throw unprocessable('Password recovery requires an email')
      const aud = requestAud(deps, headers)
      await enforce(deps.limiter, RULES(config).otp, [clientOf(config, request, server), `${aud}\n${emailKey(email)}`], clock.now().getTime())
      const now = clock.now()
      const key = `${aud}\n${emailKey(email)}`
      if (!throttle.hit(key, config.smtp.max_frequency, now.getTime())) {
        throw tooManyRequests('Rate limit exceeded, try again later', config.smtp.max_frequency)
      }
      const sent = await db.tx(async (tx) => {
        const user = await findUserByEmail(tx, instanceId, aud, email)
        if (!user) return null
        const token = await issueOtp(tx, instanceId, user.id, 'recovery', now)
        const updated = await updateUser(tx, user, { recovery_sent_at: dbTime(now) }, now)
        await writeAudit(tx, instanceId, actorOf(user), 'user_recovery_requested', now)
        return { user: updated, token, previous: user.recovery_sent_at }
      })
      if (sent) {
        const { user, token } = sent
        mailer.send('recovery', user.email, mailVars(config, 'recovery', user.email, token, parseMeta(user.raw_user_meta_data)))
          .catch(async (e) => {
            log.error('recovery mail failed', { error: e })
            throttle.forget(key)
            await db.tx(async (tx) => {
              await revokeOtp(tx, user.id, 'recovery')
              await updateUser(tx, user, { recovery_sent_at: sent.previous }, clock.now())
            }).catch(() => {})
          })
      }
      return {}
    }, {
      transform() { requireEmailProvider(deps) },
      body: 'recover.body',
      response: { 200: 'recover.response', 422: ErrorBody, 429: ErrorBody },
      detail: { summary: 'Request a password recovery mail (always 200 {} for well-formed requests)', tags: ['accounts'] },
    })
}
