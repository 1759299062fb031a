// Multi-instance (operator) mode's front door. The operator API, health, metrics and docs are the operator app's;
// every other request names its instance (the operator-signed `x-nf-sign` header, or for an OAuth callback the
// server-side flow state) and is served by that instance's own app: the same features, built with the instance's
// settings and id, so every lookup is scoped to it. Apps are cached and rebuilt when the operator changes an
// instance (or after a minute, for changes made through another node). A cached app holds no security state:
// rate-limit and throttle counts live in the process's limiter (shared, keyed by instance) or in the database.
import { type App, createApp, createOperatorApp } from '../app.ts'
import { rememberClient } from '../lib/client.ts'
import { sha256 } from '../lib/crypto.ts'
import type { Db } from '../lib/db/index.ts'
import { type Deps, instanceDeps } from '../lib/deps.ts'
import { badRequest } from '../lib/errors.ts'
import { renderError, requestIdOf } from '../lib/http.ts'
import { isUuid } from '../lib/ids.ts'
import { ABSOLUTE, loadInstanceConfig } from '../lib/instances.ts'
import { TokenError, verifyHS256 } from '../lib/jwt.ts'
import { encryptionKey } from '../lib/sealing.ts'

export interface SignedClaims { id: string; site_url?: string }

/** Checks `x-nf-sign` as GoTrue does (spec §10.2), with its error messages. */
export async function verifySignedRequest(header: string | null, operatorToken: string): Promise<SignedClaims> {
  if (!header) throw badRequest('Operator microservice headers missing')
  let claims: Record<string, unknown>
  try { claims = await verifyHS256(header, operatorToken, { requireExp: false }) } catch (e) {
    throw badRequest(`Operator microservice signature is invalid: ${e instanceof TokenError ? e.message : 'token is malformed'}`)
  }
  if (typeof claims.id !== 'string' || !claims.id) throw badRequest('Instance ID is missing')
  if (!isUuid(claims.id)) throw badRequest('Instance ID is not a valid UUID')
  const siteUrl = typeof claims.site_url === 'string' && claims.site_url ? claims.site_url : undefined
  if (siteUrl && ABSOLUTE(siteUrl)) throw badRequest('Operator microservice headers: site_url is not an absolute http(s) URL')
  return { id: claims.id.toLowerCase(), site_url: siteUrl }
}

/** The instance an OAuth callback belongs to, from its server-side flow state. */
async function flowInstanceId(db: Db, stateHash: string): Promise<string | null> {
  return (await db.get<{ instance_id: string }>('SELECT instance_id FROM {flow_states} WHERE state_hash = ?', [stateHash]))?.instance_id ?? null
}

/** The provider's redirect to /callback has no header: its instance is the one that started the flow. Without a
 *  known state there is no instance to serve it, so GoTrue's JSON errors come from here (spec §7.7). */
async function callbackClaims(db: Db, request: Request, url: URL): Promise<SignedClaims> {
  let state = url.searchParams.get('state') ?? ''
  if (!state && request.method === 'POST') state = new URLSearchParams(await request.clone().text()).get('state') ?? ''
  if (!state) throw badRequest('OAuth state parameter missing')
  const id = await flowInstanceId(db, sha256(state))
  if (!id) throw badRequest('OAuth state is invalid: unknown or already used state')
  return { id }
}

const OPERATOR_PATHS = /^\/(instances(\/.*)?|health|metrics|openapi(\/.*)?)?$/
const MAX_APPS = 500
const APP_TTL_MS = 60_000

export function createMultiInstanceServer(base: Deps) {
  const key = encryptionKey(base.config)
  const cache = new Map<string, { app: App; at: number }>()
  const changed = (id: string) => { for (const k of cache.keys()) if (k.startsWith(`${id}\n`)) cache.delete(k) }
  const operator = createOperatorApp(base, { changed })
  const idHeader = base.config.api.request_id_header.toLowerCase()
  async function appFor(claims: SignedClaims): Promise<App> {
    const k = `${claims.id}\n${claims.site_url ?? ''}`
    const hit = cache.get(k)
    if (hit && Date.now() - hit.at < APP_TTL_MS) return hit.app
    const config = await loadInstanceConfig(base.db, base.config, key, claims, base.log)
    const app = createApp(instanceDeps(base, claims.id, config))
    if (cache.size > MAX_APPS) cache.delete(cache.keys().next().value as string)
    cache.set(k, { app, at: Date.now() })
    return app
  }
  return {
    operator,
    async fetch(request: Request, server: { requestIP(r: Request): { address: string } | null }): Promise<Response> {
      const url = new URL(request.url)
      rememberClient(request, server.requestIP(request)?.address ?? '')
      // Preflights carry no x-nf-sign: the operator app's hooks answer them.
      if (OPERATOR_PATHS.test(url.pathname) || request.method === 'OPTIONS') return operator.handle(request)
      try {
        const claims = url.pathname === '/callback' || url.pathname === '/callback/'
          ? await callbackClaims(base.db, request, url)
          : await verifySignedRequest(request.headers.get('x-nf-sign'), base.config.operator_token)
        return (await appFor(claims)).handle(request)
      } catch (e) {
        // Refused before any app took it: rendered as every app renders its errors.
        return renderError(e, { request, id: requestIdOf(request, idHeader), log: base.log })
      }
    },
  }
}
