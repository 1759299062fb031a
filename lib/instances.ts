// Multi-instance (operator) mode: one deployment serving many sites. An instance row holds the site's settings
// as GoTrue's per-instance JSON (spec §5.3 keys), its secrets sealed (lib/sealing.ts). This file checks that JSON
// (on the operator's writes and on every read) and builds an instance's effective configuration from its row.
import { type Config, withOverrides } from './config.ts'
import { PROVIDER_NAMES, WEBHOOK_EVENTS } from './config-schema.ts'
import type { Db } from './db/index.ts'
import { HttpError, notFound, unprocessable } from './errors.ts'
import type { Logger } from './log.ts'
import { parseJwtKeys } from './keys.ts'
import { hasLegacySeal, openConfig, sealConfig } from './sealing.ts'

export interface InstanceRow { id: string; uuid: string | null; raw_base_config: string | null; created_at: string; updated_at: string }
type Json = Record<string, unknown>

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
export const ABSOLUTE: Check = (v) => typeof v === 'string' && /^https?:\/\/[^/]/i.test(v) && httpUrl(v) ? null : 'must be an absolute http(s) URL'
const LINK: Check = (v) => typeof v === 'string' && httpUrl(v, 'https://site.invalid/') ? null : 'must be an http(s) URL or a path on site_url'
/** Mail templates of an instance: fetched from the web only (with the SSRF guard); never a file of the server. */
export const TEMPLATE: Check = (v) => typeof v === 'string' && (/^https?:\/\/[^/]/i.test(v) ? httpUrl(v) : /^\/(?!\/)/.test(v) && httpUrl(v, 'https://site.invalid/')) ? null : 'must be an http(s) URL or a path on site_url'
const EVENTS: readonly string[] = WEBHOOK_EVENTS
const EVENT_LIST: Check = (v) => Array.isArray(v) && v.every((e) => EVENTS.includes(e as string)) ? null : `must be a list of events among ${EVENTS.join(', ')}`
/** A site's own key set: GOTRUE_JWT_KEYS's JSON text (a string, so it is sealed like the other secrets). */
const KEYS: Check = (v) => {
  if (typeof v !== 'string') return 'must be a string: the JSON array of JWKs, as GOTRUE_JWT_KEYS'
  try { parseJwtKeys(v); return null } catch (e) { return `is not a usable key set: ${e instanceof Error ? e.message : String(e)}` }
}
const kinds = (check: Check) => Object.fromEntries(['invite', 'confirmation', 'recovery', 'email_change'].map((k) => [k, check]))
const provider = { enabled: BOOL, client_id: STRING, secret: STRING, redirect_uri: ABSOLUTE, url: ABSOLUTE }
type Shape = { [k: string]: Check | Shape }
const SHAPE: Shape = {
  site_url: ABSOLUTE, disable_signup: BOOL,
  jwt: { secret: STRING, exp: INT(0, 365 * 86400), aud: STRING, admin_group_name: STRING, default_group_name: STRING, refresh_token_lifetime: INT(0, 2 ** 31), keys: KEYS, issuer: STRING },
  smtp: { host: STRING, port: INT(1, 65535), user: STRING, pass: STRING, admin_email: STRING, max_frequency: NANOS },
  mailer: {
    autoconfirm: BOOL, recovery_max_age: NANOS, confirmation_max_age: NANOS, invite_max_age: NANOS,
    subjects: kinds(STRING), templates: kinds(TEMPLATE), url_paths: kinds(LINK),
  },
  external: {
    ...Object.fromEntries(PROVIDER_NAMES.map((p) => [p, provider])),
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
    jwt: {
      // The site's own keys or none (HS256 with its own secret), never the process's GOTRUE_JWT_KEYS: a shared
      // signing key would let one site's tokens pass at another.
      keys: '', valid_methods: [],
      ...pick(s.jwt, ['secret', 'exp', 'aud', 'admin_group_name', 'default_group_name', 'refresh_token_lifetime', 'keys', 'issuer'],
        { exp: (v) => v || undefined, refresh_token_lifetime: (v) => v || undefined }), // 0: the default, as GOTRUE_JWT_EXP=0
    },
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
      ...Object.fromEntries(PROVIDER_NAMES.map((p) => [p, pick(ext[p], ['enabled', 'client_id', 'secret', 'redirect_uri', 'url'])])),
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
/** Writes a legacy-sealed row back sealed to its instance and fields, unless the operator changed it meanwhile. */
async function resealInstance(db: Db, key: Buffer, row: InstanceRow, stored: Json): Promise<void> {
  await db.run('UPDATE {instances} SET raw_base_config = ? WHERE id = ? AND raw_base_config = ?',
    [JSON.stringify(sealConfig(key, row.id, stored)), row.id, row.raw_base_config])
}

/** The effective config of an instance for a request, or GoTrue's errors for unknown / unconfigured ones. */
export async function loadInstanceConfig(db: Db, global: Config, key: Buffer, claims: { id: string; site_url?: string }, log?: Logger): Promise<Config> {
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
