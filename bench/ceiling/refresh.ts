// Ceiling (c) for the refresh grant: POST /token grant_type=refresh_token doing the minimal work in one bun:sqlite
// transaction: find the token by its SHA-256 (joined with its user, whose email and metadata the access token
// carries), mark it used, insert its successor, sign an HS256 JWT with createHmac. POST /seed?n=N creates N fresh
// root tokens for the users in the database and returns them (the harness's seeding, not measured).
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { ceilingEnv, dbTime, openCeilingDb, signHS256 } from './shared.ts'

const { port, dbPath, key } = ceilingEnv()
const db = openCeilingDb(dbPath)
const EXP = 3600
const NIL = '00000000-0000-0000-0000-000000000000'
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex')
const newToken = () => randomBytes(32).toString('base64url')

interface Found { id: string; user_id: string; family_id: string; revoked: number; aud: string; email: string; raw_app_meta_data: string | null; raw_user_meta_data: string | null }
const find = db.prepare<Found, [string]>(
  'SELECT t.id, t.user_id, t.family_id, t.revoked, u.aud, u.email, u.raw_app_meta_data, u.raw_user_meta_data ' +
  'FROM refresh_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?')
const markUsed = db.prepare<unknown, [string, string, string]>('UPDATE refresh_tokens SET revoked = 1, revoked_at = ?, updated_at = ? WHERE id = ?')
const insert = db.prepare<unknown, [string, string, string, string, string | null, string, string]>(
  'INSERT INTO refresh_tokens (id, instance_id, user_id, token_hash, family_id, parent_id, revoked, revoked_at, created_at, updated_at) ' +
  `VALUES (?, '${NIL}', ?, ?, ?, ?, 0, NULL, ?, ?)`)
const userIds = db.prepare<{ id: string }, []>('SELECT id FROM users ORDER BY id')

const rotate = db.transaction((raw: string, now: Date) => {
  const row = find.get(sha256(raw))
  if (!row || row.revoked) return null
  const t = dbTime(now)
  markUsed.run(t, t, row.id)
  const next = newToken()
  insert.run(randomUUID(), row.user_id, sha256(next), row.family_id, row.id, t, t)
  const access = signHS256({
    aud: row.aud || undefined, exp: Math.floor(now.getTime() / 1000) + EXP, sub: row.user_id, email: row.email,
    app_metadata: JSON.parse(row.raw_app_meta_data ?? '{}'), user_metadata: JSON.parse(row.raw_user_meta_data ?? '{}'),
  }, key)
  return { access_token: access, token_type: 'bearer', expires_in: EXP, refresh_token: next }
})

const seed = db.transaction((n: number) => {
  const ids = userIds.all().map((r) => r.id)
  const t = dbTime(new Date())
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const raw = newToken()
    insert.run(randomUUID(), ids[i % ids.length] as string, sha256(raw), randomUUID(), null, t, t)
    out.push(raw)
  }
  return out
})

const server = Bun.serve({
  hostname: '127.0.0.1',
  port,
  async fetch(req) {
    const url = new URL(req.url)
    if (url.pathname === '/health') return new Response('ok')
    if (url.pathname === '/seed' && req.method === 'POST') return Response.json(seed(Number(url.searchParams.get('n') ?? 1)))
    if (url.pathname !== '/token' || req.method !== 'POST') return new Response('not found', { status: 404 })
    const form = new URLSearchParams(await req.text())
    if (form.get('grant_type') !== 'refresh_token') return Response.json({ error: 'unsupported_grant_type' }, { status: 400 })
    const result = rotate(form.get('refresh_token') ?? '', new Date())
    return result ? Response.json(result) : Response.json({ error: 'invalid_grant', error_description: 'Invalid Refresh Token' }, { status: 400 })
  },
})
console.log(`ceiling refresh on ${server.port}`)
