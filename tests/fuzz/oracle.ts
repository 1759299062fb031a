// What every fuzzed request must satisfy, and the database snapshot that shows a refused request wrote nothing.
//   - an answer, never a dropped connection, and never a 5xx (the database is up, so not even a 503);
//   - every non-2xx answer (but 302 and 204, which have no body) is JSON in one of GoTrue's two error shapes:
//     {code: <the status>, msg} (+ error_id on 5xx) or {error, error_description?};
//   - the server runs in this process, so a polluted Object.prototype would show here: it never changes.
import { createHash } from 'node:crypto'
import fc, { type Arbitrary } from 'fast-check'
import type { TestServer } from '../harness.ts'
import type { Body } from './inputs.ts'

export const RUNS = Math.max(1, Number(process.env.FUZZ_RUNS ?? 60))
/** Per-test timeout: generous, so the long mode (FUZZ_RUNS=10000) is bounded by the runs, not by bun. */
export const TIMEOUT = Math.max(120_000, RUNS * 400)

export interface Req { method: string; path: string; headers?: Record<string, string>; body?: Body }
export interface Answer { status: number; json: unknown; headers: Headers }

interface RouteStats { inputs: number; ms: number; statuses: Map<number, number> }
/** Inputs sent and statuses seen per route, printed by report() at the end of the file. */
export const stats = new Map<string, RouteStats>()

const PROTOTYPE = Object.getOwnPropertyNames(Object.prototype).sort().join()
const describeReq = (r: Req) => `${r.method} ${r.path.length > 200 ? `${r.path.slice(0, 200)}…` : r.path} ${JSON.stringify(r.headers ?? {}).slice(0, 300)} ${r.body ? String(r.body[fc.toStringMethod]()) : ''}`

function isGoTrueError(status: number, v: unknown): boolean {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false
  const o = v as Record<string, unknown>
  const keys = Object.keys(o)
  const http = typeof o.code === 'number' && o.code === status && typeof o.msg === 'string' &&
    keys.every((k) => k === 'code' || k === 'msg' || (k === 'error_id' && status >= 500 && typeof o.error_id === 'string'))
  const oauth = typeof o.error === 'string' && o.error !== '' && (o.error_description === undefined || typeof o.error_description === 'string') &&
    keys.every((k) => k === 'error' || k === 'error_description')
  return http || oauth
}

/** The route a request is counted under: method and path pattern (`/admin/users/:id`). */
export function routeOf(r: Req): string {
  const path = r.path.split('?')[0] ?? ''
  const id = path.startsWith('/admin/users/') && !(r.method === 'GET' && path === '/admin/users/export')
  return `${r.method} ${id ? '/admin/users/:id' : path}`
}

/** Sends one request and checks the properties every answer must have; throws (with the request) if not. */
export async function send(s: TestServer, r: Req, route = routeOf(r)): Promise<Answer> {
  const h = new Headers(r.headers)
  if (r.body?.contentType !== undefined) h.set('content-type', r.body.contentType)
  const started = performance.now()
  let res: Response
  let raw: Uint8Array
  try {
    res = await fetch(s.url + r.path, { method: r.method, headers: h, body: r.body ? r.body.bytes : undefined, redirect: 'manual' })
    raw = new Uint8Array(await res.arrayBuffer())
  } catch (e) {
    throw new Error(`connection dropped (${e instanceof Error ? e.message : String(e)}) for ${describeReq(r)}`)
  }
  const st = stats.get(route) ?? { inputs: 0, ms: 0, statuses: new Map<number, number>() }
  st.inputs++
  st.ms += performance.now() - started
  st.statuses.set(res.status, (st.statuses.get(res.status) ?? 0) + 1)
  stats.set(route, st)
  const text = new TextDecoder().decode(raw)
  const fail = (why: string) => new Error(`${why}: ${res.status} ${text.slice(0, 300)} for ${describeReq(r)}`)
  if (res.status >= 500) throw fail('server error')
  if (Object.getOwnPropertyNames(Object.prototype).sort().join() !== PROTOTYPE) throw fail('Object.prototype polluted')
  if (res.status === 204) {
    if (raw.length) throw fail('204 with a body')
    return { status: 204, json: null, headers: res.headers }
  }
  if (res.status === 302) {
    if (!res.headers.get('location')) throw fail('302 without Location')
    return { status: 302, json: null, headers: res.headers }
  }
  const isJson = (res.headers.get('content-type') ?? '').includes('application/json')
  let json: unknown = null
  if (isJson || res.status >= 300) {
    if (!isJson) throw fail('non-JSON answer')
    try { json = JSON.parse(text) } catch { throw fail('invalid JSON') }
  }
  if (res.status >= 300 && !isGoTrueError(res.status, json)) throw fail('not a GoTrue error shape')
  return { status: res.status, json, headers: res.headers }
}

export interface Snapshot { [table: string]: { rows: number; sha256: string } }
/** Row count and a hash of every row of every table of this server (its namespace on MySQL). */
export async function snapshot(s: TestServer): Promise<Snapshot> {
  const db = s.db
  const tables = db.dialect === 'sqlite'
    ? (await db.all<{ t: string }>("SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name"))
    : await db.all<{ t: string }>(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ? ORDER BY table_name", [`${s.deps.config.db.namespace}\\_%`])
  const out: Snapshot = {}
  for (const { t } of tables) {
    const rows = await db.all(`SELECT * FROM \`${t}\``)
    const lines = rows.map((r) => JSON.stringify(r, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).sort()
    out[t] = { rows: rows.length, sha256: createHash('sha256').update(lines.join('\n')).digest('hex') }
  }
  return out
}

/** One fixed-seed property: `numRuns` inputs from `arb`, each checked by `run`. */
export async function fuzz<T>(arb: Arbitrary<T>, run: (v: T) => Promise<unknown>, numRuns = RUNS): Promise<void> {
  // No shrinking unless FUZZ_SHRINK=1: a failing HTTP property can take many thousands of requests to shrink,
  // and the first counterexample (printed short, with its path for replay) is usually clear enough.
  await fc.assert(fc.asyncProperty(arb, async (v) => { await run(v) }), { seed: 42, numRuns, endOnFailure: process.env.FUZZ_SHRINK !== '1' })
}

/** Batches of requests sent at once that must all be refused (4xx; `anyStatus` for read-only routes, where
 *  a 200 is fine too) and must leave every table exactly as it was. */
export async function refusedBatches(s: TestServer, arb: Arbitrary<Req>, opts: { anyStatus?: boolean; numRuns?: number } = {}): Promise<void> {
  await fuzz(fc.array(arb, { minLength: 1, maxLength: 3 }), async (batch) => {
    const before = await snapshot(s)
    const answers = await Promise.all(batch.map((r) => send(s, r)))
    answers.forEach((a, i) => {
      if (!opts.anyStatus && (a.status < 400 || a.status >= 500)) throw new Error(`expected a refusal, got ${a.status} ${JSON.stringify(a.json).slice(0, 200)} for ${describeReq(batch[i] as Req)}`)
    })
    const after = await snapshot(s)
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      const changed = Object.keys(after).filter((t) => JSON.stringify(after[t]) !== JSON.stringify(before[t]))
      throw new Error(`refused requests changed ${changed.join(', ')} (${changed.map((t) => `${before[t]?.rows}→${after[t]?.rows} rows`).join(', ')}): ${batch.map(describeReq).join(' | ')}`)
    }
  }, opts.numRuns)
}

/** Inputs, time and status histogram per route, as a table for the long-mode report. */
export function report(): string {
  const lines = [...stats].sort(([a], [b]) => a.localeCompare(b)).map(([route, st]) => {
    const statuses = [...st.statuses].sort(([a], [b]) => a - b).map(([c, n]) => `${c}×${n}`).join(' ')
    return `${route.padEnd(34)} ${String(st.inputs).padStart(7)} inputs ${(st.ms / 1000).toFixed(1).padStart(7)} s   ${statuses}`
  })
  const total = [...stats.values()].reduce((n, st) => n + st.inputs, 0)
  return [`fuzz: FUZZ_RUNS=${RUNS}, seed 42, ${total} inputs`, ...lines].join('\n')
}
