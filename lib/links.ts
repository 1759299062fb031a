// The links in mails: MAILER_URLPATHS_<kind> resolved against SITE_URL (RFC 3986), the token in the fragment, as
// the reference sends them. A link to one of this API's account pages (features/pages.ts) carries the token in
// the query instead: a page needs it on the server, and a fragment never reaches one. Without a site of its own
// (SITE_URL left at its default, this API's address) every link opens those pages, so a mailed link works with
// no configuration.
import type { Config } from './config.ts'
import { schemaAt } from './config-schema.ts'
import { redirectGuard } from './redirects.ts'

export type LinkKind = 'invite' | 'confirmation' | 'recovery' | 'email_change'
/** The name of the token in the link: fragment key for a site, query parameter for a page (GoTrue's names). */
export const TOKEN_PARAM: Record<LinkKind, string> = {
  invite: 'invite_token', confirmation: 'confirmation_token', recovery: 'recovery_token', email_change: 'email_change_token',
}
/** The account page of each kind of link, on this API. No GoTrue (netlify's or supabase's) has an /account route. */
export const PAGE_PATHS: Record<LinkKind, string> = {
  confirmation: '/account/confirm', invite: '/account/invite', recovery: '/account/recover', email_change: '/account/email-change',
}
const DEFAULT_SITE_URL = (schemaAt(['site_url']) as { default?: string }).default

/** SITE_URL is this API itself (nothing configured): there is no site to take the link, the pages do. */
export const siteIsThisApi = (config: Config): boolean => config.site_url === DEFAULT_SITE_URL

const guards = new WeakMap<Config, ReturnType<typeof redirectGuard>>()
/** The request's `redirect_to` when the allow-list lets a browser go there with a token (lib/redirects.ts), else
 *  null: the link then goes where it would without one (the site, or the account pages). */
export function allowedRedirect(config: Config, requested: unknown): string | null {
  if (typeof requested !== 'string' || !requested) return null
  let guard = guards.get(config)
  if (!guard) guards.set(config, (guard = redirectGuard(config)))
  return guard(requested)
}

/** Whether a link of `kind` without a redirect opens this API's account page (MAILER_URLPATHS_<kind> names it, or
 *  no site is configured). */
export function opensPage(config: Config, kind: LinkKind): boolean {
  return new URL(mailLink(config, kind, 'x')).pathname.endsWith(PAGE_PATHS[kind])
}

/** `redirectTo`: an allowed redirect (allowedRedirect) the client asked for (supabase's `redirect_to`,
 *  `emailRedirectTo`): the link opens it, with the token in the fragment as a site's link has it. */
export function mailLink(config: Config, kind: LinkKind, token: string, redirectTo?: string | null): string {
  if (redirectTo) return `${redirectTo.replace(/#.*$/, '')}#${TOKEN_PARAM[kind]}=${token}`
  const path = config.mailer.url_paths[kind]
  const configured = path && path !== '/' ? path : siteIsThisApi(config) ? PAGE_PATHS[kind] : path
  const url = new URL(configured || '/', config.site_url)
  url.hash = ''
  // A path ending in the page's own path, at any prefix (a proxy may mount this API at /.netlify/identity).
  if (url.pathname.endsWith(PAGE_PATHS[kind])) {
    url.searchParams.set(TOKEN_PARAM[kind], token)
    return url.toString()
  }
  const base = configured ? url.toString() : config.site_url.replace(/\/$/, '')
  return `${base.replace(/#.*$/, '')}#${TOKEN_PARAM[kind]}=${token}`
}

/** The variables every mail template gets (GoTrue's names). */
export function mailVars(config: Config, kind: LinkKind, email: string, token: string, data: Record<string, unknown>, newEmail?: string, redirectTo?: string | null) {
  return {
    SiteURL: config.site_url, ConfirmationURL: mailLink(config, kind, token, redirectTo), Email: email, NewEmail: newEmail, Token: token, Data: data,
    RedirectTo: redirectTo || config.site_url, // supabase's template variable
  }
}

/** The link of a mail whose request carried a PKCE code_challenge (supabase's `flowType: 'pkce'`): the allowed
 *  redirect, else SITE_URL, with the token as `?code=`, which the page's client exchanges with its verifier
 *  (POST /token grant_type=pkce, lib/pkce.ts). The link goes straight to the site, as every link of this API does:
 *  nothing on a GET spends it, so a mail scanner that opens it changes nothing. */
export function codeLink(config: Config, token: string, redirectTo: string | null): string {
  const url = new URL(redirectTo ?? config.site_url)
  url.hash = ''
  url.searchParams.set('code', token)
  return url.toString()
}

/** The passwordless sign-in link (features/otp.ts, the admin link generator): the allowed redirect, else
 *  MAILER_URLPATHS_MAGIC_LINK on SITE_URL, with the token under supabase's names in the query (`token_hash`,
 *  `type`), for the page to POST /verify as supabase's templates do. */
export function magicLink(config: Config, token: string, redirectTo: string | null): string {
  const url = new URL(redirectTo ?? new URL(config.mailer.url_paths.magic_link || '/', config.site_url).toString())
  url.hash = ''
  url.searchParams.set('token_hash', token)
  url.searchParams.set('type', 'magiclink')
  return url.toString()
}
