// The caller's own sessions: GET /user/sessions lists them (the one making the request marked `current`),
// DELETE /user/sessions/{id} ends one — its refresh tokens stop working and its access tokens are refused from
// then on, on every node within a second (lib/revocations.ts). Ending the current one is a local logout.
import { Elysia, t } from 'elysia'
import { actorOf, writeAudit } from '../lib/audit.ts'
import type { Deps } from '../lib/deps.ts'
import { badRequest, ErrorBody, notFound } from '../lib/errors.ts'
import { guards, SYSTEM_SUBS } from '../lib/guards.ts'
import { isUuid } from '../lib/ids.ts'
import type { AccessClaims } from '../lib/jwt.ts'
import { revocationsChanged } from '../lib/revocations.ts'
import { endSession, listSessions, SessionBody, SessionList, sessionOf } from '../lib/sessions.ts'
import { findUserById } from '../lib/users.ts'

export const SessionParams = t.Object({ id: t.String({ maxLength: 64 }) })

export function sessions(deps: Deps) {
  const { config, db, clock, instanceId } = deps
  const userOf = async (claims: AccessClaims) => {
    if (typeof claims.sub !== 'string' || !isUuid(claims.sub) || SYSTEM_SUBS.has(claims.sub)) throw badRequest('Could not read User ID claim')
    const user = await findUserById(db, instanceId, claims.sub)
    if (!user) throw notFound('User not found')
    return user
  }
  return new Elysia({ name: 'sessions' })
    .use(guards(deps))
    .model({ 'sessions.session': SessionBody, 'sessions.list': SessionList })
    .get('/user/sessions', async ({ claims }) => {
      const user = await userOf(claims)
      return { sessions: await listSessions(db, config, instanceId, user.id, clock.now(), sessionOf(claims)) }
    }, {
      auth: 'user',
      response: { 200: 'sessions.list', 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      detail: { summary: "The caller's sessions (one per sign-in), newest first; the current one marked", tags: ['accounts'], security: [{ bearer: [] }] },
    })
    .delete('/user/sessions/:id', async ({ claims, params }) => {
      const user = await userOf(claims)
      // Someone else's session id answers as an unknown one: a 404 either way.
      if (!isUuid(params.id)) throw notFound('Session not found')
      const now = clock.now()
      await db.tx(async (tx) => {
        if (!(await endSession(tx, user, params.id, now, 'user'))) throw notFound('Session not found')
        await writeAudit(tx, instanceId, actorOf(user), 'session_revoked', now, { session_id: params.id, current: params.id === sessionOf(claims) })
      })
      revocationsChanged()
      return new Response(null, { status: 204 })
    }, {
      auth: 'user',
      params: SessionParams,
      response: { 204: t.Void({ description: 'Ended' }), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      detail: { summary: 'End one of your sessions (204)', tags: ['accounts'], security: [{ bearer: [] }] },
    })
}
