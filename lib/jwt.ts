// Access tokens (GoTrue's claims) and the other signed tokens the service mints. Without GOTRUE_JWT_KEYS access
// tokens are HS256 with `kid: nf-ident` and the secret, exactly as before; with it (lib/keys.ts) they are signed by
// the set's signing key (RS256, ES256, EdDSA or HS256) and verified by the key their `kid` names, the secret
// still verifying the HS256 tokens minted before the switch.
// Everything runs on node:crypto: these run on every request, and jose's WebCrypto path shares Bun's worker pool
// with bcrypt. The code repeats jose's checks and produces jose's bytes (tests/jwt.test.ts compares the two). jose
// itself only signs the rare tokens (the webhook signature), loaded on first use, and lends its JWTPayload type;
// this file stays its only importer. Verification requires `exp` (the reference accepts tokens without it).
// Tokens that verified are remembered (bounded) so a repeated GET /user skips the signature check.
import { createHmac, type KeyObject, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify } from 'node:crypto'
import type { JWTPayload } from 'jose'
import { type JwtKeyConfig, type Key, type KeySet, keySetOf, SECRET_KID } from './keys.ts'

export const KID = SECRET_KID
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
/** `by`: the secret, or the key set (by identity), that verified the token. */
interface Cached { by: string | KeySet; claims: JWTPayload; exp: number; size: number }
const verified = new Map<string, Cached>()
const CACHE_BYTES = 16 * 1024 * 1024
const CACHE_TOKEN_MAX = 16 * 1024
let cachedBytes = 0

const forget = (token: string, e: Cached): void => {
  verified.delete(token)
  cachedBytes -= e.size
}

function remember(token: string, by: string | KeySet, claims: JWTPayload, now: number): void {
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
  verified.set(token, { by, claims: Object.freeze(claims), exp: claims.exp, size })
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
  if (hit && hit.by === secret) {
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

interface Parsed { input: string; header: Record<string, unknown>; payload: Buffer; signature: Buffer }
/** A compact JWS: three canonical base64url parts and a JSON object header. */
function parse(token: string): Parsed {
  const parts = token.split('.')
  if (parts.length !== 3) throw new TokenError('token contains an invalid number of segments') // jwt-go's wording, as GoTrue
  const [h, p] = parts as [string, string, string]
  const [hBytes, payload, signature] = parts.map(decodeSegment) as [Buffer, Buffer, Buffer]
  let header: unknown
  try { header = JSON.parse(hBytes.toString('utf8')) } catch { throw new TokenError('token is malformed: Invalid Compact JWS') }
  if (!header || typeof header !== 'object' || Array.isArray(header)) throw new TokenError('token is malformed: Invalid Compact JWS')
  return { input: `${h}.${p}`, header: header as Record<string, unknown>, payload, signature }
}

function hmacMatches(t: Parsed, key: string | Buffer): boolean {
  const expected = createHmac('sha256', key).update(t.input).digest()
  return t.signature.length === expected.length && timingSafeEqual(t.signature, expected)
}

/** The claims, with jose's checks: a JSON object, numeric dates, `exp` required and in the future, `nbf` passed. */
function claimsOf<T>(t: Parsed, opts: { requireExp?: boolean; now?: Date }): T {
  let payload: unknown
  try { payload = JSON.parse(t.payload.toString('utf8')) } catch { throw new TokenError('token is malformed: JWT Claims Set must be a top-level JSON object') }
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new TokenError('token is malformed: JWT Claims Set must be a top-level JSON object')
  const c = payload as Record<string, unknown>
  for (const k of ['exp', 'nbf', 'iat'] as const) if (c[k] !== undefined && typeof c[k] !== 'number') throw new TokenError(`"${k}" claim must be a number`)
  checkTimes(c, opts)
  return c as T
}

function verifyUncached<T extends JWTPayload>(token: string, secret: string, opts: { requireExp?: boolean; now?: Date }): T {
  const t = parse(token)
  const { alg, crit } = t.header
  if (alg !== 'HS256') throw new TokenError(`signing method ${algOf(token)}is invalid`) // GoTrue's wording
  if (crit !== undefined) throw new TokenError('token is malformed: unsupported "crit" header')
  if (!hmacMatches(t, secret)) throw new TokenError('signature is invalid')
  return claimsOf<T>(t, opts)
}

/** The key a token's header selects in a key set, or a TokenError. The header names the key (`kid`) and the key
 *  fixes the algorithm: a header alg other than the key's is refused, so no token can make an RSA or EC public
 *  key serve as an HMAC secret, nor pick an algorithm the operator did not allow (GOTRUE_JWT_VALID_METHODS).
 *  A token without kid, or with GoTrue's nf-ident, is an HS256 token of GOTRUE_JWT_SECRET. Keys carried by the
 *  token itself (jwk, jku, x5u, x5c) are never fetched nor used: they are refused outright. */
function keyFor(set: KeySet, t: Parsed, token: string): Key | string {
  const { alg, kid, crit } = t.header
  if (typeof alg !== 'string' || !set.algs.has(alg)) throw new TokenError(`signing method ${algOf(token)}is invalid`)
  if (crit !== undefined) throw new TokenError('token is malformed: unsupported "crit" header')
  for (const h of ['jwk', 'jku', 'x5u', 'x5c']) if (t.header[h] !== undefined) throw new TokenError(`token is malformed: "${h}" header not accepted`)
  if (kid !== undefined && typeof kid !== 'string') throw new TokenError('token is malformed: "kid" must be a string')
  const key = kid === undefined ? undefined : set.byKid.get(kid)
  if (key) {
    if (key.alg !== alg) throw new TokenError(`signing method ${algOf(token)}does not match the key ${JSON.stringify(kid)}`)
    return key
  }
  if ((kid === undefined || kid === KID) && alg === 'HS256' && set.secret) return set.secret
  throw new TokenError('unrecognized JWT kid') // supabase/auth's wording
}

function signatureMatches(key: Key, t: Parsed): boolean {
  const data = Buffer.from(t.input)
  switch (key.alg) {
    case 'HS256': return hmacMatches(t, key.verifier as Buffer)
    case 'ES256': return t.signature.length === 64 && cryptoVerify('sha256', data, { key: key.verifier as KeyObject, dsaEncoding: 'ieee-p1363' }, t.signature)
    case 'RS256': return cryptoVerify('sha256', data, key.verifier as KeyObject, t.signature)
    case 'EdDSA': return t.signature.length === 64 && cryptoVerify(null, data, key.verifier as KeyObject, t.signature)
  }
}

/** Verifies an access token against a key set; remembered like HS256 ones, for this very key set only. */
function verifyWithKeys<T>(token: string, set: KeySet, opts: { now?: Date }): T {
  const now = Math.floor((opts.now ?? new Date()).getTime() / 1000)
  const hit = verified.get(token)
  if (hit && hit.by === set) {
    if (hit.exp > now) {
      checkTimes(hit.claims as Record<string, unknown>, opts)
      return hit.claims as T
    }
    forget(token, hit)
  }
  const t = parse(token)
  const key = keyFor(set, t, token)
  if (!(typeof key === 'string' ? hmacMatches(t, key) : signatureMatches(key, t))) throw new TokenError('signature is invalid')
  const claims = claimsOf<JWTPayload>(t, opts)
  remember(token, set, claims, now)
  return claims as T
}

const ACCESS_HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', kid: KID, typ: 'JWT' })).toString('base64url')
/** What signs and verifies access tokens: the secret alone (GoTrue's HS256), or the config's jwt block. */
export type AccessKeys = string | (JwtKeyConfig & { issuer?: string })

function signWith(key: Key, input: string): string {
  const data = Buffer.from(input)
  switch (key.alg) {
    case 'HS256': return createHmac('sha256', key.signer as Buffer).update(input).digest('base64url')
    case 'ES256': return cryptoSign('sha256', data, { key: key.signer as KeyObject, dsaEncoding: 'ieee-p1363' }).toString('base64url')
    case 'RS256': return cryptoSign('sha256', data, key.signer as KeyObject).toString('base64url')
    case 'EdDSA': return cryptoSign(null, data, key.signer as KeyObject).toString('base64url')
  }
}

/** Access tokens are signed synchronously with node:crypto, byte-for-byte what jose's SignJWT produces for the
 *  same header and claims (tests/jwt.test.ts compares them): Bun runs WebCrypto — jose's
 *  signer — on the worker pool that also runs bcrypt, and during a login flood each signature waited 40–110 ms
 *  behind a hash, inside the session's transaction. jose still signs the webhook signature.
 *  Claims come in GoTrue's order (aud, exp, sub, email, app_metadata, user_metadata), then any others given
 *  (session_id, iat …); `iss` is GOTRUE_JWT_ISSUER's when set. */
export function signAccessToken(claims: AccessClaims, keys: AccessKeys): Promise<string> {
  const ordered: Record<string, unknown> = {}
  if (claims.aud) ordered.aud = claims.aud
  Object.assign(ordered, { exp: claims.exp, sub: claims.sub, email: claims.email, app_metadata: claims.app_metadata, user_metadata: claims.user_metadata })
  for (const [k, v] of Object.entries(claims)) if (v !== undefined && v !== '' && !(k in ordered) && k !== 'aud') ordered[k] = v
  if (typeof keys !== 'string' && keys.issuer && ordered.iss === undefined) ordered.iss = keys.issuer
  const payload = Buffer.from(JSON.stringify(ordered)).toString('base64url')
  const signing = typeof keys === 'string' ? null : keySetOf(keys)?.signing
  if (signing) {
    const input = `${signing.header}.${payload}`
    return Promise.resolve(`${input}.${signWith(signing, input)}`)
  }
  const input = `${ACCESS_HEADER}.${payload}`
  const secret = typeof keys === 'string' ? keys : keys.secret
  return Promise.resolve(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`)
}

/** Verifies an access token: the secret's HS256 path as before, or the key set when GOTRUE_JWT_KEYS is set. */
export function verifyAccessToken(token: string, keys: AccessKeys, now?: Date): Promise<AccessClaims> {
  const set = typeof keys === 'string' ? null : keySetOf(keys)
  if (!set) return verifyHS256<AccessClaims>(token, typeof keys === 'string' ? keys : keys.secret, { now })
  try { return Promise.resolve(verifyWithKeys<AccessClaims>(token, set, { now })) } catch (e) { return Promise.reject(e) }
}
