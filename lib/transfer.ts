// Moving users between deployments: a streamed export (one user per line, password hashes included, so a
// million users never sit in memory) and an idempotent import of such an export — or of rows selected from the
// reference's MySQL `users` table (raw_app_meta_data / raw_user_meta_data columns). Used by the
// /admin/users/export route and the `gotrue admin export|import` CLI verbs.
import { bcryptProblem } from './crypto.ts'
import { type Db, dbTime, parseTime, UniqueViolation } from './db/index.ts'
import { isUuid } from './ids.ts'
import { emailKey, emailProblem, insertUserRow, NIL_UUID, parseMeta, toUser, USER_COLUMNS, type UserJson, type UserRow } from './users.ts'

export type ExportedUser = UserJson & { is_super_admin?: true; encrypted_password: string }
const BATCH = 1000

/** Every user of the instance (optionally one audience; without super admins for someone who is not one), oldest
 *  first, fetched in keyset batches. */
export async function* exportRows(db: Db, instanceId: string, aud?: string, opts: { superAdmins?: boolean } = {}): AsyncGenerator<UserRow> {
  let after: [string, string] | null = null
  for (;;) {
    const params: (string | number)[] = [instanceId]
    let where = 'instance_id = ?'
    if (aud !== undefined) { where += ' AND aud = ?'; params.push(aud) }
    if (opts.superAdmins === false) where += ' AND is_super_admin = 0'
    if (after) { where += ' AND (created_at > ? OR (created_at = ? AND id > ?))'; params.push(after[0], after[0], after[1]) }
    const rows: UserRow[] = await db.all<UserRow>(`SELECT ${USER_COLUMNS} FROM {users} WHERE ${where} ORDER BY created_at ASC, id ASC LIMIT ?`, [...params, BATCH])
    for (const r of rows) yield r
    const last = rows[rows.length - 1]
    if (!last || rows.length < BATCH) return
    after = [last.created_at, last.id]
  }
}

/** How many users exportRows will yield (for a progress line; a few may be added or removed meanwhile). */
export async function countExportRows(db: Db, instanceId: string, aud?: string): Promise<number> {
  const row = await db.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM {users} WHERE instance_id = ?${aud !== undefined ? ' AND aud = ?' : ''}`,
    aud !== undefined ? [instanceId, aud] : [instanceId])
  return Number(row?.n ?? 0)
}

/** The API user plus what a move needs: the password hash and, only when set (the reference's export shape
 *  otherwise), the super-admin flag, so an export → import neither demotes nor promotes anybody. */
const exportUser = (r: UserRow): ExportedUser =>
  ({ ...toUser(r), ...(r.is_super_admin ? { is_super_admin: true as const } : {}), encrypted_password: r.encrypted_password })

/** The export document, `{"users":[` + one user per line + `],"aud":…}`, as a stream of text chunks. */
export async function* exportDocument(db: Db, instanceId: string, aud?: string, opts: { superAdmins?: boolean } = {}): AsyncGenerator<string> {
  yield '{"users":[\n'
  let first = true
  for await (const r of exportRows(db, instanceId, aud, opts)) {
    yield `${first ? '' : ',\n'}${JSON.stringify(exportUser(r))}`
    first = false
  }
  yield `\n],"aud":${JSON.stringify(aud ?? '')}}\n`
}

/** What an import may write: the instance and default audience it targets, the bcrypt cost bounds, and whether a
 *  record may carry the super-admin flag (only when the operator said so: it is admin of every audience). */
export interface ImportTarget {
  instanceId: string; aud: string; now: Date; allowSuperAdmin?: boolean
  bcrypt: { bcrypt_cost: number; bcrypt_max_cost: number }
}

/** One user record of an export (ours or the reference's) or of a row of the reference's `users` table. */
function normalizeImported(x: Record<string, unknown>, target: ImportTarget): UserRow {
  const { instanceId, aud: defaultAud, now } = target
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
  // The nil UUID is the system user: a JWT with it as `sub` is admin of every audience, so no real user may have it.
  if (!isUuid(id) || id === NIL_UUID) throw new Error(`invalid id ${JSON.stringify(id)} (a UUID other than the nil UUID)`)
  const problem = emailProblem(email)
  if (problem) throw new Error(`invalid email ${JSON.stringify(email)}: ${problem}`)
  const hash = str('encrypted_password')
  const badHash = hash ? bcryptProblem(hash, target.bcrypt) : null
  if (badHash) throw new Error(`user ${id}: encrypted_password ${badHash}`)
  const superAdmin = [1, true, '1', 'true'].includes(x.is_super_admin as never)
  if (superAdmin && !target.allowSuperAdmin) throw new Error(`user ${id}: is_super_admin needs --allow-super-admin`)
  const created = time('created_at') ?? dbTime(now)
  return {
    instance_id: instanceId, id: id.toLowerCase(), aud: typeof x.aud === 'string' ? x.aud : defaultAud, role: str('role'), email,
    encrypted_password: hash, confirmed_at: time('confirmed_at'), invited_at: time('invited_at'),
    confirmation_sent_at: time('confirmation_sent_at'), recovery_sent_at: time('recovery_sent_at'),
    email_change: str('new_email') || str('email_change'), email_change_sent_at: time('email_change_sent_at'),
    last_sign_in_at: time('last_sign_in_at'), raw_app_meta_data: meta('app_metadata', 'raw_app_meta_data'),
    raw_user_meta_data: meta('user_metadata', 'raw_user_meta_data'), is_super_admin: superAdmin ? 1 : 0,
    created_at: created, updated_at: time('updated_at') ?? created,
  }
}

export interface ImportFailure { line: number; id?: string; email?: string; error: string }
export interface ImportResult { inserted: number; updated: number; unchanged: number; failed: ImportFailure[] }
/** One record of an import source: its 1-based position, and the parsed object or why it could not be parsed. */
export interface ImportRecord { line: number; value: Record<string, unknown>; error?: string }

/** Inserts each user, or updates it when its id already exists in the target instance; a row that already holds
 *  exactly the imported values is left alone and counted as unchanged (so a second run of the same file writes
 *  nothing). Ids are unique across instances, so a file's id that another instance holds is refused, never
 *  overwritten. A refused record writes nothing. */
/** Whether a stored value equals the one an import would write. Times compare as instants: MySQL's binary
 *  protocol returns a whole second without the `.000` that dbTime wrote. */
const same = (column: string, stored: unknown, written: unknown): boolean =>
  column.endsWith('_at') ? parseTime(stored) === parseTime(written) : String(stored ?? '') === String(written ?? '')

export async function importUsers(db: Db, rows: AsyncIterable<ImportRecord>, opts: ImportTarget & {
  onProgress?: (done: number) => void
}): Promise<ImportResult> {
  const result: ImportResult = { inserted: 0, updated: 0, unchanged: 0, failed: [] }
  const cols = [...USER_COLUMNS.split(', '), 'email_key']
  let done = 0
  for await (const { line, value, error } of rows) {
    const named = { line, id: typeof value.id === 'string' ? value.id : undefined, email: typeof value.email === 'string' ? value.email : undefined }
    try {
      if (error) throw new Error(error)
      const row = normalizeImported(value, opts)
      const r = { ...row, email_key: emailKey(row.email) }
      const values = cols.map((c) => r[c as keyof typeof r] as string | number | null)
      await db.tx(async (tx) => {
        const old = await tx.get<Record<string, unknown>>(`SELECT ${cols.join(', ')} FROM {users} WHERE instance_id = ? AND id = ?`, [opts.instanceId, r.id])
        if (!old) {
          await insertUserRow(tx, row)
          result.inserted++
        } else if (cols.every((c, i) => same(c, old[c], values[i]))) {
          result.unchanged++
        } else {
          const set = cols.filter((c) => c !== 'id')
          await tx.run(`UPDATE {users} SET ${set.map((c) => `${c} = ?`).join(', ')} WHERE instance_id = ? AND id = ?`, [...values.filter((_, i) => cols[i] !== 'id'), opts.instanceId, r.id])
          result.updated++
        }
      })
    } catch (e) {
      // the id's row of another instance, or the email's in this audience: either way it stays as it is
      const msg = e instanceof UniqueViolation ? 'another user already has this email or id' : e instanceof Error ? e.message : String(e)
      result.failed.push({ ...named, error: msg })
    }
    opts.onProgress?.(++done)
  }
  return result
}

/** Reads an export file as a stream of user records, numbered from 1: one user per line when the file is laid
 *  out that way (our export, streamed so a large file never sits in memory), else the whole document
 *  (`{"users":[…]}` or a bare array, e.g. rows selected from the reference's `users` table). A line that is not
 *  valid JSON becomes a failed record instead of ending the import. */
export async function* readExport(path: string): AsyncGenerator<ImportRecord> {
  const file = Bun.file(path)
  const head = await file.slice(0, 64).text()
  let n = 0
  if (head.startsWith('{"users":[\n')) {
    let buf = ''
    const decoder = new TextDecoder()
    const parse = function* (lineText: string): Generator<ImportRecord> {
      const text = lineText.trim().replace(/,$/, '')
      if (!text.startsWith('{')) return // the document's opening and closing lines
      n++
      try { yield { line: n, value: JSON.parse(text) as Record<string, unknown> } } catch (e) {
        yield { line: n, value: {}, error: `not valid JSON (${e instanceof Error ? e.message : String(e)})` }
      }
    }
    for await (const chunk of file.stream() as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true })
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        const lineText = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (!lineText.startsWith('{"users":[')) yield* parse(lineText)
      }
    }
    yield* parse(buf + decoder.decode())
    return
  }
  const doc = JSON.parse(await file.text()) as unknown
  const list = Array.isArray(doc) ? doc : (doc as { users?: unknown[] } | null)?.users
  if (!Array.isArray(list)) throw new Error('expected a JSON array of users or {"users": [...]}')
  for (const v of list) {
    n++
    if (v && typeof v === 'object' && !Array.isArray(v)) yield { line: n, value: v as Record<string, unknown> }
    else yield { line: n, value: {}, error: 'not a JSON object' }
  }
}

/** How many records readExport(path) will yield, read ahead in one streamed pass (for "n of total"). */
export async function countExportRecords(path: string): Promise<number> {
  let n = 0
  for await (const _ of readExport(path)) n++
  return n
}
