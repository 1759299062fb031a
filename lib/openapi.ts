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
import { ErrorBody, notFound, OAuthErrorBody } from './errors.ts'
import { isUuid } from './ids.ts'

// @elysiajs/openapi bundles @sinclair/typemap, which on import replaces TypeBox's global format checks (uuid,
// email, …) with ones that build a Valibot pipeline on every call: profiled, 28% of GET /user's CPU went to the
// `uuid` check of its response. The formats our schemas use get plain checks back.
FormatRegistry.Set('uuid', isUuid)
// Elysia's own date-time check parses the date twice per value; our timestamps are RFC 3339 by construction.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i
FormatRegistry.Set('date-time', (v) => DATE_TIME.test(v))

const ASSETS = new Map([['swagger-ui-bundle.js', bundle], ['swagger-ui.css', css]])

// The document is finished here from what the routes declare and what the lifecycle hooks do on every route, so
// the statuses those hooks answer (an unreadable body, a body over the cap, a failed validation, a database
// outage, a crash) are documented where they can happen without each route repeating them:
//   - `$id`s removed (Elysia stamps them on models; Swagger UI then shows "string" for every response);
//   - 204/302 without content (302 with its Location header);
//   - Elysia's coercible integers (`anyOf [string, integer]`, its *input* view) documented as what goes on the wire;
//   - every object schema closed (`additionalProperties: false`) unless it says otherwise: the server drops unknown
//     fields (`normalize`), and Elysia itself writes that key into the schemas it compiles, at the first request
//     of each route, which made the served document change after traffic;
//   - the GoTrue and OAuth error bodies as two components, with an example of each status;
//   - security from the route's `auth` macro unless its `detail.security` says otherwise; header parameters;
//   - a route's `detail.requestBody` replaces the one derived from its validated schema (/token's grants).
// The finished document is computed once, before the first request is served, and served as those bytes.
type Json = Record<string, unknown>
type Op = Json & { parameters?: Json[]; requestBody?: Json & { content?: Record<string, Json> }; responses?: Record<string, Json>; security?: Json[] }
type Spec = Json & { paths?: Record<string, Record<string, Op>>; components?: Json & { schemas?: Record<string, Json> } }
interface RouteInfo { method: string; path: string; hooks?: { body?: unknown; parse?: unknown; detail?: { security?: Json[]; parameters?: Json[]; requestBody?: Json } } }

const ERROR = '#/components/schemas/GoTrueError'
const OAUTH_ERROR = '#/components/schemas/OAuthError'
const REQUEST_ID = '7b0c9f6e-3a51-4c1e-9f3b-2d8e4a6c1b90'
/** The example of each status where the route gives none of its own. */
const EXAMPLES: Record<number, [string, Json]> = {
  400: ['Bad request', { code: 400, msg: "Token audience doesn't match request audience" }],
  401: ['Missing or invalid credentials', { code: 401, msg: 'This endpoint requires a Bearer token' }],
  403: ['Forbidden', { code: 403, msg: 'Signups not allowed for this instance' }],
  404: ['Not found', { code: 404, msg: 'User not found' }],
  413: ['Request body over GOTRUE_API_MAX_BODY_BYTES', { code: 413, msg: 'Request body too large (limit 1048576 bytes)' }],
  422: ['Invalid request', { code: 422, msg: 'Invalid body: email: Expected string' }],
  429: ['Rate limited (see Retry-After)', { code: 429, msg: 'Rate limit exceeded, try again later' }],
  500: ['Internal error (the cause is logged under error_id)', { code: 500, msg: 'Internal server error', error_id: REQUEST_ID }],
  503: ['Database unreachable (see Retry-After)', { code: 503, msg: 'Database temporarily unavailable', error_id: REQUEST_ID }],
}

/** Header parameters a route's `detail.parameters` may name. */
export const HEADERS: Record<'aud' | 'cookie', { $ref: string }> = {
  aud: { $ref: '#/components/parameters/X-JWT-AUD' },
  cookie: { $ref: '#/components/parameters/X-Use-Cookie' },
}
const PARAMETERS = {
  'X-JWT-AUD': { name: 'X-JWT-AUD', in: 'header', required: false, description: 'The request audience (default GOTRUE_JWT_AUD); at most 255 characters', schema: { type: 'string', maxLength: 255 }, example: 'api.netlify.com' },
  'X-Use-Cookie': { name: 'X-Use-Cookie', in: 'header', required: false, description: 'Also set the access token as an HttpOnly cookie (GOTRUE_COOKIE_KEY); `session`: a session cookie', schema: { type: 'string' }, example: '1' },
  'X-NF-Sign': { name: 'X-NF-Sign', in: 'header', required: false, description: "Multi-instance mode only: the operator's HS256 JWT {id, site_url?} naming the site (signed with GOTRUE_OPERATOR_TOKEN); ignored otherwise", schema: { type: 'string' } },
}
const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /token or /verify' },
  operatorToken: { type: 'http', scheme: 'bearer', description: 'GOTRUE_OPERATOR_TOKEN: admin of every audience' },
  exportSecret: { type: 'apiKey', in: 'header', name: 'EXPORT_SECRET', description: 'GOTRUE_API_EXPORT_SECRET (the export route exists only when it is set)' },
  metricsToken: { type: 'http', scheme: 'bearer', description: 'GOTRUE_METRICS_TOKEN' },
}
/** Security requirements a route's `detail.security` may name. */
type Requirement = Record<string, string[]>
export const SECURITY: Record<'user' | 'admin' | 'export' | 'metrics' | 'operator', Requirement[]> = {
  user: [{ bearer: [] }],
  admin: [{ bearer: [] }, { operatorToken: [] }],
  export: [{ bearer: [], exportSecret: [] }, { operatorToken: [], exportSecret: [] }],
  metrics: [{ metricsToken: [] }],
  operator: [{ operatorToken: [] }],
}

const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v)

/** Schema-level rewrites, everywhere in the document. */
function tidy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(tidy)
  if (!isObj(v)) return v
  const any = v.anyOf
  if (Array.isArray(any) && any.length === 2 && isObj(any[0]) && any[0].type === 'string' && (any[0].format === 'integer' || any[0].format === 'numeric') && isObj(any[1])) {
    const { anyOf: _, ...rest } = v
    return tidy({ ...rest, ...any[1] })
  }
  const out: Json = {}
  // `docFormat` documents a format the handler checks itself, with GoTrue's message (email), or one the server
  // writes but does not re-check on output; TypeBox ignores the key, so no format check runs at request time.
  for (const [k, x] of Object.entries(v)) if (k !== '$id') out[k === 'docFormat' ? 'format' : k] = tidy(x)
  // OpenAPI 3.0's `nullable` (Elysia writes it for t.Nullable) is a `null` type in 3.1
  if (out.nullable === true) {
    delete out.nullable
    if (typeof out.type === 'string') out.type = [out.type, 'null']
  }
  if (out.type === 'object' && !('additionalProperties' in out) && !('patternProperties' in out)) out.additionalProperties = false
  return out
}

const isErrorSchema = (s: unknown): s is Json => isObj(s) && s.description === 'GoTrue error' && isObj(s.properties) && 'code' in s.properties
const isOAuthSchema = (s: unknown): s is Json => isObj(s) && s.description === 'OAuth2 error'

/** An error response: the shared component, with the route's example for this status or the default one. */
function errorResponse(status: number, schema?: unknown, ownDescription?: unknown): Json {
  const [fallbackDescription, fallback] = EXAMPLES[status] ?? ['Error', { code: status, msg: 'Error' }]
  const description = typeof ownDescription === 'string' && ownDescription ? ownDescription : fallbackDescription
  const own = isObj(schema) && Array.isArray(schema.examples) ? (schema.examples[0] as Json) : undefined
  if (isObj(schema) && Array.isArray(schema.anyOf)) {
    // /token's 400: an OAuth error from a grant, or GoTrue's error for an unreadable body
    const oauth = schema.anyOf.find(isOAuthSchema)
    const example = oauth && Array.isArray(oauth.examples) ? oauth.examples[0] : undefined
    return { description: 'OAuth2 error (a grant failed) or GoTrue error', content: { 'application/json': { schema: { oneOf: [{ $ref: OAUTH_ERROR }, { $ref: ERROR }] }, example } } }
  }
  const example = own && own.code === status ? own : fallback
  return { description, content: { 'application/json': { schema: { $ref: ERROR }, example } } }
}

function finishOperation(op: Op, route: RouteInfo | undefined, schemas: Record<string, Json>): Op {
  const hooks = route?.hooks ?? {}
  const detail = hooks.detail ?? {}
  if (detail.requestBody) op.requestBody = detail.requestBody
  // a route that reads its body with jsonBody() names its 400 for an unreadable body (lib/body.ts)
  const unreadable = ([] as unknown[]).concat(hooks.parse ?? []).map((p) => { const h = p as { unreadable?: string; fn?: { unreadable?: string } } | null; return h?.unreadable ?? h?.fn?.unreadable }).find(Boolean)
  const unreadableBody = unreadable ? { description: 'GoTrue error', properties: { code: {} }, examples: [{ code: 400, msg: `${unreadable}: EOF` }] } : undefined
  const responses: Record<string, Json> = {}
  // a route's own documentation of a status (detail.responses) wins over the schema it checks at run time
  const own = (detail as { responses?: unknown }).responses
  const documented = { ...op.responses, ...(isObj(own) ? own as Record<string, Json> : {}) }
  for (const [code, res] of Object.entries(documented)) {
    const status = Number(code)
    const content = res.content as Record<string, { schema?: Json }> | undefined
    const schema = content && Object.values(content)[0]?.schema
    if (status === 204 || status === 302) {
      responses[code] = { description: res.description }
      if (status === 302) responses[code].headers = { Location: { description: 'Where the browser goes next', schema: { type: 'string', format: 'uri' } } }
    } else if (status >= 400 && isObj(schema) && (Array.isArray(schema.anyOf) || isErrorSchema(schema))) {
      // a description the route (or its guard) wrote in detail.responses is kept, unless it is the error model's own
      const described = isObj(own) && code in own && res.description !== schema.description ? res.description : undefined
      responses[code] = errorResponse(status, status === 400 && unreadableBody && isErrorSchema(schema) ? unreadableBody : schema, described)
    } else {
      // a model's first example becomes the response's, which Swagger UI shows as is
      const ref = isObj(schema) && typeof schema.$ref === 'string' ? schemas[schema.$ref.split('/').pop() ?? ''] : schema
      const example = isObj(ref) && Array.isArray(ref.examples) ? ref.examples[0] : undefined
      responses[code] = example === undefined || !content ? res : { ...res, content: Object.fromEntries(Object.entries(content).map(([t, m]) => [t, { ...m, example }])) }
    }
  }
  // what the lifecycle hooks answer on any route of this kind
  const add = (status: number, schema?: unknown) => { if (!(status in responses)) responses[status] = errorResponse(status, schema) }
  if (op.requestBody) {
    add(400, unreadableBody)
    add(413)
    add(422)
  } else if (op.parameters?.length) add(422)
  // explicit on every operation: `[]` says a route is public (what a linter and a generated client can check)
  op.security = detail.security ?? []
  if (detail.security?.length) add(401)
  add(500)
  add(503)
  op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)))
  // the plugin keeps `detail.parameters` only on a route without query or path parameters
  const params = [...(op.parameters ?? [])]
  const seen = new Set(params.map((p) => JSON.stringify(p)))
  for (const p of detail.parameters ?? []) if (!seen.has(JSON.stringify(p))) params.push(p)
  // every guarded route reads the request audience
  if (detail.security?.some((r) => 'bearer' in r || 'operatorToken' in r) && !params.some((p) => p.$ref === HEADERS.aud.$ref)) params.push(HEADERS.aud)
  params.push({ $ref: '#/components/parameters/X-NF-Sign' })
  op.parameters = params
  return op
}

/** The finished document: the plugin's, completed from the routes (see above). Pure and deterministic. */
export function finish(spec: Spec, routes: readonly RouteInfo[]): Spec {
  const out = tidy(structuredClone(spec)) as Spec
  const schemas = (out.components?.schemas ?? {}) as Record<string, Json>
  const byOp = new Map(routes.map((r) => [`${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, '{$1}')}`, r]))
  for (const [path, ops] of Object.entries(out.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      const route = byOp.get(`${method} ${path}`)
      const body = route?.hooks?.body
      // a function parse hook hides the body's media types from the plugin: the three Elysia reads are listed
      if (body && op.requestBody && !Object.keys(op.requestBody.content ?? {}).length) {
        const schema = typeof body === 'string' ? { $ref: `#/components/schemas/${body}` } : tidy(JSON.parse(JSON.stringify(body)))
        op.requestBody.content = Object.fromEntries(['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'].map((t) => [t, { schema }]))
      }
      ops[method] = finishOperation(op, route, schemas)
    }
  }
  // models only used as query parameters (inlined above) or replaced by a detail.requestBody are left out
  const reached = new Set<string>()
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk)
    if (!isObj(v)) return
    const name = typeof v.$ref === 'string' && v.$ref.startsWith('#/components/schemas/') ? v.$ref.slice(21) : undefined
    if (name && !reached.has(name)) {
      reached.add(name)
      walk(schemas[name])
    }
    Object.values(v).forEach(walk)
  }
  walk(out.paths)
  for (const k of Object.keys(schemas)) if (!reached.has(k)) delete schemas[k]
  out.servers = [{ url: '/', description: 'This server' }]
  out.components = {
    ...out.components,
    schemas: { ...schemas, GoTrueError: tidy(JSON.parse(JSON.stringify(ErrorBody))) as Json, OAuthError: tidy(JSON.parse(JSON.stringify(OAuthErrorBody))) as Json },
    parameters: PARAMETERS,
    securitySchemes: SECURITY_SCHEMES,
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
      // Routes with a dot count as static files to the plugin; /.well-known/* are API routes, stylesheets are not.
      exclude: { paths: [/^\/openapi/, /\.css$/], staticFile: false },
      documentation: {
        info: {
          title: 'GoTrue',
          version,
          description: 'User registration and authentication API, wire-compatible with Netlify GoTrue.',
          license: { name: 'MIT', identifier: 'MIT' },
        },
        tags: [
          { name: 'public', description: 'Settings and health' },
          { name: 'accounts', description: 'Signup, verification, recovery and the current user' },
          { name: 'token', description: 'OAuth2 token endpoint' },
          { name: 'external', description: 'External OAuth providers' },
          { name: 'admin', description: 'Admin API (admin JWT or operator token)' },
        ],
      },
    })
  const raw = plugin.routes.find((r) => r.path === '/openapi/raw')?.handler as (() => Spec) | undefined
  if (!raw) throw new Error('@elysiajs/openapi: no /openapi/raw route')
  const self = new Elysia({ name: 'docs' })
  // Once, before the first request is served (onStart), or at the first request for an app that never listens
  // (`gotrue openapi`): the same bytes for the life of the process, whatever traffic compiles meanwhile.
  let text: string | undefined
  const document = () => (text ??= `${JSON.stringify(finish(raw(), (self as unknown as { getGlobalRoutes(): RouteInfo[] }).getGlobalRoutes()), null, 2)}\n`)
  return self
    .use(plugin)
    .onStart(() => { document() })
    .get('/openapi/json', () => new Response(document(), { headers: { 'content-type': 'application/json; charset=utf-8' } }), { detail: { hide: true } })
    .get('/openapi/assets/:file', ({ params, set }) => {
      const path = ASSETS.get(params.file)
      // GoTrue's JSON 404, as for any path no route serves
      if (!path) throw notFound('404 page not found')
      set.headers['cache-control'] = 'public, max-age=86400'
      return Bun.file(path)
    }, { detail: { hide: true } })
}

/** The OpenAPI document of an app, as served: pretty JSON with a trailing newline (stable for the drift test). */
export async function renderSpec(app: { handle(r: Request): Promise<Response> }): Promise<string> {
  const res = await app.handle(new Request('http://localhost/openapi/json'))
  if (!res.ok) throw new Error(`openapi: ${res.status}`)
  return res.text()
}
