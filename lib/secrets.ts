// Zero-setup JWT secret (and MFA encryption key): with SQLite and no GOTRUE_JWT_SECRET, a random secret is generated on first start and
// kept beside the data file (mode 0600), so tokens survive restarts. With MySQL the secret must be configured:
// several nodes must share it, and a file on one node cannot be shared.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { type Config, ConfigError } from './config.ts'
import type { Logger } from './log.ts'

const randomKey = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')

/** The key kept in `name` beside the SQLite file: read, or made and stored (owner-only) on first start. */
function keptBeside(config: Config, name: string, setting: string, log: Logger): string {
  const file = join(dirname(config.db.url), name)
  let key = existsSync(file) ? readFileSync(file, 'utf8').trim() : ''
  if (!key) {
    key = randomKey()
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, `${key}\n`, { mode: 0o600 })
    chmodSync(file, 0o600)
    log.warn(`${setting} is not set: generated one and stored it in ${file} (owner-only). Set ${setting} in production.`)
  }
  return key
}

export function ensureJwtSecret(config: Config, log: Logger): Config {
  if (config.jwt.secret) return config
  if (config.db.driver !== 'sqlite') throw new ConfigError('GOTRUE_JWT_SECRET: required when GOTRUE_DB_DRIVER=mysql (expected a long random string)')
  if (config.db.url === ':memory:') {
    log.warn('GOTRUE_JWT_SECRET is not set: using a random secret for this in-memory database')
    return { ...config, jwt: { ...config.jwt, secret: randomKey() } }
  }
  return { ...config, jwt: { ...config.jwt, secret: keptBeside(config, 'jwt-secret', 'GOTRUE_JWT_SECRET', log) } }
}

/** The same for GOTRUE_DB_ENCRYPTION_KEY, which seals MFA secrets: generated beside the SQLite file on first start.
 *  With MySQL it stays unset until configured (nodes must share it); MFA enrollment then asks for it. */
export function ensureEncryptionKey(config: Config, log: Logger): Config {
  if (config.db.encryption_key || config.db.driver !== 'sqlite') return config
  if (config.db.url === ':memory:') return { ...config, db: { ...config.db, encryption_key: randomKey() } }
  return { ...config, db: { ...config.db, encryption_key: keptBeside(config, 'db-encryption-key', 'GOTRUE_DB_ENCRYPTION_KEY', log) } }
}
