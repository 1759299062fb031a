// Seeding through the public APIs (never the database): accounts on our server and on the peer, their access
// tokens / session cookies, and the refresh-token pools the chaining script consumes.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'

export const PASSWORD = 'bench-password-1234'

/** Runs `f(i)` for i in [0, n) with at most `width` in flight. */
export async function pool<T>(n: number, width: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) { const i = next++; out[i] = await f(i) }
  }))
  return out
}

async function json(res: Response, what: string): Promise<Record<string, unknown>> {
  const text = await res.text()
  if (!res.ok) throw new Error(`${what}: ${res.status} ${text.slice(0, 300)}`)
  return JSON.parse(text) as Record<string, unknown>
}

const form = (f: Record<string, string>) => ({
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(f).toString(),
})

export interface Seeded { emails: string[]; accessTokens: string[]; users: Record<string, unknown>[] }

/** Our server: sign up `n` accounts (autoconfirm), log each in, read each back through GET /user. */
export async function seedGotrue(url: string, n: number, tag: string): Promise<Seeded> {
  const emails = Array.from({ length: n }, (_, i) => `seed-${tag}-${i}@example.com`)
  await pool(n, 4, async (i) => json(await fetch(`${url}/signup`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: emails[i], password: PASSWORD }),
  }), 'POST /signup'))
  const accessTokens = await pool(n, 4, async (i) => String((await login(url, emails[i] as string)).access_token))
  const users = await pool(n, 4, async (i) => json(await fetch(`${url}/user`, { headers: { authorization: `Bearer ${accessTokens[i]}` } }), 'GET /user'))
  return { emails, accessTokens, users }
}

export async function login(url: string, email: string): Promise<Record<string, unknown>> {
  return json(await fetch(`${url}/token`, form({ grant_type: 'password', username: email, password: PASSWORD })), 'POST /token password')
}

const countLines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0)

/** Tops a refresh-token file up to `want` unused tokens, from `mint(k)` (password logins, or a ceiling's /seed). */
export async function topUp(file: string, want: number, mint: (k: number) => Promise<string[]>): Promise<number> {
  const have = countLines(file)
  if (have >= want) return 0
  const fresh = await mint(want - have)
  appendFileSync(file, fresh.map((t) => `${t}\n`).join(''))
  return fresh.length
}

export const gotrueMinter = (url: string, emails: string[]) => async (k: number): Promise<string[]> =>
  pool(k, 4, async (i) => String((await login(url, emails[i % emails.length] as string)).refresh_token))

export const ceilingMinter = (url: string) => async (k: number): Promise<string[]> =>
  (await (await fetch(`${url}/seed?n=${k}`, { method: 'POST' })).json()) as string[]

export function writeLines(file: string, lines: string[]): void {
  writeFileSync(file, lines.map((l) => `${l}\n`).join(''))
}

/** The peer (better-auth): sign up `n` accounts, sign each in, keep its session cookie. */
export async function seedPeer(url: string, n: number, tag: string): Promise<{ emails: string[]; cookies: string[] }> {
  const emails = Array.from({ length: n }, (_, i) => `seed-${tag}-${i}@example.com`)
  const post = (path: string, body: unknown) => fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  await pool(n, 4, async (i) => json(await post('/api/auth/sign-up/email', { email: emails[i], password: PASSWORD, name: 'bench' }), 'peer sign-up'))
  const cookies = await pool(n, 4, async (i) => {
    const res = await post('/api/auth/sign-in/email', { email: emails[i], password: PASSWORD })
    await json(res, 'peer sign-in')
    const cookie = (res.headers.getSetCookie()[0] ?? '').split(';')[0] ?? ''
    if (!cookie.includes('session_token=')) throw new Error(`peer sign-in: no session cookie (${res.headers.get('set-cookie')})`)
    return cookie
  })
  const check = await fetch(`${url}/api/auth/get-session`, { headers: { cookie: cookies[0] as string } })
  const session = await json(check, 'peer get-session')
  if (!session || !(session.user as Record<string, unknown> | undefined)?.email) throw new Error(`peer get-session: no session for a fresh cookie: ${JSON.stringify(session)}`)
  return { emails, cookies }
}
