// Access tokens (HS256, `kid: nf-ident`, GoTrue's claims) and the other signed tokens the service mints.
// The only importer of jose. Verification accepts HS256 only and requires `exp` (the reference accepts
// tokens without it); keys are cached per secret so per-instance secrets cost nothing extra.
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { JWTPayload } from 'jose'

export const KID = 'nf-ident'
export interface AccessClaims extends JWTPayload {
  aud?: string
  exp: number
  sub: string
  email: string
  app_metadata: Record<string, unknown> | null
  user_metadata: Record<string, unknown> | null
}

const keys = new Map<string, Uint8Array>()
const keyFor = (secret: string): Uint8Array => {
  let k = keys.get(secret)
  if (!k) { k = new TextEncoder().encode(secret); keys.set(secret, k) }
  return k
}

/** Signs claims with HS256. Claims are emitted in GoTrue's order: aud, exp, sub, email, app_metadata, user_metadata. */
export function signHS256(payload: JWTPayload, secret: string, kid: string | undefined = KID): Promise<string> {
  // jose is loaded on first use: the hot paths (access tokens) sign and verify on node:crypto, and the module
  // costs resident memory a node that never sends a webhook does not need (issue 8: idle RSS).
  return import('jose').then(({ SignJWT }) =>
    new SignJWT(payload).setProtectedHeader(kid ? { alg: 'HS256', kid, typ: 'JWT' } : { alg: 'HS256', typ: 'JWT' }).sign(keyFor(secret)))
}

export class TokenError extends Error {}

/** The header's alg (printable, bounded) followed by a space, or '' when unreadable: for error messages only. */
function algOf(token: string): string {
  try {
    const alg = (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { alg?: unknown }).alg
    return typeof alg === 'string' && /^[A-Za-z0-9+_-]{1,20}$/.test(alg) ? `${alg} ` : ''
  } catch { return '' }
}

const decodeJson = (part: string): unknown => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
const B64URL = /^[A-Za-z0-9_-]*$/

/** Verifies an HS256 token with a required `exp`; throws TokenError with a readable reason.
 *  Synchronous node:crypto HMAC rather than jose's WebCrypto path: this runs on every authenticated request, and
 *  the async WebCrypto call cost about twice as much here (issue 8). The checks are jose's: a compact JWS of three
 *  base64url parts, header alg exactly HS256 and no `crit`, the signature compared in constant time, a JSON
 *  object payload, `exp` required and in the future, `nbf` (when present) not in the future, numeric dates. */
export async function verifyHS256<T extends JWTPayload = JWTPayload>(
  token: string, secret: string, opts: { requireExp?: boolean; now?: Date } = {},
): Promise<T> {
  return verifyHS256Sync<T>(token, secret, opts)
}

/** Tokens already verified, per secret: GET /user is called again and again with the same token, and a hit
 *  skips the HMAC and both JSON parses (about a fifth of that route's CPU). Keyed by the whole token string, so
 *  only the exact bytes that passed are trusted; exp and nbf are still checked against the clock on every hit.
 *  Bounded: a full cache is emptied oldest-first. */
const verified = new Map<string, Map<string, JWTPayload>>()
const CACHE_MAX = 10_000

function checkTimes(c: Record<string, unknown>, opts: { requireExp?: boolean; now?: Date }): void {
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000)
  if (c.exp === undefined && opts.requireExp !== false) throw new TokenError('missing required "exp" claim')
  if (typeof c.exp === 'number' && c.exp <= now) throw new TokenError('token is expired')
  if (typeof c.nbf === 'number' && c.nbf > now) throw new TokenError('"nbf" claim timestamp check failed')
}

export function verifyHS256Sync<T extends JWTPayload = JWTPayload>(
  token: string, secret: string, opts: { requireExp?: boolean; now?: Date } = {},
): T {
  let cache = verified.get(secret)
  const hit = cache?.get(token)
  if (hit) {
    checkTimes(hit as Record<string, unknown>, opts)
    return hit as T
  }
  const claims = verifyUncached<T>(token, secret, opts)
  if (!cache) { cache = new Map(); verified.set(secret, cache) }
  if (cache.size >= CACHE_MAX) for (const k of [...cache.keys()].slice(0, CACHE_MAX / 2)) cache.delete(k)
  cache.set(token, Object.freeze(claims))
  return claims
}

function verifyUncached<T extends JWTPayload>(token: string, secret: string, opts: { requireExp?: boolean; now?: Date }): T {
  const parts = token.split('.')
  if (parts.length !== 3) throw new TokenError('token contains an invalid number of segments') // jwt-go's wording, as GoTrue
  if (!parts.every((p) => B64URL.test(p))) throw new TokenError('token is malformed: Invalid Compact JWS')
  const [h, p, sig] = parts as [string, string, string]
  let header: unknown
  try { header = decodeJson(h) } catch { throw new TokenError('token is malformed: Invalid Compact JWS') }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new TokenError('token is malformed: Invalid Compact JWS')
  const { alg, crit } = header as { alg?: unknown; crit?: unknown }
  if (alg !== 'HS256') throw new TokenError(`signing method ${algOf(token)}is invalid`) // GoTrue's wording
  if (crit !== undefined) throw new TokenError('token is malformed: unsupported "crit" header')
  const expected = createHmac('sha256', keyFor(secret)).update(`${h}.${p}`).digest()
  const given = Buffer.from(sig, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenError('signature is invalid')
  let payload: unknown
  try { payload = decodeJson(p) } catch { throw new TokenError('token is malformed: JWT Claims Set must be a top-level JSON object') }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new TokenError('token is malformed: JWT Claims Set must be a top-level JSON object')
  const c = payload as Record<string, unknown>
  for (const k of ['exp', 'nbf', 'iat'] as const) if (c[k] !== undefined && typeof c[k] !== 'number') throw new TokenError(`"${k}" claim must be a number`)
  checkTimes(c, opts)
  return c as T
}

const ACCESS_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', kid: KID, typ: 'JWT' })).toString('base64url')

/** Access tokens are signed synchronously with node:crypto, byte-for-byte what jose's SignJWT produces for the
 *  same header and claims (tests/jwt.test.ts compares them): Bun runs WebCrypto — jose's
 *  signer — on the worker pool that also runs bcrypt, and during a login flood each signature waited 40–110 ms
 *  behind a hash, inside the session's transaction (issue 8 profile). jose still signs everything else. */
export function signAccessToken(claims: AccessClaims, secret: string): Promise<string> {
  const ordered: Record<string, unknown> = {}
  if (claims.aud) ordered.aud = claims.aud
  Object.assign(ordered, { exp: claims.exp, sub: claims.sub, email: claims.email, app_metadata: claims.app_metadata, user_metadata: claims.user_metadata })
  const input = `${ACCESS_HEADER}.${Buffer.from(JSON.stringify(ordered)).toString('base64url')}`
  return Promise.resolve(`${input}.${createHmac('sha256', keyFor(secret)).update(input).digest('base64url')}`)
}

export const verifyAccessToken = (token: string, secret: string, now?: Date) => verifyHS256<AccessClaims>(token, secret, { now })
