// The signing key set (GOTRUE_JWT_KEYS, supabase/auth's format so keys move between the two): a JSON array of
// JWKs, each with `kid` and `alg`. The one whose key_ops holds "sign" signs access tokens (a private JWK; exactly
// one); the others verify: old keys until their tokens expire, next keys published before they sign. The HS256
// GOTRUE_JWT_SECRET stays a verifying key beside them, so a move to asymmetric keys logs nobody out.
// Keys live as node:crypto KeyObjects, parsed once per configuration (a WeakMap on the config's jwt object).
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from 'node:crypto'

export const ALGS = ['RS256', 'ES256', 'EdDSA', 'HS256'] as const
export type Alg = (typeof ALGS)[number]
/** The kid GoTrue's HS256 tokens carry; a token with it (or none) is checked against GOTRUE_JWT_SECRET. */
export const SECRET_KID = 'nf-ident'

export interface Key {
  kid: string
  alg: Alg
  /** The private key (asymmetric) or the HMAC key bytes, when this key signs. */
  signer: KeyObject | Buffer | null
  /** The public key (asymmetric) or the HMAC key bytes. */
  verifier: KeyObject | Buffer
  /** What the JWKS document shows: public members only; null for a symmetric key, which is never published. */
  published: PublicJwk | null
  /** The compact header `{alg, kid, typ}` in base64url, made once. */
  header: string
}
export interface KeySet {
  byKid: Map<string, Key>
  signing: Key | null
  /** GOTRUE_JWT_SECRET's bytes, verifying HS256 tokens with kid nf-ident or none (null when HS256 is not accepted). */
  secret: string | null
  algs: ReadonlySet<string>
  jwks: { keys: PublicJwk[] }
}
/** A published key: the public members of its type only. */
export interface PublicJwk { kty: string; kid: string; alg: string; use: string; key_ops: string[]; n?: string; e?: string; crv?: string; x?: string; y?: string }
export interface JwtKeyConfig { secret: string; keys: string; valid_methods: string[] }

// What each alg requires of its key (RFC 7518 §3, RFC 8037): a confusion between them is refused at load.
const KTY: Record<Alg, { kty: string; crv?: string }> = {
  RS256: { kty: 'RSA' }, ES256: { kty: 'EC', crv: 'P-256' }, EdDSA: { kty: 'OKP', crv: 'Ed25519' }, HS256: { kty: 'oct' },
}
const PUBLIC_MEMBERS: Record<string, string[]> = { RSA: ['n', 'e'], EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'] }
const header = (alg: string, kid: string) => Buffer.from(JSON.stringify({ alg, kid, typ: 'JWT' })).toString('base64url')

function parseKey(j: unknown, i: number): Key {
  const where = `key ${i + 1}`
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error(`${where}: expected a JWK object`)
  const jwk = j as Record<string, unknown>
  const { kid, alg, kty, key_ops: ops } = jwk
  if (typeof kid !== 'string' || !kid || kid.length > 200) throw new Error(`${where}: "kid" is required (a string)`)
  const at = `key "${kid}"`
  if (!ALGS.includes(alg as Alg)) throw new Error(`${at}: "alg" must be one of ${ALGS.join(', ')}`)
  const a = alg as Alg
  const need = KTY[a]
  if (kty !== need.kty || (need.crv && jwk.crv !== need.crv)) throw new Error(`${at}: ${a} needs kty ${need.kty}${need.crv ? ` with crv ${need.crv}` : ''}`)
  if (ops !== undefined && (!Array.isArray(ops) || !ops.every((o) => o === 'sign' || o === 'verify'))) throw new Error(`${at}: "key_ops" may hold only "sign" and "verify"`)
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new Error(`${at}: "use" must be "sig"`)
  const signs = Array.isArray(ops) && ops.includes('sign')
  if (a === 'HS256') {
    const k = typeof jwk.k === 'string' ? Buffer.from(jwk.k, 'base64url') : Buffer.alloc(0)
    if (k.length < 32) throw new Error(`${at}: an HS256 key needs "k" of at least 32 bytes`)
    return { kid, alg: a, signer: signs ? k : null, verifier: k, published: null, header: header(a, kid) }
  }
  const isPrivate = typeof jwk.d === 'string'
  if (signs && !isPrivate) throw new Error(`${at}: the signing key must be a private JWK (with "d")`)
  let priv: KeyObject | null = null
  let pub: KeyObject
  try {
    // Only the members the key type defines reach node:crypto (no x5c or other extras).
    const members = [...PUBLIC_MEMBERS[need.kty] as string[], ...(isPrivate ? ['d', 'p', 'q', 'dp', 'dq', 'qi'] : [])]
    const raw: Record<string, unknown> = { kty }
    for (const m of members) if (jwk[m] !== undefined) raw[m] = jwk[m]
    if (isPrivate) { priv = createPrivateKey({ key: raw as never, format: 'jwk' }); pub = createPublicKey(priv) } else pub = createPublicKey({ key: raw as never, format: 'jwk' })
  } catch (e) {
    throw new Error(`${at}: not a valid ${a} key (${e instanceof Error ? e.message : String(e)})`)
  }
  if (a === 'RS256' && (pub.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new Error(`${at}: RS256 keys need at least 2048 bits`)
  const exported = pub.export({ format: 'jwk' }) as Record<string, unknown>
  const published: PublicJwk = { kty: need.kty, kid, alg: a, use: 'sig', key_ops: ['verify'] }
  for (const m of PUBLIC_MEMBERS[need.kty] as (keyof PublicJwk & string)[]) (published as unknown as Record<string, unknown>)[m] = exported[m]
  return { kid, alg: a, signer: signs ? priv : null, verifier: pub, published, header: header(a, kid) }
}

/** Parses GOTRUE_JWT_KEYS (the JSON text). Throws an Error naming the key and the problem. */
export function parseJwtKeys(text: string): Key[] {
  let list: unknown
  try { list = JSON.parse(text) } catch { throw new Error('expected a JSON array of JWKs') }
  if (!Array.isArray(list) || list.length === 0) throw new Error('expected a non-empty JSON array of JWKs')
  const keys = list.map(parseKey)
  const kids = new Set<string>()
  for (const k of keys) {
    if (kids.has(k.kid)) throw new Error(`key "${k.kid}": kid appears twice`)
    kids.add(k.kid)
  }
  const signing = keys.filter((k) => k.signer)
  if (signing.length !== 1) throw new Error(signing.length ? 'more than one key has key_ops "sign"; exactly one signs' : 'no key has key_ops ["sign"]; exactly one must sign')
  return keys
}

/** Checks GOTRUE_JWT_VALID_METHODS against the supported algorithms. */
export function checkValidMethods(methods: string[], signingAlg?: string): void {
  for (const m of methods) if (!ALGS.includes(m as Alg)) throw new Error(`expected algorithms among ${ALGS.join(', ')}, got ${JSON.stringify(m)}`)
  // A server that signs with an algorithm it refuses would lock out every new session.
  if (signingAlg && methods.length && !methods.includes(signingAlg)) throw new Error(`must include the signing key's algorithm ${signingAlg}`)
}

const sets = new WeakMap<object, { keys: string; secret: string; methods: string[]; set: KeySet }>()
/** The key set of a configuration (null without GOTRUE_JWT_KEYS: HS256 with the secret alone, as before). */
export function keySetOf(jwt: JwtKeyConfig): KeySet | null {
  if (!jwt.keys) return null
  // Called on every request: compares, never allocates, on a hit.
  const hit = sets.get(jwt)
  if (hit && hit.keys === jwt.keys && hit.secret === jwt.secret && hit.methods === jwt.valid_methods) return hit.set
  const keys = parseJwtKeys(jwt.keys)
  // Accepted by default: the keys' algorithms and HS256 for the secret (supabase derives the list the same way).
  const algs = new Set<string>(jwt.valid_methods.length ? jwt.valid_methods : [...keys.map((k) => k.alg), ...(jwt.secret ? ['HS256'] : [])])
  const set: KeySet = {
    byKid: new Map(keys.map((k) => [k.kid, k])),
    signing: keys.find((k) => k.signer) ?? null,
    secret: jwt.secret && algs.has('HS256') ? jwt.secret : null,
    algs,
    jwks: { keys: keys.flatMap((k) => k.published && algs.has(k.alg) ? [k.published] : []) },
  }
  sets.set(jwt, { keys: jwt.keys, secret: jwt.secret, methods: jwt.valid_methods, set })
  return set
}

/** A new private JWK for GOTRUE_JWT_KEYS with key_ops ["verify"]: publish it first, make it sign later. */
export function generateJwk(alg: Alg, kid: string = randomUUID()): Record<string, unknown> {
  if (alg === 'HS256') return { kty: 'oct', kid, alg, k: randomBytes(32).toString('base64url'), key_ops: ['verify'] }
  const { privateKey } = alg === 'RS256' ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519')
  const jwk = privateKey.export({ format: 'jwk' }) as Record<string, unknown>
  return { kid, alg, use: 'sig', key_ops: ['verify'], ...jwk }
}
