// Eta, the only importer: the built-in templates are embedded (imported as text), so a `bun build --compile`
// binary needs no templates/ folder, and registered under '@' names, which Eta resolves from its cache and never
// from disk. Two sets: the four mails (lib/mailer.ts) and the account pages (features/pages.ts). Eta is loaded
// and a set compiled on its first use: a node that sends no mail and serves no page keeps the memory.
// A page template may be replaced by a file pages/<name>.eta in GOTRUE_MAILER_TEMPLATES_DIR: the process's own
// configuration, read under the same rules as a mail's file: template (never a setting of a multi-instance site).
import type { Eta } from 'eta'
import { closeSync, existsSync, fstatSync, openSync, readSync, realpathSync } from 'node:fs'
import { resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import confirmation from '../templates/confirmation.eta' with { type: 'text' }
import email_change from '../templates/email_change.eta' with { type: 'text' }
import magic_link from '../templates/magic_link.eta' with { type: 'text' }
import invite from '../templates/invite.eta' with { type: 'text' }
import layout from '../templates/layout.eta' with { type: 'text' }
import pageConfirm from '../templates/pages/confirm.eta' with { type: 'text' }
import pageEmailChange from '../templates/pages/email-change.eta' with { type: 'text' }
import pageInvite from '../templates/pages/invite.eta' with { type: 'text' }
import pageLayout from '../templates/pages/layout.eta' with { type: 'text' }
import pageOutcome from '../templates/pages/outcome.eta' with { type: 'text' }
import pageRecover from '../templates/pages/recover.eta' with { type: 'text' }
import pageStyle from '../templates/pages/style.css' with { type: 'text' }
import reauthentication from '../templates/reauthentication.eta' with { type: 'text' }
import recovery from '../templates/recovery.eta' with { type: 'text' }

export const MAX_TEMPLATE = 256 * 1024

/** A file of the process's own configuration, read from `dir` only: the real path (every symlink followed) must
 *  lie inside the folder's real path, and at most 256 KiB are read (a /proc file says size 0). `ref` is
 *  `file:NAME`, `file://…` or a plain relative name. */
export function readTemplateFile(dir: string, ref: string): string {
  const name = ref.startsWith('file://') ? fileURLToPath(ref) : ref.replace(/^file:/i, '')
  const root = realpathSync(resolve(dir))
  const file = realpathSync(resolve(root, name))
  if (!file.startsWith(root + sep)) throw new Error('template file is outside GOTRUE_MAILER_TEMPLATES_DIR')
  const fd = openSync(file, 'r')
  try {
    if (!fstatSync(fd).isFile()) throw new Error('template is not a regular file')
    const buf = Buffer.alloc(MAX_TEMPLATE + 1)
    let n = 0
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null)
    if (n > MAX_TEMPLATE) throw new Error('template larger than 256 KiB')
    return buf.subarray(0, n).toString('utf8')
  } finally { closeSync(fd) }
}

const compile = (set: Record<string, string>) => import('eta').then(({ Eta }) => {
  const e = new Eta({ autoEscape: true })
  for (const [name, text] of Object.entries(set)) e.loadTemplate(`@${name}`, text)
  return e
})

let mails: Promise<Eta> | null = null
/** A built-in mail: its template inside the shared mail layout. */
export async function renderMail(kind: string, title: string, vars: object): Promise<string> {
  const e = await (mails ??= compile({ layout, confirmation, invite, recovery, email_change, magic_link, reauthentication }))
  return e.render('@layout', { title, body: e.render(`@${kind}`, vars) })
}

const PAGES: Record<string, string> = {
  layout: pageLayout, confirm: pageConfirm, invite: pageInvite, recover: pageRecover, 'email-change': pageEmailChange, outcome: pageOutcome,
}
export type PageName = 'confirm' | 'invite' | 'recover' | 'email-change' | 'outcome'

/** The pages of one templates folder: each built-in page, or its pages/<name>.eta (or pages/style.css) there. A
 *  file that cannot be read or compiled leaves the built-in page in place. */
const pages = new Map<string, Promise<{ eta: Eta; style: string }>>()
function loadPages(dir: string) {
  let p = pages.get(dir)
  if (!p) {
    const own = (file: string) => {
      try { return existsSync(resolve(dir, 'pages', file)) ? readTemplateFile(dir, `pages/${file}`) : undefined } catch { return undefined }
    }
    p = compile(PAGES).then((eta) => {
      for (const name of Object.keys(PAGES)) {
        const text = own(`${name}.eta`)
        try { if (text !== undefined) eta.loadTemplate(`@${name}`, text) } catch { eta.loadTemplate(`@${name}`, PAGES[name] as string) }
      }
      return { eta, style: own('style.css') ?? pageStyle }
    })
    pages.set(dir, p)
  }
  return p
}

/** An account page: its template inside the page layout, `title` as its one h1. */
export async function renderPage(dir: string, name: PageName, data: { title: string } & Record<string, unknown>): Promise<string> {
  const { eta } = await loadPages(dir)
  return eta.render('@layout', { ...data, body: eta.render(`@${name}`, data) })
}

/** The pages' stylesheet (served from this API: the pages' CSP allows no inline style). */
export const pageStylesheet = async (dir: string): Promise<string> => (await loadPages(dir)).style
