// GET /.well-known/jwks.json and /.well-known/openid-configuration: what a relying party needs to check our
// access tokens without holding any secret. The JWKS lists the public half of every asymmetric key of
// GOTRUE_JWT_KEYS (the signing key, old keys still verifying, next keys not yet signing), never a symmetric key and
// never a private member. In multi-instance mode each site's app is built from its own config, so a site's
// document shows only its own keys.
import { Elysia, t } from 'elysia'
import type { Deps } from '../lib/deps.ts'
import { keySetOf } from '../lib/keys.ts'

/** How long a verifier may keep the JWKS document. The rotation runbook (README "Keys and rotation") waits longer
 *  than this between publishing a next key and letting it sign, so every verifier that honours the header holds
 *  the next key before the first token signed with it exists. Ten minutes, as supabase/auth: short enough that the
 *  wait is no burden, long enough that verifiers do not fetch on every request. */
export const JWKS_MAX_AGE = 600

const Jwk = t.Object({
  kty: t.String(), kid: t.String(), alg: t.String(), use: t.String(), key_ops: t.Array(t.String()),
  n: t.Optional(t.String()), e: t.Optional(t.String()), crv: t.Optional(t.String()), x: t.Optional(t.String()), y: t.Optional(t.String()),
})
export const JwksBody = t.Object({ keys: t.Array(Jwk) }, { description: 'JSON Web Key Set (RFC 7517): public keys only' })
export const DiscoveryBody = t.Object({
  issuer: t.String(),
  jwks_uri: t.String(),
  token_endpoint: t.String(),
  userinfo_endpoint: t.String(),
  grant_types_supported: t.Array(t.String()),
  response_types_supported: t.Array(t.String()),
  subject_types_supported: t.Array(t.String()),
  id_token_signing_alg_values_supported: t.Array(t.String()),
}, { description: 'OpenID Connect discovery document (the subset that locates the keys)' })

export function wellKnown(deps: Deps) {
  const { jwt } = deps.config
  const set = keySetOf(jwt)
  const jwks = set?.jwks ?? { keys: [] }
  const algs = set?.signing ? [set.signing.alg] : ['HS256']
  const cache = `public, max-age=${JWKS_MAX_AGE}`
  return new Elysia({ name: 'well-known' })
    .model({ 'well-known.jwks': JwksBody, 'well-known.discovery': DiscoveryBody })
    .get('/.well-known/jwks.json', ({ set: s }) => {
      s.headers['cache-control'] = cache
      return jwks
    }, {
      response: { 200: 'well-known.jwks' },
      detail: { summary: 'Public keys that verify access tokens (JWKS); empty with the HS256 secret alone', tags: ['public'] },
    })
    .get('/.well-known/openid-configuration', ({ set: s, request }) => {
      s.headers['cache-control'] = cache
      // GOTRUE_JWT_ISSUER names us; without it, the origin the request reached (what a local setup expects).
      const issuer = jwt.issuer || new URL(request.url).origin
      const base = issuer.replace(/\/+$/, '')
      return {
        issuer,
        jwks_uri: `${base}/.well-known/jwks.json`,
        token_endpoint: `${base}/token`,
        userinfo_endpoint: `${base}/user`,
        grant_types_supported: ['password', 'refresh_token'],
        response_types_supported: ['token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: algs,
      }
    }, {
      response: { 200: 'well-known.discovery' },
      detail: { summary: 'OpenID discovery: issuer (GOTRUE_JWT_ISSUER) and jwks_uri', tags: ['public'] },
    })
}
