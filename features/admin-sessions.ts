// The admin view of a user's sessions: list them, end one, or end them all (the operator token or an admin JWT,
// the same visibility as /admin/users: an audience admin sees its audience only, and never a super admin).
// Ended sessions' access tokens are refused on every node within a second (lib/revocations.ts).
import { Elysia, t } from 'elysia'
import { SECURITY } from '../lib/openapi.ts'
import { writeAudit } from '../lib/audit.ts'
import type { Deps } from '../lib/deps.ts'
import { badRequest, ErrorBody, notFound } from '../lib/errors.ts'
import { adminActor, type AdminActor, guards, reachableUser } from '../lib/guards.ts'
import { isUuid } from '../lib/ids.ts'
import { revocationsChanged } from '../lib/revocations.ts'
import { endOtherSessions, endSession, listSessions, SessionList } from '../lib/sessions.ts'
import type { UserRow } from '../lib/users.ts'

export const AdminSessionParams = t.Object({ user_id: t.String({ maxLength: 64 }), session_id: t.String({ maxLength: 64 }) })
export const AdminUserParams = t.Object({ user_id: t.String({ maxLength: 64 }) })

export function adminSessions(deps: Deps) {
  const { config, db, clock, instanceId } = deps
  const actor = adminActor
  const loadUser = (id: string, admin: AdminActor | null, aud: string): Promise<UserRow> => reachableUser(db, instanceId, id, admin, aud)
  async function end(admin: AdminActor | null, user: UserRow, sessionId: string | null): Promise<void> {
    const now = clock.now()
    await db.tx(async (tx) => {
      const ended = sessionId ? Number(await endSession(tx, user, sessionId, now, 'admin')) : await endOtherSessions(tx, user, null, now, 'admin')
      if (sessionId && !ended) throw notFound('Session not found')
      if (ended) await writeAudit(tx, instanceId, actor(admin), 'session_revoked', now, { user_id: user.id, user_email: user.email, ...(sessionId ? { session_id: sessionId } : { sessions: ended }) })
    })
    revocationsChanged()
  }
  const doc = (summary: string) => ({ summary, tags: ['admin'], security: SECURITY.admin })
  return new Elysia({ name: 'admin-sessions' })
    .use(guards(deps))
    .model({ 'admin-sessions.list': SessionList })
    .get('/admin/users/:user_id/sessions', async ({ params, admin, aud }) => {
      const user = await loadUser(params.user_id, admin, aud)
      return { sessions: await listSessions(db, config, instanceId, user.id, clock.now(), null) }
    }, {
      auth: 'admin', params: AdminUserParams,
      response: { 200: 'admin-sessions.list', 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      detail: doc("A user's live sessions, newest first"),
    })
    .delete('/admin/users/:user_id/sessions', async ({ params, admin, aud }) => {
      await end(admin, await loadUser(params.user_id, admin, aud), null)
      return new Response(null, { status: 204 })
    }, {
      auth: 'admin', params: AdminUserParams,
      response: { 204: t.Void({ description: 'Ended' }), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      detail: doc('End every session of a user (204)'),
    })
    .delete('/admin/users/:user_id/sessions/:session_id', async ({ params, admin, aud }) => {
      const user = await loadUser(params.user_id, admin, aud)
      if (!isUuid(params.session_id)) throw notFound('Session not found')
      await end(admin, user, params.session_id)
      return new Response(null, { status: 204 })
    }, {
      auth: 'admin', params: AdminSessionParams,
      response: { 204: t.Void({ description: 'Ended' }), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      detail: doc("End one of a user's sessions (204)"),
    })
}
