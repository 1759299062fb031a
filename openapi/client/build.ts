// The client package's generated and built files. `generate` (run by `bun run openapi`, after the document):
//   - src/schema.ts from ../openapi.json with openapi-typescript (committed; tests/client.test.ts checks drift);
//   - app.d.ts: Eden's `App` as a self-contained declaration file (see appDeclaration below).
// `build`: dist/ (ESM by `bun build`, .d.ts by tsc), what the published package holds.
// The only importer of openapi-typescript; not part of the server, so the compiled binary does not carry it.
import openapiTS, { astToString } from 'openapi-typescript'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const HERE = import.meta.dir
const ROOT = join(HERE, '..', '..')
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc')

/** The types of every path and schema of openapi/openapi.json, as openapi-typescript writes them. */
export async function schemaTypes(): Promise<string> {
  const doc = JSON.parse(readFileSync(join(ROOT, 'openapi', 'openapi.json'), 'utf8'))
  // the defaults: objects closed where the document closes them (a misspelled response field does not compile)
  const ast = await openapiTS(doc)
  return `// Generated from openapi/openapi.json by \`bun run openapi\` (openapi-typescript). Do not edit.\n${astToString(ast)}`
}

function run(cmd: string[], cwd = ROOT): void {
  const p = Bun.spawnSync(cmd, { cwd, stdout: 'pipe', stderr: 'pipe' })
  if (p.exitCode !== 0) throw new Error(`${cmd.join(' ')} failed:\n${p.stdout.toString()}${p.stderr.toString()}`)
}

/**
 * Eden's `App` for a frontend that has only `elysia` (and its TypeBox peer) installed: tsc's declaration of
 * app.ts, whose `createApp` return type tsc writes out in full. What it still names from this repository is
 * replaced: the `Deps` parameter (a frontend never calls createApp; `unknown`, as ReturnType<> gives `any` for a
 * function of `never`) and the two types of the handler context,
 * copied in (their own outside types, jose's JWTPayload and the user row, are server-side only and become an
 * index signature and `unknown`). The result must name no file of this repository, or generation fails.
 */
export function appDeclaration(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-app-dts-'))
  try {
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: { noEmit: false, declaration: true, emitDeclarationOnly: true, outDir: join(dir, 'out'), rootDir: ROOT, types: [], typeRoots: [join(ROOT, 'node_modules', '@types')] },
      include: [], files: [join(ROOT, 'app.ts'), join(ROOT, 'lib', 'assets.d.ts')],
    }))
    // bun-types is left out of this program (so that its absence in the output cannot be hidden); tsc still
    // emits the declarations when some of the server's files fail to check without it
    Bun.spawnSync([TSC, '-p', join(dir, 'tsconfig.json')], { cwd: ROOT })
    const app = readFileSync(join(dir, 'out', 'app.d.ts'), 'utf8')
    const block = (file: string, name: string) => {
      const text = readFileSync(join(dir, 'out', 'lib', file), 'utf8')
      const m = new RegExp(`^export interface ${name}\\b[^]*?^}`, 'm').exec(text)
      if (!m) throw new Error(`app.d.ts: interface ${name} not found in lib/${file}`)
      return m[0].replace(/^export /, '')
    }
    const accessClaims = block('jwt.d.ts', 'AccessClaims').replace('extends JWTPayload', 'extends JWTClaims')
    const adminActor = block('guards.d.ts', 'AdminActor').replace(/\bUserRow\b/g, 'unknown')
    const body = app
      .replace(/^import type \{ Deps \} from '\.\/lib\/deps\.ts';\n/m, '')
      .replace(/\bdeps: Deps\b/g, 'deps: unknown')
      // Bun's file type (a route that answers Bun.file()) is a Blob to a browser, and bun-types is not installed there
      .replace(/\bBun\.BunFile\b/g, 'Blob')
      .replace(/import\("\.\/lib\/jwt\.ts"\)\.AccessClaims/g, 'AccessClaims')
      .replace(/import\("\.\/lib\/guards\.ts"\)\.AdminActor/g, 'AdminActor')
    const out = `// Generated from app.ts by \`bun run openapi\` (tsc declaration emit). Do not edit.
// Eden's \`App\` for a frontend with only \`elysia\` installed: import type { App } from '@gotrue-bun/client/app'
${body}
/** The registered JWT claims (jose's JWTPayload, which this file does not depend on). */
interface JWTClaims { iss?: string; sub?: string; aud?: string | string[]; jti?: string; nbf?: number; exp?: number; iat?: number; [claim: string]: unknown }
${accessClaims}
${adminActor}
`
    const leak = /(?:from |import\()['"](\.[^'"]*)['"]|\b(?:Bun|NodeJS)\.\w+/.exec(out)
    if (leak) throw new Error(`app.d.ts still names a type a frontend does not have: ${leak[1] ?? leak[0]}`)
    return out
  } finally { rmSync(dir, { recursive: true, force: true }) }
}

export async function generate(): Promise<void> {
  writeFileSync(join(HERE, 'src', 'schema.ts'), await schemaTypes())
  writeFileSync(join(HERE, 'app.d.ts'), appDeclaration())
  console.log('openapi: wrote openapi/client/src/schema.ts and openapi/client/app.d.ts')
}

/** dist/: index.js (ESM, openapi-fetch left as an import) and the .d.ts of every source file. */
export function build(): void {
  rmSync(join(HERE, 'dist'), { recursive: true, force: true })
  run(['bun', 'build', join(HERE, 'src', 'index.ts'), '--outdir', join(HERE, 'dist'), '--format', 'esm', '--target', 'browser', '--external', 'openapi-fetch'])
  run([TSC, '-p', join(HERE, 'tsconfig.json')])
}

if (import.meta.main) {
  const verb = process.argv[2]
  if (verb === 'generate') await generate()
  else if (verb === 'build') build()
  else { console.error('usage: bun openapi/client/build.ts generate|build'); process.exit(2) }
}
