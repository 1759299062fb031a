// What every provider file shares: the shapes a provider returns, the spec it exports, and the JSON GET it makes
// against the provider's API. Kept apart from index.ts (the registry) so the provider files import this and the
// registry imports them, never both ways.
import type { ProviderName } from '../config.ts'

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

/** A provider refused or failed; its message is GoTrue's and reaches the client in the redirect fragment. */
export class ProviderError extends Error {}

/** GET a provider API as JSON with the access token; non-2xx → GoTrue's "Request failed with status" error. */
export async function getJson<T>(url: string, accessToken: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json', 'user-agent': 'gotrue', ...headers },
    signal: AbortSignal.timeout(10_000),
  })
  if (!res.ok) throw new ProviderError(`Request failed with status ${res.status}:\n${(await res.text()).slice(0, 500)}`)
  return (await res.json()) as T
}

/** Profile fields as user_metadata: only non-empty strings, so a provider's nulls never overwrite stored values. */
export const clean = (m: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(m).filter(([, v]) => typeof v === 'string' && v !== '')) as Record<string, string>
