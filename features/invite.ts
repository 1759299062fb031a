// POST /invite (admin): create a user without a password and mail an invite link (valid 7 days by default).
// The invitee sets a password through POST /verify (type signup or invite) or signs in with a provider.
import { Elysia, t } from 'elysia'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { UniqueViolation } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody, HttpError, internal, unprocessable } from '../lib/errors.ts'
import { guards } from '../lib/guards.ts'
import { clientOf, enforce, RULES } from '../lib/limits.ts'
import { mailVars } from '../lib/links.ts'
import { issueOtp } from '../lib/otp.ts'
import { deleteUser, emailKey, emailProblem, findUserByEmail, insertUser, type Metadata, newUserRow, toUser, User, MetadataInput, metadataOf } from '../lib/users.ts'

export const InviteBody = t.Object({
  email: t.Optional(t.String({ maxLength: 320 })),
  data: MetadataInput,
}, { additionalProperties: true })

export function invite(deps: Deps) {
  const { config, db, clock, mailer, instanceId, log, webhooks } = deps
  return new Elysia({ name: 'invite' })
    .use(guards(deps))
    .model({ 'invite.body': InviteBody, 'invite.response': User })
    .post('/invite', async ({ body, admin, aud, request, server }) => {
      const data = metadataOf(body.data, 'data') ?? {}
      const email = (body.email ?? '').trim()
      if (!email) throw unprocessable('An email address is required')
      await enforce(deps.limiter, RULES(config).otp, [clientOf(config, request, server), emailKey(email)], clock.now().getTime())
      const problem = emailProblem(email)
      if (problem) throw unprocessable(`Unable to validate email address: ${problem}`)
      const invalid = deps.validateUserData?.(data)
      if (invalid) throw unprocessable(invalid)
      const now = clock.now()
      const taken = () => unprocessable('Email address already registered by another user')
      const fields = {
        instanceId, id: crypto.randomUUID(), aud, role: config.jwt.default_group_name, email, encryptedPassword: '',
        appMetadata: { provider: 'email' } as Metadata, userMetadata: data, invitedAt: now, now,
      }
      // The validate webhook sees the user before it is written (no transaction is held while it runs).
      if (webhooks.wants('validate')) {
        if (await findUserByEmail(db, instanceId, aud, email)) throw taken()
        const reply = await webhooks.send('validate', instanceId, toUser(newUserRow(fields)))
        if (reply?.app_metadata) fields.appMetadata = reply.app_metadata
        if (reply?.user_metadata) fields.userMetadata = reply.user_metadata
      }
      const { user, token } = await db.tx(async (tx) => {
        if (await findUserByEmail(tx, instanceId, aud, email)) throw taken()
        const user = await insertUser(tx, fields)
        const token = await issueOtp(tx, instanceId, user.id, 'invite', now)
        return { user, token }
      }).catch((e) => { throw e instanceof UniqueViolation ? taken() : e })
      try {
        await mailer.send('invite', user.email, mailVars(config, 'invite', user.email, token, data))
      } catch (e) {
        await db.tx((tx) => deleteUser(tx, user.id)).catch((undo) => log.error('could not undo invite after mail failure', { error: undo }))
        throw e instanceof HttpError ? e : internal('Error inviting user', e)
      }
      // Audited once the mail went out: a failed invite is undone above and must not stay in the log.
      const actor = admin?.user ? actorOf(admin.user) : { id: admin?.id ?? '', email: admin?.email ?? '' }
      await db.tx((tx) => writeAudit(tx, instanceId, actor, 'user_invited', now, { user_id: user.id, user_email: user.email }))
      return toUser(user)
    }, {
      auth: 'admin',
      body: 'invite.body',
      response: { 200: 'invite.response', 401: ErrorBody, 422: ErrorBody, 429: ErrorBody, 500: ErrorBody },
      detail: { summary: 'Invite a user by email (admin)', tags: ['accounts'], security: [{ bearer: [] }] },
    })
}
