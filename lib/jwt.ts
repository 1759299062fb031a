// Access tokens (HS256, `kid: nf-ident`, GoTrue's claims) and the other signed tokens the service mints.
// The only importer of jose. Verification accepts HS256 only and requires `exp` (the reference accepts
// tokens without it); keys are cached per secret so per-instance secrets cost nothing extra.
import { decodeProtectedHeader, errors, jwtVerify, SignJWT, type JWTPayload } from 'jose'

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
  return new SignJWT(payload).setProtectedHeader(kid ? { alg: 'HS256', kid, typ: 'JWT' } : { alg: 'HS256', typ: 'JWT' }).sign(keyFor(secret))
}

export class TokenError extends Error {}

/** The header's alg (printable, bounded) followed by a space, or '' when unreadable: for error messages only. */
function algOf(token: string): string {
  try {
    const alg = decodeProtectedHeader(token).alg
    return typeof alg === 'string' && /^[A-Za-z0-9+_-]{1,20}$/.test(alg) ? `${alg} ` : ''
  } catch { return '' }
}

/** Verifies an HS256 token with a required `exp`; throws TokenError with a readable reason. */
export async function verifyHS256<T extends JWTPayload = JWTPayload>(
  token: string, secret: string, opts: { requireExp?: boolean; now?: Date } = {},
): Promise<T> {
  try {
    const { payload } = await jwtVerify(token, keyFor(secret), {
      algorithms: ['HS256'],
      requiredClaims: opts.requireExp === false ? [] : ['exp'],
      currentDate: opts.now, // the app's clock (deps.clock), so expiry follows the same time as everything else
    })
    return payload as T
  } catch (e) {
    if (e instanceof errors.JWTExpired) throw new TokenError('token is expired')
    if (e instanceof errors.JOSEAlgNotAllowed) throw new TokenError(`signing method ${algOf(token)}is invalid`) // GoTrue's wording
    if (e instanceof errors.JWSSignatureVerificationFailed) throw new TokenError('signature is invalid')
    if (e instanceof errors.JWTClaimValidationFailed) throw new TokenError(e.message)
    throw new TokenError(e instanceof Error && e.message ? `token is malformed: ${e.message}` : 'token is malformed')
  }
}

export function signAccessToken(claims: AccessClaims, secret: string): Promise<string> {
  const ordered: Record<string, unknown> = {}
  if (claims.aud) ordered.aud = claims.aud
  Object.assign(ordered, { exp: claims.exp, sub: claims.sub, email: claims.email, app_metadata: claims.app_metadata, user_metadata: claims.user_metadata })
  return signHS256(ordered, secret)
}

export const verifyAccessToken = (token: string, secret: string, now?: Date) => verifyHS256<AccessClaims>(token, secret, { now })
