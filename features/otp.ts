// Passwordless sign-in, as supabase's clients ask for it: POST /otp mails a link and a short code for one sign-in
// (either one, used once through POST /verify, signs the user in), creating the account first when asked to
// (`create_user`); POST /resend mails a pending signup confirmation or email change again. Both answer 200 {}
// whether or not the address has an account or a mail went out; /otp writes a sign-in's tokens and mails it after
// responding, so neither the body nor the latency tells which addresses exist. One mail per address per SMTP_MAX_FREQUENCY; the link and the code
// live GOTRUE_MAILER_OTP_EXP; tries of a code are capped per code (lib/verify.ts).
import { Elysia, t } from 'elysia'
import { checkEmail, checkUserData, newAccount, requiredEmail, validateNewUser } from '../lib/accounts.ts'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { jsonBody } from '../lib/body.ts'
import { clientOf } from '../lib/client.ts'
import { type Db, dbTime, parseTime, UniqueViolation } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody, unprocessable } from '../lib/errors.ts'
import { requestAud, requireEmailProvider, requireKnownAud } from '../lib/guards.ts'
import { enforce, RULES } from '../lib/limits.ts'
import { allowedRedirect, codeLink, magicLink, mailVars } from '../lib/links.ts'
import type { MailKind } from '../lib/mailer.ts'
import { HEADERS } from '../lib/openapi.ts'
import { findOtpForUser, issueCode, issueOtp, revokeOtp } from '../lib/otp.ts'
import { claimOwnConfirmationMail } from '../lib/identities.ts'
import { ChallengeFields, challengeBinding } from '../lib/pkce.ts'
import { emailKey, findUserByEmail, insertUser, type Metadata, MetadataInput, metadataOf, parseMeta, updateUser, type UserRow } from '../lib/users.ts'

export const OtpBody = t.Object({
  email: t.Optional(t.String({ maxLength: 320 })),
  create_user: t.Optional(t.Boolean({ description: 'create the account when the address has none (default true)' })),
  data: MetadataInput,
  ...ChallengeFields,
}, { additionalProperties: true })
export const ResendBody = t.Object({
  email: t.Optional(t.String({ maxLength: 320 })),
  type: t.Optional(t.String({ maxLength: 32, description: 'signup | email_change' })),
  ...ChallengeFields,
}, { additionalProperties: true })

/** Takes this window's email change mail: sets email_change_sent_at unless the pending change is no longer `to`
 *  or its mail went out less than `maxFrequency` seconds before `now`. The matched-row count says who won, so two
 *  resends at once cannot both see the old time and both send (claimConfirmationMail in lib/users.ts). */
async function claimEmailChangeMail(db: Db, id: string, to: string, now: Date, maxFrequency: number): Promise<boolean> {
  const { changes } = await db.run(
    'UPDATE {users} SET email_change_sent_at = ?, updated_at = ? WHERE id = ? AND email_change = ? AND (email_change_sent_at IS NULL OR email_change_sent_at <= ?)',
    [dbTime(now), dbTime(now), id, to, dbTime(new Date(now.getTime() - maxFrequency * 1000))],
  )
  return changes === 1
}

/** A mail that goes out after the answer: its failure is logged and its tokens revoked (the answer never tells). */
function mailLater(deps: Deps, kind: MailKind, to: string, vars: Parameters<Deps['mailer']['send']>[2], userId: string, types: Parameters<typeof revokeOtp>[2][], sent?: SentAt) {
  deps.mailer.send(kind, to, vars).catch(async (e) => {
    deps.log.error(`${kind} mail failed`, { error: e })
    await deps.db.tx(async (tx) => {
      for (const type of types) await revokeOtp(tx, userId, type)
      // The mail that never went does not count against SMTP_MAX_FREQUENCY: its owner may ask again at once (unless
      // another request has mailed since).
      if (sent) await tx.run(`UPDATE {users} SET ${sent.column} = ? WHERE id = ? AND ${sent.column} = ?`, [sent.before, userId, sent.at])
    }).catch(() => {})
  })
}
/** The sent-at column a mail claimed (lib/users.ts claimConfirmationMail, claimEmailChangeMail): its value before
 *  the claim, and the claim's. */
interface SentAt { column: 'confirmation_sent_at' | 'email_change_sent_at'; before: string | null; at: string }

export function otp(deps: Deps) {
  const { config, db, clock, instanceId } = deps
  const recently = (sentAt: string | null, now: Date) => {
    const at = parseTime(sentAt)
    return at !== null && now.getTime() - at < config.smtp.max_frequency * 1000
  }

  /** The account for a sign-in: the existing one, or a new one without a password (unconfirmed until the link or
   *  code is used) when the caller asked for it and signups are open. */
  async function accountFor(email: string, aud: string, create: boolean, data: Metadata): Promise<UserRow | null> {
    const existing = await findUserByEmail(db, instanceId, aud, email)
    if (existing || !create || config.disable_signup) return existing
    await requireKnownAud(deps, aud)
    checkUserData(deps, data)
    const fields = await validateNewUser(deps, newAccount(deps, {
      id: crypto.randomUUID(), aud, email, appMetadata: { provider: 'email' }, userMetadata: data, now: clock.now(),
    }))
    try {
      return await db.tx(async (tx) => {
        const now = clock.now()
        // The sign-in mail that follows is this account's confirmation mail (its link or code confirms it), and
        // recording it makes the row a pending signup: the owner of an address that someone else sent here can
        // still /signup (a confirmation mail, no password installed) and /resend type=signup (features/signup.ts).
        let user = await insertUser(tx, { ...fields, confirmedAt: null, now })
        user = await updateUser(tx, user, { confirmation_sent_at: dbTime(now) }, now)
        await writeAudit(tx, instanceId, actorOf(user), 'user_signedup', now)
        return user
      })
    } catch (e) {
      if (e instanceof UniqueViolation) return findUserByEmail(db, instanceId, aud, email) // created meanwhile
      throw e
    }
  }

  /** Issues a sign-in's link and code and mails them, unless the last sign-in mail is inside SMTP_MAX_FREQUENCY.
   *  With a PKCE `binding` the link lands with ?code= for the exchange; the code is typed into the app that asked
   *  for it and is verified as ever. */
  async function signInMail(user: UserRow, redirectTo: string | null, binding: string): Promise<void> {
    const sent = await db.tx(async (tx) => {
      const now = clock.now()
      // The time of the last sign-in mail is its code's row: inside SMTP_MAX_FREQUENCY the last mail stands.
      const last = await findOtpForUser(tx, user.id, 'magiclink_code')
      if (last && recently(last.created_at, now)) return null
      return { link: await issueOtp(tx, instanceId, user.id, 'magiclink', now, binding), code: await issueCode(tx, instanceId, user.id, 'magiclink_code', now, config.mailer.otp_length) }
    })
    if (!sent) return
    const vars = { ...mailVars(config, 'confirmation', user.email, sent.code, parseMeta(user.raw_user_meta_data), undefined, redirectTo), ConfirmationURL: binding ? codeLink(config, sent.link, redirectTo) : magicLink(config, sent.link, redirectTo), TokenHash: sent.link }
    mailLater(deps, 'magic_link', user.email, vars, user.id, ['magiclink', 'magiclink_code'])
  }

  return new Elysia({ name: 'otp' })
    .model({ 'otp.body': OtpBody, 'otp.resend': ResendBody, 'otp.response': t.Object({}) })
    .post('/otp', async ({ body, headers, query, request, server }) => {
      const email = checkEmail(requiredEmail(body.email))
      const data = metadataOf(body.data, 'data') ?? {}
      const binding = challengeBinding(config, body.code_challenge, body.code_challenge_method)
      const aud = requestAud(deps, headers)
      await enforce(deps.limiter, RULES(config).otp, [clientOf(config, request, server), emailKey(email)], clock.now().getTime())
      const user = await accountFor(email, aud, body.create_user !== false, data)
      const redirectTo = allowedRedirect(config, query.redirect_to)
      // After the answer: an address with an account must not answer later than one without (with create_user
      // false the only difference would be this write transaction). A failure is logged; the answer never tells.
      if (user) setTimeout(() => void signInMail(user, redirectTo, binding).catch((e) => deps.log.error('sign-in mail failed', { error: e })), 0)
      return {}
    }, {
      transform() { requireEmailProvider(deps) },
      parse: jsonBody('Could not read verification params'),
      body: 'otp.body',
      response: { 200: 'otp.response', 400: ErrorBody, 422: ErrorBody, 429: ErrorBody },
      detail: { summary: 'Mail a sign-in link and code (always 200 {} for well-formed requests)', tags: ['accounts'], parameters: [HEADERS.aud] },
    })
    .post('/resend', async ({ body, headers, query, request, server }) => {
      const email = checkEmail(requiredEmail(body.email))
      if (body.type !== 'signup' && body.type !== 'email_change') throw unprocessable('Resend requires type signup or email_change')
      // A confirmation link can be bound to a PKCE challenge; an email change cannot (its token row keeps the new
      // address), so its challenge is ignored and its link is as ever.
      const binding = challengeBinding(config, body.code_challenge, body.code_challenge_method)
      const aud = requestAud(deps, headers)
      await enforce(deps.limiter, RULES(config).otp, [clientOf(config, request, server), emailKey(email)], clock.now().getTime())
      const redirectTo = allowedRedirect(config, query.redirect_to)
      const type = body.type
      const sent = await db.tx(async (tx) => {
        const user = await findUserByEmail(tx, instanceId, aud, email)
        const now = clock.now()
        if (!user) return null
        // The row was read without a lock, so concurrent resends may all find the last mail old enough: the claim
        // (a conditional UPDATE of the sent-at column) picks the one that mails, and only it issues a link.
        const maxFrequency = config.smtp.max_frequency
        if (type === 'signup') {
          // Only a signup nobody has confirmed (not an invite, not an admin's row) is mailed again.
          if (user.confirmed_at || user.invited_at || user.confirmation_sent_at === null) return null
          const claimed = await claimOwnConfirmationMail(tx, user, now, maxFrequency)
          if (!claimed) return null
          const token = await issueOtp(tx, instanceId, user.id, 'confirmation', now, binding)
          const at: SentAt = { column: 'confirmation_sent_at', before: user.confirmation_sent_at, at: dbTime(now) }
          return { user: claimed.user, token, to: user.email, kind: 'confirmation' as const, bound: binding !== '', at }
        }
        if (!user.email_change || !(await claimEmailChangeMail(tx, user.id, user.email_change, now, maxFrequency))) return null
        const token = await issueOtp(tx, instanceId, user.id, 'email_change', now, user.email_change)
        const at: SentAt = { column: 'email_change_sent_at', before: user.email_change_sent_at, at: dbTime(now) }
        return { user, token, to: user.email_change, kind: 'email_change' as const, bound: false, at }
      })
      if (sent) {
        const { user, token, to, kind } = sent
        const vars = mailVars(config, kind, user.email, token, parseMeta(user.raw_user_meta_data), kind === 'email_change' ? to : undefined, redirectTo)
        if (sent.bound) vars.ConfirmationURL = codeLink(config, token, redirectTo)
        mailLater(deps, kind, to, vars, user.id, [kind], sent.at)
      }
      return {}
    }, {
      transform() { requireEmailProvider(deps) },
      parse: jsonBody('Could not read verification params'),
      body: 'otp.resend',
      response: { 200: 'otp.response', 422: ErrorBody, 429: ErrorBody },
      detail: { summary: 'Mail a pending signup confirmation or email change again (always 200 {} for well-formed requests)', tags: ['accounts'], parameters: [HEADERS.aud] },
    })
}
