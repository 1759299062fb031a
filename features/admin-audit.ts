// GET /admin/audit: the audit log, newest first, a bare JSON array with X-Total-Count and Link headers.
// `query=author:…|action:…|type:…` filters by a case-insensitive literal substring. Entries carry no audience: an
// audience admin sees those whose actor or subject (traits.user_id) is a user of its audience other than a super
// admin; the operator and super admins see all of the instance.
import { Elysia, t } from 'elysia'
import { SECURITY } from '../lib/openapi.ts'
import { type Db, isoTime, jsonText, type Param } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { badRequest, ErrorBody } from '../lib/errors.ts'
import { guards, holdsSuper } from '../lib/guards.ts'
import { likeSubstring, linkHeader, parsePage } from '../lib/pagination.ts'

export const AuditEntry = t.Object({
  id: t.String(),
  payload: t.Object({
    timestamp: t.String(), actor_id: t.String(), actor_email: t.String(), actor_name: t.Optional(t.String()),
    action: t.String(), log_type: t.String(), traits: t.Optional(t.Record(t.String(), t.Unknown())),
  }),
  created_at: t.String(),
})
export const AuditQuery = t.Object({ page: t.Optional(t.String()), per_page: t.Optional(t.String()), query: t.Optional(t.String({ maxLength: 320 })) }, { additionalProperties: true })

const SCOPES = new Map([['author', ['actor_email', 'actor_name']], ['action', ['action']], ['type', ['log_type']]]) // a Map: no `constructor:` scope
/** Super-admin rights: the operator token, a system-user JWT, or a user flagged is_super_admin. */

/** The instance; for an audience admin, its audience's entries; then the optional `query` filter. */
function auditWhere(db: Db, instanceId: string, aud: string | null, query: string | undefined): { sql: string; params: Param[] } {
  const parts = ['instance_id = ?']
  const params: Param[] = [instanceId]
  if (aud !== null) {
    const text = (path: string) => jsonText(db.dialect, 'payload', path)
    parts.push(`EXISTS (SELECT 1 FROM {users} u WHERE u.instance_id = ? AND u.aud = ? AND u.is_super_admin = 0 AND u.id IN (${text('$.actor_id')}, ${text('$.traits.user_id')}))`)
    params.push(instanceId, aud)
  }
  if (query) {
    const i = query.indexOf(':')
    const scope = i > 0 ? SCOPES.get(query.slice(0, i))?.map((f) => `LOWER(${jsonText(db.dialect, 'payload', `$.${f}`)}) LIKE ? ESCAPE '!'`) : undefined
    if (!scope) throw badRequest(`Invalid query scope: ${query}`)
    const pattern = likeSubstring(query.slice(i + 1))
    parts.push(`(${scope.join(' OR ')})`)
    params.push(...scope.map(() => pattern))
  }
  return { sql: parts.join(' AND '), params }
}

async function countEntries(db: Db, w: { sql: string; params: Param[] }): Promise<number> {
  return Number((await db.get<{ n: number | string }>(`SELECT COUNT(*) AS n FROM {audit_log_entries} WHERE ${w.sql}`, w.params))?.n ?? 0)
}
async function listEntries(db: Db, w: { sql: string; params: Param[] }, limit: number, offset: number) {
  return db.all<{ id: string; payload: string; created_at: string }>(
    `SELECT id, payload, created_at FROM {audit_log_entries} WHERE ${w.sql} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`, [...w.params, limit, offset])
}

export function adminAudit(deps: Deps) {
  const { db, instanceId } = deps
  return new Elysia({ name: 'admin-audit' })
    .use(guards(deps))
    .model({ 'audit.list': t.Array(AuditEntry), 'audit.query': AuditQuery })
    .get('/admin/audit', async ({ query, admin, aud, set, path }) => {
      const p = parsePage(query)
      const w = auditWhere(db, instanceId, holdsSuper(admin) ? null : aud, query.query)
      const total = await countEntries(db, w)
      const rows = await listEntries(db, w, p.perPage, p.offset)
      set.headers['x-total-count'] = String(total)
      set.headers.link = linkHeader(path, query, p, total)
      return rows.map((r) => ({ id: r.id, payload: JSON.parse(r.payload), created_at: isoTime(r.created_at) as string }))
    }, {
      auth: 'admin', query: 'audit.query',
      response: { 200: 'audit.list', 400: ErrorBody, 401: ErrorBody, 422: ErrorBody },
      detail: { summary: 'The audit log, newest first (query=author:|action:|type:)', tags: ['admin'], security: SECURITY.admin },
    })
}
