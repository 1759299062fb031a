// The admin user API: /admin/users list, create, get, update, delete, for the operator token or an admin JWT.
// Beyond the reference: junk pagination is a 422 (never a dropped connection), a keyset `cursor` for large
// tables, exact `email` filter, `filter` as a literal substring, create with an existing bcrypt `password_hash`,
// validated and unique email updates, and users of another audience are invisible to an audience admin.
import { Elysia, t } from 'elysia'
import { SECURITY } from '../lib/openapi.ts'
import { jsonBody } from '../lib/body.ts'
import { checkEmail, checkUserData, mergedMeta, mergedUserData, newAccount, requiredEmail, requireFreeEmail, takenOnDuplicate } from '../lib/accounts.ts'
import { writeAudit } from '../lib/audit.ts'
import { type Db, dbTime, jsonText, type Param } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { bcryptProblem, safeEqual } from '../lib/crypto.ts'
import { badRequest, ErrorBody, errorBody, notFound, unauthorized, unprocessable } from '../lib/errors.ts'
import { adminActor, type AdminActor, guards, holdsSuper, isAdminFor, reachableUser, requireEmailProvider } from '../lib/guards.ts'
import { addressProven, UNPROVEN_GONE } from '../lib/identities.ts'
import { revokeOtp } from '../lib/otp.ts'
import { likeSubstring, linkHeader, parsePage } from '../lib/pagination.ts'
import { endOtherSessions } from '../lib/sessions.ts'
import { exportDocument } from '../lib/transfer.ts'
import {
  deleteUser, emailKey, insertUser, passwordProblem, toUser, updateUser, User, USER_COLUMNS, type UserJson, type UserPatch,
  type UserRow, MetadataInput, metadataOf
} from '../lib/users.ts'

export const AdminUserBody = t.Object({
  email: t.Optional(t.String({ maxLength: 320 })),
  password: t.Optional(t.String({ maxLength: 1024 })),
  password_hash: t.Optional(t.String({ maxLength: 255 })),
  aud: t.Optional(t.String({ maxLength: 255 })),
  role: t.Optional(t.String({ maxLength: 255 })),
  confirm: t.Optional(t.Boolean()),
  email_confirm: t.Optional(t.Boolean({ description: "supabase's name for `confirm`" })),
  user_metadata: MetadataInput,
  app_metadata: MetadataInput,
}, { additionalProperties: true })
export const ListQuery = t.Object({
  page: t.Optional(t.String()), per_page: t.Optional(t.String()), sort: t.Optional(t.String()),
  filter: t.Optional(t.String({ maxLength: 320 })), email: t.Optional(t.String({ maxLength: 320 })), cursor: t.Optional(t.String({ maxLength: 200 })),
}, { additionalProperties: true })
export const UserList = t.Object({ users: t.Array(User), aud: t.String() })

/** Super-admin rights: the operator token, a system-user JWT, or a user flagged is_super_admin. Only they may see
 *  or touch a super admin, so an audience admin cannot take over the account that administers every audience. */
const SORTS = new Map([['created_at', 'created_at'], ['email', 'email_key']]) // a Map: `sort=constructor` is no field

function parseSort(sort: string | undefined): { column: string; dir: 'ASC' | 'DESC' } {
  if (!sort) return { column: 'created_at', dir: 'DESC' }
  const [field = '', dir = 'desc', ...rest] = sort.trim().split(/\s+/)
  const column = SORTS.get(field)
  if (!column || rest.length) throw badRequest(`Bad Sort Parameters: bad field for sort '${field}'`)
  if (!/^(asc|desc)$/i.test(dir)) throw badRequest(`Bad Sort Parameters: bad direction for sort '${dir}', only 'asc' and 'desc' allowed`)
  return { column, dir: dir.toUpperCase() as 'ASC' | 'DESC' }
}

/** The list's WHERE clause: instance, audience, super admins only for those who hold that right, and the
 *  optional filters. */
function listWhere(db: Db, instanceId: string, aud: string, q: typeof ListQuery.static, superAdmins: boolean): { sql: string; params: Param[] } {
  const parts = ['instance_id = ?', 'aud = ?']
  const params: Param[] = [instanceId, aud]
  if (!superAdmins) parts.push('is_super_admin = 0')
  if (q.email) { parts.push('email_key = ?'); params.push(emailKey(q.email)) }
  if (q.filter) {
    parts.push(`(email_key LIKE ? ESCAPE '!' OR LOWER(${jsonText(db.dialect, 'raw_user_meta_data', '$.full_name')}) LIKE ? ESCAPE '!')`)
    params.push(likeSubstring(q.filter), likeSubstring(q.filter))
  }
  return { sql: parts.join(' AND '), params }
}

async function countUsers(db: Db, where: { sql: string; params: Param[] }): Promise<number> {
  const row = await db.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM {users} WHERE ${where.sql}`, where.params)
  return Number(row?.n ?? 0)
}
async function listUsers(db: Db, where: { sql: string; params: Param[] }, column: string, dir: string, limit: number, offset: number, after?: [string, string]): Promise<UserRow[]> {
  let sql = where.sql
  const params = [...where.params]
  if (after) {
    const op = dir === 'DESC' ? '<' : '>'
    sql += ` AND (${column} ${op} ? OR (${column} = ? AND id ${op} ?))`
    params.push(after[0], after[0], after[1])
  }
  return db.all<UserRow>(`SELECT ${USER_COLUMNS} FROM {users} WHERE ${sql} ORDER BY ${column} ${dir}, id ${dir} LIMIT ? OFFSET ?`, [...params, limit, offset])
}

const encodeCursor = (v: string, id: string) => Buffer.from(JSON.stringify([v, id])).toString('base64url')
function decodeCursor(c: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'))
    if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'string')) return v as [string, string]
  } catch { /* fall through */ }
  throw unprocessable('Bad Pagination Parameters: invalid cursor')
}

export function adminUsers(deps: Deps) {
  const { config, db, clock, hasher, instanceId, webhooks, log } = deps
  /** The audit actor: an admin user is named as any actor is (actor_name from its full_name, as the reference). */
  const actor = adminActor
  /** A user of this instance that this admin may see: an audience admin sees only its audience, and never a super
   *  admin (a 404 as for any user it may not see, so it cannot even learn which addresses are super admins). */
  // in a write transaction the row is locked (no lost merge)
  const loadUser = (id: string, admin: AdminActor | null, aud: string, tx: Db = db): Promise<UserRow> => reachableUser(tx, instanceId, id, admin, aud, tx !== db)
  const newPasswordHash = async (password?: string, hash?: string): Promise<string | undefined> => {
    if (password) {
      const weak = passwordProblem(config.password.min_length, password)
      if (weak) throw unprocessable(weak)
      return hasher.hash(password)
    }
    if (hash) {
      const bad = bcryptProblem(hash, config)
      if (bad) throw unprocessable(`password_hash ${bad}`)
      return hash
    }
    return undefined
  }
  /** usermodified / userdeleted fire after the commit; as in the reference, a failure is only logged. */
  const afterCommit = (event: 'usermodified' | 'userdeleted', user: UserJson) => {
    if (!webhooks.wants(event)) return
    webhooks.send(event, instanceId, user).catch((e) => log.warn('webhook failed after commit', { event, error: e instanceof Error ? e.message : String(e) }))
  }

  return new Elysia({ name: 'admin-users' })
    .use(guards(deps))
    .model({ 'admin.user': AdminUserBody, 'admin.users': UserList, 'admin.list': ListQuery, 'admin.userOut': User })
    .get('/admin/users', async ({ query, admin, aud, set, path }) => {
      const p = parsePage(query)
      const { column, dir } = parseSort(query.sort)
      const where = listWhere(db, instanceId, aud, query, holdsSuper(admin))
      const after = query.cursor ? decodeCursor(query.cursor) : undefined
      const total = await countUsers(db, where)
      const rows = await listUsers(db, where, column, dir, p.perPage, after ? 0 : p.offset, after)
      set.headers['x-total-count'] = String(total)
      const links = [linkHeader(path, { ...query, cursor: undefined }, p, total)]
      const lastRow = rows[rows.length - 1]
      if (lastRow && rows.length === p.perPage) {
        const key = column === 'email_key' ? emailKey(lastRow.email) : lastRow.created_at
        // The next page keeps the sort and the filters: only the position changes.
        const keep = Object.entries({ sort: query.sort, filter: query.filter, email: query.email }).filter(([, v]) => v) as [string, string][]
        links.unshift(`<${path}?${new URLSearchParams([['cursor', encodeCursor(key, lastRow.id)], ['per_page', String(p.perPage)], ...keep])}>; rel="next-cursor"`)
      }
      set.headers.link = links.join(', ')
      return { users: rows.map(toUser), aud }
    }, {
      auth: 'admin', query: 'admin.list',
      response: { 200: 'admin.users', 400: ErrorBody, 401: ErrorBody, 422: ErrorBody },
      detail: { summary: 'List users (page/per_page or keyset cursor; filter, email, sort)', tags: ['admin'], security: SECURITY.admin },
    })
    .get('/admin/users/export', async ({ headers, query, aud, admin }) => {
      if (!config.api.export_secret) throw badRequest('user_id must be an UUID') // as the reference: no export route
      if (!safeEqual(headers.export_secret ?? headers['export-secret'] ?? '', config.api.export_secret)) throw unauthorized('Invalid export secret')
      const all = query.all === 'true'
      // every audience at once is for super admins only: an audience admin sees its own audience, nothing more
      if (all && !admin?.superAdmin) throw unauthorized('User not allowed')
      const chunks = exportDocument(db, instanceId, all ? undefined : aud, { superAdmins: holdsSuper(admin) })
      const encoder = new TextEncoder()
      const stream = new ReadableStream<Uint8Array>({
        async pull(c) {
          const { value, done } = await chunks.next()
          if (done) c.close()
          else c.enqueue(encoder.encode(value))
        },
        async cancel() { await chunks.return(undefined) },
      })
      return new Response(stream, { headers: { 'content-type': 'application/json', 'content-disposition': 'attachment; filename="users.json"' } })
    }, {
      auth: 'admin', query: t.Object({ all: t.Optional(t.String()) }, { additionalProperties: true }),
      detail: {
        summary: 'Export every user of the audience with password hashes, streamed (needs API_EXPORT_SECRET and its EXPORT_SECRET header; all=true: every audience)',
        tags: ['admin'], security: SECURITY.export,
      },
      response: {
        200: t.Object({
          users: t.Array(t.Object({ ...User.properties, is_super_admin: t.Optional(t.Literal(true)), encrypted_password: t.String({ description: 'bcrypt hash' }) })),
          aud: t.String(),
        }, { description: 'Every user of the audience with its password hash, as the import reads it (users.json, streamed)' }),
        400: errorBody(400, 'user_id must be an UUID'), 401: errorBody(401, 'Invalid export secret'),
      },
    })
    .post('/admin/users', async ({ body, admin, aud: requestAud }) => {
      const userMeta = metadataOf(body.user_metadata, 'user_metadata') ?? {}
      const appMeta = metadataOf(body.app_metadata, 'app_metadata') ?? {}
      const aud = body.aud || requestAud
      // as the reference's admin check, which reads `aud` from the body: an audience admin creates in its own audience only
      if (admin && !admin.superAdmin && !(admin.user && isAdminFor(deps, admin.user, aud))) throw unauthorized('User not allowed')
      requireEmailProvider(deps)
      const email = checkEmail(requiredEmail(body.email))
      checkUserData(deps, userMeta)
      const hash = (await newPasswordHash(body.password, body.password_hash)) ?? ''
      const now = clock.now()
      const user = await db.tx(async (tx) => {
        await requireFreeEmail(tx, instanceId, aud, email)
        const u = await insertUser(tx, newAccount(deps, {
          aud, role: body.role, email, encryptedPassword: hash, appMetadata: { ...appMeta, provider: 'email' }, userMetadata: userMeta,
          confirmedAt: body.confirm || body.email_confirm ? now : null, now,
        }))
        await writeAudit(tx, instanceId, actor(admin), 'user_signedup', now, { user_id: u.id, user_email: u.email })
        return u
      }).catch(takenOnDuplicate)
      return toUser(user)
    }, {
      auth: 'admin', body: 'admin.user', parse: jsonBody('Could not decode admin user params'),
      response: { 200: 'admin.userOut', 400: ErrorBody, 401: ErrorBody, 422: ErrorBody },
      detail: { summary: 'Create a user (password or an existing bcrypt password_hash; confirm)', tags: ['admin'], security: SECURITY.admin },
    })
    .get('/admin/users/:user_id', async ({ params, admin, aud }) => toUser(await loadUser(params.user_id, admin, aud)), {
      auth: 'admin',
      response: { 200: 'admin.userOut', 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      detail: { summary: 'Get a user', tags: ['admin'], security: SECURITY.admin },
    })
    .put('/admin/users/:user_id', async ({ params, body, admin, aud }) => {
      const userMeta = metadataOf(body.user_metadata, 'user_metadata')
      const appMeta = metadataOf(body.app_metadata, 'app_metadata')
      const newEmail = body.email?.trim()
      if (newEmail !== undefined) checkEmail(newEmail)
      const hash = await newPasswordHash(body.password, body.password_hash)
      const now = clock.now()
      const updated = await db.tx(async (tx) => {
        const user = await loadUser(params.user_id, admin, aud, tx)
        const patch: UserPatch = {}
        if (body.role !== undefined) patch.role = body.role
        let base = user
        if ((body.confirm || body.email_confirm) && !user.confirmed_at) {
          patch.confirmed_at = dbTime(now)
          // The admin vouches for the address as a mail would: the provider links nobody proved go, with what they
          // gave the profile (one an unverified provider address started the account with would otherwise sign in
          // to the account from now on, whoever holds it).
          const taken = await addressProven(tx, user, '', now, null, 'email', actor(admin))
          if (taken) {
            Object.assign(patch, UNPROVEN_GONE, taken)
            base = { ...user, ...taken }
          }
        }
        if (hash) patch.encrypted_password = hash
        // An admin's password reset takes the account back as a recovery does: a pending email change goes.
        if (hash) { // whatever the columns say: an undo may have cleared them, not the token
          await revokeOtp(tx, user.id, 'email_change')
          Object.assign(patch, { email_change: '', email_change_sent_at: null })
        }
        if (newEmail !== undefined && newEmail !== user.email) {
          await requireFreeEmail(tx, instanceId, user.aud, newEmail, user.id)
          patch.email = newEmail
        }
        if (appMeta) patch.raw_app_meta_data = mergedMeta(base.raw_app_meta_data, appMeta)
        if (userMeta) patch.raw_user_meta_data = mergedUserData(deps, base.raw_user_meta_data, userMeta)
        const next = await updateUser(tx, user, patch, now)
        // A password or email reset by an admin ends every session of the user.
        if (patch.encrypted_password || patch.email) await endOtherSessions(tx, next, null, now, 'credentials_changed')
        // as the reference, written after the change: an email change records the new address
        await writeAudit(tx, instanceId, actor(admin), 'user_modified', now, { user_id: next.id, user_email: next.email })
        return next
      }).catch(takenOnDuplicate)
      const json = toUser(updated)
      afterCommit('usermodified', json)
      return json
    }, {
      auth: 'admin', body: 'admin.user', parse: jsonBody('Could not decode admin user params'),
      response: { 200: 'admin.userOut', 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
      detail: { summary: 'Update a user (role, confirm, password, email, metadata merge)', tags: ['admin'], security: SECURITY.admin },
    })
    .delete('/admin/users/:user_id', async ({ params, admin, aud }) => {
      const now = clock.now()
      const gone = await db.tx(async (tx) => {
        const user = await loadUser(params.user_id, admin, aud, tx)
        await writeAudit(tx, instanceId, actor(admin), 'user_deleted', now, { user_id: user.id, user_email: user.email })
        await deleteUser(tx, user.id)
        return user
      })
      afterCommit('userdeleted', toUser(gone))
      return {}
    }, {
      auth: 'admin',
      response: { 200: t.Object({}), 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      detail: { summary: 'Delete a user (and its sessions)', tags: ['admin'], security: SECURITY.admin },
    })
}
