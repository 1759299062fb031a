// DESIGN.md rules 1–5, checked by reading the import lines of every source file. The rules are data; the
// scanner is tested on synthetic sources first so that a broken scanner cannot pass the real check vacuously.
import { describe, expect, test } from 'bun:test'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, posix } from 'node:path'

const ROOT = join(import.meta.dir, '..')

const is = (path: string) => (f: string) => f === path
const under = (dir: string) => (f: string) => f.startsWith(dir)
const isFeature = under('features/')
const isEntry = (f: string) => f === 'app' || f === 'app.ts' || f.startsWith('bin/')

/** Rules about which of our own files may import which. `to` sees the import resolved against the repo root. */
const IMPORT_RULES: { rule: string; from: (file: string) => boolean; to: (target: string) => boolean }[] = [
  { rule: 'rule 1: a feature never imports another feature (nor app.ts or bin/)', from: isFeature, to: (t) => isFeature(t) || isEntry(t) },
  { rule: 'rule 2: lib/ never imports features/, app.ts or bin/', from: under('lib/'), to: (t) => isFeature(t) || isEntry(t) },
  { rule: 'rule 2: only app.ts, bin/ and tests/ import features', from: (f) => !isEntry(f) && !under('tests/')(f), to: isFeature },
]

/** Rule 4: each outside package has one importer (a file, or a folder ending in '/'). */
const PACKAGE_OWNERS: { pkg: string; owner: string }[] = [
  { pkg: 'bun:sqlite', owner: 'lib/db/sqlite.ts' },
  { pkg: 'mysql2', owner: 'lib/db/mysql.ts' },
  { pkg: 'jose', owner: 'lib/jwt.ts' },
  { pkg: 'nodemailer', owner: 'lib/mailer.ts' },
  { pkg: 'eta', owner: 'lib/mailer.ts' },
  { pkg: '@elysiajs/openapi', owner: 'lib/openapi.ts' },
  { pkg: 'arctic', owner: 'lib/providers/' },
]

/** Rule 5: only these files read the environment. */
const ENV_READERS = ['lib/config.ts']
const ENV_READ = /\b(?:process\.env|Bun\.env|import\.meta\.env)\b/

interface Violation { rule: string; message: string }

/** Every module specifier a source imports or re-exports, static or dynamic, with its line number. */
function importsOf(source: string): { spec: string; line: number }[] {
  const patterns = [
    /^\s*(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gm, // import … from '…' (also multi-line), export … from
    /^\s*import\s*['"]([^'"]+)['"]/gm, //                                side-effect import '…'
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, //                            import('…')
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g, //                           require('…')
  ]
  const found: { spec: string; line: number }[] = []
  for (const re of patterns) {
    for (const m of source.matchAll(re)) {
      const at = (m.index ?? 0) + m[0].indexOf(m[1] as string)
      found.push({ spec: m[1] as string, line: source.slice(0, at).split('\n').length })
    }
  }
  return found.sort((a, b) => a.line - b.line)
}

const packageOf = (spec: string) => spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] as string)
const withoutComments = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|\s)\/\/.*$/gm, '$1')

/** All rule violations of one file, given its repo-relative path and its text. */
function check(file: string, source: string): Violation[] {
  const out: Violation[] = []
  for (const { spec, line } of importsOf(source)) {
    const where = `${file}:${line} imports '${spec}'`
    if (spec.startsWith('.')) {
      const target = posix.normalize(posix.join(posix.dirname(file), spec))
      for (const r of IMPORT_RULES) if (r.from(file) && r.to(target)) out.push({ rule: r.rule, message: `${where} (${target})` })
      continue
    }
    const owned = PACKAGE_OWNERS.find((p) => p.pkg === packageOf(spec))
    if (owned && !(owned.owner.endsWith('/') ? file.startsWith(owned.owner) : file === owned.owner)) {
      out.push({ rule: `rule 4: only ${owned.owner} imports ${owned.pkg}`, message: where })
    }
  }
  if (!ENV_READERS.includes(file)) {
    withoutComments(source).split('\n').forEach((text, i) => {
      const m = ENV_READ.exec(text)
      if (m) out.push({ rule: 'rule 5: only lib/config.ts reads the environment', message: `${file}:${i + 1} reads ${m[0]}` })
    })
  }
  return out
}

function sourceFiles(): string[] {
  const files = ['app.ts']
  for (const dir of ['features', 'lib', 'bin']) {
    if (!existsSync(join(ROOT, dir))) continue
    for (const f of readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })) {
      if (f.endsWith('.ts')) files.push(posix.join(dir, f.split('\\').join('/')))
    }
  }
  return files.sort()
}

describe('the rule scanner itself', () => {
  test.each([
    ['features/signup.ts', "import { issue } from './token.ts'", 'rule 1'],
    ['features/signup.ts', "import type { App } from '../app.ts'", 'rule 1'],
    ['features/signup.ts', "const { token } = await import('./token.ts')", 'rule 2: only app.ts'],
    ['lib/users.ts', "import {\n  signup,\n} from '../features/signup.ts'", 'rule 2: lib/'],
    ['lib/deps.ts', "export { createApp } from '../app'", 'rule 2: lib/'],
    ['features/token.ts', "import { SignJWT } from 'jose'", 'rule 4: only lib/jwt.ts imports jose'],
    ['lib/db/index.ts', "import mysql from 'mysql2/promise'", 'rule 4: only lib/db/mysql.ts imports mysql2'],
    ['lib/providers.ts', "import { GitHub } from 'arctic'", 'rule 4: only lib/providers/'],
    ['lib/hooks.ts', "import '@elysiajs/openapi'", 'rule 4: only lib/openapi.ts'],
    ['features/recover.ts', 'const limit = Number(process.env.LIMIT)', 'rule 5'],
    ['bin/gotrue.ts', 'const port = Bun.env.PORT', 'rule 5'],
  ])('%s with %p breaks %s', (file, source, rule) => {
    const found = check(file, source)
    expect(found.length).toBeGreaterThan(0)
    expect(found.map((v) => v.rule).join('\n')).toContain(rule)
    expect(found[0]?.message).toStartWith(`${file}:`)
  })

  test('a violation names the file, line, import and resolved target', () => {
    expect(check('features/signup.ts', "// signup\nimport { issue } from './token.ts'")).toEqual([
      { rule: IMPORT_RULES[0]?.rule ?? '', message: "features/signup.ts:2 imports './token.ts' (features/token.ts)" },
      { rule: IMPORT_RULES[2]?.rule ?? '', message: "features/signup.ts:2 imports './token.ts' (features/token.ts)" },
    ])
  })

  test.each([
    ['app.ts', "import { signup } from './features/signup.ts'"],
    ['bin/gotrue.ts', "import { createApp } from '../app.ts'\nconst args = process.argv.slice(2)"],
    ['features/signup.ts', "import type { Deps } from '../lib/deps.ts'\nimport { Elysia, t } from 'elysia'"],
    ['lib/jwt.ts', "import { SignJWT } from 'jose'\n// never read process.env here"],
    ['lib/providers/github.ts', "import { GitHub } from 'arctic'"],
    ['lib/config.ts', 'const env = process.env'],
  ])('%s with %p is allowed', (file, source) => {
    expect(check(file, source)).toEqual([])
  })

  test('finds the files it must scan', () => {
    const files = sourceFiles()
    for (const f of ['app.ts', 'bin/gotrue.ts', 'lib/db/sqlite.ts', 'features/health.ts']) expect(files).toContain(f)
    expect(importsOf(readFileSync(join(ROOT, 'app.ts'), 'utf8')).map((i) => i.spec)).toContain('./features/health.ts')
  })
})

describe('the codebase keeps DESIGN.md rules 1–5', () => {
  const violations = sourceFiles().flatMap((f) => check(f, readFileSync(join(ROOT, f), 'utf8')))
  const rules = [
    ...new Set([...IMPORT_RULES.map((r) => r.rule), ...PACKAGE_OWNERS.map((p) => `rule 4: only ${p.owner} imports ${p.pkg}`),
      'rule 5: only lib/config.ts reads the environment']),
  ]
  test.each(rules)('%s', (rule) => {
    expect(violations.filter((v) => v.rule === rule).map((v) => v.message)).toEqual([])
  })
})
