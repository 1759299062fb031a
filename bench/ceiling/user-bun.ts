// Ceiling (a) for GET /user: a bare Bun.serve that verifies the bearer HS256 JWT synchronously (node:crypto) and
// reads the user row by primary key with a prepared bun:sqlite statement, answering GoTrue's user JSON.
import { ceilingEnv, openCeilingDb, USER_COLUMNS, type UserRow, userJson, verifyHS256 } from './shared.ts'

const { port, dbPath, key, aud } = ceilingEnv()
const db = openCeilingDb(dbPath)
const byId = db.prepare<UserRow, [string]>(`SELECT ${USER_COLUMNS} FROM users WHERE instance_id = '00000000-0000-0000-0000-000000000000' AND id = ?`)
const error = (code: number, msg: string) => Response.json({ code, msg }, { status: code })

const server = Bun.serve({
  hostname: '127.0.0.1',
  port,
  fetch(req) {
    const path = new URL(req.url).pathname
    if (path === '/health') return new Response('ok')
    if (path !== '/user' || req.method !== 'GET') return error(404, 'Not Found')
    const auth = req.headers.get('authorization') ?? ''
    if (!auth.startsWith('Bearer ')) return error(401, 'This endpoint requires a Bearer token')
    const claims = verifyHS256(auth.slice(7), key, aud, Math.floor(Date.now() / 1000))
    if (!claims) return error(401, 'Invalid token')
    const row = byId.get(claims.sub)
    return row ? Response.json(userJson(row)) : error(404, 'User not found')
  },
})
console.log(`ceiling user-bun on ${server.port}`)
