// GOTRUE_USER_DATA_SCHEMA: an optional JSON Schema that user_metadata must satisfy (signup `data`, PUT /user
// `data`, admin `user_metadata`). A deliberate subset of draft 2020-12, checked at start-up so an unsupported
// keyword (or a keyword with a malformed value) fails fast instead of being silently ignored: type, enum, const,
// properties, required, additionalProperties, items, minItems, maxItems, minLength, maxLength, pattern, minimum,
// maximum, exclusiveMinimum, exclusiveMaximum, plus the annotations title, description, default, examples,
// $schema, $id. Messages name the failing value by JSON Pointer: `Invalid user data: /age: must be >= 0`.
export type Schema = Record<string, unknown>
export type DataValidator = (value: unknown) => string | undefined

const KEYWORDS = new Set(['type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems',
  'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'title', 'description', 'default', 'examples', '$schema', '$id'])
const TYPES = new Set(['null', 'boolean', 'object', 'array', 'number', 'integer', 'string'])

function typeOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}
/** Own keys only: metadata comes from JSON.parse, so `constructor`, `toString` or `__proto__` are ordinary names
 *  that must neither satisfy `required` through the prototype nor slip past `additionalProperties: false`. */
const has = (o: object, k: string): boolean => Object.hasOwn(o, k)
/** JSON with sorted keys, so enum/const compare objects by value as JSON Schema does ({a,b} equals {b,a}). */
const canonical = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) =>
  x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x)
/** A property name as a JSON Pointer segment (RFC 6901): `~` → `~0`, `/` → `~1`. */
const segment = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1')

/** Checks every keyword's value, so a typo such as `"type": "strnig"` or `"minimum": "5"` stops the start-up
 *  instead of rejecting (or accepting) every value later. */
function checkShape(s: Schema, at: string): void {
  const fail = (k: string, what: string): never => { throw new Error(`${at}/${k}: must be ${what}`) }
  const count = (k: string) => { if (has(s, k) && !(Number.isInteger(s[k]) && (s[k] as number) >= 0)) fail(k, 'a non-negative integer') }
  for (const k of Object.keys(s)) if (!KEYWORDS.has(k)) throw new Error(`${at}: unsupported keyword "${k}"`)
  if (has(s, 'type')) {
    const types = Array.isArray(s.type) ? s.type : [s.type]
    if (!types.length || !types.every((x) => typeof x === 'string' && TYPES.has(x))) fail('type', `one of ${[...TYPES].join(', ')} (or an array of them)`)
  }
  if (has(s, 'enum') && !Array.isArray(s.enum)) fail('enum', 'an array')
  if (has(s, 'required') && !(Array.isArray(s.required) && s.required.every((x) => typeof x === 'string'))) fail('required', 'an array of strings')
  if (has(s, 'properties') && typeOf(s.properties) !== 'object') fail('properties', 'an object')
  for (const k of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']) if (has(s, k) && typeof s[k] !== 'number') fail(k, 'a number')
  for (const k of ['minLength', 'maxLength', 'minItems', 'maxItems']) count(k)
  if (has(s, 'pattern')) {
    if (typeof s.pattern !== 'string') fail('pattern', 'a string')
    try { new RegExp(s.pattern as string, 'u') } catch (e) { fail('pattern', `a valid regular expression (${e instanceof Error ? e.message : String(e)})`) }
  }
}

/** Compiles a schema; throws Error naming the first unsupported keyword or malformed part. */
export function compileDataSchema(schema: unknown, at = '#'): DataValidator {
  if (typeof schema === 'boolean') return schema ? () => undefined : () => 'no value is allowed here'
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) throw new Error(`${at}: a schema must be an object or a boolean`)
  const s = schema as Schema
  checkShape(s, at)
  const checks: ((v: unknown, path: string) => string | undefined)[] = []
  if (has(s, 'type')) {
    const types = (Array.isArray(s.type) ? s.type : [s.type]) as string[]
    checks.push((v, p) => {
      const t = typeOf(v)
      return types.includes(t) || (t === 'integer' && types.includes('number')) ? undefined : `${p}: expected ${types.join(' or ')}, got ${t}`
    })
  }
  if (Array.isArray(s.enum)) {
    const options = s.enum.map(canonical)
    const shown = s.enum.map((x) => JSON.stringify(x)).join(', ')
    checks.push((v, p) => (options.includes(canonical(v)) ? undefined : `${p}: expected one of ${shown}`))
  }
  if (has(s, 'const')) { const c = canonical(s.const); checks.push((v, p) => (canonical(v) === c ? undefined : `${p}: expected ${JSON.stringify(s.const)}`)) }
  const num = (k: string, ok: (v: number, lim: number) => boolean, word: string) => {
    if (typeof s[k] !== 'number') return
    const lim = s[k] as number
    checks.push((v, p) => (typeof v !== 'number' || ok(v, lim) ? undefined : `${p}: must be ${word} ${lim}`))
  }
  num('minimum', (v, l) => v >= l, '>=')
  num('maximum', (v, l) => v <= l, '<=')
  num('exclusiveMinimum', (v, l) => v > l, '>')
  num('exclusiveMaximum', (v, l) => v < l, '<')
  if (typeof s.minLength === 'number') { const n = s.minLength; checks.push((v, p) => (typeof v !== 'string' || [...v].length >= n ? undefined : `${p}: must be at least ${n} characters`)) }
  if (typeof s.maxLength === 'number') { const n = s.maxLength; checks.push((v, p) => (typeof v !== 'string' || [...v].length <= n ? undefined : `${p}: must be at most ${n} characters`)) }
  if (typeof s.pattern === 'string') {
    const re = new RegExp(s.pattern, 'u')
    checks.push((v, p) => (typeof v !== 'string' || re.test(v) ? undefined : `${p}: must match ${s.pattern}`))
  }
  if (typeof s.minItems === 'number') { const n = s.minItems; checks.push((v, p) => (!Array.isArray(v) || v.length >= n ? undefined : `${p}: must have at least ${n} items`)) }
  if (typeof s.maxItems === 'number') { const n = s.maxItems; checks.push((v, p) => (!Array.isArray(v) || v.length <= n ? undefined : `${p}: must have at most ${n} items`)) }
  if (has(s, 'items')) {
    const item = compileDataSchema(s.items, `${at}/items`)
    checks.push((v, p) => {
      if (!Array.isArray(v)) return undefined
      for (let i = 0; i < v.length; i++) { const e = item(v[i]); if (e) return prefix(e, `${p}/${i}`) }
      return undefined
    })
  }
  const props = (has(s, 'properties') ? s.properties : {}) as Record<string, unknown>
  const propChecks = Object.entries(props).map(([k, sub]) => [k, compileDataSchema(sub, `${at}/properties/${segment(k)}`)] as const)
  const required = Array.isArray(s.required) ? (s.required as string[]) : []
  const extra = has(s, 'additionalProperties') ? compileDataSchema(s.additionalProperties, `${at}/additionalProperties`) : null
  if (propChecks.length || required.length || extra) {
    checks.push((v, p) => {
      if (typeOf(v) !== 'object') return undefined
      const o = v as Record<string, unknown>
      for (const r of required) if (!has(o, r)) return `${p}/${segment(r)}: is required`
      for (const [k, check] of propChecks) if (has(o, k)) { const e = check(o[k]); if (e) return prefix(e, `${p}/${segment(k)}`) }
      if (extra) for (const k of Object.keys(o)) if (!has(props, k)) { const e = extra(o[k]); if (e) return prefix(e, `${p}/${segment(k)}`) }
      return undefined
    })
  }
  return (v) => {
    for (const c of checks) { const e = c(v, ''); if (e) return e }
    return undefined
  }
}

/** The validator for config: an empty schema text means no schema. Throws on invalid JSON or an unsupported schema. */
export function userDataValidator(text: string): DataValidator | null {
  if (!text) return null
  const compiled = compileDataSchema(JSON.parse(text))
  return (v) => {
    const e = compiled(v ?? {})
    return e === undefined ? undefined : `Invalid user data: ${e.startsWith(':') ? `(root)${e}` : e}`
  }
}
/** Child errors come back relative to the child (`: msg` or `/deeper: msg`); put the child's path in front. */
const prefix = (e: string, path: string) => (e.startsWith(':') || e.startsWith('/') ? `${path}${e}` : `${path}: ${e}`)
