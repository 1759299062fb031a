// A fake of the five OAuth providers GoTrue supports, as one real HTTP server on 127.0.0.1. Each provider lives
// under its own prefix with its real URL layout, so GOTRUE_EXTERNAL_<P>_URL=<fake>/<p> makes our provider code
// talk to it exactly as it would to github.com, gitlab.com, bitbucket.org, Google or Facebook.
//   authorize  GET, approves at once: 302 to redirect_uri?code=…&state=… (or ?error=… when told to deny)
//   token      POST form: grant_type=authorization_code, the code it issued (single use), the same redirect_uri,
//              client credentials (HTTP Basic or client_id/client_secret parameters; Facebook: on the URL), and
//              the code_verifier when the authorize request carried a code_challenge
//   user/emails GET with the Bearer token it issued (Facebook: also appsecret_proof = HMAC-SHA256(secret, token))
// Every request is recorded (path, method, headers, query, body). Tests script each provider's profile and can
// make the next token / user / emails call fail.
import { createHash, createHmac, randomBytes } from 'node:crypto'

export const PROVIDERS = ['github', 'gitlab', 'bitbucket', 'google', 'facebook'] as const
export type FakeProviderName = (typeof PROVIDERS)[number]
export type Endpoint = 'authorize' | 'token' | 'user' | 'emails'

export interface FakeEmail { email: string; verified?: boolean; primary?: boolean }
export interface FakeProfile { id: string; emails: FakeEmail[]; name?: string; avatar?: string }
export interface RecordedCall {
  provider: FakeProviderName; endpoint: Endpoint; method: string; path: string
  query: Record<string, string>; headers: Record<string, string>; body: string
}

const LAYOUT: Record<FakeProviderName, Record<string, Endpoint>> = {
  github: { '/login/oauth/authorize': 'authorize', '/login/oauth/access_token': 'token', '/api/v3/user': 'user', '/api/v3/user/emails': 'emails' },
  gitlab: { '/oauth/authorize': 'authorize', '/oauth/token': 'token', '/api/v4/user': 'user', '/api/v4/user/emails': 'emails' },
  bitbucket: { '/site/oauth2/authorize': 'authorize', '/site/oauth2/access_token': 'token', '/2.0/user': 'user', '/2.0/user/emails': 'emails' },
  google: { '/o/oauth2/auth': 'authorize', '/o/oauth2/token': 'token', '/userinfo/v2/me': 'user' },
  facebook: { '/dialog/oauth': 'authorize', '/oauth/access_token': 'token', '/me': 'user' },
}

export const REDIRECT_URI = 'https://identity.example.com/.netlify/identity/callback'
export const clientId = (p: FakeProviderName) => `${p}-client-id`
export const clientSecret = (p: FakeProviderName) => `${p}-client-secret:with/odd+chars`

interface Grant { provider: FakeProviderName; redirectUri: string; scope: string; challenge: string; method: string; used: boolean }
interface Failure { status: number; body: string; times: number }

export interface OAuthFake {
  url: string
  /** GOTRUE_EXTERNAL_<P>_ENABLED/_CLIENT_ID/_SECRET/_REDIRECT_URI/_URL for all five providers, pointing here. */
  env(): Record<string, string>
  /** The profile the user endpoints return for tokens issued from now on. */
  setProfile(p: FakeProviderName, profile: FakeProfile): void
  /** The next `times` calls of that endpoint answer `status` with `body`. */
  fail(p: FakeProviderName, endpoint: 'token' | 'user' | 'emails', status?: number, body?: string, times?: number): void
  /** The next authorize request is refused: 302 to redirect_uri?error=…&error_description=…&state=…. */
  denyNext(p: FakeProviderName, error: string, description: string): void
  /** Opens our /authorize's Location at the fake (which approves) and returns the parameters it redirects back with. */
  approve(location: string): Promise<URLSearchParams>
  calls(p?: FakeProviderName, endpoint?: Endpoint): RecordedCall[]
  /** Forgets calls, failures and denials (profiles and issued codes stay). */
  reset(): void
  stop(): Promise<void>
}

const json = (status: number, value: unknown) =>
  new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } })
const s256 = (v: string) => createHash('sha256').update(v).digest('base64url')
const token = () => randomBytes(24).toString('base64url')
const numericId = (id: string): string | number => (/^\d+$/.test(id) ? Number(id) : id)

/** The profile in each provider's own JSON shape. */
function render(p: FakeProviderName, endpoint: 'user' | 'emails', prof: FakeProfile): unknown {
  const primary = prof.emails.find((e) => e.primary) ?? prof.emails[0]
  const [first = '', ...rest] = (prof.name ?? '').split(' ')
  switch (p) {
    case 'github':
      return endpoint === 'user'
        ? { id: numericId(prof.id), login: `user${prof.id}`, name: prof.name ?? null, avatar_url: prof.avatar ?? null, email: primary?.email ?? null }
        : prof.emails.map((e) => ({ email: e.email, primary: !!e.primary, verified: !!e.verified, visibility: null }))
    case 'gitlab': // the profile email is the primary one, confirmed or not; /user/emails lists the secondary ones
      return endpoint === 'user'
        ? { id: numericId(prof.id), username: `user${prof.id}`, name: prof.name, avatar_url: prof.avatar, email: primary?.email, confirmed_at: primary?.verified ? '2020-01-01T00:00:00.000Z' : null }
        : prof.emails.filter((e) => e !== primary).map((e, i) => ({ id: i + 1, email: e.email }))
    case 'bitbucket':
      return endpoint === 'user'
        ? { uuid: `{${prof.id}}`, account_id: prof.id, display_name: prof.name, links: prof.avatar ? { avatar: { href: prof.avatar } } : {} }
        : { pagelen: 10, page: 1, size: prof.emails.length, values: prof.emails.map((e) => ({ type: 'email', email: e.email, is_primary: !!e.primary, is_confirmed: !!e.verified })) }
    case 'google':
      return { id: prof.id, email: primary?.email, verified_email: !!primary?.verified, name: prof.name, picture: prof.avatar }
    case 'facebook': // Facebook only ever returns an email it has confirmed
      return {
        id: prof.id, name: prof.name, first_name: first, last_name: rest.join(' '),
        ...(primary?.verified ? { email: primary.email } : {}),
        ...(prof.avatar ? { picture: { data: { url: prof.avatar } } } : {}),
      }
  }
}

export async function startOAuthFake(): Promise<OAuthFake> {
  const profiles = new Map<FakeProviderName, FakeProfile>()
  const grants = new Map<string, Grant>()
  const accessTokens = new Map<string, { provider: FakeProviderName; profile: FakeProfile }>()
  const failures = new Map<string, Failure>()
  const denials = new Map<FakeProviderName, { error: string; description: string }>()
  let calls: RecordedCall[] = []

  function authorize(p: FakeProviderName, q: URLSearchParams): Response {
    const redirectUri = q.get('redirect_uri') ?? ''
    if (q.get('client_id') !== clientId(p)) return json(400, { error: 'invalid_client' })
    if (redirectUri !== REDIRECT_URI) return json(400, { error: 'invalid_request', error_description: 'redirect_uri mismatch' })
    if (q.get('response_type') !== 'code') return json(400, { error: 'unsupported_response_type' })
    const back = new URL(redirectUri)
    back.searchParams.set('state', q.get('state') ?? '')
    const denial = denials.get(p)
    if (denial) {
      denials.delete(p)
      back.searchParams.set('error', denial.error)
      back.searchParams.set('error_description', denial.description)
      return new Response(null, { status: 302, headers: { location: back.toString() } })
    }
    const challenge = q.get('code_challenge') ?? ''
    const method = challenge ? q.get('code_challenge_method') ?? 'plain' : ''
    if (challenge && method !== 'S256' && method !== 'plain') return json(400, { error: 'invalid_request', error_description: 'bad code_challenge_method' })
    const code = token()
    grants.set(code, { provider: p, redirectUri, scope: q.get('scope') ?? '', challenge, method, used: false })
    back.searchParams.set('code', code)
    return new Response(null, { status: 302, headers: { location: back.toString() } })
  }

  function exchange(p: FakeProviderName, req: Request, url: URL, body: string): Response {
    if (req.method !== 'POST') return json(405, { error: 'method_not_allowed' })
    const form = new URLSearchParams(body)
    let id = '', secret = ''
    const basic = /^Basic (\S+)$/.exec(req.headers.get('authorization') ?? '')
    if (p === 'facebook') { // the Graph API takes the client credentials as parameters of the token URL
      id = url.searchParams.get('client_id') ?? ''
      secret = url.searchParams.get('client_secret') ?? ''
    } else if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      id = decoded.slice(0, colon)
      secret = decoded.slice(colon + 1)
    } else {
      id = form.get('client_id') ?? ''
      secret = form.get('client_secret') ?? ''
    }
    if (id !== clientId(p) || secret !== clientSecret(p)) return json(401, { error: 'invalid_client' })
    if (form.get('grant_type') !== 'authorization_code') return json(400, { error: 'unsupported_grant_type' })
    const grant = grants.get(form.get('code') ?? '')
    if (!grant || grant.provider !== p || grant.used) return json(400, { error: 'invalid_grant', error_description: 'unknown or used code' })
    grant.used = true
    if (form.get('redirect_uri') !== grant.redirectUri) return json(400, { error: 'invalid_grant', error_description: 'redirect_uri mismatch' })
    if (grant.challenge) {
      const verifier = form.get('code_verifier') ?? ''
      const expected = grant.method === 'S256' ? s256(verifier) : verifier
      if (!verifier || expected !== grant.challenge) return json(400, { error: 'invalid_grant', error_description: 'code_verifier mismatch' })
    }
    const profile = profiles.get(p)
    if (!profile) return json(500, { error: 'server_error', error_description: `no profile scripted for ${p}` })
    const access = token()
    accessTokens.set(access, { provider: p, profile })
    const tokens = { access_token: access, token_type: 'bearer', scope: grant.scope }
    // GitHub answers form-encoded unless asked for JSON
    if (p === 'github' && !(req.headers.get('accept') ?? '').includes('application/json')) {
      return new Response(new URLSearchParams(tokens).toString(), { headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    }
    return json(200, tokens)
  }

  function profileCall(p: FakeProviderName, endpoint: 'user' | 'emails', req: Request, url: URL): Response {
    const bearer = /^Bearer (\S+)$/.exec(req.headers.get('authorization') ?? '')?.[1] ?? ''
    const issued = accessTokens.get(bearer)
    if (!issued || issued.provider !== p) return json(401, { message: 'Bad credentials' })
    if (p === 'facebook') {
      const proof = createHmac('sha256', clientSecret(p)).update(bearer).digest('hex')
      if (url.searchParams.get('appsecret_proof') !== proof) return json(400, { error: { message: 'Invalid appsecret_proof provided in the API argument' } })
    }
    return json(200, render(p, endpoint, issued.profile))
  }

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const url = new URL(req.url)
      const [, prefix = '', ...rest] = url.pathname.split('/')
      const p = PROVIDERS.find((x) => x === prefix)
      const endpoint = p ? LAYOUT[p][`/${rest.join('/')}`] : undefined
      if (!p || !endpoint) return json(404, { message: 'Not Found' })
      const body = await req.text()
      calls.push({
        provider: p, endpoint, method: req.method, path: url.pathname, body,
        query: Object.fromEntries(url.searchParams), headers: req.headers.toJSON(),
      })
      const failure = failures.get(`${p}:${endpoint}`)
      if (failure && failure.times > 0) {
        failure.times--
        return new Response(failure.body, { status: failure.status, headers: { 'content-type': 'application/json' } })
      }
      if (endpoint === 'authorize') return authorize(p, url.searchParams)
      if (endpoint === 'token') return exchange(p, req, url, body)
      return profileCall(p, endpoint, req, url)
    },
  })
  const base = `http://127.0.0.1:${server.port}`

  return {
    url: base,
    env() {
      const env: Record<string, string> = {}
      for (const p of PROVIDERS) {
        const P = `GOTRUE_EXTERNAL_${p.toUpperCase()}`
        Object.assign(env, {
          [`${P}_ENABLED`]: 'true', [`${P}_CLIENT_ID`]: clientId(p), [`${P}_SECRET`]: clientSecret(p),
          [`${P}_REDIRECT_URI`]: REDIRECT_URI, [`${P}_URL`]: `${base}/${p}`,
        })
      }
      return env
    },
    setProfile: (p, profile) => void profiles.set(p, profile),
    fail: (p, endpoint, status = 500, body = '{"message":"Something failed"}', times = 1) =>
      void failures.set(`${p}:${endpoint}`, { status, body, times }),
    denyNext: (p, error, description) => void denials.set(p, { error, description }),
    async approve(location) {
      if (!location.startsWith(`${base}/`)) throw new Error(`not a fake provider URL: ${location}`)
      const res = await fetch(location, { redirect: 'manual' })
      const back = res.headers.get('location')
      if (res.status !== 302 || !back) throw new Error(`fake authorize refused ${location}: ${res.status} ${await res.text()}`)
      return new URL(back).searchParams
    },
    calls: (p, endpoint) => calls.filter((c) => (!p || c.provider === p) && (!endpoint || c.endpoint === endpoint)),
    reset() {
      calls = []
      failures.clear()
      denials.clear()
    },
    async stop() { await server.stop(true) },
  }
}
