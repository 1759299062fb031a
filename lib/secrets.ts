// Zero-setup JWT secret: with SQLite and no GOTRUE_JWT_SECRET, a random secret is generated on first start and
// kept beside the data file (mode 0600), so tokens survive restarts. With MySQL the secret must be configured:
// several nodes must share it, and a file on one node cannot be shared.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { type Config, ConfigError } from './config.ts'
import type { Logger } from './log.ts'

export function ensureJwtSecret(config: Config, log: Logger): Config {
  if (config.jwt.secret) return config
  if (config.db.driver !== 'sqlite') throw new ConfigError('GOTRUE_JWT_SECRET: required when GOTRUE_DB_DRIVER=mysql (expected a long random string)')
  const bytes = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
  if (config.db.url === ':memory:') {
    log.warn('GOTRUE_JWT_SECRET is not set: using a random secret for this in-memory database')
    return { ...config, jwt: { ...config.jwt, secret: bytes() } }
  }
  const file = join(dirname(config.db.url), 'jwt-secret')
  let secret = existsSync(file) ? readFileSync(file, 'utf8').trim() : ''
  if (!secret) {
    secret = bytes()
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, `${secret}\n`, { mode: 0o600 })
    chmodSync(file, 0o600)
    log.warn(`GOTRUE_JWT_SECRET is not set: generated one and stored it in ${file} (owner-only). Set GOTRUE_JWT_SECRET in production.`)
  }
  return { ...config, jwt: { ...config.jwt, secret } }
}

/** The same for GOTRUE_DB_ENCRYPTION_KEY, which seals MFA secrets: generated beside the SQLite file on first start.
 *  With MySQL it stays unset until configured (nodes must share it); MFA enrollment then asks for it. */
export function ensureEncryptionKey(config: Config, log: Logger): Config {
  if (config.db.encryption_key || config.db.driver !== 'sqlite') return config
  const bytes = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
  if (config.db.url === ':memory:') return { ...config, db: { ...config.db, encryption_key: bytes() } }
  const file = join(dirname(config.db.url), 'db-encryption-key')
  let key = existsSync(file) ? readFileSync(file, 'utf8').trim() : ''
  if (!key) {
    key = bytes()
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, `${key}\n`, { mode: 0o600 })
    chmodSync(file, 0o600)
    log.warn(`GOTRUE_DB_ENCRYPTION_KEY is not set: generated one and stored it in ${file} (owner-only). Set GOTRUE_DB_ENCRYPTION_KEY in production.`)
  }
  return { ...config, db: { ...config.db, encryption_key: key } }
}
