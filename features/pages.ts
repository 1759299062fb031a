// The account pages: small server-rendered pages for the links this service mails (confirm a signup, accept an
// invite, reset a password, confirm an email change), under /account/, which no GoTrue uses.
//   GET  /account/<page>?<kind>_token=…  shows a form and never consumes the token: mail scanners (Outlook Safe
//        Links and others) open every link before the user does. No lookup either, so a GET is no token oracle.
//   POST /account/<page>                 the form (token, and a password where needed, no script): the same step
//        as POST /verify (lib/verify.ts, its rate limit included), then the outcome page, or a 303 to the site
//        with the session in the fragment as the reference's /callback sends it. A user with a verified factor
//        (and GOTRUE_MFA_REQUIRE_AAL2_FOR_CHANGES) is signed in at aal1 and the password left unchanged: a link
//        is one factor, and the site asks for the second before a new password.
// The token comes in the query (lib/links.ts puts it there for these pages): a fragment never reaches a server.
// The price is that a query reaches access logs: ours logs the path without the query, and the POST, which is
// what consumes the token, carries it in its body, so only the first request's URL holds it.
// CSRF: the POST needs the one-time token itself; a cross-site submission is refused besides (Sec-Fetch-Site,
// or Origin when the browser sends one: with Referrer-Policy no-referrer our own form posts `Origin: null`).
import { Elysia } from 'elysia'
import type { Deps } from '../lib/deps.ts'
import { HttpError } from '../lib/errors.ts'
import { type LinkKind, PAGE_PATHS, siteIsThisApi, TOKEN_PARAM } from '../lib/links.ts'
import { type PageName, pageStylesheet, renderPage } from '../lib/templates.ts'
import { verifyToken } from '../lib/verify.ts'

interface Page { kind: LinkKind; name: PageName; type: string; title: string; password: boolean; done: string }
const PAGES: Page[] = [
  { kind: 'confirmation', name: 'confirm', type: 'signup', title: 'Confirm your email address', password: false, done: 'Your email address is confirmed.' },
  { kind: 'invite', name: 'invite', type: 'invite', title: 'Accept your invitation', password: true, done: 'Your invitation is accepted and your password is set.' },
  { kind: 'recovery', name: 'recover', type: 'recovery', title: 'Reset your password', password: true, done: 'Your new password is set.' },
  { kind: 'email_change', name: 'email-change', type: 'email_change', title: 'Confirm your new email address', password: false, done: 'Your new email address is confirmed.' },
]

type Set = { status?: number | string; headers: Record<string, string | number> }
const str = (v: unknown): string => (typeof v === 'string' ? v : '')

export function pages(deps: Deps) {
  const { config } = deps
  const dir = config.mailer.templates_dir
  const toSite = !siteIsThisApi(config)
  const site = new URL(config.site_url)
  // The redirect after the POST is a form navigation too: form-action must allow the site.
  const csp = `default-src 'none'; style-src 'self'; form-action 'self'${toSite ? ` ${site.origin}` : ''}; frame-ancestors 'none'; base-uri 'none'`

  const html = async (set: Set, status: number, name: PageName, data: { title: string } & Record<string, unknown>) => {
    set.status = status
    Object.assign(set.headers, {
      'content-type': 'text/html; charset=utf-8', 'content-security-policy': csp, 'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff', 'cache-control': 'no-store',
    })
    return renderPage(dir, name, { stylesheet: 'style.css', ...data })
  }
  const outcome = (set: Set, status: number, p: Page, ok: boolean, message: string) =>
    html(set, status, 'outcome', { title: p.title, ok, message, next: toSite ? config.site_url : '', nextLabel: 'Go to the site' })
  const form = (set: Set, status: number, p: Page, token: string, error = '') =>
    html(set, status, p.name, { title: p.title, action: p.name, token, error, minLength: config.password.min_length })

  /** A submission another site made the browser send. */
  const crossSite = (request: Request): boolean => {
    const fetchSite = request.headers.get('sec-fetch-site')
    if (fetchSite) return fetchSite !== 'same-origin' && fetchSite !== 'none'
    const origin = request.headers.get('origin')
    if (!origin || origin === 'null') return false
    try { return new URL(origin).host !== (request.headers.get('host') ?? new URL(request.url).host) } catch { return true }
  }

  type Ctx = { set: Set; request: Request; server: Parameters<typeof verifyToken>[3] }
  const show = (p: Page) => ({ query, set }: { query: Record<string, unknown>; set: Set }) => {
    const token = str(query[TOKEN_PARAM[p.kind]]) || str(query.token)
    if (!token || token.length > 512) return outcome(set, 400, p, false, 'This link is incomplete. Open the link from the mail again, or ask for a new one.')
    return form(set, 200, p, token)
  }
  const submit = (p: Page) => async ({ body, request, server, set }: Ctx & { body: unknown }) => {
    const fields = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>
    const token = str(fields.token).trim()
    if (crossSite(request)) return outcome(set, 403, p, false, 'This form was sent from another site. Open the link from the mail again.')
    if (!token || token.length > 512) return outcome(set, 404, p, false, 'This link is invalid or has already been used.')
    const password = str(fields.password)
    if (p.password) {
      if (!password) return form(set, 422, p, token, 'Please choose a password.')
      if (password.length > 1024) return form(set, 422, p, token, 'This password is too long.')
      if (password !== str(fields.password_again)) return form(set, 422, p, token, 'The two passwords differ. Please type the same password twice.')
    }
    let session: Awaited<ReturnType<typeof verifyToken>>['session']
    let passwordNeedsAal2 = false
    let clearCookie = ''
    try {
      ({ session, passwordNeedsAal2, clearCookie } = await verifyToken(deps, { type: p.type, token, password: p.password ? password : undefined, resetPassword: p.name === 'recover' }, request, server))
    } catch (e) {
      if (!(e instanceof HttpError) || e.status >= 500) throw e
      if (e.status === 429) {
        Object.assign(set.headers, e.headers ?? {})
        return outcome(set, 429, p, false, 'Too many attempts from here. Please wait a few minutes and try again.')
      }
      if (e.status === 404) return outcome(set, 404, p, false, 'This link is invalid or has already been used.')
      if (/expired/i.test(e.msg)) return outcome(set, 422, p, false, 'This link has expired. Please ask for a new one.')
      return form(set, e.status, p, token, e.msg) // a password the policy refuses: the token is still good
    }
    if (clearCookie) set.headers['set-cookie'] = clearCookie
    if (toSite) {
      // The reference's implicit-flow fragment, so a site that takes /callback's redirect takes this one too.
      const url = new URL(config.site_url)
      url.hash = new URLSearchParams({
        access_token: session.access_token, expires_in: String(session.expires_in), refresh_token: session.refresh_token, token_type: session.token_type,
        // The password is still to be set, after the second factor: supabase's marker of a recovery sign-in.
        ...(passwordNeedsAal2 && { type: 'recovery' }),
      }).toString()
      set.status = 303
      Object.assign(set.headers, { location: url.toString(), 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' })
      return ''
    }
    // The site got the aal1 session above and asks for the second factor before a new password (auth-js's
    // recovery flow); this page cannot ask for it, so it says the password is unchanged and why.
    if (passwordNeedsAal2) {
      return outcome(set, 200, p, false, 'Your link is confirmed, but your password is not changed: your account is protected by a second factor, and a new password needs it too. Sign in with your second factor in your app and change your password there, or ask an administrator to reset it.')
    }
    return outcome(set, 200, p, true, `${p.done} You can close this page and sign in.`)
  }
  const hide = { detail: { hide: true } }

  const [confirm, invite, recover, emailChange] = PAGES as [Page, Page, Page, Page]
  return new Elysia({ name: 'pages' })
    .get('/account/style.css', async ({ set }) => {
      Object.assign(set.headers, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' })
      return pageStylesheet(dir)
    }, hide)
    .get(PAGE_PATHS.confirmation, show(confirm), hide)
    .post(PAGE_PATHS.confirmation, submit(confirm), hide)
    .get(PAGE_PATHS.invite, show(invite), hide)
    .post(PAGE_PATHS.invite, submit(invite), hide)
    .get(PAGE_PATHS.recovery, show(recover), hide)
    .post(PAGE_PATHS.recovery, submit(recover), hide)
    .get(PAGE_PATHS.email_change, show(emailChange), hide)
    .post(PAGE_PATHS.email_change, submit(emailChange), hide)
}
