#!/usr/bin/env bun
// CLI: argv → verbs. serve (default) | multi | migrate | openapi | version | config | healthcheck | admin …
// Global flag: -c/--config FILE (a dotenv file). The verbs' work lives in bin/serve.ts, bin/docs.ts, bin/admin.ts.
import { type Config, ConfigError, effectiveRows, type Loaded, loadConfigDetailed } from '../lib/config.ts'
import { openDb } from '../lib/db/index.ts'
import { migrate } from '../lib/db/migrate.ts'
import { makeLogger } from '../lib/log.ts'
import { ALGS, type Alg, generateJwk } from '../lib/keys.ts'
import { VERSION } from '../lib/version.ts'
import { admin, UsageError } from './admin.ts'
import { configDocs, openapiDoc } from './docs.ts'
import { migrationsDir, serve } from './serve.ts'

const HELP = `gotrue ${VERSION}: user registration and authentication API (GoTrue-compatible)

Usage: gotrue [command] [-c|--config FILE]

Commands:
  serve       start the API server (default)
  multi       start in multi-instance (operator) mode (same as GOTRUE_MULTIINSTANCEMODE=true)
  migrate     apply pending database migrations
  openapi     write openapi/openapi.json (or print it with --stdout)
  version     print the version
  config      print every configuration variable (--markdown table or --env file; --effective: the values
              in effect, secrets masked, each with its source: env, the dotenv file or default)
  healthcheck exit 0 when this configuration's server answers GET /health/ready with 200, else 1
  admin       user administration: createuser, deleteuser, list, export, import (gotrue admin --help)
  keys        keys generate --alg ES256|RS256|EdDSA|HS256 [--kid ID] [--sign]: print a private JWK for GOTRUE_JWT_KEYS
              (key_ops ["verify"]: publish it first; see README "Keys and rotation")
  help        this text

Configuration comes from GOTRUE_* environment variables and a dotenv file (./.env, or --config FILE);
see README.md for every variable.`

/** Runs one verb; resolves with the exit code, or -1 for a server that keeps running. */
async function main(argv: string[]): Promise<number> {
  const args = [...argv]
  let file: string | undefined
  const ci = args.findIndex((a) => a === '-c' || a === '--config')
  if (ci >= 0) { file = args[ci + 1]; args.splice(ci, 2) }
  const command = args.shift() ?? 'serve'
  if (command === 'help' || command === '--help' || command === '-h') { console.log(HELP); return 0 }
  if (command === 'version' || command === '--version') { console.log(VERSION); return 0 }
  // Needs no configuration: it only prints a new key.
  if (command === 'keys') return keysVerb(args)
  const loaded = loadConfigDetailed({ file })
  const { config } = loaded
  warnUnknown(config, loaded)
  switch (command) {
    case 'multi':
    case 'serve':
      await serve(command === 'multi' ? { ...config, multi_instance_mode: true } : config)
      return -1
    case 'migrate': {
      const db = await openDb(config)
      try {
        const done = await migrate(db, migrationsDir(config))
        if (!done.length) console.log('migrate: database is up to date')
        for (const m of done) console.log(`migrate: applied ${m.version}_${m.name}`)
      } finally { await db.close() }
      return 0
    }
    case 'openapi':
      await openapiDoc(args)
      return 0
    case 'config':
      if (args.includes('--effective')) printEffective(loaded)
      else configDocs(args)
      return 0
    case 'healthcheck':
      return healthcheck(config)
    case 'admin':
      try {
        return await admin(config, args)
      } catch (e) {
        if (e instanceof UsageError) { console.error(`gotrue admin: ${e.message} (see gotrue admin --help)`); return 2 }
        throw e
      }
    default:
      console.error(`gotrue: unknown command "${command}"\n\n${HELP}`)
      return 2
  }
}

/** A misspelled variable is otherwise ignored without a word: one warning per unknown GOTRUE_* name. */
function warnUnknown(config: Config, loaded: Loaded): void {
  if (!loaded.unknown.length) return
  const log = makeLogger({ level: config.log.level, file: config.log.file || undefined, fields: config.log.fields })
  for (const u of loaded.unknown) {
    log.warn(`unknown configuration variable ${u.name} is ignored${u.closest ? `; did you mean ${u.closest}?` : ''}`, { variable: u.name, ...(u.closest && { closest: u.closest }) })
  }
}

/** `config --effective`: NAME=value and where it came from, one per line; secrets masked. */
function printEffective(loaded: Loaded): void {
  const rows = effectiveRows(loaded)
  const width = Math.max(...rows.map((r) => r.env.length + r.value.length + 1))
  for (const r of rows) {
    const line = `${r.env}=${r.value}`
    console.log(`${line.padEnd(width)}  # ${r.source}${r.from !== r.env ? ` (${r.from})` : ''}`)
  }
}

/** `keys generate`: a new private JWK for GOTRUE_JWT_KEYS, verify-only unless --sign (publish before signing). */
function keysVerb(args: string[]): number {
  const flag = (f: string) => { const i = args.indexOf(f); return i >= 0 ? args[i + 1] : undefined }
  const alg = flag('--alg') ?? 'ES256'
  if (args[0] !== 'generate' || !ALGS.includes(alg as Alg)) {
    console.error(`gotrue keys: usage: gotrue keys generate --alg ${ALGS.join('|')} [--kid ID] [--sign]`)
    return 2
  }
  const jwk = generateJwk(alg as Alg, flag('--kid'))
  if (args.includes('--sign')) jwk.key_ops = ['sign', 'verify']
  console.log(JSON.stringify(jwk))
  return 0
}

/** `healthcheck`: the Docker HEALTHCHECK (the image has no shell or curl). Asks this configuration's own
 *  listener for GET /health/ready: 0 when ready, 1 otherwise (down, database unreachable, migrations pending). */
async function healthcheck(config: Config): Promise<number> {
  const h = config.api.host
  const host = !h || h === '0.0.0.0' ? '127.0.0.1' : h === '::' ? '[::1]' : h.includes(':') ? `[${h}]` : h
  const url = `http://${host}:${config.api.port}/health/ready`
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(4000) })
    if (res.status === 200) return 0
    console.error(`healthcheck: ${url} answered ${res.status}: ${(await res.text()).slice(0, 200)}`)
  } catch (e) {
    console.error(`healthcheck: ${url}: ${e instanceof Error ? e.message : String(e)}`)
  }
  return 1
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => { if (code >= 0) process.exit(code) },
    (e) => {
      console.error(e instanceof ConfigError ? `gotrue: ${e.message}` : `gotrue: ${e instanceof Error ? e.message : String(e)}`)
      process.exit(1)
    },
  )
}
