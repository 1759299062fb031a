// Tiny JSON-lines logger. Levels as the reference (panic … trace). Callers pass fields; nothing secret is ever
// passed in (no tokens, passwords or raw headers), and emails only at debug level.
import { appendFileSync } from 'node:fs'

const LEVELS = { panic: 0, fatal: 1, error: 2, warn: 3, info: 4, debug: 5, trace: 6 } as const
export type Level = keyof typeof LEVELS
export type Fields = Record<string, unknown>

export interface Logger {
  enabled(level: Level): boolean
  log(level: Level, msg: string, fields?: Fields): void
  error(msg: string, fields?: Fields): void
  warn(msg: string, fields?: Fields): void
  info(msg: string, fields?: Fields): void
  debug(msg: string, fields?: Fields): void
}

/** An address anywhere in a serialised line (also inside an error text such as an SMTP server's
 *  `550 5.1.1 <ada@example.org>: Recipient address rejected`, which no caller can vet). */
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g

export function makeLogger(opts: { level?: string; file?: string; fields?: Fields; write?: (line: string) => void } = {}): Logger {
  const max = LEVELS[(opts.level ?? 'info') as Level] ?? LEVELS.info
  const write = opts.write ?? (opts.file ? (l: string) => appendFileSync(opts.file as string, l) : (l: string) => process.stderr.write(l))
  // Emails only when the operator asked for debug logs: below that, any address that slipped into a message
  // or an error's cause is masked in the finished line.
  const mask = max < LEVELS.debug
  const log = (level: Level, msg: string, fields?: Fields) => {
    if (LEVELS[level] > max) return
    const entry: Fields = { level, time: new Date().toISOString(), msg, ...opts.fields, ...fields }
    const err = entry.error
    if (err instanceof Error) entry.error = err.message
    const line = JSON.stringify(entry)
    write(`${mask && line.includes('@') ? line.replace(EMAIL, '[email]') : line}\n`)
  }
  return {
    enabled: (level) => LEVELS[level] <= max,
    log,
    error: (m, f) => log('error', m, f),
    warn: (m, f) => log('warn', m, f),
    info: (m, f) => log('info', m, f),
    debug: (m, f) => log('debug', m, f),
  }
}
