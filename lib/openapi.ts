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

// @elysiajs/openapi bundles @sinclair/typemap, which on import replaces TypeBox's global format checks (uuid,
// email, …) with ones that build a Valibot pipeline on every call: 28% of GET /user's CPU went to the `uuid` check of
// its response (issue 8 profile). The formats our schemas use get plain regular expressions back.
const UUID_FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
FormatRegistry.Set('uuid', (v) => UUID_FORMAT.test(v))
// Elysia's own date-time check parses the date twice per value; our timestamps are RFC 3339 by construction.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i
FormatRegistry.Set('date-time', (v) => DATE_TIME.test(v))

const ASSETS = new Map([['swagger-ui-bundle.js', bundle], ['swagger-ui.css', css]])

export function docs(version: string) {
  return new Elysia({ name: 'docs' })
    .use(openapi({
      path: '/openapi',
      provider: 'swagger-ui',
      swagger: { cdn: '/openapi/assets/swagger-ui-bundle.js', theme: '/openapi/assets/swagger-ui.css', autoDarkMode: false },
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
    }))
    .get('/openapi/assets/:file', ({ params, set }) => {
      const path = ASSETS.get(params.file)
      if (!path) { set.status = 404; return 'not found' }
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
