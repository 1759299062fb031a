// Cookie mode (X-Use-Cookie): the access token set as an HttpOnly cookie, and the header that clears it, which
// every refusal of a token that can never pass again sends (the token guard, an ended session, a spent refresh).
// Its own module, importing nothing of ours: lib/revocations.ts sends it, and lib/tokens.ts (which imports
// lib/mfa.ts, an importer of lib/revocations.ts) would close a cycle.
import type { Config } from './config.ts'

/** Cookie mode (X-Use-Cookie): the access token in an HttpOnly cookie; `session` makes it a session cookie.
 *  `Secure` is set unless SITE_URL is plain http (the reference always sets it, which breaks local dev). */
export function accessCookie(config: Config, useCookie: string | null, accessToken: string, now: Date): string | undefined {
  if (!useCookie || config.cookie.duration <= 0) return undefined
  const secure = config.site_url.startsWith('https:') ? '; Secure' : ''
  const base = `${config.cookie.key}=${accessToken}; Path=/; HttpOnly${secure}; SameSite=Lax`
  if (useCookie === 'session') return base
  const expires = new Date(now.getTime() + config.cookie.duration * 1000).toUTCString()
  return `${base}; Max-Age=${config.cookie.duration}; Expires=${expires}`
}

export function clearedCookie(config: Config): string {
  const secure = config.site_url.startsWith('https:') ? '; Secure' : ''
  return `${config.cookie.key}=; Path=/; HttpOnly${secure}; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`
}
