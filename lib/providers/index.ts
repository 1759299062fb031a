// The external OAuth providers: a registry of small provider files, the only importers of arctic. Each file
// knows its endpoints (every host replaced by GOTRUE_EXTERNAL_<P>_URL when set), scopes, whether it supports
// PKCE, and how to read the profile and the emails (with the provider's own verified flag).
import type { Config, ProviderName } from '../config.ts'
import { bitbucket } from './bitbucket.ts'
import { facebook } from './facebook.ts'
import { github } from './github.ts'
import { gitlab } from './gitlab.ts'
import { google } from './google.ts'

export interface ProviderEmail { email: string; verified: boolean; primary: boolean }
export interface ProviderUser {
  id: string
  emails: ProviderEmail[]
  /** user_metadata from the provider: full_name, avatar_url (and slug for facebook); empty values dropped. */
  metadata: Record<string, string>
}
export interface ProviderSettings { client_id: string; secret: string; redirect_uri: string; url: string }
export interface ProviderSpec {
  name: ProviderName
  scopes: string[]
  pkce: boolean
  /** the token endpoint wants client_id/client_secret as parameters instead of HTTP Basic (Facebook) */
  secretInQuery?: boolean
  /** authorization and token endpoints for a base URL override ('' = the provider's own hosts) */
  endpoints(base: string): { authorize: string; token: string }
  fetchUser(accessToken: string, base: string, s: ProviderSettings): Promise<ProviderUser>
}
export interface Provider {
  name: ProviderName
  authorizationUrl(state: string, codeVerifier: string | null): URL
  /** Exchanges the code for the provider's access token. */
  exchange(code: string, codeVerifier: string | null): Promise<string>
  fetchUser(accessToken: string): Promise<ProviderUser>
}

const SPECS: Record<ProviderName, ProviderSpec> = { bitbucket, facebook, github, gitlab, google }

export class ProviderError extends Error {}

/** The configured provider, or a ProviderError with GoTrue's message. arctic is loaded on the first external
 *  sign-in (resident memory of nodes that never see one: issue 8). */
export async function getProvider(config: Config, name: string): Promise<Provider> {
  const key = name.toLowerCase() as ProviderName
  const spec = Object.hasOwn(SPECS, key) ? SPECS[key] : undefined // not `constructor`, `__proto__`, …
  if (!spec) throw new ProviderError(`Provider ${name} could not be found`)
  const s = config.external[key]
  if (!s.enabled) throw new ProviderError('Provider is not enabled')
  if (!s.client_id) throw new ProviderError('Missing Oauth client ID')
  if (!s.secret) throw new ProviderError('Missing Oauth secret')
  if (!s.redirect_uri) throw new ProviderError('Missing redirect URI')
  const base = s.url.replace(/\/+$/, '')
  const ep = spec.endpoints(base)
  const { OAuth2Client } = await import('arctic')
  const client = new OAuth2Client(s.client_id, s.secret, s.redirect_uri)
  return {
    name: key,
    authorizationUrl(state, verifier) {
      return verifier && spec.pkce
        ? client.createAuthorizationURLWithPKCE(ep.authorize, state, 0 /* S256 */, verifier, spec.scopes)
        : client.createAuthorizationURL(ep.authorize, state, spec.scopes)
    },
    async exchange(code, verifier) {
      const tokenUrl = spec.secretInQuery
        ? `${ep.token}?${new URLSearchParams({ client_id: s.client_id, client_secret: s.secret })}`
        : ep.token
      const tokens = await client.validateAuthorizationCode(tokenUrl, code, spec.pkce ? verifier : null)
      return tokens.accessToken()
    },
    fetchUser: (accessToken) => spec.fetchUser(accessToken, base, s),
  }
}

/** GET a provider API as JSON with the access token; non-2xx → GoTrue's "Request failed with status" error. */
export async function getJson<T>(url: string, accessToken: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json', 'user-agent': 'gotrue', ...headers },
    signal: AbortSignal.timeout(10_000),
  })
  if (!res.ok) throw new ProviderError(`Request failed with status ${res.status}:\n${(await res.text()).slice(0, 500)}`)
  return (await res.json()) as T
}

export const clean = (m: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(m).filter(([, v]) => typeof v === 'string' && v !== '')) as Record<string, string>
