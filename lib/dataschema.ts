// GOTRUE_USER_DATA_SCHEMA: an optional JSON Schema that user_metadata must satisfy (signup `data`, PUT /user
// `data`, admin `user_metadata`). A deliberate subset of draft 2020-12, checked at start-up so an unsupported
// keyword fails fast instead of being silently ignored: type, enum, const, properties, required,
// additionalProperties, items, minItems, maxItems, minLength, maxLength, pattern, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, plus the annotations title, description, default, examples, $schema, $id.
export type Schema = Record<string, unknown>
export type DataValidator = (value: unknown) => string | undefined

const KEYWORDS = new Set(['type', 'enum', 'const', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems',
  'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'title', 'description', 'default', 'examples', '$schema', '$id'])

function typeOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

/** Compiles a schema; throws Error naming the first unsupported keyword or malformed part. */
export function compileDataSchema(schema: unknown, at = '#'): DataValidator {
  if (typeof schema === 'boolean') return schema ? () => undefined : () => 'no value is allowed here'
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) throw new Error(`${at}: a schema must be an object or a boolean`)
  const s = schema as Schema
  for (const k of Object.keys(s)) if (!KEYWORDS.has(k)) throw new Error(`${at}: unsupported keyword "${k}"`)
  const checks: ((v: unknown, path: string) => string | undefined)[] = []
  if (s.type !== undefined) {
    const types = (Array.isArray(s.type) ? s.type : [s.type]) as string[]
    checks.push((v, p) => {
      const t = typeOf(v)
      return types.includes(t) || (t === 'integer' && types.includes('number')) ? undefined : `${p}: expected ${types.join(' or ')}, got ${t}`
    })
  }
  if (Array.isArray(s.enum)) {
    const options = s.enum.map((x) => JSON.stringify(x))
    checks.push((v, p) => (options.includes(JSON.stringify(v)) ? undefined : `${p}: expected one of ${options.join(', ')}`))
  }
  if ('const' in s) { const c = JSON.stringify(s.const); checks.push((v, p) => (JSON.stringify(v) === c ? undefined : `${p}: expected ${c}`)) }
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
  if (s.items !== undefined) {
    const item = compileDataSchema(s.items, `${at}/items`)
    checks.push((v, p) => {
      if (!Array.isArray(v)) return undefined
      for (let i = 0; i < v.length; i++) { const e = item(v[i]); if (e) return prefix(e, `${p}/${i}`) }
      return undefined
    })
  }
  const props = (s.properties ?? {}) as Record<string, unknown>
  const propChecks = Object.entries(props).map(([k, sub]) => [k, compileDataSchema(sub, `${at}/properties/${k}`)] as const)
  const required = Array.isArray(s.required) ? (s.required as string[]) : []
  const extra = s.additionalProperties === undefined ? null : compileDataSchema(s.additionalProperties, `${at}/additionalProperties`)
  if (propChecks.length || required.length || extra) {
    checks.push((v, p) => {
      if (typeOf(v) !== 'object') return undefined
      const o = v as Record<string, unknown>
      for (const r of required) if (!(r in o)) return `${p}/${r}: is required`
      for (const [k, check] of propChecks) if (k in o) { const e = check(o[k]); if (e) return prefix(e, `${p}/${k}`) }
      if (extra) for (const k of Object.keys(o)) if (!(k in props)) { const e = extra(o[k]); if (e) return prefix(e, `${p}/${k}`) }
      return undefined
    })
  }
  return (v) => {
    for (const c of checks) { const e = c(v, ''); if (e) return e }
    return undefined
  }
}

/** The validator for config: `undefined` schema text means no schema. Messages name the failing path. */
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
