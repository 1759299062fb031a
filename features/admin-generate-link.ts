// POST /admin/generate_link (admin): the link a mail would carry, handed to the admin instead of mailed (for a
// server that sends its own mails), as supabase's auth.admin.generateLink asks for it. Types: signup (creates the
// user with the password given, or re-issues a pending signup's link), invite (creates an invited user), magiclink
// and recovery (existing users), email_change_current / email_change_new (starts the change to `new_email`). The
// answer is the user with `action_link`, `hashed_token` (the token /verify takes as `token_hash`), `email_otp`
// (the sign-in code, for magiclink), `redirect_to` and `verification_type`. Nothing is mailed.
import { Elysia, t } from 'elysia'
import { alreadyRegistered, checkEmail, checkUserData, newAccount, requireFreeEmail, requiredEmail, takenOnDuplicate } from '../lib/accounts.ts'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { jsonBody } from '../lib/body.ts'
import { dbTime } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody, notFound, unprocessable } from '../lib/errors.ts'
import { adminReaches, guards, requireEmailProvider, requireKnownAud } from '../lib/guards.ts'
import { allowedRedirect, type LinkKind, magicLink, mailLink } from '../lib/links.ts'
import { SECURITY } from '../lib/openapi.ts'
import { issueCode, issueOtp } from '../lib/otp.ts'
import { findUserByEmail, insertUser, MetadataInput, metadataOf, passwordProblem, toUser, updateUser, User, type UserRow } from '../lib/users.ts'

export const GenerateLinkBody = t.Object({
  type: t.String({ maxLength: 32, description: 'signup | invite | magiclink | recovery | email_change_current | email_change_new' }),
  email: t.Optional(t.String({ maxLength: 320 })),
  new_email: t.Optional(t.String({ maxLength: 320 })),
  password: t.Optional(t.String({ maxLength: 1024 })),
  data: MetadataInput,
  redirect_to: t.Optional(t.String({ maxLength: 2048 })),
}, { additionalProperties: true })
const GeneratedLink = t.Object({
  ...User.properties,
  action_link: t.String(), hashed_token: t.String(), email_otp: t.String(), redirect_to: t.String(), verification_type: t.String(),
})

const KIND: Record<string, LinkKind> = { signup: 'confirmation', invite: 'invite', recovery: 'recovery', email_change_current: 'email_change', email_change_new: 'email_change' }

export function adminGenerateLink(deps: Deps) {
  const { config, db, clock, hasher, instanceId } = deps
  return new Elysia({ name: 'admin-generate-link' })
    .use(guards(deps))
    .model({ 'admin.generateLink': GenerateLinkBody, 'admin.generatedLink': GeneratedLink })
    .post('/admin/generate_link', async ({ body, query, aud, admin }) => {
      requireEmailProvider(deps)
      const type = body.type
      if (!Object.hasOwn(KIND, type) && type !== 'magiclink') throw unprocessable('Invalid link type')
      const email = checkEmail(requiredEmail(body.email))
      const data = metadataOf(body.data, 'data') ?? {}
      const redirectTo = allowedRedirect(config, body.redirect_to ?? query.redirect_to)
      const password = body.password ?? ''
      if (type === 'signup') {
        if (!password) throw unprocessable('Signup requires a valid password')
        const weak = passwordProblem(config.password.min_length, password)
        if (weak) throw unprocessable(weak)
      }
      const newEmail = type.startsWith('email_change') ? checkEmail(requiredEmail(body.new_email)) : ''
      if (type === 'signup' || type === 'invite') {
        await requireKnownAud(deps, aud)
        checkUserData(deps, data)
      }
      const hash = type === 'signup' ? await hasher.hash(password) : ''
      const out = await db.tx(async (tx) => {
        const now = clock.now()
        let user: UserRow | null = await findUserByEmail(tx, instanceId, aud, email)
        // a link logs its holder in as the user: never for an account above the caller's own rights
        if (user && !adminReaches(admin, user, aud)) throw notFound('User not found')
        if (type === 'signup' || type === 'invite') {
          if (user?.confirmed_at) throw alreadyRegistered()
          if (!user) {
            user = await insertUser(tx, newAccount(deps, {
              aud, email, encryptedPassword: hash, appMetadata: { provider: 'email' }, userMetadata: data, invitedAt: type === 'invite' ? now : null, now,
            }))
            await writeAudit(tx, instanceId, actorOf(user), type === 'invite' ? 'user_invited' : 'user_signedup', now)
          }
        }
        if (!user) throw notFound('User not found')
        if (type === 'magiclink') {
          const token = await issueOtp(tx, instanceId, user.id, 'magiclink', now)
          const code = await issueCode(tx, instanceId, user.id, 'magiclink_code', now, config.mailer.otp_length)
          return { user, token, code, link: magicLink(config, token, redirectTo) }
        }
        const kind = KIND[type] as LinkKind
        if (kind === 'email_change') {
          await requireFreeEmail(tx, instanceId, user.aud, newEmail, user.id)
          user = await updateUser(tx, user, { email_change: newEmail, email_change_sent_at: dbTime(now) }, now)
        }
        if (kind === 'confirmation') user = await updateUser(tx, user, { confirmation_sent_at: dbTime(now) }, now)
        if (kind === 'recovery') user = await updateUser(tx, user, { recovery_sent_at: dbTime(now) }, now)
        const token = await issueOtp(tx, instanceId, user.id, kind, now, kind === 'email_change' ? newEmail : '')
        return { user, token, code: '', link: mailLink(config, kind, token, redirectTo) }
      }).catch(takenOnDuplicate)
      return {
        ...toUser(out.user), action_link: out.link, hashed_token: out.token, email_otp: out.code,
        redirect_to: redirectTo ?? config.site_url, verification_type: type.startsWith('email_change') ? 'email_change' : type,
      }
    }, {
      auth: 'admin', body: 'admin.generateLink', parse: jsonBody('Could not read body'),
      response: { 200: 'admin.generatedLink', 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
      detail: { summary: 'Generate the link a mail would carry (signup, invite, magiclink, recovery, email change), without mailing it', tags: ['admin'], security: SECURITY.admin },
    })
}
