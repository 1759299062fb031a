// POST /logout: end sessions, clear the cookie, 204. `?scope=` as supabase/auth has it: `global` (the default,
// GoTrue's behaviour: every session of the user, on every device), `local` (the caller's session only) or
// `others` (every session but the caller's). Ended sessions lose their refresh tokens, and their access tokens
// are refused from then on (lib/revocations.ts) instead of living until they expire.
import { Elysia, t } from 'elysia'
import { actorOf, writeAudit } from '../lib/audit.ts'
import type { Deps } from '../lib/deps.ts'
import { badRequest, ErrorBody, unauthorized } from '../lib/errors.ts'
import { guards, SYSTEM_SUBS } from '../lib/guards.ts'
import { revocationsChanged } from '../lib/revocations.ts'
import { endOtherSessions, endSession, sessionOf } from '../lib/sessions.ts'
import { clearedCookie } from '../lib/access-cookie.ts'
import { findUserById } from '../lib/users.ts'

export const LogoutQuery = t.Object({
  scope: t.Optional(t.String({ maxLength: 16, description: 'global (default): every session of the user; local: this one; others: all but this one' })),
}, { additionalProperties: true })
const SCOPES = new Set(['global', 'local', 'others'])

export function logout(deps: Deps) {
  const { config, db, clock, instanceId } = deps
  return new Elysia({ name: 'logout' })
    .use(guards(deps))
    .post('/logout', async ({ claims, query, set }) => {
      // The cookie is cleared whatever happens next, as the reference does (first thing in its handler).
      const cleared = { 'set-cookie': clearedCookie(config) }
      const scope = query.scope || 'global'
      if (!SCOPES.has(scope)) throw badRequest(`Unsupported logout scope "${scope}"`)
      const sub = typeof claims.sub === 'string' ? claims.sub : ''
      if (!SYSTEM_SUBS.has(sub)) {
        if (!sub) throw unauthorized('Invalid user', cleared)
        const now = clock.now()
        // A token from before sessions were named has no session to keep or end alone: every scope ends them all.
        const current = sessionOf(claims)
        await db.tx(async (tx) => {
          const user = await findUserById(tx, instanceId, sub)
          if (!user) throw unauthorized('Invalid user', cleared)
          const ended = scope === 'local' && current
            ? Number(await endSession(tx, user, current, now, 'logout'))
            : await endOtherSessions(tx, user, scope === 'others' ? current : null, now, 'logout')
          await writeAudit(tx, instanceId, actorOf(user), ended ? ['logout', 'session_revoked'] : 'logout', now, { scope, sessions: ended })
        })
        revocationsChanged()
      }
      // 204 with no body and no JSON content type (gotrue-js would try to parse an empty JSON body).
      set.headers['set-cookie'] = cleared['set-cookie']
      return new Response(null, { status: 204 })
    }, {
      auth: 'user',
      query: LogoutQuery,
      response: { 204: t.Void({ description: 'Logged out (the access-token cookie cleared)' }), 400: ErrorBody, 401: ErrorBody },
      detail: { summary: 'Log out: end the sessions of the scope (default global: all of the user), 204', tags: ['accounts'], security: [{ bearer: [] }] },
    })
}
