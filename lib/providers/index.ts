// The external OAuth providers: a registry of small provider files, the only importers of arctic. Each file
// knows its endpoints (every host replaced by GOTRUE_EXTERNAL_<P>_URL when set), scopes, whether it supports
// PKCE, and how to read the profile and the emails (with the provider's own verified flag).
import type { Config, ProviderName } from '../config.ts'
import { bitbucket } from './bitbucket.ts'
import { facebook } from './facebook.ts'
import { github } from './github.ts'
import { gitlab } from './gitlab.ts'
import { google } from './google.ts'
import { ProviderError, type ProviderSpec, type ProviderUser } from './http.ts'

export { ProviderError, type ProviderUser } from './http.ts'

export interface Provider {
  name: ProviderName
  authorizationUrl(state: string, codeVerifier: string | null): URL
  /** Exchanges the code for the provider's access token. */
  exchange(code: string, codeVerifier: string | null): Promise<string>
  fetchUser(accessToken: string): Promise<ProviderUser>
}

const SPECS: Record<ProviderName, ProviderSpec> = { bitbucket, facebook, github, gitlab, google }

/** The configured provider, or a ProviderError with GoTrue's message. arctic is loaded on the first external
 *  sign-in, so nodes that never see one do not keep it resident. */
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
