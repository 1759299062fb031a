// Access tokens (HS256, `kid: nf-ident`, GoTrue's claims) and the other signed tokens the service mints.
// Access tokens are signed, and every token is verified, with node:crypto's HMAC: these run on every request, and
// jose's WebCrypto path shares Bun's worker pool with bcrypt. The code repeats jose's checks and produces jose's
// bytes (tests/jwt.test.ts compares the two). jose itself only signs the rare tokens (the webhook signature),
// loaded on first use, and lends its JWTPayload type; this file stays its only importer so the tests' comparison
// and a future move to asymmetric keys have one place to look. Verification accepts HS256 only and requires
// `exp` (the reference accepts tokens without it). Tokens that verified are remembered (bounded) so a repeated
// GET /user skips the HMAC.
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
  /** The refresh-token family (the session) the token was issued for, as supabase/auth names it. */
  session_id?: string
}

// HMAC keys are the secret's UTF-8 bytes (node:crypto encodes a string key so, as jose and the reference do).
// Nothing is kept per secret: instance secrets are replaced by the operator, and a map of every secret ever
// seen would only grow.

/** Signs claims with HS256. Claims are emitted in GoTrue's order: aud, exp, sub, email, app_metadata, user_metadata. */
export function signHS256(payload: JWTPayload, secret: string, kid: string | undefined = KID): Promise<string> {
  // jose is loaded on first use: the hot paths (access tokens) sign and verify on node:crypto, and the module
  // costs resident memory that a node which never sends a webhook does not need.
  return import('jose').then(({ SignJWT }) =>
    new SignJWT(payload).setProtectedHeader(kid ? { alg: 'HS256', kid, typ: 'JWT' } : { alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret)))
}

export class TokenError extends Error {}

/** The header's alg (printable, bounded) followed by a space, or '' when unreadable: for error messages only. */
function algOf(token: string): string {
  try {
    const alg = (JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString('utf8')) as { alg?: unknown }).alg
    return typeof alg === 'string' && /^[A-Za-z0-9+_-]{1,20}$/.test(alg) ? `${alg} ` : ''
  } catch { return '' }
}

const B64URL = /^[A-Za-z0-9_-]*$/
/** A segment's bytes, only from its one canonical spelling (RFC 7515 §2: base64url without padding). Buffer's
 *  decoder ignores the unused low bits of the last character and anything outside the alphabet, so other strings
 *  decode to the same bytes: a signature with those bits flipped would still verify, i.e. a second valid token. */
function decodeSegment(part: string): Buffer {
  const bytes = Buffer.from(part, 'base64url')
  if (!B64URL.test(part) || bytes.toString('base64url') !== part) throw new TokenError('token is malformed: Invalid Compact JWS')
  return bytes
}

/** Verifies an HS256 token with a required `exp`; throws TokenError with a readable reason.
 *  Synchronous node:crypto HMAC rather than jose's WebCrypto path: this runs on every authenticated request, and
 *  the async WebCrypto call cost about twice as much here. The checks are jose's: a compact JWS of three
 *  base64url parts, header alg exactly HS256 and no `crit`, the signature compared in constant time, a JSON
 *  object payload, `exp` required and in the future, `nbf` (when present) not in the future, numeric dates. */
export async function verifyHS256<T extends JWTPayload = JWTPayload>(
  token: string, secret: string, opts: { requireExp?: boolean; now?: Date } = {},
): Promise<T> {
  return verifyHS256Sync<T>(token, secret, opts)
}

/** Tokens already verified: GET /user is called again and again with the same token, and a hit skips the HMAC
 *  and both JSON parses (about a fifth of that route's CPU). Keyed by the whole token string, so only the exact
 *  bytes that passed are trusted, and a hit counts only for the secret that verified it: once an instance's
 *  secret is replaced, its old tokens are verified afresh against the new one, and fail. exp and nbf are still
 *  checked on every hit. Bounded by bytes, not by count, since a token's size is its user's to choose (through
 *  user_metadata): a token over CACHE_TOKEN_MAX is never kept, the oldest entries go first once the total passes
 *  CACHE_BYTES, and an entry leaves at its token's exp, so a replaced secret's entries are gone within one token
 *  lifetime. (HTTP caps a bearer token at Bun's header limit anyway; the bound holds for any caller.) */
interface Cached { secret: string; claims: JWTPayload; exp: number; size: number }
const verified = new Map<string, Cached>()
const CACHE_BYTES = 16 * 1024 * 1024
const CACHE_TOKEN_MAX = 16 * 1024
let cachedBytes = 0

const forget = (token: string, e: Cached): void => {
  verified.delete(token)
  cachedBytes -= e.size
}

function remember(token: string, secret: string, claims: JWTPayload, now: number): void {
  if (typeof claims.exp !== 'number' || token.length > CACHE_TOKEN_MAX) return
  // The key and the parsed claims (about the payload's size again), plus the entry's own objects.
  const size = 2 * token.length + 256
  const old = verified.get(token)
  if (old) forget(token, old)
  // Oldest first: expired entries (mostly the oldest: one lifetime per secret), then whatever the bytes require.
  for (const [k, e] of verified) {
    if (e.exp > now && cachedBytes + size <= CACHE_BYTES) break
    forget(k, e)
  }
  verified.set(token, { secret, claims: Object.freeze(claims), exp: claims.exp, size })
  cachedBytes += size
}

function checkTimes(c: Record<string, unknown>, opts: { requireExp?: boolean; now?: Date }): void {
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000)
  if (c.exp === undefined && opts.requireExp !== false) throw new TokenError('missing required "exp" claim')
  if (typeof c.exp === 'number' && c.exp <= now) throw new TokenError('token is expired')
  if (typeof c.nbf === 'number' && c.nbf > now) throw new TokenError('"nbf" claim timestamp check failed')
}

export function verifyHS256Sync<T extends JWTPayload = JWTPayload>(
  token: string, secret: string, opts: { requireExp?: boolean; now?: Date } = {},
): T {
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000)
  const hit = verified.get(token)
  if (hit && hit.secret === secret) {
    if (hit.exp > now) {
      checkTimes(hit.claims as Record<string, unknown>, opts)
      return hit.claims as T
    }
    forget(token, hit) // expired: the full check below says so
  }
  const claims = verifyUncached<T>(token, secret, opts)
  remember(token, secret, claims, now)
  return claims
}

function verifyUncached<T extends JWTPayload>(token: string, secret: string, opts: { requireExp?: boolean; now?: Date }): T {
  const parts = token.split('.')
  if (parts.length !== 3) throw new TokenError('token contains an invalid number of segments') // jwt-go's wording, as GoTrue
  const [h, p] = parts as [string, string, string]
  const [hBytes, pBytes, given] = parts.map(decodeSegment) as [Buffer, Buffer, Buffer]
  let header: unknown
  try { header = JSON.parse(hBytes.toString('utf8')) } catch { throw new TokenError('token is malformed: Invalid Compact JWS') }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new TokenError('token is malformed: Invalid Compact JWS')
  const { alg, crit } = header as { alg?: unknown; crit?: unknown }
  if (alg !== 'HS256') throw new TokenError(`signing method ${algOf(token)}is invalid`) // GoTrue's wording
  if (crit !== undefined) throw new TokenError('token is malformed: unsupported "crit" header')
  const expected = createHmac('sha256', secret).update(`${h}.${p}`).digest()
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenError('signature is invalid')
  let payload: unknown
  try { payload = JSON.parse(pBytes.toString('utf8')) } catch { throw new TokenError('token is malformed: JWT Claims Set must be a top-level JSON object') }
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
 *  behind a hash, inside the session's transaction. jose still signs the webhook signature. */
export function signAccessToken(claims: AccessClaims, secret: string): Promise<string> {
  const ordered: Record<string, unknown> = {}
  if (claims.aud) ordered.aud = claims.aud
  Object.assign(ordered, { exp: claims.exp, sub: claims.sub, email: claims.email, app_metadata: claims.app_metadata, user_metadata: claims.user_metadata })
  if (claims.session_id) ordered.session_id = claims.session_id
  const input = `${ACCESS_HEADER}.${Buffer.from(JSON.stringify(ordered)).toString('base64url')}`
  return Promise.resolve(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`)
}

export const verifyAccessToken = (token: string, secret: string, now?: Date) => verifyHS256<AccessClaims>(token, secret, { now })
