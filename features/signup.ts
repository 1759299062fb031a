// POST /signup: create a user, then autoconfirm or mail a confirmation link.
// Safer than the reference: a signup never sets the password, role, app_metadata or confirmation of an existing
// row (see `resend`), emails are always validated, a unique index stops concurrent duplicates, and SMTP runs
// after the commit — a failed mail undoes what was just written in a second short transaction.
import { Elysia, t } from 'elysia'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { type Db, dbTime, parseTime, UniqueViolation } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { badRequest, ErrorBody, forbidden, HttpError, internal, unprocessable } from '../lib/errors.ts'
import { requestAud, requireEmailProvider, requireKnownAud } from '../lib/guards.ts'
import { replyPatch } from '../lib/webhooks.ts'
import { clientOf, enforce, RULES } from '../lib/limits.ts'
import { mailVars } from '../lib/links.ts'
import { findOtpForUser, insertOtp, issueOtp, type OtpRow, revokeOtp } from '../lib/otp.ts'
import {
  deleteUser, emailKey, emailProblem, findUserByEmail, insertUser, mergeMeta, type Metadata, newUserRow, parseMeta, passwordProblem,
  toUser, updateUser, User, type UserPatch, type UserRow, MetadataInput, metadataOf,
} from '../lib/users.ts'

export const SignupBody = t.Object({
  email: t.Optional(t.String({ maxLength: 320 })),
  password: t.Optional(t.String({ maxLength: 1024 })),
  data: MetadataInput,
}, { additionalProperties: true })

/** What the transaction did, so the mail (after commit) and its undo know what to send or revert. `previous`
 *  and `previousLink` are the row and its confirmation token as they were before a re-signup; `shown` is what
 *  the caller is answered. */
interface Outcome { user: UserRow; shown: UserRow; created: boolean; token?: string; previous?: UserRow; previousLink?: OtpRow | null }

/** For a new user: its password hash and what the validate webhook decided (its id, so the hook saw the real one). */
interface Fresh { hash: string; id: string; appMetadata: Metadata; userMetadata: Metadata }
/** For an existing row, read before the transaction: the hash the password was compared with, and the result. */
interface Seen { hash: string; same: boolean }

const registered = () => badRequest('A user with this email address has already been registered')
/** The row changed between the reads before the transaction and the transaction: read again and retry. */
class Stale extends Error {}

/** A row that /signup made and nobody has confirmed. Invites set `invited_at`; admin-created and imported-by-admin
 *  rows never had a confirmation mail. Only such a row may be answered again by /signup; every other existing row
 *  is "already registered" (its owner accepts the invite or uses /recover). */
const pendingSignup = (u: UserRow): boolean => !u.confirmed_at && !u.invited_at && u.confirmation_sent_at !== null

/** A re-signup of a pending signup. With the password the row already has (so the caller set it), the
 *  user_metadata is merged, as in the reference. With another password nothing of the caller's is kept and the
 *  stored password is cleared: whoever signed up first, neither side then holds a password the other chose. The
 *  email's owner confirms through the mail (which logs them in) and sets a password with PUT /user. Installing
 *  the new password, even behind a fresh confirmation link, would not do: the owner cannot tell that link from
 *  their own. Either way the confirmation mail is sent again, at most once per SMTP_MAX_FREQUENCY. */
async function resend(tx: Db, deps: Deps, existing: UserRow, same: boolean, data: Metadata | null): Promise<Outcome> {
  const { config, clock, instanceId } = deps
  const now = clock.now()
  const patch: UserPatch = {}
  if (same && data) {
    const merged = mergeMeta(parseMeta(existing.raw_user_meta_data), data)
    const invalid = deps.validateUserData?.(merged) // checked after the merge, like PUT /user
    if (invalid) throw unprocessable(invalid)
    patch.raw_user_meta_data = JSON.stringify(merged)
  }
  if (!same && existing.encrypted_password) patch.encrypted_password = ''
  let user = Object.keys(patch).length ? await updateUser(tx, existing, patch, now) : existing
  // The caller is shown only the data it sent unless it proved to hold the password.
  const shown = same ? user : { ...user, raw_user_meta_data: JSON.stringify(data ?? {}) }
  const sentAt = parseTime(existing.confirmation_sent_at)
  if (sentAt !== null && now.getTime() - sentAt < config.smtp.max_frequency * 1000) return { user, shown, created: false }
  const previousLink = await findOtpForUser(tx, existing.id, 'confirmation')
  const token = await issueOtp(tx, instanceId, existing.id, 'confirmation', now)
  user = await updateUser(tx, user, { confirmation_sent_at: dbTime(now) }, now)
  return { user, shown: { ...shown, confirmation_sent_at: user.confirmation_sent_at }, created: false, token, previous: existing, previousLink }
}

/** One attempt: `seen` is the row read before the transaction (null: there was none), `fresh` what a new user
 *  needs. A row that appeared or changed since throws Stale, unless this is the last attempt (then a changed
 *  password counts as another password: clearing is the safe side). */
async function createOrResend(deps: Deps, email: string, aud: string, data: Metadata | null, seen: Seen | null, fresh: Fresh | null, last: boolean): Promise<Outcome> {
  const { config, clock, instanceId } = deps
  return deps.db.tx(async (tx) => {
    const existing = await findUserByEmail(tx, instanceId, aud, email)
    if (existing) {
      // Under autoconfirm every signup is confirmed at once, so an unconfirmed row is an invite, an admin's, or
      // older than the setting: none of them is this caller's to confirm.
      if (!pendingSignup(existing) || config.mailer.autoconfirm) throw registered()
      const unchanged = seen !== null && seen.hash === existing.encrypted_password
      if (!unchanged && !last) throw new Stale()
      return resend(tx, deps, existing, unchanged && seen.same, data)
    }
    if (!fresh) throw new Stale()
    const now = clock.now()
    const autoconfirm = config.mailer.autoconfirm
    let user = await insertUser(tx, {
      instanceId, id: fresh.id, aud, role: config.jwt.default_group_name, email, encryptedPassword: fresh.hash,
      appMetadata: fresh.appMetadata, userMetadata: fresh.userMetadata, confirmedAt: autoconfirm ? now : null, now,
    })
    if (autoconfirm) {
      // With a signup hook the entry waits for its answer: a failing hook undoes the signup (signupHook).
      if (!deps.webhooks.wants('signup')) await writeAudit(tx, instanceId, actorOf(user), 'user_signedup', now)
      return { user, shown: user, created: true }
    }
    const token = await issueOtp(tx, instanceId, user.id, 'confirmation', now)
    user = await updateUser(tx, user, { confirmation_sent_at: dbTime(now) }, now)
    return { user, shown: user, created: true, token }
  })
}

export function signup(deps: Deps) {
  const { config, db, hasher, mailer, log, webhooks, clock, instanceId } = deps

  /** The validate webhook for a new user, before any write (no transaction held while it runs). A re-signup
   *  of a pending signup is not validated again, as in the reference. */
  async function validateHook(email: string, aud: string, data: Metadata): Promise<Omit<Fresh, 'hash'>> {
    const v = { id: crypto.randomUUID(), appMetadata: { provider: 'email' } as Metadata, userMetadata: data }
    if (!webhooks.wants('validate')) return v
    const prospective = toUser(newUserRow({
      instanceId, id: v.id, aud, role: config.jwt.default_group_name, email, encryptedPassword: '',
      appMetadata: v.appMetadata, userMetadata: data, now: clock.now(),
    }))
    const reply = await webhooks.send('validate', instanceId, prospective)
    if (reply?.app_metadata && typeof reply.app_metadata === 'object') v.appMetadata = reply.app_metadata
    if (reply?.user_metadata && typeof reply.user_metadata === 'object') v.userMetadata = reply.user_metadata
    return v
  }

  /** Autoconfirm: the signup webhook after the commit; if it fails, the new user is deleted and the signup fails. */
  async function signupHook(user: UserRow): Promise<UserRow> {
    try {
      const patch = replyPatch(await webhooks.send('signup', instanceId, toUser(user)))
      return await db.tx(async (tx) => {
        const now = clock.now()
        const updated = Object.keys(patch).length ? await updateUser(tx, user, patch, now) : user
        await writeAudit(tx, instanceId, actorOf(updated), 'user_signedup', now)
        return updated
      })
    } catch (e) {
      await db.tx((tx) => deleteUser(tx, user.id)).catch((undo) => log.error('could not undo signup after webhook failure', { error: undo }))
      throw e
    }
  }

  /** Reads the row, does the bcrypt work it calls for outside the transaction (a comparison for an existing row,
   *  a hash and the validate hook for a new one), then writes. Two signups of one email at once: the loser of the
   *  insert finds the winner's row on its next attempt. */
  async function signUp(email: string, password: string, aud: string, data: Metadata | null): Promise<Outcome> {
    let fresh: Fresh | null = null
    for (let attempt = 1; ; attempt++) {
      const row = await findUserByEmail(db, instanceId, aud, email)
      let seen: Seen | null = null
      if (row) {
        // Refused rows need no bcrypt work (the transaction refuses them again, under its lock).
        if (!pendingSignup(row) || config.mailer.autoconfirm) throw registered()
        seen = { hash: row.encrypted_password, same: await hasher.verify(password, row.encrypted_password) }
      } else if (!fresh) {
        // New users' data is checked here; a re-signup's merged metadata inside the transaction.
        const invalid = deps.validateUserData?.(data ?? {})
        if (invalid) throw unprocessable(invalid)
        const hash = await hasher.hash(password)
        fresh = { hash, ...(await validateHook(email, aud, data ?? {})) }
      }
      try {
        return await createOrResend(deps, email, aud, data, seen, fresh, attempt === 3)
      } catch (e) {
        if (attempt === 3 || !(e instanceof Stale || e instanceof UniqueViolation)) throw e
      }
    }
  }

  const refused = (): boolean => config.disable_signup || config.external.email.disabled
  return new Elysia({ name: 'signup' })
    .model({ 'signup.body': SignupBody, 'signup.response': User })
    .post('/signup', async ({ body, headers, request, server }) => {
      const data = metadataOf(body.data, 'data') ?? null
      const password = body.password ?? ''
      const email = (body.email ?? '').trim()
      if (!password) throw unprocessable('Signup requires a valid password')
      if (!email) throw unprocessable('An email address is required')
      const problem = emailProblem(email)
      if (problem) throw unprocessable(`Unable to validate email address: ${problem}`)
      const weak = passwordProblem(config.password.min_length, password)
      if (weak) throw unprocessable(weak)
      const aud = requestAud(deps, headers)
      // Before the limits: a refused audience sends nothing and must not spend the address's budget.
      await requireKnownAud(deps, aud)
      // One mailbox has one budget, whatever the audience (X-JWT-AUD) asked for.
      await enforce(deps.limiter, RULES(config).otp, [clientOf(config, request, server), emailKey(email)], clock.now().getTime())
      const outcome = await signUp(email, password, aud, data)
      let { user } = outcome
      const { token } = outcome
      if (outcome.created && config.mailer.autoconfirm && webhooks.wants('signup')) user = await signupHook(user)
      if (token) {
        try {
          await mailer.send('confirmation', user.email, mailVars(config, 'confirmation', user.email, token, parseMeta(user.raw_user_meta_data)))
        } catch (e) {
          await db.tx(async (tx) => {
            if (outcome.created) await deleteUser(tx, user.id)
            else if (outcome.previous) {
              // The client is told the signup failed, so nothing of it stays: the password, the data and the
              // earlier confirmation link are as they were.
              const { encrypted_password, raw_user_meta_data, confirmation_sent_at } = outcome.previous
              await updateUser(tx, user, { encrypted_password, raw_user_meta_data, confirmation_sent_at }, clock.now())
              await revokeOtp(tx, user.id, 'confirmation')
              if (outcome.previousLink) await insertOtp(tx, instanceId, outcome.previousLink)
            }
          }).catch((undo) => log.error('could not undo signup after mail failure', { error: undo }))
          throw e instanceof HttpError ? e : internal('Error sending confirmation mail', e)
        }
      }
      return toUser(outcome.created ? user : outcome.shown)
    }, {
      // GoTrue refuses before reading the body. A value returned from `parse` replaces Elysia's body parser,
      // so a refused request's body is never read (an unparsable one gets the 403 too); `transform` throws.
      parse: () => (refused() ? {} : undefined),
      transform() {
        if (config.disable_signup) throw forbidden('Signups not allowed for this instance')
        requireEmailProvider(deps)
      },
      body: 'signup.body',
      response: { 200: 'signup.response', 400: ErrorBody, 403: ErrorBody, 422: ErrorBody, 429: ErrorBody, 500: ErrorBody },
      detail: { summary: 'Sign up with email and password', tags: ['accounts'] },
    })
}
