// The browser that did a held external sign-in (an address its provider has not verified, lib/external-pending.ts).
// Its confirmation mail goes to the address, and whoever owns the address is not necessarily whoever signed in: an
// attacker who claimed the victim's address at a provider has a confirmation link mailed to the victim, and a
// victim who clicks it unasked would confirm the account with the attacker's provider link kept (the reference's
// flow; account pre-hijacking). So the link survives its confirmation only in the browser that did the sign-in:
// the callback gives that browser a random secret in an HttpOnly cookie, the mailed token records the secret's hash,
// and a confirmation that does not carry the cookie confirms the address and drops the link (lib/verify.ts).
// The cookie reaches POST /verify from the account pages (this API's origin) and from a site that serves this API
// on its own origin (Netlify's /.netlify/identity); a site on another origin calls /verify without cookies, so its
// users confirm without the link (unless MAILER_URLPATHS_CONFIRMATION sends these mails to the account pages) and
// sign in with that provider again once it verifies the address.
// Each held sign-in gets a secret of its own, minted here, under a cookie name of its own (a browser may have several
// pending), never one the request presents: a secret that leaked from the owner's browser (the cookie goes to every
// path of the host, so to a site's functions and proxied rewrites on Netlify's same origin) must not let the
// attacker's sign-in bind its mail to that browser. A confirmation that used it clears it.
// When any part of the deployment is https (SITE_URL, an enabled provider's redirect URI), the cookie is Secure and
// `__Host-` prefixed: a sibling subdomain or an http attacker cannot plant one, and a provider misconfigured with an
// http callback gets a cookie the browser refuses (its links are then dropped at confirmation, never kept wrongly).
// What this cannot tell apart: a script running on the API's own origin (an XSS on a same-origin site) can set a
// cookie of the attacker's sign-in in the victim's browser.
import type { Config } from './config.ts'
import { randomToken, safeEqual, sha256 } from './crypto.ts'

const PREFIX = 'gotrue-held-'
const NAME = /^(?:__Host-)?gotrue-held-[A-Za-z0-9_-]{8}$/
const SECRET = /^[A-Za-z0-9_-]{43}$/

/** Whether the deployment is https anywhere the browser meets it. */
function secureDeployment(config: Config): boolean {
  if (config.site_url.startsWith('https:')) return true
  return Object.values(config.external).some((p) =>
    !!p && typeof p === 'object' && 'enabled' in p && p.enabled && 'redirect_uri' in p && String(p.redirect_uri).startsWith('https:'))
}
const attributes = (config: Config, maxAge: number) =>
  `Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secureDeployment(config) ? '; Secure' : ''}`

function cookieValue(cookieHeader: string | null | undefined, name: string): string | null {
  for (const c of (cookieHeader ?? '').split(';')) {
    const [k, ...v] = c.trim().split('=')
    if (k === name) return v.join('=')
  }
  return null
}

/** The binding of one held sign-in: the mark its mailed token records (the cookie's name and the secret's hash) and
 *  the Set-Cookie header that gives the browser the secret, for as long as a confirmation link lives. */
export function bindHeldBrowser(config: Config, maxAge: number): { mark: string; setCookie: string } {
  const name = `${secureDeployment(config) ? '__Host-' : ''}${PREFIX}${randomToken(6)}`
  const secret = randomToken()
  return { mark: `${name}=${sha256(secret)}`, setCookie: `${name}=${secret}; ${attributes(config, maxAge)}` }
}

/** Whether the request comes from the browser a token's mark names (constant-time; a token without one, never). */
export function fromHeldBrowser(mark: string, cookieHeader: string | null | undefined): boolean {
  const eq = mark.indexOf('=')
  const name = mark.slice(0, eq)
  if (eq <= 0 || !NAME.test(name)) return false
  const secret = cookieValue(cookieHeader, name)
  return secret !== null && SECRET.test(secret) && safeEqual(sha256(secret), mark.slice(eq + 1))
}

/** The Set-Cookie header that removes a mark's cookie once its confirmation is used ('' for a token without one). */
export function clearHeldBrowser(config: Config, mark: string): string {
  const name = mark.slice(0, Math.max(0, mark.indexOf('=')))
  return NAME.test(name) ? `${name}=; ${attributes(config, 0)}` : ''
}
