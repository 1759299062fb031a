// Moving users between deployments: a streamed export (one user per line, password hashes included, so a
// million users never sit in memory) and an idempotent import of such an export — or of rows selected from the
// reference's MySQL `users` table (raw_app_meta_data / raw_user_meta_data columns). Used by the
// /admin/users/export route and the `gotrue admin export|import` CLI verbs.
import { type Db, dbTime, UniqueViolation } from './db/index.ts'
import { emailKey, emailProblem, parseMeta, toUser, USER_COLUMNS, type UserJson, type UserRow } from './users.ts'

export type ExportedUser = UserJson & { encrypted_password: string }
const BATCH = 1000

/** Every user of the instance (optionally one audience), oldest first, fetched in keyset batches. */
export async function* exportRows(db: Db, instanceId: string, aud?: string): AsyncGenerator<UserRow> {
  let after: [string, string] | null = null
  for (;;) {
    const params: (string | number)[] = [instanceId]
    let where = 'instance_id = ?'
    if (aud !== undefined) { where += ' AND aud = ?'; params.push(aud) }
    if (after) { where += ' AND (created_at > ? OR (created_at = ? AND id > ?))'; params.push(after[0], after[0], after[1]) }
    const rows: UserRow[] = await db.all<UserRow>(`SELECT ${USER_COLUMNS} FROM {users} WHERE ${where} ORDER BY created_at ASC, id ASC LIMIT ?`, [...params, BATCH])
    for (const r of rows) yield r
    const last = rows[rows.length - 1]
    if (!last || rows.length < BATCH) return
    after = [last.created_at, last.id]
  }
}

export const exportUser = (r: UserRow): ExportedUser => ({ ...toUser(r), encrypted_password: r.encrypted_password })

/** The export document, `{"users":[` + one user per line + `],"aud":…}`, as a stream of text chunks. */
export async function* exportDocument(db: Db, instanceId: string, aud?: string): AsyncGenerator<string> {
  yield '{"users":[\n'
  let first = true
  for await (const r of exportRows(db, instanceId, aud)) {
    yield `${first ? '' : ',\n'}${JSON.stringify(exportUser(r))}`
    first = false
  }
  yield `\n],"aud":${JSON.stringify(aud ?? '')}}\n`
}

/** One user record of an export (ours or the reference's) or of a row of the reference's `users` table. */
export function normalizeImported(x: Record<string, unknown>, instanceId: string, defaultAud: string, now: Date): UserRow {
  const str = (k: string) => (typeof x[k] === 'string' ? (x[k] as string) : '')
  const time = (k: string) => {
    const v = x[k]
    if (typeof v !== 'string' || !v) return null
    const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v.replace(' ', 'T')}Z`)
    return Number.isNaN(d.getTime()) ? null : dbTime(d)
  }
  const meta = (obj: string, raw: string) => {
    const v = x[obj] ?? (typeof x[raw] === 'string' ? parseMeta(x[raw] as string) : x[raw])
    return JSON.stringify(v && typeof v === 'object' && !Array.isArray(v) ? v : {})
  }
  const email = str('email').trim()
  const id = str('id')
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new Error(`invalid id ${JSON.stringify(id)}`)
  const problem = emailProblem(email)
  if (problem) throw new Error(`invalid email ${JSON.stringify(email)}: ${problem}`)
  const hash = str('encrypted_password')
  if (hash && !/^\$2[aby]\$\d{2}\$/.test(hash)) throw new Error(`user ${id}: encrypted_password is not a bcrypt hash`)
  const created = time('created_at') ?? dbTime(now)
  return {
    instance_id: instanceId, id: id.toLowerCase(), aud: typeof x.aud === 'string' ? x.aud : defaultAud, role: str('role'), email,
    encrypted_password: hash, confirmed_at: time('confirmed_at'), invited_at: time('invited_at'),
    confirmation_sent_at: time('confirmation_sent_at'), recovery_sent_at: time('recovery_sent_at'),
    email_change: str('new_email') || str('email_change'), email_change_sent_at: time('email_change_sent_at'),
    last_sign_in_at: time('last_sign_in_at'), raw_app_meta_data: meta('app_metadata', 'raw_app_meta_data'),
    raw_user_meta_data: meta('user_metadata', 'raw_user_meta_data'), is_super_admin: x.is_super_admin ? 1 : 0,
    created_at: created, updated_at: time('updated_at') ?? created,
  }
}

export interface ImportResult { inserted: number; updated: number; failed: { line: number; error: string }[] }

/** Inserts each user, or updates it when its id already exists (so a second run changes nothing). */
export async function importUsers(db: Db, rows: AsyncIterable<{ line: number; value: Record<string, unknown> }>, opts: {
  instanceId: string; aud: string; now: Date; onProgress?: (done: number) => void
}): Promise<ImportResult> {
  const result: ImportResult = { inserted: 0, updated: 0, failed: [] }
  let done = 0
  for await (const { line, value } of rows) {
    try {
      const r = normalizeImported(value, opts.instanceId, opts.aud, opts.now)
      const cols = USER_COLUMNS.split(', ')
      const values = [...cols.map((c) => r[c as keyof UserRow] as string | number | null), emailKey(r.email)]
      await db.tx(async (tx) => {
        const exists = await tx.get('SELECT id FROM {users} WHERE id = ?', [r.id])
        if (exists) {
          await tx.run(`UPDATE {users} SET ${[...cols, 'email_key'].filter((c) => c !== 'id').map((c) => `${c} = ?`).join(', ')} WHERE id = ?`,
            [...values.filter((_, i) => cols[i] !== 'id'), r.id])
          result.updated++
        } else {
          await tx.run(`INSERT INTO {users} (${USER_COLUMNS}, email_key) VALUES (${values.map(() => '?').join(', ')})`, values)
          result.inserted++
        }
      })
    } catch (e) {
      const msg = e instanceof UniqueViolation ? 'another user already has this email' : e instanceof Error ? e.message : String(e)
      result.failed.push({ line, error: msg })
    }
    opts.onProgress?.(++done)
  }
  return result
}

/** Reads an export file as a stream of user objects: one user per line when the file is laid out that way
 *  (our export), else the whole document (`{"users":[…]}` or a bare array). */
export async function* readExport(path: string): AsyncGenerator<{ line: number; value: Record<string, unknown> }> {
  const file = Bun.file(path)
  const head = await file.slice(0, 64).text()
  if (head.startsWith('{"users":[\n')) {
    let n = 0
    let buf = ''
    const decoder = new TextDecoder()
    for await (const chunk of file.stream() as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true })
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        const lineText = buf.slice(0, i).replace(/,$/, '')
        buf = buf.slice(i + 1)
        n++
        if (lineText.startsWith('{"id"')) yield { line: n, value: JSON.parse(lineText) }
      }
    }
    return
  }
  const doc = JSON.parse(await file.text()) as unknown
  const list = Array.isArray(doc) ? doc : (doc as { users?: unknown[] })?.users
  if (!Array.isArray(list)) throw new Error('expected a JSON array of users or {"users": [...]}')
  let n = 0
  for (const v of list) yield { line: ++n, value: v as Record<string, unknown> }
}
