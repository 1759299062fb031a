// Multi-instance (operator) mode: one deployment serving many sites. An instance row holds the site's settings
// as GoTrue's per-instance JSON (spec §5.3 keys); its secrets are encrypted at rest (AES-256-GCM, key from
// GOTRUE_DB_ENCRYPTION_KEY) and never returned in clear. End-user requests name their instance in the
// operator-signed `x-nf-sign` header; every row they touch carries that instance id.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { type Config, ConfigError, withOverrides } from './config.ts'
import { type Db, dbTime } from './db/index.ts'
import { badRequest, HttpError, notFound } from './errors.ts'
import { TokenError, verifyHS256 } from './jwt.ts'

export interface InstanceRow { id: string; uuid: string | null; raw_base_config: string | null; created_at: string; updated_at: string }
type Json = Record<string, unknown>

/** The secret leaves of an instance config: encrypted in the row, removed from every response. */
const SECRET_PATHS = [['jwt', 'secret'], ['smtp', 'pass'], ['webhook', 'secret'],
  ...['bitbucket', 'github', 'gitlab', 'google', 'facebook'].map((p) => ['external', p, 'secret']), ['external', 'saml', 'signing_key']]

const PREFIX = 'enc:v1:'
export function encryptionKey(config: Config): Buffer {
  if (!config.db.encryption_key) throw new ConfigError('GOTRUE_DB_ENCRYPTION_KEY: required in multi-instance mode (a long random string; it encrypts instance secrets at rest)')
  return createHash('sha256').update(config.db.encryption_key).digest()
}
function encrypt(key: Buffer, text: string): string {
  const iv = randomBytes(12)
  const c = createCipheriv('aes-256-gcm', key, iv)
  const body = Buffer.concat([c.update(text, 'utf8'), c.final()])
  return PREFIX + Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url')
}
function decrypt(key: Buffer, value: string): string {
  if (!value.startsWith(PREFIX)) return value
  const raw = Buffer.from(value.slice(PREFIX.length), 'base64url')
  const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
  d.setAuthTag(raw.subarray(12, 28))
  return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')
}
function mapSecrets(config: Json, f: (v: string) => string | undefined): Json {
  const out = structuredClone(config)
  for (const path of SECRET_PATHS) {
    let node: Json | undefined = out
    for (const k of path.slice(0, -1)) node = node?.[k] && typeof node[k] === 'object' ? (node[k] as Json) : undefined
    const leaf = path[path.length - 1] as string
    if (node && typeof node[leaf] === 'string' && node[leaf] !== '') {
      const v = f(node[leaf] as string)
      if (v === undefined) delete node[leaf]
      else node[leaf] = v
    }
  }
  return out
}
export const sealConfig = (key: Buffer, c: Json) => mapSecrets(c, (v) => encrypt(key, v))
export const openConfig = (key: Buffer, c: Json) => mapSecrets(c, (v) => decrypt(key, v))
/** What the operator API shows: everything but the secrets, which are left out. */
export const redactConfig = (c: Json): Json => mapSecrets(c, () => undefined)

/** Deep merge as GoTrue's PUT /instances does: present keys overwrite (even ""), absent keep, lists replace. */
export function mergeConfig(base: Json, patch: Json): Json {
  const out: Json = { ...base }
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k]
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur) ? mergeConfig(cur as Json, v as Json) : v
  }
  return out
}

const NS = 1e9 // durations in the instance JSON are Go nanoseconds
/** The instance's effective configuration: the stored JSON (spec §5.3 keys) laid over the process's own. */
export function instanceConfig(global: Config, stored: Json): Config {
  const pick = (obj: unknown, keys: string[], conv: Record<string, (v: unknown) => unknown> = {}): Json => {
    const out: Json = {}
    if (!obj || typeof obj !== 'object') return out
    for (const k of keys) {
      const v = (obj as Json)[k]
      if (v === undefined || v === null || v === '') continue
      out[k] = conv[k] ? conv[k](v) : v
    }
    return out
  }
  const ns = (v: unknown) => Number(v) / NS
  const s = stored
  const ext = (s.external ?? {}) as Json
  const overrides: Json = {
    ...pick(s, ['site_url', 'disable_signup']),
    jwt: pick(s.jwt, ['secret', 'exp', 'aud', 'admin_group_name', 'default_group_name', 'refresh_token_lifetime']),
    smtp: pick(s.smtp, ['host', 'port', 'user', 'pass', 'admin_email', 'max_frequency'], { max_frequency: ns }),
    mailer: {
      ...pick(s.mailer, ['autoconfirm', 'recovery_max_age', 'confirmation_max_age', 'invite_max_age'],
        { recovery_max_age: ns, confirmation_max_age: ns, invite_max_age: ns }),
      subjects: pick((s.mailer as Json | undefined)?.subjects, ['invite', 'confirmation', 'recovery', 'email_change']),
      templates: pick((s.mailer as Json | undefined)?.templates, ['invite', 'confirmation', 'recovery', 'email_change']),
      url_paths: pick((s.mailer as Json | undefined)?.url_paths, ['invite', 'confirmation', 'recovery', 'email_change']),
    },
    external: {
      ...Object.fromEntries(['bitbucket', 'github', 'gitlab', 'google', 'facebook'].map((p) => [p, pick(ext[p], ['enabled', 'client_id', 'secret', 'redirect_uri', 'url'])])),
      email: pick(ext.email, ['disabled']),
      saml: pick(ext.saml, ['enabled', 'name']),
      ...pick(ext, ['redirect_url']),
    },
    webhook: pick(s.webhook, ['url', 'secret', 'retries', 'timeout_sec', 'events']),
    cookie: pick(s.cookies, ['key', 'duration']),
  }
  return withOverrides(global, overrides)
}

export async function findInstance(db: Db, id: string): Promise<InstanceRow | null> {
  return db.get<InstanceRow>('SELECT id, uuid, raw_base_config, created_at, updated_at FROM {instances} WHERE id = ?', [id])
}
export async function findInstanceByUuid(db: Db, uuid: string): Promise<InstanceRow | null> {
  return db.get<InstanceRow>('SELECT id, uuid, raw_base_config, created_at, updated_at FROM {instances} WHERE uuid = ?', [uuid])
}
export async function insertInstance(db: Db, row: { id: string; uuid: string; config: Json; now: Date }): Promise<void> {
  await db.run('INSERT INTO {instances} (id, uuid, raw_base_config, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
    [row.id, row.uuid, JSON.stringify(row.config), dbTime(row.now), dbTime(row.now)])
}
export async function updateInstanceConfig(db: Db, id: string, config: Json | null, now: Date): Promise<void> {
  await db.run('UPDATE {instances} SET raw_base_config = ?, updated_at = ? WHERE id = ?', [config === null ? null : JSON.stringify(config), dbTime(now), id])
}
/** Removes the instance and everything of its sites (users cascade to identities, sessions and one-time tokens). */
export async function deleteInstanceData(db: Db, id: string): Promise<void> {
  await db.run('DELETE FROM {users} WHERE instance_id = ?', [id])
  await db.run('DELETE FROM {audit_log_entries} WHERE instance_id = ?', [id])
  await db.run('DELETE FROM {flow_states} WHERE instance_id = ?', [id])
  await db.run('DELETE FROM {instances} WHERE id = ?', [id])
}
/** The instance an OAuth callback belongs to, from its server-side flow state. */
export async function flowInstanceId(db: Db, stateHash: string): Promise<string | null> {
  return (await db.get<{ instance_id: string }>('SELECT instance_id FROM {flow_states} WHERE state_hash = ?', [stateHash]))?.instance_id ?? null
}

export interface SignedClaims { id: string; site_url?: string; netlify_id?: string }
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Checks `x-nf-sign` as GoTrue does (spec §10.2), with its error messages. */
export async function verifySignedRequest(header: string | null, operatorToken: string): Promise<SignedClaims> {
  if (!header) throw badRequest('Operator microservice headers missing')
  let claims: Json
  try { claims = await verifyHS256(header, operatorToken, { requireExp: false }) } catch (e) {
    throw badRequest(`Operator microservice signature is invalid: ${e instanceof TokenError ? e.message : 'token is malformed'}`)
  }
  if (typeof claims.id !== 'string' || !claims.id) throw badRequest('Instance ID is missing')
  if (!UUID.test(claims.id)) throw badRequest('Instance ID is not a valid UUID')
  return { id: claims.id.toLowerCase(), site_url: typeof claims.site_url === 'string' && claims.site_url ? claims.site_url : undefined }
}

/** The effective config of an instance for a request, or GoTrue's errors for unknown / unconfigured ones. */
export async function loadInstanceConfig(db: Db, global: Config, key: Buffer, claims: SignedClaims): Promise<Config> {
  const row = await findInstance(db, claims.id)
  if (!row) throw notFound('Unable to locate site configuration')
  if (!row.raw_base_config) throw new HttpError(500, 'Error loading environment config')
  let stored: Json
  try { stored = openConfig(key, JSON.parse(row.raw_base_config) as Json) } catch (e) {
    throw new HttpError(500, 'Error loading environment config', e)
  }
  // Its own signing key, never the process's GOTRUE_JWT_SECRET (or the one generated into ./data): with a shared
  // key a `sub: "0"` token would be a super-admin of every site without a key of its own.
  const own = (stored.jwt as Json | undefined)?.secret
  if (typeof own !== 'string' || !own) throw new HttpError(500, 'Error loading environment config', new Error('instance has no jwt.secret'))
  const config = instanceConfig(global, stored)
  if (claims.site_url) config.site_url = claims.site_url
  return config
}
