// The only importer of @elysiajs/openapi. Serves the Swagger UI at /openapi and the spec at /openapi/json.
// The Swagger UI bundle is served from the swagger-ui-dist package (no CDN), so the docs page works offline
// and under a strict CSP. Its two files are imported as `type: 'file'`: a path into node_modules in a source
// run, an embedded file in a `bun build --compile` binary; Bun.file() reads either. renderSpec() renders the
// same spec as openapi/openapi.json for `gotrue openapi`.
import { openapi } from '@elysiajs/openapi'
import { FormatRegistry } from '@sinclair/typebox'
import { Elysia } from 'elysia'
import bundle from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' }
import css from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' }
import { notFound } from './errors.ts'
import { isUuid } from './ids.ts'

// @elysiajs/openapi bundles @sinclair/typemap, which on import replaces TypeBox's global format checks (uuid,
// email, …) with ones that build a Valibot pipeline on every call: profiled, 28% of GET /user's CPU went to the
// `uuid` check of its response. The formats our schemas use get plain checks back.
FormatRegistry.Set('uuid', isUuid)
// Elysia's own date-time check parses the date twice per value; our timestamps are RFC 3339 by construction.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i
FormatRegistry.Set('date-time', (v) => DATE_TIME.test(v))

const ASSETS = new Map([['swagger-ui-bundle.js', bundle], ['swagger-ui.css', css]])

type Spec = { paths?: Record<string, Record<string, { requestBody?: { content?: Record<string, unknown> } }>> }
interface RouteInfo { method: string; path: string; hooks?: { body?: unknown } }

/** @elysiajs/openapi lists a request body's media types from the route's parse hooks, and a parse hook that is a
 *  function (lib/hooks.ts checks the body cap in one, on every route; signup has its own) contributes none: the
 *  body would be documented with no content at all. Such bodies are given the three types Elysia parses, with the
 *  route's body schema (a model reference, or the schema itself). */
export function withBodies(spec: Spec, routes: readonly RouteInfo[]): Spec {
  const out = structuredClone(spec)
  for (const r of routes) {
    const body = r.hooks?.body
    const op = out.paths?.[r.path.replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()]
    if (!body || !op?.requestBody || Object.keys(op.requestBody.content ?? {}).length) continue
    const schema = typeof body === 'string' ? { $ref: `#/components/schemas/${body}` } : JSON.parse(JSON.stringify(body))
    op.requestBody.content = Object.fromEntries(['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'].map((t) => [t, { schema }]))
  }
  return out
}

export function docs(version: string) {
  const plugin = openapi({
      path: '/openapi',
      // The plugin's own document (hidden); /openapi/json serves it with the request bodies completed.
      specPath: '/openapi/raw',
      provider: 'swagger-ui',
      swagger: { cdn: '/openapi/assets/swagger-ui-bundle.js', theme: '/openapi/assets/swagger-ui.css', autoDarkMode: false, ...{ url: '/openapi/json' } } as never,
      exclude: { paths: [/^\/openapi/] },
      documentation: {
        info: {
          title: 'GoTrue',
          version,
          description: 'User registration and authentication API, wire-compatible with Netlify GoTrue.',
        },
        tags: [
          { name: 'public', description: 'Settings and health' },
          { name: 'accounts', description: 'Signup, verification, recovery and the current user' },
          { name: 'token', description: 'OAuth2 token endpoint' },
          { name: 'external', description: 'External OAuth providers' },
          { name: 'admin', description: 'Admin API (admin JWT or operator token)' },
        ],
        components: {
          securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
      },
    })
  const raw = plugin.routes.find((r) => r.path === '/openapi/raw')?.handler as (() => Spec) | undefined
  if (!raw) throw new Error('@elysiajs/openapi: no /openapi/raw route')
  const self = new Elysia({ name: 'docs' })
  return self
    .use(plugin)
    .get('/openapi/json', () => withBodies(raw(), (self as unknown as { getGlobalRoutes(): RouteInfo[] }).getGlobalRoutes()), { detail: { hide: true } })
    .get('/openapi/assets/:file', ({ params, set }) => {
      const path = ASSETS.get(params.file)
      // GoTrue's JSON 404, as for any path no route serves
      if (!path) throw notFound('404 page not found')
      set.headers['cache-control'] = 'public, max-age=86400'
      return Bun.file(path)
    }, { detail: { hide: true } })
}

/** The OpenAPI document of an app, as pretty JSON with a trailing newline (stable for the drift test). */
export async function renderSpec(app: { handle(r: Request): Promise<Response> }): Promise<string> {
  const res = await app.handle(new Request('http://localhost/openapi/json'))
  if (!res.ok) throw new Error(`openapi: ${res.status}`)
  return `${JSON.stringify(await res.json(), null, 2)}\n`
}
