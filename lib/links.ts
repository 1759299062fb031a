// The links in mails: MAILER_URLPATHS_<kind> resolved against SITE_URL (RFC 3986), the token in the fragment.
import type { Config } from './config.ts'

export type LinkKind = 'invite' | 'confirmation' | 'recovery' | 'email_change'
const FRAGMENT: Record<LinkKind, string> = {
  invite: 'invite_token', confirmation: 'confirmation_token', recovery: 'recovery_token', email_change: 'email_change_token',
}

export function mailLink(config: Config, kind: LinkKind, token: string): string {
  const path = config.mailer.url_paths[kind]
  const base = path ? new URL(path, config.site_url).toString() : config.site_url.replace(/\/$/, '')
  return `${base.replace(/#.*$/, '')}#${FRAGMENT[kind]}=${token}`
}

/** The variables every mail template gets (GoTrue's names). */
export function mailVars(config: Config, kind: LinkKind, email: string, token: string, data: Record<string, unknown>, newEmail?: string) {
  return { SiteURL: config.site_url, ConfirmationURL: mailLink(config, kind, token), Email: email, NewEmail: newEmail, Token: token, Data: data }
}
