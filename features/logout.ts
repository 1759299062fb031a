// POST /logout: revoke every refresh token of the user (all devices, as GoTrue does), clear the cookie, 204.
// Access tokens stay valid until they expire.
import { Elysia } from 'elysia'
import { actorOf, writeAudit } from '../lib/audit.ts'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody, unauthorized } from '../lib/errors.ts'
import { guards, SYSTEM_SUBS } from '../lib/guards.ts'
import { clearedCookie, revokeUserSessions } from '../lib/sessions.ts'
import { findUserById } from '../lib/users.ts'

export function logout(deps: Deps) {
  const { config, db, clock, instanceId } = deps
  return new Elysia({ name: 'logout' })
    .use(guards(deps))
    .post('/logout', async ({ claims, set }) => {
      // The cookie is cleared whatever happens next, as the reference does (first thing in its handler).
      const cleared = { 'set-cookie': clearedCookie(config) }
      const sub = typeof claims.sub === 'string' ? claims.sub : ''
      if (!SYSTEM_SUBS.has(sub)) {
        if (!sub) throw unauthorized('Invalid user', cleared)
        const now = clock.now()
        await db.tx(async (tx) => {
          const user = await findUserById(tx, instanceId, sub)
          if (!user) throw unauthorized('Invalid user', cleared)
          await writeAudit(tx, instanceId, actorOf(user), 'logout', now)
          await revokeUserSessions(tx, instanceId, user.id)
        })
      }
      // 204 with no body and no JSON content type (gotrue-js would try to parse an empty JSON body).
      set.headers['set-cookie'] = cleared['set-cookie']
      return new Response(null, { status: 204 })
    }, {
      auth: 'user',
      response: { 401: ErrorBody },
      detail: { summary: 'Log out: revoke all refresh tokens of the user (204)', tags: ['accounts'], security: [{ bearer: [] }] },
    })
}
