// POST /recover: mail a password-recovery link. Answers 200 {} whether or not the email exists and whether or
// not a mail goes out, and sends the mail after responding, so neither the body, the status nor the latency
// tells an attacker which addresses have accounts. At most one mail per SMTP_MAX_FREQUENCY: the time of the last
// one is kept in the row (recovery_sent_at) as the reference does, so every node, and a restarted or rebuilt
// app, honours it.
import { Elysia, t } from 'elysia'
import { HEADERS } from '../lib/openapi.ts'
import { jsonBody } from '../lib/body.ts'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { type Db, dbTime } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody, unprocessable } from '../lib/errors.ts'
import { requestAud, requireEmailProvider } from '../lib/guards.ts'
import { clientOf } from '../lib/client.ts'
import { enforce, RULES } from '../lib/limits.ts'
import { allowedRedirect, codeLink, mailVars } from '../lib/links.ts'
import { issueOtp, revokeOtp } from '../lib/otp.ts'
import { ChallengeFields, challengeBinding } from '../lib/pkce.ts'
import { emailKey, findUserByEmail, parseMeta, updateUser, type UserRow } from '../lib/users.ts'

export const RecoverBody = t.Object({ email: t.Optional(t.String({ maxLength: 320 })), ...ChallengeFields }, { additionalProperties: true })

/** Takes this window's recovery mail for the user: sets recovery_sent_at unless one went out after `since`. One
 *  conditional UPDATE, so two nodes asked at the same moment cannot both see the old time and both send. */
async function claimRecoveryMail(db: Db, id: string, now: Date, since: Date): Promise<boolean> {
  const { changes } = await db.run(
    'UPDATE {users} SET recovery_sent_at = ?, updated_at = ? WHERE id = ? AND (recovery_sent_at IS NULL OR recovery_sent_at <= ?)',
    [dbTime(now), dbTime(now), id, dbTime(since)],
  )
  return changes === 1
}

export function recover(deps: Deps) {
  const { config, db, clock, mailer, log, instanceId } = deps
  return new Elysia({ name: 'recover' })
    .model({ 'recover.body': RecoverBody, 'recover.response': t.Object({}) })
    .post('/recover', async ({ body, headers, query, request, server }) => {
      const email = (body.email ?? '').trim()
      if (!email) throw unprocessable('Password recovery requires an email')
      // With a PKCE challenge the link lands with ?code= for POST /token grant_type=pkce (a recovery sign-in).
      const binding = challengeBinding(config, body.code_challenge, body.code_challenge_method)
      const aud = requestAud(deps, headers)
      // One mailbox has one budget, whatever the audience (X-JWT-AUD) asked for.
      await enforce(deps.limiter, RULES(config).otp, [clientOf(config, request, server), emailKey(email)], clock.now().getTime())
      const now = clock.now()
      const sent = await db.tx(async (tx) => {
        const user = await findUserByEmail(tx, instanceId, aud, email)
        if (!user) return null
        // Inside SMTP_MAX_FREQUENCY nothing is sent (the last link still works), and the answer is the same.
        if (!(await claimRecoveryMail(tx, user.id, now, new Date(now.getTime() - config.smtp.max_frequency * 1000)))) return null
        const token = await issueOtp(tx, instanceId, user.id, 'recovery', now, binding)
        const updated: UserRow = { ...user, recovery_sent_at: dbTime(now), updated_at: dbTime(now) }
        await writeAudit(tx, instanceId, actorOf(user), 'user_recovery_requested', now)
        return { user: updated, token, previous: user.recovery_sent_at, redirectTo: allowedRedirect(config, query.redirect_to) }
      })
      if (sent) {
        const { user, token } = sent
        const vars = mailVars(config, 'recovery', user.email, token, parseMeta(user.raw_user_meta_data), undefined, sent.redirectTo)
        if (binding) vars.ConfirmationURL = codeLink(config, token, sent.redirectTo)
        mailer.send('recovery', user.email, vars)
          .catch(async (e) => {
            log.error('recovery mail failed', { error: e })
            await db.tx(async (tx) => {
              await revokeOtp(tx, user.id, 'recovery')
              await updateUser(tx, user, { recovery_sent_at: sent.previous }, clock.now())
            }).catch(() => {})
          })
      }
      return {}
    }, {
      transform() { requireEmailProvider(deps) },
      parse: jsonBody('Could not read verification params'),
      body: 'recover.body',
      response: { 200: 'recover.response', 422: ErrorBody, 429: ErrorBody },
      detail: { summary: 'Request a password recovery mail (always 200 {} for well-formed requests)', tags: ['accounts'], parameters: [HEADERS.aud] },
    })
}
