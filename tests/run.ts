#!/usr/bin/env bun
// `bun run test`: the whole suite (TEST_TIER=full: the slow tests that plain `bun test` skips run too) on the
// embedded SQLite default, then again on MySQL/MariaDB (TEST_MYSQL_URL, default mysql://root@127.0.0.1:3306/test).
// MySQL is required when CI is set or TEST_MYSQL=required; otherwise an unreachable server is reported as
// skipped, never as passed. What still shows as skipped here is dialect-bound (a MySQL-only case on SQLite).
// Then, when MariaDB's Galera provider is installed, a third pass: tests/galera/*.galera.ts on a three-node cluster
// that tests/fixtures/galera.sh starts and stops (`--galera` runs that pass alone: `bun run test:galera`).
// Ends with one line: `N passed, N failed` (counted from bun's JUnit reports), every pass included.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const galeraOnly = process.argv.includes('--galera')
const files = process.argv.slice(2).filter((a) => a !== '--galera')
const GALERA_FIXTURE = join(import.meta.dir, 'fixtures', 'galera.sh')
const GALERA_DIR = join(import.meta.dir, 'galera')
const galeraPresent = existsSync(process.env.GALERA_PROVIDER || '/usr/lib/galera/libgalera_smm.so') && existsSync('/usr/sbin/mariadbd')
const mysqlUrl = process.env.TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test'
const mysqlRequired = !!process.env.CI || process.env.TEST_MYSQL === 'required'
const out = mkdtempSync(join(tmpdir(), 'gotrue-junit-'))

async function reachable(url: string): Promise<boolean> {
  const u = new URL(url)
  try {
    const sock = await Bun.connect({ hostname: u.hostname, port: Number(u.port || 3306), socket: { data() {} } })
    sock.end()
    return true
  } catch { return false }
}

function count(xml: string) {
  const top = /<testsuites[^>]*\btests="(\d+)"[^>]*\bfailures="(\d+)"[^>]*\bskipped="(\d+)"/.exec(xml)
  if (!top) return { tests: 0, failed: 0, skipped: 0 }
  return { tests: Number(top[1]), failed: Number(top[2]), skipped: Number(top[3]) }
}

async function pass(name: string, env: Record<string, string | undefined>, only = files) {
  const report = join(out, `${name}.xml`)
  console.log(`\n=== ${name} ===`)
  const p = Bun.spawn(['bun', 'test', '--reporter=junit', `--reporter-outfile=${report}`, ...only], {
    env: { ...process.env, ...env, TEST_TIER: 'full' }, stdout: 'inherit', stderr: 'inherit',
  })
  const code = await p.exited
  let c = { tests: 0, failed: 0, skipped: 0 }
  try { c = count(readFileSync(report, 'utf8')) } catch {}
  // A crashed run or a non-zero exit with no recorded failure still counts as a failure.
  if (code !== 0 && c.failed === 0) c.failed = 1
  if (c.tests === 0) c.failed += 1
  console.log(`${name}: ${c.tests - c.failed - c.skipped} passed, ${c.failed} failed, ${c.skipped} skipped`)
  return c
}

/** The cluster up, the Galera files against it, the cluster down (also when the files fail). */
async function galeraPass() {
  const fixture = (verb: string) => Bun.spawn(['bash', GALERA_FIXTURE, verb], { stdout: 'inherit', stderr: 'inherit' }).exited
  console.log('\n=== galera: starting three MariaDB Galera nodes ===')
  if ((await fixture('start')) !== 0) {
    await fixture('stop')
    console.log('galera: the cluster did not start')
    return { tests: 0, failed: 1, skipped: 0 }
  }
  try {
    const urls = [1, 2, 3].map((n) => `mysql://root@127.0.0.1:${3306 + n}/test`).join(' ')
    const galeraFiles = readdirSync(GALERA_DIR).filter((f) => f.endsWith('.galera.ts')).map((f) => join(GALERA_DIR, f))
    return await pass('galera', { TEST_GALERA_URLS: urls }, galeraFiles)
  } finally { await fixture('stop') }
}

const env = { ...process.env }
delete env.TEST_MYSQL_URL
const results = []
if (!galeraOnly) {
  results.push(await pass('sqlite', { ...env, TEST_MYSQL_URL: undefined }))
  if (await reachable(mysqlUrl)) results.push(await pass('mysql', { TEST_MYSQL_URL: mysqlUrl }))
  else if (mysqlRequired) {
    console.log(`mysql: not reachable at ${mysqlUrl}, and it is required here`)
    results.push({ tests: 0, failed: 1, skipped: 0 })
  } else console.log(`mysql: skipped (nothing listens at ${mysqlUrl}); set TEST_MYSQL_URL to run the suite on MySQL`)
}
// Named files are a partial run: the Galera pass comes with the whole suite or on its own.
const wantGalera = galeraOnly || !files.length
if (wantGalera && galeraPresent) results.push(await galeraPass())
else if (wantGalera && (galeraOnly || process.env.TEST_GALERA === 'required')) {
  console.log('galera: /usr/lib/galera/libgalera_smm.so or /usr/sbin/mariadbd missing, and the Galera pass was asked for')
  results.push({ tests: 0, failed: 1, skipped: 0 })
} else if (wantGalera) console.log('galera: skipped (no galera-4 provider or mariadbd on this machine)')

const passed = results.reduce((n, r) => n + r.tests - r.failed - r.skipped, 0)
const failed = results.reduce((n, r) => n + r.failed, 0)
const skipped = results.reduce((n, r) => n + r.skipped, 0)
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(failed ? 1 : 0)
