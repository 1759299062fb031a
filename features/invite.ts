// POST /invite (admin): create a user without a password and mail an invite link (valid 7 days by default).
// The invitee sets a password through POST /verify (type signup or invite) or signs in with a provider.
import { Elysia, t } from 'elysia'
import {
  checkEmail, checkUserData, mailOrUndo, newAccount, requiredEmail, requireFreeEmail, takenOnDuplicate, validateNewUser,
} from '../lib/accounts.ts'
import { SECURITY } from '../lib/openapi.ts'
import { jsonBody } from '../lib/body.ts'
import { writeAudit } from '../lib/audit.ts'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody } from '../lib/errors.ts'
import { adminActor, guards } from '../lib/guards.ts'
import { clientOf } from '../lib/client.ts'
import { enforce, RULES } from '../lib/limits.ts'
import { allowedRedirect, mailVars } from '../lib/links.ts'
import { issueOtp } from '../lib/otp.ts'
import { deleteUser, emailKey, insertUser, toUser, User, MetadataInput, metadataOf } from '../lib/users.ts'

export const InviteBody = t.Object({
  email: t.Optional(t.String({ maxLength: 320 })),
  data: MetadataInput,
}, { additionalProperties: true })

export function invite(deps: Deps) {
  const { config, db, clock, mailer, instanceId, webhooks } = deps
  return new Elysia({ name: 'invite' })
    .use(guards(deps))
    .model({ 'invite.body': InviteBody, 'invite.response': User })
    .post('/invite', async ({ body, admin, aud, query, request, server }) => {
      const data = metadataOf(body.data, 'data') ?? {}
      const email = requiredEmail(body.email)
      await enforce(deps.limiter, RULES(config).otp, [clientOf(config, request, server), emailKey(email)], clock.now().getTime())
      checkEmail(email)
      checkUserData(deps, data)
      const now = clock.now()
      // A taken address is refused before the validate webhook is asked about it.
      if (webhooks.wants('validate')) await requireFreeEmail(db, instanceId, aud, email)
      const fields = await validateNewUser(deps, newAccount(deps, {
        id: crypto.randomUUID(), aud, email, appMetadata: { provider: 'email' }, userMetadata: data, invitedAt: now, now,
      }))
      const { user, token } = await db.tx(async (tx) => {
        await requireFreeEmail(tx, instanceId, aud, email)
        const user = await insertUser(tx, fields)
        const token = await issueOtp(tx, instanceId, user.id, 'invite', now)
        return { user, token }
      }).catch(takenOnDuplicate)
      await mailOrUndo(deps, () => mailer.send('invite', user.email, mailVars(config, 'invite', user.email, token, data, undefined, allowedRedirect(config, query.redirect_to))),
        'Error inviting user', 'invite after mail failure', (tx) => deleteUser(tx, user.id))
      // Audited once the mail went out: a failed invite is undone above and must not stay in the log.
      await db.tx((tx) => writeAudit(tx, instanceId, adminActor(admin), 'user_invited', now, { user_id: user.id, user_email: user.email }))
      return toUser(user)
    }, {
      auth: 'admin',
      parse: jsonBody('Could not read Invite params'),
      body: 'invite.body',
      response: { 200: 'invite.response', 401: ErrorBody, 422: ErrorBody, 429: ErrorBody, 500: ErrorBody },
      detail: { summary: 'Invite a user by email (admin)', tags: ['accounts'], security: SECURITY.admin },
    })
}
