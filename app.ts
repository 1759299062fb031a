// Composition root: the lifecycle hooks first (their onError is global), then the docs, then every feature.
// Frontends import `type App` from here for Eden's typed client.
import { Elysia } from 'elysia'
import { adminAudit } from './features/admin-audit.ts'
import { adminUsers } from './features/admin-users.ts'
import { external } from './features/external.ts'
import { health } from './features/health.ts'
import { instances } from './features/instances.ts'
import { invite } from './features/invite.ts'
import { logout } from './features/logout.ts'
import { metrics } from './features/metrics.ts'
import { recover } from './features/recover.ts'
import { settings } from './features/settings.ts'
import { signup } from './features/signup.ts'
import { token } from './features/token.ts'
import { user } from './features/user.ts'
import { verify } from './features/verify.ts'
import { sha256 } from './lib/crypto.ts'
import { DbUnavailable } from './lib/db/index.ts'
import { type Deps, instanceDeps } from './lib/deps.ts'
import { badRequest, HttpError } from './lib/errors.ts'
import { hooks, serverBodyLimit } from './lib/hooks.ts'
import { encryptionKey, flowInstanceId, loadInstanceConfig, type SignedClaims, verifySignedRequest } from './lib/instances.ts'
import { rememberClient } from './lib/limits.ts'
import { docs } from './lib/openapi.ts'

export function createApp(deps: Deps) {
  return new Elysia({
    name: 'gotrue',
    normalize: true,
    // Bun's own cap (a bare 413 before any hook runs) is the backstop; the parse hook answers the JSON 413.
    serve: { maxRequestBodySize: serverBodyLimit(deps.config.api.max_body_bytes) },
  })
    .use(hooks(deps))
    .use(docs(deps.version))
    .use(health(deps))
    .use(settings(deps))
    .use(metrics(deps))
    .use(signup(deps))
    .use(verify(deps))
    .use(recover(deps))
    .use(token(deps))
    .use(user(deps))
    .use(logout(deps))
    .use(invite(deps))
    .use(external(deps))
    .use(adminUsers(deps))
    .use(adminAudit(deps))
}

export type App = ReturnType<typeof createApp>

/** Multi-instance (operator) mode: the operator API, health, metrics and docs on one app; every other request
 *  is checked (`x-nf-sign`), then served by that instance's own app — the same features, built with the
 *  instance's settings and id, so every lookup is scoped to it. Apps are cached and rebuilt when the operator
 *  changes an instance (or after a minute, for changes made through another node). */
export function createMultiInstanceServer(base: Deps) {
  const key = encryptionKey(base.config)
  const cache = new Map<string, { app: ReturnType<typeof createApp>; at: number }>()
  const changed = (id: string) => { for (const k of cache.keys()) if (k.startsWith(`${id}\n`)) cache.delete(k) }
  const operator = new Elysia({ name: 'operator', normalize: true })
    .use(hooks(base))
    .use(docs(base.version))
    .use(health(base))
    .use(metrics(base))
    .use(instances(base, { changed }))
  const idHeader = base.config.api.request_id_header.toLowerCase()
  /** A request refused before any app took it (bad x-nf-sign, unknown site, unknown OAuth state): the same
   *  headers as lib/hooks.ts gives (CORS, so a browser can read it; the request id) and, on 5xx, a log line
   *  carrying the response's error_id. */
  function refuse(request: Request, e: unknown): Response {
    const id = (idHeader && request.headers.get(idHeader)?.slice(0, 200)) || crypto.randomUUID()
    let [status, msg, extra] = [500, 'Internal server error', {} as Record<string, string>]
    if (e instanceof HttpError) [status, msg, extra] = [e.status, e.msg, e.headers ?? {}]
    else if (e instanceof DbUnavailable) [status, msg, extra] = [503, 'Database temporarily unavailable', { 'retry-after': '1' }]
    const cause = e instanceof HttpError ? e.cause : e
    if (status >= 500) base.log.error(msg, { request_id: id, error: cause instanceof Error ? cause.message : cause })
    const headers: Record<string, string> = { 'content-type': 'application/json', vary: 'Origin', 'cache-control': 'no-store', 'x-request-id': id, ...extra }
    if (request.headers.get('origin') && ['GET', 'POST', 'PUT', 'DELETE'].includes(request.method)) {
      headers['access-control-allow-origin'] = '*'
      headers['access-control-allow-credentials'] = 'true'
    }
    return new Response(JSON.stringify(status >= 500 ? { code: status, msg, error_id: id } : { code: status, msg }), { status, headers })
  }
  async function appFor(claims: SignedClaims) {
    const k = `${claims.id}\n${claims.site_url ?? ''}`
    const hit = cache.get(k)
    if (hit && Date.now() - hit.at < 60_000) return hit.app
    const config = await loadInstanceConfig(base.db, base.config, key, claims, base.log)
    const app = createApp(instanceDeps(base, claims.id, config))
    if (cache.size > 500) cache.delete(cache.keys().next().value as string)
    cache.set(k, { app, at: Date.now() })
    return app
  }
  const OPERATOR_PATHS = /^\/(instances(\/.*)?|health|metrics|openapi(\/.*)?)?$/
  return {
    operator,
    async fetch(request: Request, server: { requestIP(r: Request): { address: string } | null }): Promise<Response> {
      const url = new URL(request.url)
      rememberClient(request, server.requestIP(request)?.address ?? '')
      // Preflights carry no x-nf-sign: the operator app's hooks answer them.
      if (OPERATOR_PATHS.test(url.pathname) || request.method === 'OPTIONS') return operator.handle(request)
      try {
        let claims: SignedClaims
        if (url.pathname === '/callback' || url.pathname === '/callback/') {
          // The provider's redirect has no header: the instance is in the server-side flow state.
          let state = url.searchParams.get('state') ?? ''
          if (!state && request.method === 'POST') state = new URLSearchParams(await request.clone().text()).get('state') ?? ''
          // Without a known state there is no instance to serve it: GoTrue's JSON errors (spec §7.7).
          if (!state) throw badRequest('OAuth state parameter missing')
          const id = await flowInstanceId(base.db, sha256(state))
          if (!id) throw badRequest('OAuth state is invalid: unknown or already used state')
          claims = { id }
        } else {
          claims = await verifySignedRequest(request.headers.get('x-nf-sign'), base.config.operator_token)
        }
        return (await appFor(claims)).handle(request)
      } catch (e) {
        return refuse(request, e)
      }
    },
  }
}
