// POST /signup: create a user, then autoconfirm or mail a confirmation link.
// Safer than the reference: a signup never sets the password, role, app_metadata or confirmation of an existing
// row (see `resend`), emails are always validated, a unique index stops concurrent duplicates, and SMTP runs
// after the commit — a failed mail undoes what was just written in a second short transaction.
import { Elysia, t } from 'elysia'
import {
  alreadyRegistered, checkEmail, checkUserData, columnsOf, deleteCreated, hookPatch, mailOrUndo, mergedUserData, newAccount, requiredEmail, restoreUser,
  undo, validateNewUser,
} from '../lib/accounts.ts'
import { HEADERS } from '../lib/openapi.ts'
import { jsonBody } from '../lib/body.ts'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { type Db, dbTime, UniqueViolation } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody, forbidden, unprocessable } from '../lib/errors.ts'
import { requestAud, requireEmailProvider, requireKnownAud } from '../lib/guards.ts'
import { clientOf } from '../lib/client.ts'
import { enforce, RULES } from '../lib/limits.ts'
import { allowedRedirect, codeLink, mailVars } from '../lib/links.ts'
import { ChallengeFields, challengeBinding } from '../lib/pkce.ts'
import { speaksSupabase, withSession } from '../lib/dialect.ts'
import { issueSession } from '../lib/sessions.ts'
import { TokenBody } from '../lib/tokens.ts'
import { issueOtp, type OtpRow } from '../lib/otp.ts'
import { claimOwnConfirmationMail } from '../lib/identities.ts'
import {
  deleteUser, emailKey, findUserByEmail, findUserById, insertUser, type Metadata, type NewUser, parseMeta, passwordProblem, toUser, updateUser, User,
  type UserPatch, type UserRow, MetadataInput, metadataOf,
} from '../lib/users.ts'

export const SignupBody = t.Object({
  email: t.Optional(t.String({ maxLength: 320 })),
  password: t.Optional(t.String({ maxLength: 1024 })),
  data: MetadataInput,
  ...ChallengeFields,
}, { additionalProperties: true })

/** What the transaction did, so the mail (after commit) and its undo know what to send or revert. `previous`
 *  and `previousLink` are the row and its confirmation token as they were before a re-signup; `shown` is what
 *  the caller is answered. */
interface Outcome { user: UserRow; shown: UserRow; created: boolean; token?: string; previous?: UserRow; previousLink?: OtpRow | null }

/** For a new user: its fields as the validate webhook left them (with the id it was shown) and the password hash. */
type Fresh = NewUser & { id: string }
/** For an existing row, read before the transaction: the hash the password was compared with, and the result. */
interface Seen { hash: string; same: boolean }

/** The row changed between the reads before the transaction and the transaction: read again and retry. */
class Stale extends Error {}

/** A row that /signup made and nobody has confirmed (or /otp, for an address without an account: its sign-in mail
 *  counts as the confirmation mail, so its owner may still sign up after someone else asked for one). Invites set `invited_at`; admin-created and imported-by-admin
 *  rows never had a confirmation mail. Only such a row may be answered again by /signup; every other existing row
 *  is "already registered" (its owner accepts the invite or uses /recover). */
const pendingSignup = (u: UserRow): boolean => !u.confirmed_at && !u.invited_at && u.confirmation_sent_at !== null

/** A re-signup of a pending signup. With the password the row already has (so the caller set it), the
 *  user_metadata is merged, as in the reference. With another password nothing of the caller's is kept and the
 *  stored password is cleared: whoever signed up first, neither side then holds a password the other chose. The
 *  email's owner confirms through the mail (which logs them in) and sets a password with PUT /user. Installing
 *  the new password, even behind a fresh confirmation link, would not do: the owner cannot tell that link from
 *  their own. Either way the confirmation mail is sent again, at most once per SMTP_MAX_FREQUENCY. */
async function resend(tx: Db, deps: Deps, existing: UserRow, same: boolean, data: Metadata | null, binding: string): Promise<Outcome> {
  const { config, clock, instanceId } = deps
  const now = clock.now()
  const patch: UserPatch = {}
  if (same && data) patch.raw_user_meta_data = mergedUserData(deps, existing.raw_user_meta_data, data) // as PUT /user
  if (!same && existing.encrypted_password) patch.encrypted_password = ''
  // Nor a profile either side chose (a name, an avatar URL on someone's server): the owner sets theirs once in.
  if (!same && existing.raw_user_meta_data !== '{}') patch.raw_user_meta_data = '{}'
  let user = Object.keys(patch).length ? await updateUser(tx, existing, patch, now) : existing
  // The row is locked (createOrResend), so no other signup decides meanwhile; the claim is still what decides, as
  // for every confirmation mail, so that a /resend of the address is held to the same window.
  const claimed = await claimOwnConfirmationMail(tx, user, now, config.smtp.max_frequency)
  if (claimed) user = claimed.user
  // The caller is shown only the data it sent unless it proved to hold the password.
  const shown = same ? user : { ...user, raw_user_meta_data: JSON.stringify(data ?? {}) }
  if (!claimed) return { user, shown, created: false }
  const previousLink = claimed.live
  const token = await issueOtp(tx, instanceId, existing.id, 'confirmation', now, binding)
  // A failed mail puts the row back, but not what the unproven links it dropped gave the profile.
  return { user, shown, created: false, token, previous: { ...existing, ...claimed.takeBack(existing) }, previousLink }
}

/** One attempt: `seen` is the row read before the transaction (null: there was none), `fresh` what a new user
 *  needs, `binding` the PKCE challenge the confirmation link is bound to ('' for none). A row that appeared or
 *  changed since throws Stale, unless this is the last attempt (then a changed password counts as another
 *  password: clearing is the safe side). */
async function createOrResend(deps: Deps, email: string, aud: string, data: Metadata | null, seen: Seen | null, fresh: Fresh | null, last: boolean, binding: string): Promise<Outcome> {
  const { config, clock, instanceId } = deps
  return deps.db.tx(async (tx) => {
    // A row read before the transaction is read again under its lock: on MySQL a plain read answers from the
    // transaction's snapshot, and an account that a /verify confirmed after it would lose the confirmed password
    // to resend()'s clearing. Without one, the plain read: the unique index decides between two first signups (a
    // locking read that finds nothing would lock the index gap, and their inserts would deadlock). A row that
    // appeared meanwhile is locked by its id before anything is decided from it. (On Galera the lock holds on one
    // node only, but a re-signup that changes anything writes this row, as a /verify does: of the two, the later
    // commit fails certification and is run again on the other's result, as if they had run one after the other.)
    const found = await findUserByEmail(tx, instanceId, aud, email, seen !== null)
    const existing = found && !seen ? await findUserById(tx, instanceId, found.id, true) : found
    if (existing) {
      // Under autoconfirm every signup is confirmed at once, so an unconfirmed row is an invite, an admin's, or
      // older than the setting: none of them is this caller's to confirm.
      if (!pendingSignup(existing) || config.mailer.autoconfirm) throw alreadyRegistered()
      const unchanged = seen !== null && seen.hash === existing.encrypted_password
      if (!unchanged && !last) throw new Stale()
      return resend(tx, deps, existing, unchanged && seen.same, data, binding)
    }
    if (!fresh) throw new Stale()
    const now = clock.now()
    const autoconfirm = config.mailer.autoconfirm
    let user = await insertUser(tx, { ...fresh, confirmedAt: autoconfirm ? now : null, now })
    if (autoconfirm) {
      // With a signup hook the entry waits for its answer: a failing hook undoes the signup (signupHook).
      if (!deps.webhooks.wants('signup')) await writeAudit(tx, instanceId, actorOf(user), 'user_signedup', now)
      return { user, shown: user, created: true }
    }
    const token = await issueOtp(tx, instanceId, user.id, 'confirmation', now, binding)
    user = await updateUser(tx, user, { confirmation_sent_at: dbTime(now) }, now)
    return { user, shown: user, created: true, token }
  })
}

const SignupAnswer = t.Union([User, TokenBody]) as unknown as typeof User

export function signup(deps: Deps) {
  const { config, db, hasher, mailer, webhooks, clock, instanceId } = deps

  /** Autoconfirm: the signup webhook after the commit; if it fails, the new user is deleted and the signup fails. */
  async function signupHook(user: UserRow): Promise<UserRow> {
    try {
      const patch = await hookPatch(deps, 'signup', user)
      return await db.tx(async (tx) => {
        const now = clock.now()
        const updated = Object.keys(patch).length ? await updateUser(tx, user, patch, now) : user
        await writeAudit(tx, instanceId, actorOf(updated), 'user_signedup', now)
        return updated
      })
    } catch (e) {
      await undo(deps, 'signup after webhook failure', (tx) => deleteUser(tx, user.id))
      throw e
    }
  }

  /** Reads the row, does the bcrypt work it calls for outside the transaction (a comparison for an existing row,
   *  a hash and the validate hook for a new one), then writes. Two signups of one email at once: the loser of the
   *  insert finds the winner's row on its next attempt. */
  async function signUp(email: string, password: string, aud: string, data: Metadata | null, binding: string): Promise<Outcome> {
    let fresh: Fresh | null = null
    for (let attempt = 1; ; attempt++) {
      const row = await findUserByEmail(db, instanceId, aud, email)
      let seen: Seen | null = null
      if (row) {
        // Refused rows need no bcrypt work (the transaction refuses them again, under its lock).
        if (!pendingSignup(row) || config.mailer.autoconfirm) throw alreadyRegistered()
        seen = { hash: row.encrypted_password, same: await hasher.verify(password, row.encrypted_password) }
      } else if (!fresh) {
        // New users' data is checked here; a re-signup's merged metadata inside the transaction. A re-signup of
        // a pending signup is not validated by the webhook again, as in the reference.
        checkUserData(deps, data ?? {})
        const hash = await hasher.hash(password)
        const account = newAccount(deps, {
          id: crypto.randomUUID(), aud, email, appMetadata: { provider: 'email' }, userMetadata: data ?? {}, now: clock.now(),
        })
        fresh = { ...(await validateNewUser(deps, account)), encryptedPassword: hash }
      }
      try {
        return await createOrResend(deps, email, aud, data, seen, fresh, attempt === 3, binding)
      } catch (e) {
        if (attempt === 3 || !(e instanceof Stale || e instanceof UniqueViolation)) throw e
      }
    }
  }

  const refused = (): boolean => config.disable_signup || config.external.email.disabled
  return new Elysia({ name: 'signup' })
    .model({ 'signup.body': SignupBody, 'signup.response': User })
    .post('/signup', async ({ body, headers, query, request, server }) => {
      const data = metadataOf(body.data, 'data') ?? null
      const password = body.password ?? ''
      if (!password) throw unprocessable('Signup requires a valid password')
      const email = checkEmail(requiredEmail(body.email))
      const weak = passwordProblem(config.password.min_length, password)
      if (weak) throw unprocessable(weak)
      // With autoconfirm there is no link to bind: the signup answers the session itself.
      const binding = challengeBinding(config, body.code_challenge, body.code_challenge_method)
      const aud = requestAud(deps, headers)
      // Before the limits: a refused audience sends nothing and must not spend the address's budget.
      await requireKnownAud(deps, aud)
      // One mailbox has one budget, whatever the audience (X-JWT-AUD) asked for.
      await enforce(deps.limiter, RULES(config).otp, [clientOf(config, request, server), emailKey(email)], clock.now().getTime())
      const outcome = await signUp(email, password, aud, data, binding)
      let { user } = outcome
      const { token } = outcome
      if (outcome.created && config.mailer.autoconfirm && webhooks.wants('signup')) user = await signupHook(user)
      if (token) {
        const redirectTo = allowedRedirect(config, query.redirect_to)
        const vars = mailVars(config, 'confirmation', user.email, token, parseMeta(user.raw_user_meta_data), undefined, redirectTo)
        if (binding) vars.ConfirmationURL = codeLink(config, token, redirectTo)
        await mailOrUndo(deps,
          () => mailer.send('confirmation', user.email, vars),
          'Error sending confirmation mail', 'signup after mail failure', async (tx) => {
            if (outcome.created) await deleteCreated(tx, deps, user, 'confirmation', token)
            // The client is told the signup failed, so nothing of it stays: the password, the data and the
            // earlier confirmation link are as they were.
            else if (outcome.previous) {
              const earlier = columnsOf(outcome.previous, ['encrypted_password', 'raw_user_meta_data', 'confirmation_sent_at'])
              await restoreUser(tx, deps, user, earlier, 'confirmation', outcome.previousLink ?? null, token)
            }
          })
      }
      // supabase's signup signs a user in who needs no confirmation; GoTrue's answers the user, whose client then
      // logs in. Which answer is a question of the client's dialect (lib/dialect.ts), not of the account.
      if (outcome.created && config.mailer.autoconfirm && speaksSupabase(request)) {
        const origin = { userAgent: request.headers.get('user-agent'), client: clientOf(config, request, server) }
        const session = await db.tx(async (tx) => {
          const now = clock.now()
          return issueSession(tx, config, await updateUser(tx, user, { last_sign_in_at: dbTime(now) }, now), now, origin)
        })
        return withSession(toUser(user), session)
      }
      return toUser(outcome.created ? user : outcome.shown)
    }, {
      // GoTrue refuses before reading the body. A value returned from `parse` replaces Elysia's body parser,
      // so a refused request's body is never read (an unparsable one gets the 403 too); `transform` throws.
      parse: [() => (refused() ? {} : undefined), jsonBody('Could not read Signup params')],
      transform() {
        if (config.disable_signup) throw forbidden('Signups not allowed for this instance')
        requireEmailProvider(deps)
      },
      body: 'signup.body',
      // A supabase client with autoconfirm on is answered the session instead of the user (lib/dialect.ts): the
      // check at run time takes either, while the type (Eden) and the document show GoTrue's answer, the one every
      // other client gets (the document names the other in its description).
      response: { 200: SignupAnswer, 400: ErrorBody, 403: ErrorBody, 422: ErrorBody, 429: ErrorBody, 500: ErrorBody },
      detail: {
        summary: 'Sign up with email and password', tags: ['accounts'], parameters: [HEADERS.aud],
        responses: {
          200: {
            description: 'The user. A supabase client (X-Supabase-Api-Version or apikey header) with GOTRUE_MAILER_AUTOCONFIRM on is answered a session instead: token.response with `user` and `expires_at`',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/signup.response' }, example: User.examples?.[0] } },
          },
        },
      },
    })
}
