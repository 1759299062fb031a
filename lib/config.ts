// The only reader of the environment. loadConfig() turns a dotenv file + the environment into a typed,
// validated object following lib/config-schema.ts, or throws ConfigError naming the variable. Overrides
// (tests, per-instance settings) are laid over a loaded config by the same merge rule GoTrue uses.
import type { Static } from '@sinclair/typebox'
import { existsSync, readFileSync } from 'node:fs'
import { type ConfigSchema, describeConfig, type Meta, type PROVIDER_NAMES, schemaAt, WEBHOOK_EVENTS } from './config-schema.ts'
import { userDataValidator } from './dataschema.ts'
import { parseDotenv } from './dotenv.ts'
import { checkValidMethods, parseJwtKeys } from './keys.ts'

export type Config = Static<typeof ConfigSchema>
export type Env = Record<string, string | undefined>
export type ProviderName = (typeof PROVIDER_NAMES)[number]
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number]

export class ConfigError extends Error {}

const GO_DURATION = /^(\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/
const UNIT: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 }
export function parseDuration(v: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v)
  if (!GO_DURATION.test(v)) return undefined
  let total = 0
  for (const [, n, u] of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(n) * (UNIT[u as string] ?? 0)
  return total
}

function convert(name: string, meta: Meta & Record<string, unknown>, raw: string): unknown {
  const fail = (what: string): never => { throw new ConfigError(`${name}: expected ${what}, got ${JSON.stringify(raw)}`) }
  switch (meta.kind) {
    case 'string': return raw
    case 'bool': {
      if (/^(1|t|true)$/i.test(raw)) return true
      if (/^(0|f|false)$/i.test(raw)) return false
      return fail('a boolean (true or false)')
    }
    case 'int': {
      const min = meta.minimum as number, max = meta.maximum as number
      if (!/^-?\d+$/.test(raw.trim())) fail(`an integer from ${min} to ${max}`)
      const n = Number(raw)
      return n < min || n > max ? fail(`an integer from ${min} to ${max}`) : n
    }
    case 'duration': return parseDuration(raw.trim()) ?? fail('a duration such as 900s, 15m or 24h, or a number of seconds')
    case 'list': return raw.split(',').map((s) => s.trim()).filter(Boolean)
    case 'map': {
      const out: Record<string, string> = {}
      for (const pair of raw.split(',').filter((p) => p.trim())) {
        const i = pair.indexOf(':')
        if (i < 1) fail('a map such as key1:value1,key2:value2')
        out[pair.slice(0, i).trim()] = pair.slice(i + 1).trim()
      }
      return out
    }
    case 'enum': {
      const values = meta.values as string[]
      const v = raw.trim().toLowerCase()
      return values.includes(v) ? v : fail(`one of ${values.join(', ')}`)
    }
  }
}


export interface LoadOptions {
  env?: Env           // defaults to process.env
  file?: string       // --config FILE: must exist; otherwise ./.env when present
  cwd?: string
}

/** Where a setting's value came from: the environment, the dotenv file (`.env` or the --config path), or the default. */
export type Source = 'env' | 'default' | string
export interface Loaded {
  config: Config
  /** By GOTRUE_* name: the source and the variable actually read (an unprefixed alternative, maybe). */
  sources: Record<string, { source: Source; from: string }>
  /** GOTRUE_* names set but unknown, each with the closest known name when one is near. */
  unknown: { name: string; closest?: string }[]
}

/** Load, convert and validate the configuration. Throws ConfigError with one line naming the variable. */
export function loadConfig(opts: LoadOptions = {}): Config {
  return loadConfigDetailed(opts).config
}

/** loadConfig with what an operator needs to check it: each value's source and the misspelled names. */
export function loadConfigDetailed(opts: LoadOptions = {}): Loaded {
  const env = opts.env ?? process.env
  let fileVars: Record<string, string> = {}
  const path = opts.file ?? `${opts.cwd ?? process.cwd()}/.env`
  if (opts.file && !existsSync(opts.file)) throw new ConfigError(`--config: file not found: ${opts.file}`)
  if (existsSync(path)) fileVars = parseDotenv(readFileSync(path, 'utf8'))
  const fileLabel = opts.file ?? '.env'
  // Like godotenv: the real environment wins over the file.
  const lookup = (k: string): string | undefined => env[k] ?? fileVars[k]
  const config: Record<string, unknown> = {}
  const sources: Loaded['sources'] = {}
  const rows = describeConfig()
  for (const row of rows) {
    let raw: string | undefined
    sources[row.env] = { source: 'default', from: row.env }
    for (const name of [row.env, ...row.alt]) {
      const v = lookup(name)
      if (v !== undefined && v !== '') {
        raw = v
        // Bun itself copies ./.env into process.env (below the real environment): a value equal to the file's
        // is the file's.
        const fromFile = fileVars[name] !== undefined && (env[name] === undefined || env[name] === fileVars[name])
        sources[row.env] = { source: fromFile ? fileLabel : 'env', from: name }
        break
      }
    }
    const meta = schemaAt(row.path) as unknown as Meta & Record<string, unknown>
    const value = raw === undefined ? structuredClone(row.def) : convert(row.env, meta, raw)
    let node = config
    for (const k of row.path.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>
    node[row.path[row.path.length - 1] as string] = value
  }
  const c = config as Config
  if (c.jwt.exp === 0) c.jwt.exp = 3600
  if (c.jwt.refresh_token_lifetime <= 0) c.jwt.refresh_token_lifetime = 2592000
  if (c.webhook.timeout_sec <= 0) c.webhook.timeout_sec = 5
  if (c.webhook.retries === 0) c.webhook.retries = 3
  c.jwt.default_group_name = c.jwt.default_group_name.trim()
  for (const e of c.webhook.events) {
    if (!(WEBHOOK_EVENTS as readonly string[]).includes(e))
      throw new ConfigError(`GOTRUE_WEBHOOK_EVENTS: expected events among ${WEBHOOK_EVENTS.join(', ')}, got ${JSON.stringify(e)}`)
  }
  try { new URL(c.site_url) } catch { throw new ConfigError(`GOTRUE_SITE_URL: expected an absolute URL, got ${JSON.stringify(c.site_url)}`) }
  if (c.jwt.keys.startsWith('file:')) {
    const file = c.jwt.keys.slice(5)
    if (!existsSync(file)) throw new ConfigError(`GOTRUE_JWT_KEYS: file not found: ${file}`)
    c.jwt.keys = readFileSync(file, 'utf8')
  }
  let signingAlg: string | undefined
  try { if (c.jwt.keys) signingAlg = parseJwtKeys(c.jwt.keys).find((k) => k.signer)?.alg } catch (e) { throw new ConfigError(`GOTRUE_JWT_KEYS: ${e instanceof Error ? e.message : String(e)}`) }
  try { checkValidMethods(c.jwt.valid_methods, signingAlg) } catch (e) { throw new ConfigError(`GOTRUE_JWT_VALID_METHODS: ${e instanceof Error ? e.message : String(e)}`) }
  if (c.user_data_schema.startsWith('file:')) {
    const file = c.user_data_schema.slice(5)
    if (!existsSync(file)) throw new ConfigError(`GOTRUE_USER_DATA_SCHEMA: file not found: ${file}`)
    c.user_data_schema = readFileSync(file, 'utf8')
  }
  if (c.user_data_schema) {
    try { userDataValidator(c.user_data_schema) } catch (e) {
      throw new ConfigError(`GOTRUE_USER_DATA_SCHEMA: expected a JSON Schema (supported subset), ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  if (c.db.driver === 'mysql' && !c.db.url) throw new ConfigError('DATABASE_URL: required when GOTRUE_DB_DRIVER=mysql')
  if (c.db.driver === 'sqlite' && !c.db.url) c.db.url = './data/gotrue.db'
  return { config: c, sources, unknown: unknownNames(rows, [...Object.keys(env), ...Object.keys(fileVars)]) }
}

/** The GOTRUE_* names nothing reads (a typo is otherwise ignored without a word), each with its nearest known
 *  name when that is within a few edits. */
function unknownNames(rows: ReturnType<typeof describeConfig>, names: string[]): Loaded['unknown'] {
  const known = new Set(rows.flatMap((r) => [r.env, ...r.alt]))
  const candidates = [...known].filter((k) => k.startsWith('GOTRUE_'))
  const out: Loaded['unknown'] = []
  for (const name of new Set(names)) {
    if (!name.startsWith('GOTRUE_') || known.has(name)) continue
    let closest: string | undefined
    let best = Math.max(2, Math.floor(name.length / 5)) + 1
    for (const k of candidates) {
      const d = editDistance(name, k, best)
      if (d < best) { best = d; closest = k }
    }
    out.push(closest ? { name, closest } : { name })
  }
  return out.sort((a, b) => a.name.localeCompare(b.name))
}

/** Optimal-string-alignment distance (a swap of two neighbours is one edit: HOTS → HOST), giving up past `cap`. */
export function editDistance(a: string, b: string, cap = Infinity): number {
  if (Math.abs(a.length - b.length) >= cap) return cap
  let prev2: number[] = []
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    let rowMin = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, (prev2[j - 2] as number) + 1)
      cur.push(v)
      rowMin = Math.min(rowMin, v)
    }
    if (rowMin >= cap) return cap
    prev2 = prev
    prev = cur
  }
  return prev[b.length] as number
}

/** A database URL or Go DSN with its password replaced: `mysql://root:****@db:3306/x`, `u:****@tcp(db)/x`. */
export function redactDsn(dsn: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(dsn)?.[0] ?? ''
  const rest = dsn.slice(scheme.length)
  const q = rest.indexOf('?')
  const main = q >= 0 ? rest.slice(0, q) : rest
  // As the DSN parser reads it: the credentials end at the last '@' before the last '/' (a password may hold both).
  const slash = main.lastIndexOf('/')
  const at = main.lastIndexOf('@', slash < 0 ? main.length : slash)
  const colon = at > 0 ? main.indexOf(':') : -1
  if (colon < 0 || colon > at) return dsn
  return `${scheme}${main.slice(0, colon)}:****${rest.slice(at)}`
}

/** `gotrue config --effective`: every setting's value in effect (secrets masked) and where it came from. */
export function effectiveRows(loaded: Loaded): { env: string; value: string; source: Source; from: string }[] {
  const show = (v: unknown) => (Array.isArray(v) ? v.join(',') : v && typeof v === 'object' ? Object.entries(v).map(([k, x]) => `${k}:${x}`).join(',') : String(v))
  return describeConfig().map((row) => {
    let v: unknown = loaded.config
    for (const k of row.path) v = (v as Record<string, unknown>)?.[k]
    let value = show(v)
    // The database URL is worth seeing (which host?) without its password; other secrets only as set or not.
    if (row.secret && value) value = row.path.join('.') === 'db.url' ? redactDsn(value) : '********'
    const src = loaded.sources[row.env] ?? { source: 'default', from: row.env }
    return { env: row.env, value, source: src.source, from: src.from }
  })
}

type DeepPartial<X> = { [K in keyof X]?: X[K] extends Record<string, unknown> ? DeepPartial<X[K]> : X[K] }
export type ConfigOverrides = DeepPartial<Config>

type Json = Record<string, unknown>
const isPlainObject = (v: unknown): v is Json => !!v && typeof v === 'object' && !Array.isArray(v)

/** Deep merge, GoTrue's rule for settings: present keys overwrite (even ""), absent keys keep their value,
 *  objects merge key by key, arrays and scalars replace. */
export function deepMerge(base: Json, patch: Json): Json {
  const out: Json = { ...base }
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k]
    out[k] = isPlainObject(v) && isPlainObject(cur) ? deepMerge(cur, v) : v
  }
  return out
}

/** Overrides laid over a config (tests, per-instance settings), by deepMerge. */
export function withOverrides(base: Config, over: ConfigOverrides): Config {
  return deepMerge(base as unknown as Json, over as Json) as unknown as Config
}
