// DESIGN.md rules 1–5, checked by reading the import lines of every source file, plus two whole-codebase checks:
// no import cycle among app.ts, bin/, lib/ and features/ (a cycle makes load order decide which module sees the
// other half-initialised), and each table's INSERT written in one file only (rule 3: a second copy drifts). The
// rules are data; the scanners are tested on synthetic sources first so that a broken scanner cannot pass the real
// check vacuously.
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
  { pkg: 'eta', owner: 'lib/templates.ts' },
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

/** The import graph of a set of sources: each file → the files of the set it imports (relative specifiers only,
 *  resolved like Bun does: as written, then with `.ts`, then as a folder's `index.ts`). Type-only imports count:
 *  a cycle through types still ties the two modules together. */
function importGraph(sources: Map<string, string>): Map<string, string[]> {
  const resolve = (target: string) => [target, `${target}.ts`, `${target}/index.ts`].find((t) => sources.has(t))
  const graph = new Map<string, string[]>()
  for (const [file, source] of sources) {
    const targets = importsOf(withoutComments(source))
      .filter((i) => i.spec.startsWith('.'))
      .map((i) => resolve(posix.normalize(posix.join(posix.dirname(file), i.spec))))
      .filter((t): t is string => t !== undefined)
    graph.set(file, [...new Set(targets)])
  }
  return graph
}

/** Every import cycle, one per strongly connected component (Tarjan), each shown as a path that starts and ends
 *  at its alphabetically first file: `a → b → a`. */
function findCycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>(), low = new Map<string, number>()
  const stack: string[] = [], onStack = new Set<string>(), components: string[][] = []
  const visit = (v: string) => {
    index.set(v, index.size)
    low.set(v, index.get(v) as number)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v) as number, low.get(w) as number)) }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number))
    }
    if (low.get(v) !== index.get(v)) return
    const component: string[] = []
    let w: string
    do { w = stack.pop() as string; onStack.delete(w); component.push(w) } while (w !== v)
    if (component.length > 1 || graph.get(v)?.includes(v)) components.push(component.sort())
  }
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v)
  // A shortest way back to the start inside the component (breadth-first), so the message names a real cycle.
  return components.map((component) => {
    const start = component[0] as string, inside = new Set(component)
    const from = new Map<string, string>()
    const queue = [start]
    while (queue.length) {
      const v = queue.shift() as string
      for (const w of graph.get(v) ?? []) {
        if (!inside.has(w)) continue
        if (w === start) {
          const path = [start]
          for (let at = v; at !== start; at = from.get(at) as string) path.splice(1, 0, at)
          return [...path, start]
        }
        if (!from.has(w)) { from.set(w, v); queue.push(w) }
      }
    }
    return [...component, start] // unreachable for a strongly connected component
  }).sort((a, b) => (a[0] as string).localeCompare(b[0] as string))
}

const INSERT = /\bINSERT\s+INTO\s+\{([a-z_]+)\}/gi

/** Tables whose INSERT statement is written in more than one file: table → those files. */
function duplicateInserts(sources: Map<string, string>): Map<string, string[]> {
  const writers = new Map<string, Set<string>>()
  for (const [file, source] of sources) {
    for (const m of withoutComments(source).matchAll(INSERT)) {
      const table = (m[1] as string).toLowerCase()
      writers.set(table, (writers.get(table) ?? new Set()).add(file))
    }
  }
  return new Map([...writers].filter(([, files]) => files.size > 1).map(([table, files]) => [table, [...files].sort()]))
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

describe('the cycle and INSERT scanners themselves', () => {
  const sources = (files: Record<string, string>) => new Map(Object.entries(files))

  test('a two-file cycle through lib/db is reported as a path', () => {
    const graph = importGraph(sources({
      'lib/db/index.ts': "import { openSqlite } from './sqlite.ts'\nexport type { Db } from './types.ts'",
      'lib/db/sqlite.ts': "import { type Db, sqlRewriter } from './index.ts'",
      'lib/db/types.ts': 'export interface Db {}',
    }))
    expect(findCycles(graph)).toEqual([['lib/db/index.ts', 'lib/db/sqlite.ts', 'lib/db/index.ts']])
  })

  test('a longer cycle across folders, through a dynamic import, an extensionless path and a folder index', () => {
    const graph = importGraph(sources({
      'app.ts': "import { a } from './lib/a'",
      'lib/a.ts': "import type { B } from '../features/b.ts'",
      'features/b.ts': "const { c } = await import('../lib/providers')",
      'lib/providers/index.ts': "import {\n  app,\n} from '../../app.ts'",
      'lib/d.ts': "import { a } from './a.ts'", // leads into the cycle but is not on it
    }))
    expect(findCycles(graph)).toEqual([['app.ts', 'lib/a.ts', 'features/b.ts', 'lib/providers/index.ts', 'app.ts']])
  })

  test('a file importing itself is a cycle; two separate cycles are both reported', () => {
    const graph = importGraph(sources({
      'lib/self.ts': "export * from './self.ts'",
      'lib/x.ts': "import './y.ts'",
      'lib/y.ts': "import './x.ts'",
    }))
    expect(findCycles(graph)).toEqual([['lib/self.ts', 'lib/self.ts'], ['lib/x.ts', 'lib/y.ts', 'lib/x.ts']])
  })

  test('a diamond is not a cycle, and imports in comments or of packages do not count', () => {
    const graph = importGraph(sources({
      'lib/top.ts': "import './left.ts'\nimport './right.ts'",
      'lib/left.ts': "import './bottom.ts'\n// import './top.ts'",
      'lib/right.ts': "import './bottom.ts'\n/* import { x } from './top.ts' */",
      'lib/bottom.ts': "import { Elysia } from 'elysia'",
    }))
    expect(findCycles(graph)).toEqual([])
  })

  test("one table's INSERT in two files is reported; the same INSERT twice in one file and a comment are not", () => {
    expect(duplicateInserts(sources({
      'lib/users.ts': 'await db.run(`INSERT INTO {users} (${USER_COLUMNS}) VALUES (?)`, [])',
      'lib/transfer.ts': 'await tx.run(`insert into {users} (${cols}) VALUES (?)`, values)',
      'lib/sessions.ts': "db.run('INSERT INTO {refresh_tokens} (id) VALUES (?)')\ndb.run('INSERT INTO {refresh_tokens} (id, parent) VALUES (?, ?)')",
      'lib/audit.ts': "// unlike INSERT INTO {refresh_tokens}, this one is ours\ndb.run('INSERT INTO {audit_log_entries} (id) VALUES (?)')",
    }))).toEqual(new Map([['users', ['lib/transfer.ts', 'lib/users.ts']]]))
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

describe('the codebase has no import cycle and one INSERT per table', () => {
  const files = sourceFiles()
  const sources = new Map(files.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]))

  test('the graph is built from every source file and their real imports', () => {
    const graph = importGraph(sources)
    expect(graph.size).toBe(files.length)
    expect(graph.get('app.ts')).toContain('features/health.ts')
    expect(graph.get('lib/db/sqlite.ts')).toContain('lib/db/types.ts')
  })

  test('no import cycle among app.ts, bin/, lib/ and features/', () => {
    expect(findCycles(importGraph(sources)).map((c) => c.join(' → '))).toEqual([])
  })

  test("each table's INSERT is written in one file", () => {
    expect(Object.fromEntries(duplicateInserts(sources))).toEqual({})
  })
})
