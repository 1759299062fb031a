// Generators of hostile request parts for tests/fuzz.test.ts: values of the wrong JSON type where a string is
// expected, strings that break naive SQL, JSON, UTF-16 or template handling, emails in odd cases and scripts,
// and bodies encoded every way a client can get wrong: form vs JSON, duplicate keys, invalid UTF-8 bytes,
// prototype keys, non-objects, deep nesting (around our 64-level limit and GoTrue's 10,000) and sizes around the cap.
import fc, { type Arbitrary } from 'fast-check'

export const CAP = 1024 * 1024
export const JSON_CT = 'application/json'
export const FORM_CT = 'application/x-www-form-urlencoded'

/** A request body exactly as sent. `contentType` undefined = no Content-Type header. Prints short in reports. */
export class Body {
  constructor(readonly kind: string, readonly contentType: string | undefined, readonly data: string | Uint8Array<ArrayBuffer>) {}
  get bytes(): Uint8Array<ArrayBuffer> { return typeof this.data === 'string' ? new TextEncoder().encode(this.data) : this.data }
  [fc.toStringMethod](): string {
    const text = typeof this.data === 'string' ? this.data : new TextDecoder().decode(this.data)
    const shown = text.length > 160 ? `${text.slice(0, 160)}… (${text.length} chars)` : text
    return `Body(${this.kind}, ${this.contentType ?? 'no content-type'}, ${JSON.stringify(shown)})`
  }
}

export const SQL = [
  "' OR '1'='1", "' OR 1=1 --", "'; DROP TABLE users; --", '" OR ""="', "admin'--", "') OR ('a'='a", '1; SELECT SLEEP(5)',
  "1' UNION SELECT id, email, encrypted_password FROM users --", '%', '_', '!', '%_!', '\\', "\\'", '`users`', '{users}',
  "$.full_name')) OR 1=1 --", "x' AND JSON_EXTRACT(payload, '$.a') --", 'NULL', '\u0000', '\\0',
]
export const PROTO = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf']
const SPECIAL = [
  '', ' ', '\t\r\n', 'null', 'undefined', 'true', '0', '-1', '1e400', 'NaN', '%00', '%ff', '\uFEFF', '\u202E', '\uD800', '\uDFFF', '💩',
  'Ω≈ç√∫', 'İ', 'ß', 'ﬃ', '<script>alert(1)</script>', '../../etc/passwd', '${jndi:ldap://x}', '{{7*7}}', '<%= 7*7 %>', '%s%n%x', 'a\r\nSet-Cookie: x=1',
]

/** A string of 256..70,000 chars repeating a short (possibly astral, possibly then cut in half) unit. */
export const longText = fc.tuple(fc.string({ minLength: 1, maxLength: 6, unit: 'grapheme' }), fc.integer({ min: 256, max: 70_000 }))
  .map(([s, n]) => s.repeat(Math.ceil(n / s.length)).slice(0, n))

export const text: Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string() },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme' }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary' }) }, // lone surrogates included
  { weight: 3, arbitrary: fc.constantFrom(...SQL, ...PROTO, ...SPECIAL) },
  { weight: 1, arbitrary: longText },
)
/** A non-empty token-like value: never a real token (256-bit random values cannot be guessed). */
export const tokenish: Arbitrary<string> = fc.oneof(fc.base64String({ minLength: 4, maxLength: 64 }).map((b) => b.replace(/[+/=]/g, 'A')), text)
  .filter((t) => t.trim() !== '')

/** Values of every JSON type but string: what a typed client sends by mistake. */
export const junk: Arbitrary<unknown> = fc.oneof(
  fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true }), fc.constantFrom(0, -0, 1e308, 2 ** 53 + 2),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
  fc.dictionary(fc.oneof(text, fc.constantFrom(...PROTO)), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
)

const LOCALS = ['user', 'Test.User', "o'brien", 'x+tag', 'ÜNÏCÖDÉ', 'δοκιμή', '用户', 'a'.repeat(64), 'a'.repeat(65), '"quoted"', 'a..b', '.a', "x' OR '1'='1"]
const DOMAINS = ['example.com', 'EXAMPLE.COM', 'Example.Com', 'exämple.com', 'bücher.de', 'xn--bcher-kva.de', 'localhost', 'a.b', `${'y'.repeat(250)}.com`,
  'example..com', '[127.0.0.1]', 'ex ample.com', 'example.com.']
const pad = fc.constantFrom('', '', ' ', '\t', ' \n ')

/** Emails: valid ones in mixed case, unicode and broken ones, and the known accounts in any capitalisation. */
export function emails(known: string[] = []): Arbitrary<string> {
  const arbs: Arbitrary<string>[] = [
    fc.mixedCase(fc.emailAddress()),
    fc.tuple(fc.oneof(fc.constantFrom(...LOCALS), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 })), fc.constantFrom(...DOMAINS)).map(([l, d]) => `${l}@${d}`),
    text,
  ]
  if (known.length) arbs.push(fc.mixedCase(fc.constantFrom(...known)), fc.mixedCase(fc.constantFrom(...known)))
  return fc.tuple(pad, fc.oneof(...arbs), pad).map(([a, e, b]) => `${a}${e}${b}`)
}

/** Passwords: too short, fine, over bcrypt's 72 bytes in few characters, SQL, huge. */
export const password: Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 7 }), fc.string({ minLength: 8, maxLength: 40 }), fc.string({ unit: 'grapheme', minLength: 8, maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 20, maxLength: 80 }), fc.constantFrom(...SQL), longText,
)

function nest(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
}
/** Metadata objects: plain, with prototype keys, nested thousands of levels deep, or not objects. */
export const meta: Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.oneof(text, fc.constantFrom(...PROTO, 'roles', 'full_name')), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom(8, 62, 63, 64, 1_000, 4_000).chain((d) => fc.constantFrom('array', 'object').map((k) => ({ deep: JSON.parse(nest(d, k as 'array')) as unknown }))) },
  { weight: 2, arbitrary: junk },
)

/** An object with the route's own fields (each absent, well typed or junk) and a few stray or prototype keys;
 *  one time in three every field is there and well typed, so that many inputs get past validation. */
export function fields(shape: Record<string, Arbitrary<unknown>>): Arbitrary<Record<string, unknown>> {
  const typed = Object.fromEntries(Object.entries(shape).map(([k, a]) => [k, fc.oneof({ weight: 4, arbitrary: a }, { weight: 1, arbitrary: junk })]))
  const own = fc.oneof({ weight: 2, arbitrary: fc.record(typed, { requiredKeys: [] }) }, { weight: 1, arbitrary: fc.record(shape) })
  return fc.tuple(own, fc.dictionary(fc.oneof(text, fc.constantFrom(...PROTO)), junk, { maxKeys: 2 }))
    .map(([own, extra]) => {
      const o: Record<string, unknown> = {}
      for (const [k, v] of [...Object.entries(extra), ...Object.entries(own)]) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
      return o
    })
}

/** application/x-www-form-urlencoded as a careless client writes it: non-strings as JSON. */
export function formEncode(o: Record<string, unknown>): string {
  return new URLSearchParams(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v) ?? ''])).toString()
}

const JSON_TYPES = [JSON_CT, `${JSON_CT}; charset=utf-8`, 'application/json;charset=UTF-8', 'Application/JSON', 'application/vnd.api+json', `${JSON_CT}; charset=latin1`]
const OTHER_TYPES = [undefined, 'text/plain', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/xml', `${FORM_CT}; charset=utf-16`, '*/*', 'json']
const BAD_UTF8 = [[0xff], [0xfe, 0xff], [0xc0, 0x80], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x00]]
const RAW = [
  'null', '[]', '[{}]', '"text"', '123', 'true', '-0', '1e999', '{', '}', '{"a":', '{"a":1,}', "{'a':1}", 'NaN', '\uFEFF{}', ' ', '\u0000', '{}{}', '[' + '1,'.repeat(5000) + '1]',
  '{"__proto__":{"role":"admin","is_super_admin":1}}', '{"constructor":{"prototype":{"polluted":"yes"}}}', '{"data":{"__proto__":{"polluted":"yes"}}}',
  '{"email":"proto","__proto__":{"email":"fixture@example.com","password":"aaaaaaaaaa"}}', '__proto__[polluted]=yes&constructor[prototype][polluted]=yes', '{"a":"\\ud800"}', '{"a":"\\u0000"}',
]

/** Duplicate keys in raw JSON text: the route's keys again with junk values, before or after the real ones. */
function duplicateKeys(obj: Arbitrary<Record<string, unknown>>, keys: string[]): Arbitrary<Body> {
  return fc.tuple(obj, fc.array(fc.tuple(fc.constantFrom(...keys), junk), { minLength: 1, maxLength: 4 }), fc.boolean()).map(([o, dupes, first]) => {
    const own = Object.entries(o).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`)
    const extra = dupes.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`)
    return new Body('duplicate-keys', JSON_CT, `{${(first ? [...extra, ...own] : [...own, ...extra]).join(',')}}`)
  })
}

/** Valid JSON or form text with invalid UTF-8 sequences spliced in at random places. */
function invalidUtf8(obj: Arbitrary<Record<string, unknown>>): Arbitrary<Body> {
  return fc.tuple(obj, fc.array(fc.tuple(fc.nat(), fc.constantFrom(...BAD_UTF8)), { minLength: 1, maxLength: 4 }), fc.boolean()).map(([o, cuts, asForm]) => {
    let bytes = [...new TextEncoder().encode(asForm ? formEncode(o) : JSON.stringify(o))]
    for (const [at, seq] of cuts) { const i = at % (bytes.length + 1); bytes = [...bytes.slice(0, i), ...seq, ...bytes.slice(i)] }
    return new Body('invalid-utf8', asForm ? FORM_CT : JSON_CT, new Uint8Array(bytes))
  })
}

/** Nesting at and around our 64 levels and GoTrue's 10,000, up to 175,000, as the whole body or in one field. */
function deep(obj: Arbitrary<Record<string, unknown>>, keys: string[]): Arbitrary<Body> {
  return fc.tuple(obj, fc.constantFrom(63, 64, 65, 100, 9_999, 10_001, 60_000, 175_000), fc.constantFrom<'array' | 'object'>('array', 'object'), fc.option(fc.constantFrom(...keys)))
    .map(([o, depth, kind, key]) => {
      if (key === null) return new Body(`deep-${depth}`, JSON_CT, nest(depth, kind))
      const rest = JSON.stringify({ ...o, [key]: 0 })
      return new Body(`deep-${depth}-in-${key}`, JSON_CT, rest.replace(`${JSON.stringify(key)}:0`, `${JSON.stringify(key)}:${nest(depth, kind)}`))
    })
}

/** Bodies just under the 1 MiB cap and over it (by 1 byte and by 40 KB): one field padded to the size. */
function huge(obj: Arbitrary<Record<string, unknown>>, keys: string[]): Arbitrary<Body> {
  return fc.tuple(obj, fc.constantFrom(CAP - 512, CAP + 1, CAP + 40_000), fc.constantFrom(...keys, 'pad')).map(([o, size, key]) => {
    const skeleton = JSON.stringify({ ...o, [key]: '' })
    const fill = Math.max(0, size - new TextEncoder().encode(skeleton).length)
    return new Body(`huge-${size}`, JSON_CT, skeleton.replace(`${JSON.stringify(key)}:""`, `${JSON.stringify(key)}:"${'a'.repeat(fill)}"`))
  })
}

/** The largest body the properties send: 60 KB over the cap (a declared 2 MiB body is an example of its own in
 *  fuzz.test.ts; past Bun's own limit, cap + 15 MiB in app.ts, Bun answers a bare 413 before any hook runs). */
export const MAX_SENT = CAP + 60_000

/** Every way of sending `obj` (whose interesting keys are `keys`), weighted towards well-formed JSON. */
export function bodies(obj: Arbitrary<Record<string, unknown>>, keys: string[]): Arbitrary<Body> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.tuple(obj, fc.constantFrom(...JSON_TYPES)).map(([o, ct]) => new Body('json', ct, JSON.stringify(o))) },
    { weight: 3, arbitrary: obj.map((o) => new Body('form', FORM_CT, formEncode(o))) },
    { weight: 1, arbitrary: obj.map((o) => new Body('json-as-form', FORM_CT, JSON.stringify(o))) },
    { weight: 1, arbitrary: obj.map((o) => new Body('form-as-json', JSON_CT, formEncode(o))) },
    { weight: 1, arbitrary: fc.tuple(obj, fc.constantFrom(...OTHER_TYPES)).map(([o, ct]) => new Body('json-other-type', ct, JSON.stringify(o))) },
    { weight: 2, arbitrary: duplicateKeys(obj, keys) },
    { weight: 2, arbitrary: invalidUtf8(obj) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...RAW), fc.constantFrom(JSON_CT, FORM_CT, undefined)).map(([raw, ct]) => new Body('raw', ct, raw)) },
    { weight: 1, arbitrary: fc.constantFrom(JSON_CT, FORM_CT, undefined, 'text/plain').map((ct) => new Body('empty', ct, '')) },
    { weight: 1, arbitrary: deep(obj, keys) },
    { weight: 1, arbitrary: huge(obj, keys) },
  ).map(capped)
}

/** A body cut to MAX_SENT bytes (a cut JSON or form body is one more malformed input). */
export const capped = (b: Body): Body => (b.bytes.length > MAX_SENT ? new Body(`${b.kind}-cut`, b.contentType, b.bytes.slice(0, MAX_SENT)) : b)

/** A query string: the route's parameters (junk as JSON), repeated keys, prototype keys, broken %-escapes;
 *  at most 4,000 chars, so that the request head stays under Bun's 16 KiB. */
export function queries(obj: Arbitrary<Record<string, unknown>>): Arbitrary<string> {
  const raw = fc.constantFrom('%ff%fe', 'a=%', 'a=%zz', '&&&=&', 'a[b][c]=1', '__proto__[polluted]=yes', 'constructor[prototype][polluted]=yes', '%E0%A4%A',
    'page=1&page=2', 'per_page=1e400', 'x=' + 'y'.repeat(3000))
  return fc.oneof(
    { weight: 4, arbitrary: obj.map(formEncode) },
    { weight: 1, arbitrary: fc.tuple(obj, raw).map(([o, r]) => `${formEncode(o)}&${r}`) },
    { weight: 1, arbitrary: fc.tuple(obj, obj).map(([a, b]) => `${formEncode(a)}&${formEncode(b)}`) },
  ).map((q) => q.slice(0, 4000))
}

/** Header values as HTTP allows them (RFC 9110 field-value: visible Latin-1, space, tab), at most 1,000 chars.
 *  Outside that, Bun's HTTP parser answers before any of our code runs: a bare 400 for control characters,
 *  a bare 431 for a request head over 16 KiB. */
export const headerText: Arbitrary<string> = text.map((s) => [...s].map((c) => (c.charCodeAt(0) > 255 ? '?' : c)).join('').replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' ').slice(0, 1000))

/** Authorization values: none, broken schemes, the given tokens (valid or not) intact or with one char changed. */
export function authorizations(tokens: string[]): Arbitrary<string | undefined> {
  const variants = ['Bearer', 'Bearer ', 'bearer x', 'BEARER x', 'Basic dXNlcjpwYXNz', 'Bearer a.b.c', 'Bearer ..', `Bearer ${'x'.repeat(2000)}`, 'Token abc',
    'Bearer operator-token-for-tests ', 'Bearer Operator-Token-For-Tests', 'Bearer operator-token-for-test', 'Bearer operator-token-for-testsx',
    'Bearer  operator-token-for-tests', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIwIn0.', 'Bearer e30.e30.', 'Bearer \u00ff\u00fe']
  const arbs: Arbitrary<string | undefined>[] = [fc.constant(undefined), fc.constantFrom(...variants), headerText.map((t) => `Bearer ${t}`), headerText]
  if (tokens.length) {
    arbs.push(fc.constantFrom(...tokens).map((t) => `Bearer ${t}`))
    arbs.push(fc.tuple(fc.constantFrom(...tokens), fc.nat(), fc.constantFrom('A', '-', '_', '.', '=', ' ')).map(([t, at, c]) => {
      const i = at % t.length
      return `Bearer ${t.slice(0, i)}${c}${t.slice(i + 1)}`
    }))
  }
  return fc.oneof(...arbs)
}

export interface HeaderOptions { tokens?: string[]; auth?: Arbitrary<string | undefined>; aud?: boolean }
/** Request headers: Authorization, X-JWT-AUD, X-Use-Cookie, Referer, Origin, X-Forwarded-For with odd values. */
export function headers(o: HeaderOptions = {}): Arbitrary<Record<string, string>> {
  const odd = (...values: string[]) => fc.option(fc.oneof(fc.constantFrom(...values), headerText), { nil: undefined })
  return fc.record({
    authorization: o.auth ?? authorizations(o.tokens ?? []),
    'x-jwt-aud': o.aud === false ? fc.constant(undefined) : odd('api.netlify.com', 'API.NETLIFY.COM', '', 'other-aud', 'a'.repeat(300), '*', "' OR 1=1 --"),
    'x-use-cookie': odd('1', 'session', '0', 'false', ''),
    referer: odd('https://example.netlify.com/login?x=1', 'https://evil.example/', 'not a url', `https://example.netlify.com/${'p'.repeat(2030)}`),
    origin: odd('https://example.netlify.com', 'null'),
    'x-forwarded-for': odd('1.2.3.4', '::1, 10.0.0.1', 'garbage'),
  }, { requiredKeys: [] }).map((h) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>)
}
