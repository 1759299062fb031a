// Multi-instance (operator) mode: one deployment serving many sites. An instance row holds the site's settings
// as GoTrue's per-instance JSON (spec §5.3 keys); its secrets are encrypted at rest (AES-256-GCM, key from
// GOTRUE_DB_ENCRYPTION_KEY) and never returned in clear. End-user requests name their instance in the
// operator-signed `x-nf-sign` header; every row they touch carries that instance id.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { type Config, ConfigError, withOverrides } from './config.ts'
import { type Db, dbTime } from './db/index.ts'
import { badRequest, HttpError, notFound, unprocessable } from './errors.ts'
import { TokenError, verifyHS256 } from './jwt.ts'
import type { Logger } from './log.ts'

export interface InstanceRow { id: string; uuid: string | null; raw_base_config: string | null; created_at: string; updated_at: string }
type Json = Record<string, unknown>

/** The secret leaves of an instance config: encrypted in the row, removed from every response. */
const SECRET_PATHS = [['jwt', 'secret'], ['smtp', 'pass'], ['webhook', 'secret'],
  ...['bitbucket', 'github', 'gitlab', 'google', 'facebook'].map((p) => ['external', p, 'secret']), ['external', 'saml', 'signing_key']]

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
export const sealConfig = (key: Buffer, id: string, c: Json) => mapSecrets(c, (v, field) => encrypt(key, v, `${id}/${field}`))
/** The stored settings with their secrets in clear; throws naming the field when one does not open. */
export const openConfig = (key: Buffer, id: string, c: Json) => mapSecrets(c, (v, field) => decrypt(key, v, `${id}/${field}`))
/** True when a secret is still sealed the previous way (not bound to its instance and field). */
const hasLegacySeal = (c: Json) => { let found = false; mapSecrets(c, (v) => { found ||= v.startsWith(LEGACY); return v }); return found }
/** What the operator API shows: everything but the secrets, which are left out. */
export const redactConfig = (c: Json): Json => mapSecrets(c, () => undefined)
/** The stored settings without the secrets an update replaces (so a secret that no longer opens can be set again). */
export const withoutReplacedSecrets = (c: Json, patch: Json): Json => mapSecrets(c, (v, field) => {
  let node: unknown = patch
  for (const k of field.split('.')) node = node && typeof node === 'object' ? (node as Json)[k] : undefined
  return node === undefined ? v : undefined
})

// The instance JSON is type-checked on every write (a 422 naming the field) and on every read (a site with a bad
// stored value answers 500 "Error loading environment config" instead of failing later in an odd place, e.g. a
// string jwt.exp minting tokens no one can use). null and "" mean "not set", as in GoTrue; unknown keys are kept.
type Check = (v: unknown) => string | null
const httpUrl = (v: string, base?: string) => {
  try { return ['http:', 'https:'].includes(new URL(v, base).protocol) } catch { return false }
}
const STRING: Check = (v) => typeof v === 'string' ? null : 'must be a string'
const BOOL: Check = (v) => typeof v === 'boolean' ? null : 'must be true or false'
const INT = (min: number, max: number): Check => (v) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? null : `must be an integer from ${min} to ${max}`
const NANOS: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 ? null : 'must be a duration in nanoseconds (a number from 0)'
const ABSOLUTE: Check = (v) => typeof v === 'string' && /^https?:\/\/[^/]/i.test(v) && httpUrl(v) ? null : 'must be an absolute http(s) URL'
const LINK: Check = (v) => typeof v === 'string' && httpUrl(v, 'https://site.invalid/') ? null : 'must be an http(s) URL or a path on site_url'
/** Mail templates of an instance: fetched from the web only (with the SSRF guard); never a file of the server. */
export const TEMPLATE: Check = (v) => typeof v === 'string' && (/^https?:\/\/[^/]/i.test(v) ? httpUrl(v) : /^\/(?!\/)/.test(v) && httpUrl(v, 'https://site.invalid/')) ? null : 'must be an http(s) URL or a path on site_url'
const EVENTS = ['validate', 'signup', 'login', 'userdeleted', 'usermodified']
const EVENT_LIST: Check = (v) => Array.isArray(v) && v.every((e) => EVENTS.includes(e as string)) ? null : `must be a list of events among ${EVENTS.join(', ')}`
const kinds = (check: Check) => Object.fromEntries(['invite', 'confirmation', 'recovery', 'email_change'].map((k) => [k, check]))
const provider = { enabled: BOOL, client_id: STRING, secret: STRING, redirect_uri: ABSOLUTE, url: ABSOLUTE }
type Shape = { [k: string]: Check | Shape }
const SHAPE: Shape = {
  site_url: ABSOLUTE, disable_signup: BOOL,
  jwt: { secret: STRING, exp: INT(0, 365 * 86400), aud: STRING, admin_group_name: STRING, default_group_name: STRING, refresh_token_lifetime: INT(0, 2 ** 31) },
  smtp: { host: STRING, port: INT(1, 65535), user: STRING, pass: STRING, admin_email: STRING, max_frequency: NANOS },
  mailer: {
    autoconfirm: BOOL, recovery_max_age: NANOS, confirmation_max_age: NANOS, invite_max_age: NANOS,
    subjects: kinds(STRING), templates: kinds(TEMPLATE), url_paths: kinds(LINK),
  },
  external: {
    ...Object.fromEntries(['bitbucket', 'github', 'gitlab', 'google', 'facebook'].map((p) => [p, provider])),
    email: { disabled: BOOL }, saml: { enabled: BOOL, name: STRING, signing_key: STRING }, redirect_url: ABSOLUTE,
  },
  webhook: { url: LINK, secret: STRING, retries: INT(0, 100), timeout_sec: INT(0, 600), events: EVENT_LIST },
  cookies: { key: STRING, duration: INT(0, 2 ** 31) },
}
export interface ConfigProblem { field: string; why: string }
/** Every value of the instance JSON that has the wrong type or form, with its dotted field name. */
export function configProblems(c: Json, shape: Shape = SHAPE, prefix = ''): ConfigProblem[] {
  const out: ConfigProblem[] = []
  for (const [k, check] of Object.entries(shape)) {
    const v = c[k]
    const field = prefix + k
    if (v === undefined || v === null || v === '') continue
    if (typeof check === 'function') {
      const why = check(v)
      if (why) out.push({ field, why })
    } else if (typeof v !== 'object' || Array.isArray(v)) out.push({ field, why: 'must be an object' })
    else out.push(...configProblems(v as Json, check, `${field}.`))
  }
  return out
}
/** The operator API's check of a config about to be stored: a 422 naming the first bad field. */
export function assertValidConfig(c: Json): void {
  const [first] = configProblems(c)
  if (first) throw unprocessable(`Invalid config: ${first.field} ${first.why}`)
}

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
      const c = conv[k] ? conv[k](v) : v
      if (c !== undefined) out[k] = c
    }
    return out
  }
  const ns = (v: unknown) => Number(v) / NS
  const s = stored
  const ext = (s.external ?? {}) as Json
  const overrides: Json = {
    ...pick(s, ['site_url', 'disable_signup']),
    jwt: pick(s.jwt, ['secret', 'exp', 'aud', 'admin_group_name', 'default_group_name', 'refresh_token_lifetime'],
      { exp: (v) => v || undefined, refresh_token_lifetime: (v) => v || undefined }), // 0: the default, as GOTRUE_JWT_EXP=0
    smtp: pick(s.smtp, ['host', 'port', 'user', 'pass', 'admin_email', 'max_frequency'], { max_frequency: ns }),
    mailer: {
      ...pick(s.mailer, ['autoconfirm', 'recovery_max_age', 'confirmation_max_age', 'invite_max_age'],
        { recovery_max_age: ns, confirmation_max_age: ns, invite_max_age: ns }),
      subjects: pick((s.mailer as Json | undefined)?.subjects, ['invite', 'confirmation', 'recovery', 'email_change']),
      // Only web templates (a file: one stored before the check on writes is dropped, never read).
      templates: pick((s.mailer as Json | undefined)?.templates, ['invite', 'confirmation', 'recovery', 'email_change'],
        Object.fromEntries(['invite', 'confirmation', 'recovery', 'email_change'].map((k) => [k, (v: unknown) => TEMPLATE(v) ? undefined : v]))),
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
  const siteUrl = typeof claims.site_url === 'string' && claims.site_url ? claims.site_url : undefined
  if (siteUrl && ABSOLUTE(siteUrl)) throw badRequest('Operator microservice headers: site_url is not an absolute http(s) URL')
  return { id: claims.id.toLowerCase(), site_url: siteUrl }
}

/** Writes a legacy-sealed row back sealed to its instance and fields, unless the operator changed it meanwhile. */
async function resealInstance(db: Db, key: Buffer, row: InstanceRow, stored: Json): Promise<void> {
  await db.run('UPDATE {instances} SET raw_base_config = ? WHERE id = ? AND raw_base_config = ?',
    [JSON.stringify(sealConfig(key, row.id, stored)), row.id, row.raw_base_config])
}

/** The effective config of an instance for a request, or GoTrue's errors for unknown / unconfigured ones. */
export async function loadInstanceConfig(db: Db, global: Config, key: Buffer, claims: SignedClaims, log?: Logger): Promise<Config> {
  const row = await findInstance(db, claims.id)
  if (!row) throw notFound('Unable to locate site configuration')
  if (!row.raw_base_config) throw new HttpError(500, 'Error loading environment config')
  const unusable = (why: string) => new HttpError(500, 'Error loading environment config', new Error(`instance ${row.id}: ${why}`))
  let sealed: Json
  let stored: Json
  try {
    sealed = JSON.parse(row.raw_base_config) as Json
    if (!sealed || typeof sealed !== 'object' || Array.isArray(sealed)) throw new Error('config is not a JSON object')
    stored = openConfig(key, row.id, sealed)
  } catch (e) {
    throw unusable(e instanceof Error ? e.message : String(e))
  }
  for (const { field, why } of configProblems(stored)) {
    if (!field.startsWith('mailer.templates.')) throw unusable(`${field} ${why}`)
    log?.warn('instance mail template ignored: only http(s) templates are fetched for an instance', { instance_id: row.id, field })
  }
  // Its own signing key, never the process's GOTRUE_JWT_SECRET (or the one generated into ./data): with a shared
  // key a `sub: "0"` token would be a super-admin of every site without a key of its own.
  const own = (stored.jwt as Json | undefined)?.secret
  if (typeof own !== 'string' || !own) throw unusable('instance has no jwt.secret')
  if (hasLegacySeal(sealed)) await resealInstance(db, key, row, stored)
  const config = instanceConfig(global, stored)
  if (claims.site_url) config.site_url = claims.site_url
  return config
}
