// The browser that did a held external sign-in (an address its provider has not verified, lib/external-pending.ts).
// Its confirmation mail goes to the address, and whoever owns the address is not necessarily whoever signed in: an
// attacker who claimed the victim's address at a provider has a confirmation link mailed to the victim, and a
// victim who clicks it unasked would confirm the account with the attacker's provider link kept (the reference's
// flow; account pre-hijacking). So the link survives its confirmation only in the browser that did the sign-in:
// the callback gives that browser a random secret in an HttpOnly cookie, the mailed token records the secret's hash,
// and a confirmation that does not carry the cookie confirms the address and drops the link (lib/verify.ts).
// The cookie reaches POST /verify from the account pages (this API's origin) and from a site that serves this API
// on its own origin (Netlify's /.netlify/identity); a site on another origin calls /verify without cookies, so its
// users confirm without the link and sign in with that provider again once it verifies the address.
// Over https the cookie is `__Host-` prefixed: a sibling subdomain cannot plant a secret of its own in the victim's
// browser (which would make the attacker's link survive the victim's click).
import type { Config, ProviderName } from './config.ts'
import { randomToken, safeEqual, sha256 } from './crypto.ts'

const SECURE_NAME = '__Host-gotrue-held-signin'
const PLAIN_NAME = 'gotrue-held-signin'
const SECRET = /^[A-Za-z0-9_-]{43}$/

/** Whether the browser reaches this API over https: the scheme of the provider's redirect URI, as the state cookie
 *  decides it (lib/oauth-flow.ts). */
function secureFor(config: Config, provider: string): boolean {
  try {
    return new URL(config.external[provider as ProviderName].redirect_uri).protocol === 'https:'
  } catch {
    return config.site_url.startsWith('https:')
  }
}

function cookieValue(cookieHeader: string | null | undefined, name: string): string | null {
  for (const c of (cookieHeader ?? '').split(';')) {
    const [k, ...v] = c.trim().split('=')
    if (k === name) return v.join('=')
  }
  return null
}

/** The binding of a held sign-in: the mark its mailed token records (the cookie's name and the secret's hash) and
 *  the Set-Cookie header that gives the browser the secret. A browser that already holds a secret (an earlier held
 *  sign-in) keeps it, so each of its pending sign-ins still matches; the cookie lives as long as a confirmation link. */
export function bindHeldBrowser(config: Config, provider: string, cookieHeader: string | null | undefined, maxAge: number): { mark: string; setCookie: string } {
  const secure = secureFor(config, provider)
  const name = secure ? SECURE_NAME : PLAIN_NAME
  const held = cookieValue(cookieHeader, name)
  const secret = held && SECRET.test(held) ? held : randomToken()
  return {
    mark: `${name}=${sha256(secret)}`,
    setCookie: `${name}=${secret}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`,
  }
}

/** Whether the request comes from the browser a token's mark names (constant-time; a token without one, never). */
export function fromHeldBrowser(mark: string, cookieHeader: string | null | undefined): boolean {
  const eq = mark.indexOf('=')
  if (eq <= 0) return false
  const secret = cookieValue(cookieHeader, mark.slice(0, eq))
  return secret !== null && SECRET.test(secret) && safeEqual(sha256(secret), mark.slice(eq + 1))
}
