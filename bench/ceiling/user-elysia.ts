// Ceiling (b) for GET /user: the same work as user-bun.ts in a bare Elysia app (no schemas, no plugins), to
// separate the framework's cost from the project's own.
import { Elysia } from 'elysia'
import { ceilingEnv, openCeilingDb, USER_COLUMNS, type UserRow, userJson, verifyHS256 } from './shared.ts'

const { port, dbPath, key, aud } = ceilingEnv()
const db = openCeilingDb(dbPath)
const byId = db.prepare<UserRow, [string]>(`SELECT ${USER_COLUMNS} FROM users WHERE instance_id = '00000000-0000-0000-0000-000000000000' AND id = ?`)

new Elysia()
  .get('/health', () => 'ok')
  .get('/user', ({ headers, status }) => {
    const auth = headers.authorization ?? ''
    if (!auth.startsWith('Bearer ')) return status(401, { code: 401, msg: 'This endpoint requires a Bearer token' })
    const claims = verifyHS256(auth.slice(7), key, aud, Math.floor(Date.now() / 1000))
    if (!claims) return status(401, { code: 401, msg: 'Invalid token' })
    const row = byId.get(claims.sub)
    return row ? userJson(row) : status(404, { code: 404, msg: 'User not found' })
  })
  .listen({ hostname: '127.0.0.1', port })
console.log(`ceiling user-elysia on ${port}`)
