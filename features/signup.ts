// POST /signup: create a user (or refresh an unconfirmed one), then autoconfirm or mail a confirmation link.
// Safer than the reference: re-signup of an unconfirmed email replaces its password (no pre-hijacking), emails
// are always validated, a unique index stops concurrent duplicates, and SMTP runs after the commit — a failed
// mail undoes what was just written in a second short transaction.
import { Elysia, t } from 'elysia'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { type Db, dbTime, parseTime, UniqueViolation } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { badRequest, ErrorBody, forbidden, HttpError, internal, unprocessable } from '../lib/errors.ts'
import { requestAud, requireEmailProvider } from '../lib/guards.ts'
import { replyPatch } from '../lib/webhooks.ts'
import { clientOf, enforce, RULES } from '../lib/limits.ts'
import { mailVars } from '../lib/links.ts'
import { issueOtp, revokeOtp } from '../lib/otp.ts'
import {
  deleteUser, emailKey, emailProblem, findUserByEmail, insertUser, mergeMeta, type Metadata, newUserRow, parseMeta, passwordProblem, toUser, updateUser, User, type UserRow, MetadataInput, metadataOf
} from '../lib/users.ts'

export const SignupBody = t.Object({
  email: t.Optional(t.String({ maxLength: 320 })),
  password: t.Optional(t.String({ maxLength: 1024 })),
  data: MetadataInput,
}, { additionalProperties: true })

/** What the transaction did, so the mail (after commit) and its undo know what to send or revert.
 *  `previous` is the row as it was before this request (a re-signup), `created` a user inserted by it. */
interface Outcome { user: UserRow; created: boolean; token?: string; previous?: UserRow }

/** What the validate webhook decided for a new user: its id (so the hook saw the real one) and metadata. */
interface Validated { id: string; appMetadata: Metadata; userMetadata: Metadata }

async function createOrRefresh(db: Db, deps: Deps, email: string, hash: string, data: Record<string, unknown> | null, aud: string, v: Validated): Promise<Outcome> {
  const { config, clock, instanceId } = deps
  const now = clock.now()
  return db.tx(async (tx) => {
    const existing = await findUserByEmail(tx, instanceId, aud, email)
    if (existing?.confirmed_at) throw badRequest('A user with this email address has already been registered')
    let user: UserRow
    if (existing) {
      const merged = mergeMeta(parseMeta(existing.raw_user_meta_data), data ?? {})
      const invalid = deps.validateUserData?.(merged) // a re-signup is checked after the merge
      if (invalid) throw unprocessable(invalid)
      user = await updateUser(tx, existing, { encrypted_password: hash, raw_user_meta_data: JSON.stringify(merged) }, now)
    } else {
      user = await insertUser(tx, {
        instanceId, id: v.id, aud, role: config.jwt.default_group_name, email, encryptedPassword: hash,
        appMetadata: v.appMetadata, userMetadata: v.userMetadata, now,
      })
    }
    if (config.mailer.autoconfirm) {
      user = await updateUser(tx, user, { confirmed_at: dbTime(now) }, now)
      // With a signup hook the entry waits for its answer: a failing hook undoes the signup (signupHook).
      if (!deps.webhooks.wants('signup')) await writeAudit(tx, instanceId, actorOf(user), 'user_signedup', now)
      return { user, created: !existing, previous: existing ?? undefined }
    }
    // SMTP_MAX_FREQUENCY: a repeated signup within the window silently sends nothing (the old link stays valid).
    const sentAt = parseTime(user.confirmation_sent_at)
    if (sentAt !== null && now.getTime() - sentAt < config.smtp.max_frequency * 1000) return { user, created: false }
    const token = await issueOtp(tx, instanceId, user.id, 'confirmation', now)
    user = await updateUser(tx, user, { confirmation_sent_at: dbTime(now) }, now)
    return { user, created: !existing, token, previous: existing ?? undefined }
  })
}

export function signup(deps: Deps) {
  const { config, db, hasher, mailer, log, webhooks, clock, instanceId } = deps

  /** The validate webhook for a new user, before any write (no transaction held while it runs). A re-signup
   *  of an unconfirmed user is not validated again, as in the reference. */
  async function validateHook(email: string, aud: string, data: Metadata): Promise<Validated> {
    const v: Validated = { id: crypto.randomUUID(), appMetadata: { provider: 'email' }, userMetadata: data }
    if (!webhooks.wants('validate') || (await findUserByEmail(db, instanceId, aud, email))) return v
    const prospective = toUser(newUserRow({
      instanceId, id: v.id, aud, role: config.jwt.default_group_name, email, encryptedPassword: '',
      appMetadata: v.appMetadata, userMetadata: data, now: clock.now(),
    }))
    const reply = await webhooks.send('validate', instanceId, prospective)
    if (reply?.app_metadata && typeof reply.app_metadata === 'object') v.appMetadata = reply.app_metadata
    if (reply?.user_metadata && typeof reply.user_metadata === 'object') v.userMetadata = reply.user_metadata
    return v
  }

  /** Autoconfirm: the signup webhook after the commit; if it fails, the signup is undone and fails with it. */
  async function signupHook(outcome: Outcome): Promise<UserRow> {
    const { user } = outcome
    try {
      const patch = replyPatch(await webhooks.send('signup', instanceId, toUser(user)))
      return await db.tx(async (tx) => {
        const now = clock.now()
        const updated = Object.keys(patch).length ? await updateUser(tx, user, patch, now) : user
        await writeAudit(tx, instanceId, actorOf(updated), 'user_signedup', now)
        return updated
      })
    } catch (e) {
      await db.tx(async (tx) => {
        if (outcome.created) await deleteUser(tx, user.id)
        else if (outcome.previous) {
          const { encrypted_password, raw_user_meta_data, confirmed_at } = outcome.previous
          await updateUser(tx, user, { encrypted_password, raw_user_meta_data, confirmed_at }, clock.now())
        }
      }).catch((undo) => log.error('could not undo signup after webhook failure', { error: undo }))
      throw e
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
      // New users are checked here; a re-signup's merged metadata inside the transaction.
      const invalid = deps.validateUserData?.(data ?? {})
      if (invalid && !(await findUserByEmail(db, deps.instanceId, requestAud(deps, headers), email))) throw unprocessable(invalid)
      const aud = requestAud(deps, headers)
      await enforce(deps.limiter, RULES(config).otp, [clientOf(config, request, server), `${aud}\n${emailKey(email)}`], clock.now().getTime())
      const hash = await hasher.hash(password)
      const validated = await validateHook(email, aud, data ?? {})
      let outcome: Outcome
      try {
        outcome = await createOrRefresh(db, deps, email, hash, data, aud, validated)
      } catch (e) {
        // Two signups of one email at once: the loser retries and finds the winner's row.
        if (!(e instanceof UniqueViolation)) throw e
        outcome = await createOrRefresh(db, deps, email, hash, data, aud, validated)
      }
      let { user } = outcome
      const { token } = outcome
      if (config.mailer.autoconfirm && webhooks.wants('signup') && (outcome.created || !outcome.previous?.confirmed_at)) {
        user = await signupHook(outcome)
      }
      if (token) {
        try {
          await mailer.send('confirmation', user.email, mailVars(config, 'confirmation', user.email, token, parseMeta(user.raw_user_meta_data)))
        } catch (e) {
          await db.tx(async (tx) => {
            if (outcome.created) await deleteUser(tx, user.id)
            else if (outcome.previous) {
              // The client is told the signup failed, so it must not have replaced the password or the data.
              const { encrypted_password, raw_user_meta_data, confirmation_sent_at } = outcome.previous
              await updateUser(tx, user, { encrypted_password, raw_user_meta_data, confirmation_sent_at }, deps.clock.now())
              await revokeOtp(tx, user.id, 'confirmation')
            }
          }).catch((undo) => log.error('could not undo signup after mail failure', { error: undo }))
          throw e instanceof HttpError ? e : internal('Error sending confirmation mail', e)
        }
      }
      return toUser(user)
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
