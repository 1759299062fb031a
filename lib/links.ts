// The links in mails: MAILER_URLPATHS_<kind> resolved against SITE_URL (RFC 3986), the token in the fragment, as
// the reference sends them. A link to one of this API's account pages (features/pages.ts) carries the token in
// the query instead: a page needs it on the server, and a fragment never reaches one. Without a site of its own
// (SITE_URL left at its default, this API's address) every link opens those pages, so a mailed link works with
// no configuration.
import type { Config } from './config.ts'
import { schemaAt } from './config-schema.ts'

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

export function mailLink(config: Config, kind: LinkKind, token: string): string {
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
export function mailVars(config: Config, kind: LinkKind, email: string, token: string, data: Record<string, unknown>, newEmail?: string) {
  return { SiteURL: config.site_url, ConfirmationURL: mailLink(config, kind, token), Email: email, NewEmail: newEmail, Token: token, Data: data }
}
