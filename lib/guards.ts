// The `auth` macro: a route opts in with `auth: 'user'` (a valid access JWT; resolves `claims`) or
// `auth: 'admin'` (the operator token or an admin's JWT, aal2 once that admin has a verified MFA factor; resolves
// `admin` and the request audience).
import { Elysia } from 'elysia'
import { safeEqual } from './crypto.ts'
import type { Deps } from './deps.ts'
import { type Actor, actorOf } from './audit.ts'
import type { Db } from './db/index.ts'
import { badRequest, notFound, unauthorized } from './errors.ts'
import { isUuid } from './ids.ts'
import { type AccessClaims, TokenError, verifyAccessToken } from './jwt.ts'
import { Aal2Required, requireAal2IfVerified } from './mfa.ts'
import { type RevocationWatch, revocationWatch, sessionEnded } from './revocations.ts'
import { sessionOf } from './sessions.ts'
import { clearedCookie } from './access-cookie.ts'
import { audienceHasUsers, findUserById, NIL_UUID, parseMeta, type UserRow } from './users.ts'

const BEARER = /^[Bb]earer (\S+)$/
export const SYSTEM_SUBS = new Set(['0', NIL_UUID])

/** GoTrue's request audience: X-JWT-AUD, else the token's aud, else JWT_AUD. At most 255 characters, the size of
 *  the `aud` column (MySQL refuses a longer value on insert, which would be a 500). */
export function requestAud(deps: Deps, headers: Record<string, string | undefined>, claims?: { aud?: unknown }): string {
  const aud = headers['x-jwt-aud'] || (typeof claims?.aud === 'string' && claims.aud) || deps.config.jwt.aud
  if (aud.length > 255) throw badRequest('Audience too long (at most 255 characters)')
  return aud
}

/** A request may create users only in a known audience: JWT_AUD, one listed in JWT_AUDIENCES, or one that
 *  already has users (created by an admin, an import, or before the list existed). Any other X-JWT-AUD value
 *  would open a fresh audience per value: one more account, and one more mail, for the same address each time. */
export async function requireKnownAud(deps: Deps, aud: string): Promise<void> {
  const { jwt } = deps.config
  if (aud === jwt.aud || jwt.audiences.includes(aud)) return
  if (await audienceHasUsers(deps.db, deps.instanceId, aud)) return
  throw badRequest('Invalid audience')
}

export interface AdminActor { id: string; email: string; user: UserRow | null; superAdmin: boolean }

/** Whether an admin holds super-admin rights: the operator token, a system-user or service_role JWT, or a user
 *  marked super admin. */
export const holdsSuper = (a: AdminActor | null): boolean => !!a && (a.superAdmin || !!a.user?.is_super_admin)

/** Whether an admin may see or act on a user: its own audience only (unless a system admin), and a super admin
 *  only when it holds the same rights, so an audience admin cannot take over an account above its own. Every
 *  admin route that finds a user (by id or by email) must ask this before it reads or writes. */
export const adminReaches = (a: AdminActor | null, user: UserRow, aud: string): boolean =>
  (!!a?.superAdmin || user.aud === aud) && (!user.is_super_admin || holdsSuper(a))

/** The user of an admin route's `:user_id`, when this admin reaches it (adminReaches); otherwise a 404 that says
 *  nothing more. `lock` reads it FOR UPDATE inside a write transaction. */
export async function reachableUser(db: Db, instanceId: string, id: string, admin: AdminActor | null, aud: string, lock = false): Promise<UserRow> {
  if (!isUuid(id)) throw badRequest('user_id must be an UUID')
  const user = await findUserById(db, instanceId, id, lock)
  if (!user || !adminReaches(admin, user, aud)) throw notFound('User not found')
  return user
}

/** Who an admin action is recorded as in the audit log: the admin user, or the operator / system identity. */
export const adminActor = (a: AdminActor | null): Actor => (a?.user ? actorOf(a.user) : { id: a?.id ?? '', email: a?.email ?? '' })

export function isAdminFor(deps: Deps, user: UserRow, aud: string): boolean {
  if (user.is_super_admin) return true
  const group = deps.config.jwt.admin_group_name
  const roles = parseMeta(user.raw_app_meta_data).roles
  const inGroup = user.role === group || (Array.isArray(roles) && roles.includes(group))
  return inGroup && user.aud === aud
}

/** The admin guard's own refusal, documented on every admin route: lib/openapi.ts keeps what a route's
 *  `detail.responses` says (the plain JSON of the error model, which is what an OpenAPI schema is). */
const adminDetail = () => ({ responses: { 403: {
  description: 'AAL2 required: the admin has a verified MFA factor and the token is aal1 (the operator token never is)',
  content: { 'application/json': { schema: JSON.parse(JSON.stringify(Aal2Required)) as Record<string, unknown> } },
} } })

export function guards(deps: Deps) {
  const { config } = deps
  const bearer = (h: Record<string, string | undefined>): string => {
    const m = BEARER.exec(h.authorization ?? '')
    if (!m?.[1]) throw unauthorized('This endpoint requires a Bearer token', { 'set-cookie': clearedCookie(config) })
    return m[1]
  }
  const verify = async (token: string): Promise<AccessClaims> => {
    try { return await verifyAccessToken(token, config.jwt, deps.clock.now()) } catch (e) {
      if (e instanceof TokenError) throw unauthorized(`Invalid token: ${e.message}`, { 'set-cookie': clearedCookie(config) })
      throw e
    }
  }
  // A token of an ended session is refused before its exp, on every node (lib/revocations.ts): checked after
  // the signature, so the verified-token cache never lets such a token through.
  // Looked up on first use: an app built only to describe its routes (the OpenAPI document) has no database.
  let ended: RevocationWatch | undefined
  const live = async (token: string): Promise<AccessClaims> => {
    const claims = await verify(token)
    const session = sessionOf(claims)
    ended ??= revocationWatch(deps.db, deps.instanceId, () => config.jwt.exp * 1000, () => deps.clock.now())
    if (session && await ended.isRevoked(session)) throw sessionEnded(config)
    return claims
  }
  return new Elysia({ name: 'guards' }).macro({
    auth: (kind: 'user' | 'admin') => ({
      // Documented where it is answered, for every admin route; the user routes that ask for aal2 list it in
      // their response maps.
      detail: kind === 'admin' ? adminDetail() : {},
      async resolve({ request }) {
        // Two headers read directly: Elysia's `headers` object would copy every header of the request, on every call.
        const headers = { authorization: request.headers.get('authorization') ?? undefined, 'x-jwt-aud': request.headers.get('x-jwt-aud') ?? undefined }
        const token = bearer(headers)
        if (kind === 'user') return { claims: await live(token), admin: null as AdminActor | null, aud: '' }
        if (config.operator_token && safeEqual(token, config.operator_token)) {
          const admin: AdminActor = { id: NIL_UUID, email: 'operator@netlify.com', user: null, superAdmin: true }
          return { claims: null as AccessClaims | null, admin, aud: requestAud(deps, headers) }
        }
        const claims = await live(token)
        const aud = requestAud(deps, headers, claims)
        // supabase's service_role key: signed by our key, role `service_role` and no `sub`. Only the holder of the
        // signing key makes one: every token this server issues names its user in `sub` (even a user whose role
        // an admin set to `service_role`), so such a token is never a user's. It is the system admin, like `sub` 0.
        if (claims.role === 'service_role' && claims.sub === undefined) {
          return { claims, admin: { id: NIL_UUID, email: '', user: null, superAdmin: true } as AdminActor, aud }
        }
        if (typeof claims.sub !== 'string') throw unauthorized('Invalid admin user') // a number or object is no user id
        if (SYSTEM_SUBS.has(claims.sub)) {
          return { claims, admin: { id: NIL_UUID, email: claims.email ?? '', user: null, superAdmin: true } as AdminActor, aud }
        }
        const user = await findUserById(deps.db, deps.instanceId, claims.sub)
        if (!user) throw unauthorized('Invalid admin user')
        if (!isAdminFor(deps, user, aud)) throw unauthorized('User not allowed')
        // An admin's second factor must protect the admin API too, or a stolen password alone (an aal1 token)
        // could strip the admin's own factors, reset its password, or do the same to any user in its reach.
        // One indexed lookup, only for aal1 tokens; with MFA off no factor can be verified, so none is asked.
        if (config.mfa.enabled) await requireAal2IfVerified(deps.db, deps.instanceId, user.id, claims)
        return { claims, admin: { id: user.id, email: user.email, user, superAdmin: false } as AdminActor, aud }
      },
    }),
  })
}

/** GoTrue's requireEmailProvider: /signup, /recover, /token and admin create are off when email is disabled. */
export function requireEmailProvider(deps: Deps): void {
  if (deps.config.external.email.disabled) throw badRequest('Unsupported email provider')
}
