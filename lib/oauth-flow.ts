// What GET /authorize and GET|POST /callback agree on about one external sign-in: the flow_states row the first
// writes and the second takes, how long it lives, and the state cookie that binds the flow to the browser that
// started it.
// Safer than the reference: the OAuth state is a random single-use value kept server-side for 5 minutes (so
// tampering, replay and expiry are refused) and bound to the browser that started the flow by an HttpOnly cookie
// (so nobody can finish a sign-in in someone else's browser, nor redeem a leaked callback URL in their own).
import type { Config, ProviderName } from './config.ts'
import { hmac, safeEqual } from './crypto.ts'

export const STATE_LIFETIME_MS = 5 * 60_000
const STATE_COOKIE = 'gotrue-oauth-state'

/** A flow_states row as the callback reads it (the state hash and instance are its keys, not its content). */
export interface FlowRow {
  id: string; provider: string; provider_code_verifier: string; invite_token_hash: string; referrer: string
  code_challenge: string; code_challenge_method: string; created_at: string
}

/** The state cookie's value for a state: keyed with the site's signing secret, so knowing the state (a leaked
 *  callback URL) does not give it. */
export const stateProof = (config: Config, state: string) => hmac(config.jwt.secret, `oauth-state:${state}`)

/** The cookie is sent only to the callback: its path and scheme are those of the provider's redirect URI. */
export function stateCookie(config: Config, provider: ProviderName, value: string, maxAge: number): string {
  let path = '/', secure = config.site_url.startsWith('https:')
  try {
    const callbackUrl = new URL(config.external[provider].redirect_uri)
    path = callbackUrl.pathname
    secure = callbackUrl.protocol === 'https:'
  } catch { /* refused by the provider anyway */ }
  return `${STATE_COOKIE}=${value}; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
}

/** Whether the request carries the state cookie that /authorize set for this state. */
export function fromStarter(config: Config, cookieHeader: string | undefined, state: string): boolean {
  const proof = stateProof(config, state)
  return (cookieHeader ?? '').split(';').some((c) => {
    const [name, ...value] = c.trim().split('=')
    return name === STATE_COOKIE && safeEqual(value.join('='), proof)
  })
}
