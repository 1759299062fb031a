// Instance secrets at rest (multi-instance mode): the secret leaves of an instance's settings are sealed with
// AES-256-GCM under a key from GOTRUE_DB_ENCRYPTION_KEY, opened only to build that instance's configuration, and
// left out of everything the operator API shows.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { type Config, ConfigError } from './config.ts'
import { PROVIDER_NAMES } from './config-schema.ts'

type Json = Record<string, unknown>

/** The secret leaves of an instance config: encrypted in the row, removed from every response. */
const SECRET_PATHS = [['jwt', 'secret'], ['jwt', 'keys'], ['smtp', 'pass'], ['webhook', 'secret'],
  ...PROVIDER_NAMES.map((p) => ['external', p, 'secret']), ['external', 'saml', 'signing_key']]

// A sealed value is bound to its instance and field (`<instance id>/jwt.secret` as GCM associated data), so a value
// copied into another instance's row, or into another field, does not open. The previous version sealed without
// that binding (enc:v1:); such values still open, and the row is resealed as enc:v2: on its next read.
const PREFIX = 'enc:v2:'
const LEGACY = 'enc:v1:'
export function encryptionKey(config: Config): Buffer {
  if (!config.db.encryption_key) throw new ConfigError('GOTRUE_DB_ENCRYPTION_KEY: required in multi-instance mode (a long random string; it encrypts instance secrets at rest)')
  return createHash('sha256').update(config.db.encryption_key).digest()
}
function encrypt(key: Buffer, text: string, aad: string): string {
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', key, iv)
  c.setAAD(Buffer.from(aad, 'utf8'))
  const body = Buffer.concat([c.update(text, 'utf8'), c.final()])
  return PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url')
}
// A plaintext value in a secret field is refused, never used: every version stored secrets sealed, so plaintext can
// only have been written by someone with access to the table, and it would let them choose a site's signing key.
function decrypt(key: Buffer, value: string, aad: string): string {
  const legacy = value.startsWith(LEGACY)
  if (!legacy && !value.startsWith(PREFIX)) throw new Error(`${aad.slice(aad.indexOf('/') + 1)} is not sealed`)
  const raw = Buffer.from(value.slice(PREFIX.length), 'base64url')
  try {
    const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
    if (!legacy) d.setAAD(Buffer.from(aad, 'utf8'))
    d.setAuthTag(raw.subarray(12, 28))
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')
  } catch {
    throw new Error(`${aad.slice(aad.indexOf('/') + 1)} does not open with this key for this instance and field`)
  }
}
function mapSecrets(config: Json, f: (v: string, field: string) => string | undefined): Json {
  const out = structuredClone(config)
  for (const path of SECRET_PATHS) {
    let node: Json | undefined = out
    for (const k of path.slice(0, -1)) node = node?.[k] && typeof node[k] === 'object' ? (node[k] as Json) : undefined
    const leaf = path[path.length - 1] as string
    if (node && typeof node[leaf] === 'string' && node[leaf] !== '') {
      const v = f(node[leaf] as string, path.join('.'))
      if (v === undefined) delete node[leaf]
      else node[leaf] = v
    }
  }
  return out
}
/** One value sealed (or opened) on its own, bound to `aad` (e.g. `<instance id>/mfa_factors/<factor id>`). */
export const sealValue = (key: Buffer, text: string, aad: string): string => encrypt(key, text, aad)
export const openValue = (key: Buffer, value: string, aad: string): string => decrypt(key, value, aad)
export const sealConfig = (key: Buffer, id: string, c: Json) => mapSecrets(c, (v, field) => encrypt(key, v, `${id}/${field}`))
/** The stored settings with their secrets in clear; throws naming the field when one does not open. */
export const openConfig = (key: Buffer, id: string, c: Json) => mapSecrets(c, (v, field) => decrypt(key, v, `${id}/${field}`))
/** True when a secret is still sealed the previous way (not bound to its instance and field). */
export const hasLegacySeal = (c: Json) => { let found = false; mapSecrets(c, (v) => { found ||= v.startsWith(LEGACY); return v }); return found }
/** What the operator API shows: everything but the secrets, which are left out. */
export const redactConfig = (c: Json): Json => mapSecrets(c, () => undefined)
/** The stored settings without the secrets an update replaces (so a secret that no longer opens can be set again). */
export const withoutReplacedSecrets = (c: Json, patch: Json): Json => mapSecrets(c, (v, field) => {
  let node: unknown = patch
  for (const k of field.split('.')) node = node && typeof node === 'object' ? (node as Json)[k] : undefined
  return node === undefined ? v : undefined
})
