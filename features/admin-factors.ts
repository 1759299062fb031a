// The admin view of a user's MFA factors (auth-js `admin.mfa.listFactors` / `deleteFactor`): list them, delete one
// (a user who lost their authenticator and their recovery codes). Same visibility as /admin/users.
import { Elysia, t } from 'elysia'
import type { Deps } from '../lib/deps.ts'
import { badRequest, ErrorBody, notFound } from '../lib/errors.ts'
import { adminActor, type AdminActor, guards, reachableUser } from '../lib/guards.ts'
import { isUuid } from '../lib/ids.ts'
import { deleteFactor, FactorBody, factorJson, factorTx, findFactor, mfaError, unchanged, userFactors } from '../lib/mfa.ts'
import { SECURITY } from '../lib/openapi.ts'
import type { UserRow } from '../lib/users.ts'

const UserParams = t.Object({ user_id: t.String({ maxLength: 64 }) })
const FactorParams = t.Object({ user_id: t.String({ maxLength: 64 }), factor_id: t.String({ maxLength: 64 }) })

export function adminFactors(deps: Deps) {
  const { db, clock, instanceId } = deps
  const actor = adminActor
  const loadUser = (id: string, admin: AdminActor | null, aud: string): Promise<UserRow> => reachableUser(db, instanceId, id, admin, aud)
  const doc = (summary: string) => ({ summary, tags: ['admin'], security: SECURITY.admin })
  return new Elysia({ name: 'admin-factors' })
    .use(guards(deps))
    .model({ 'admin-factors.factor': FactorBody })
    .get('/admin/users/:user_id/factors', async ({ params, admin, aud }) => {
      const user = await loadUser(params.user_id, admin, aud)
      return (await userFactors(db, instanceId, user.id, clock.now())).map(factorJson)
    }, {
      auth: 'admin', params: UserParams,
      response: { 200: t.Array(FactorBody), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      detail: doc("A user's MFA factors"),
    })
    .delete('/admin/users/:user_id/factors/:factor_id', async ({ params, admin, aud }) => {
      const user = await loadUser(params.user_id, admin, aud)
      const now = clock.now()
      if (!isUuid(params.factor_id)) throw mfaError(404, 'Factor not found', 'mfa_factor_not_found')
      const factor = await factorTx(db, user, now, async (tx) => {
        const f = await findFactor(tx, instanceId, user.id, params.factor_id, now)
        return f && (await deleteFactor(tx, user, f, now, actor(admin))) ? f : unchanged(null)
      })
      if (!factor) throw mfaError(404, 'Factor not found', 'mfa_factor_not_found')
      return factorJson(factor)
    }, {
      auth: 'admin', params: FactorParams,
      response: { 200: 'admin-factors.factor', 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      detail: doc("Delete one of a user's MFA factors"),
    })
}
