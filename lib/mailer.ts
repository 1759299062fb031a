// Mail: the four GoTrue mails rendered from templates/ (Eta, embedded) or from a site's own template, sent over SMTP
// (nodemailer) or, with no SMTP host, written as .eml (and .html) files to the outbox folder so the zero-setup quick start
// can still confirm a signup. The only importer of nodemailer; Eta rendering is lib/templates.ts.
// Site templates (MAILER_TEMPLATES_*) use GoTrue's Go-template variables ({{ .ConfirmationURL }}); they are
// filled by plain substitution, never compiled, so a template fetched from the site cannot run code here.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Transporter } from 'nodemailer'
import type { Config } from './config.ts'
import type { LinkKind } from './links.ts'
import type { Limiter } from './limiter.ts'
import { enforce, type Rule } from './limits.ts'
import type { Logger } from './log.ts'
import { pinnedFetch } from './ssrf.ts'
import { MAX_TEMPLATE, readTemplateFile, renderMail } from './templates.ts'

/** The link kinds, the passwordless sign-in mail (a link and a code, features/otp.ts) and the reauthentication code
 *  (features/reauthenticate.ts, no link). */
export type MailKind = LinkKind | 'magic_link' | 'reauthentication'
export interface MailVars {
  SiteURL: string; ConfirmationURL: string; Email: string; NewEmail?: string; Token: string; Data: Record<string, unknown>
  /** supabase's template variables: the link's token as /verify takes it (`token_hash`), and the target. */
  TokenHash?: string; RedirectTo?: string
}
export interface Mailer {
  send(kind: MailKind, to: string, vars: MailVars): Promise<void>
  close(): void
}
export class MailError extends Error {}

const TITLES: Record<MailKind, string> = { invite: 'Invitation', confirmation: 'Confirm your signup', recovery: 'Reset password', email_change: 'Email change', magic_link: 'Your sign-in link',
  reauthentication: 'Your verification code',
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
/** `{{ .Name }}` / `{{ .Data.key }}` substitution, HTML-escaped, as GoTrue's html/template would render them. */
function fillGoTemplate(tpl: string, vars: MailVars, escape = true): string {
  return tpl.replace(/\{\{\s*\.(\w+)(?:\.(\w+))?\s*\}\}/g, (_, a: string, b?: string) => {
    const v = b ? (vars as unknown as Record<string, Record<string, unknown>>)[a]?.[b] : (vars as unknown as Record<string, unknown>)[a]
    const s = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)
    return escape ? escapeHtml(s) : s
  })
}

/** Site templates: a file of MAILER_TEMPLATES_DIR, or a path on SITE_URL fetched through the SSRF guard with a
 *  timeout and a size cap, cached 5 minutes. (A multi-instance site's own settings never name a file: those are
 *  dropped before they reach here, see lib/instances.ts.) */
function siteTemplates(config: Config, log: Logger) {
  const cache = new Map<string, { body: string; until: number }>()
  return async (kind: MailKind): Promise<string | undefined> => {
    const ref = config.mailer.templates[kind]
    if (!ref) return undefined
    const hit = cache.get(ref)
    if (hit && hit.until > Date.now()) return hit.body
    try {
      let body: string
      if (/^file:/i.test(ref)) body = readTemplateFile(config.mailer.templates_dir, ref)
      else {
        const url = new URL(config.site_url.replace(/\/$/, '') + ref.replace(/^https?:\/\/[^/]+/i, ''))
        const res = await pinnedFetch(url, { signal: AbortSignal.timeout(5000) }, config.webhook.allow_local)
        if (res.status !== 200) throw new Error(`status ${res.status}`)
        if (Number(res.headers.get('content-length') ?? 0) > MAX_TEMPLATE) throw new Error('template larger than 256 KiB')
        body = await res.text()
        if (body.length > MAX_TEMPLATE) throw new Error('template larger than 256 KiB')
      }
      cache.set(ref, { body, until: Date.now() + 5 * 60_000 })
      return body
    } catch (e) {
      log.warn('mail template could not be loaded, using the default', { kind, error: e instanceof Error ? e.message : String(e) })
      return undefined
    }
  }
}

export function makeMailer(config: Config, log: Logger): Mailer {
  const site = siteTemplates(config, log)
  const smtp = config.smtp
  // nodemailer is loaded on the first mail, not at start: it is the largest module here (~15 MB of resident
  // memory), and a node that only answers GET /user or /token never needs it.
  let transport: Transporter | null = null
  const getTransport = async (): Promise<Transporter> => {
    if (transport) return transport
    const { default: nodemailer } = await import('nodemailer')
    transport = smtp.host
      ? nodemailer.createTransport({
          host: smtp.host, port: smtp.port, secure: smtp.port === 465,
          auth: smtp.user ? { user: smtp.user, pass: smtp.pass } : undefined,
          connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000,
          tls: { rejectUnauthorized: !/^(127\.|localhost$)/.test(smtp.host) },
        })
      : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
    return transport
  }
  return {
    async send(kind, to, vars) {
      const custom = await site(kind)
      const body = custom !== undefined
        ? fillGoTemplate(custom, vars)
        : await renderMail(kind, TITLES[kind], vars)
      const subject = fillGoTemplate(config.mailer.subjects[kind], vars, false)
      const message = { from: smtp.admin_email, to, subject, html: body }
      let info: { message?: Buffer | unknown }
      try { info = await (await getTransport()).sendMail(message) } catch (e) {
        throw new MailError(e instanceof Error ? e.message : String(e))
      }
      if (!smtp.host) {
        mkdirSync(smtp.outbox_dir, { recursive: true, mode: 0o700 })
        const base = join(smtp.outbox_dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${kind}-${crypto.randomUUID().slice(0, 8)}`)
        const file = `${base}.eml`
        writeFileSync(file, info.message as Buffer, { mode: 0o600 })
        // The .eml body is quoted-printable (long links are wrapped); the .html beside it is readable as is.
        writeFileSync(`${base}.html`, body, { mode: 0o600 })
        log.info('no SMTP host configured: mail written to the outbox', { kind, file })
      }
    },
    close() { transport?.close() },
  }
}

/** GOTRUE_RATE_LIMIT_EMAIL_SENT: every mail counts against one shared hourly budget; over it, sending fails
 *  with a 429 (features pass an HttpError through instead of reporting a mail failure). */
export function limitedMailer(mailer: Mailer, limiter: Limiter, rule: Rule, now: () => Date): Mailer {
  if (rule.limit <= 0) return mailer
  return {
    send: async (kind, to, vars) => {
      await enforce(limiter, rule, ['all'], now().getTime())
      return mailer.send(kind, to, vars)
    },
    close: () => mailer.close(),
  }
}
