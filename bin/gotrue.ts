#!/usr/bin/env bun
// CLI: argv → verbs. serve (default) | multi | migrate | openapi | version | config | admin …
// Global flag: -c/--config FILE (a dotenv file). The verbs' work lives in bin/serve.ts, bin/docs.ts, bin/admin.ts.
import { ConfigError, loadConfig } from '../lib/config.ts'
import { openDb } from '../lib/db/index.ts'
import { migrate } from '../lib/db/migrate.ts'
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
  config      print every configuration variable (--markdown table or --env file)
  admin       user administration: createuser, deleteuser, list, export, import (gotrue admin --help)
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
  const config = loadConfig({ file })
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
      configDocs(args)
      return 0
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

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => { if (code >= 0) process.exit(code) },
    (e) => {
      console.error(e instanceof ConfigError ? `gotrue: ${e.message}` : `gotrue: ${e instanceof Error ? e.message : String(e)}`)
      process.exit(1)
    },
  )
}
