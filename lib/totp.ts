// TOTP (RFC 6238 over RFC 4226's HOTP): SHA-1, 6 digits, 30-second steps, the secret shown in base32 (RFC 4648,
// no padding) as authenticator apps expect it, and the otpauth:// URI with its QR code as SVG. qrcode-generator's
// one importer.
import { createHmac } from 'node:crypto'
import qrcode from 'qrcode-generator'
import { safeEqual } from './crypto.ts'

export const STEP_SECONDS = 30
const DIGITS = 6
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

export function base32(bytes: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const b of bytes) {
    value = (value << 8) | b
    bits += 8
    while (bits >= 5) { out += B32[(value >>> (bits - 5)) & 31]; bits -= 5 }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31]
  return out
}

function unbase32(text: string): Buffer {
  const bytes: number[] = []
  let bits = 0
  let value = 0
  for (const c of text.toUpperCase()) {
    const i = B32.indexOf(c)
    if (i < 0) continue
    value = (value << 5) | i
    bits += 5
    if (bits >= 8) { bytes.push((value >>> (bits - 8)) & 255); bits -= 8 }
  }
  return Buffer.from(bytes)
}

/** A new secret: 160 bits, RFC 4226's recommended length for HMAC-SHA-1. */
export const newTotpSecret = (): string => base32(crypto.getRandomValues(new Uint8Array(20)))

export function hotp(secret: string, counter: number): string {
  const msg = Buffer.alloc(8)
  msg.writeBigUInt64BE(BigInt(counter))
  const mac = createHmac('sha1', unbase32(secret)).update(msg).digest()
  const offset = (mac[mac.length - 1] as number) & 15
  const n = mac.readUInt32BE(offset) & 0x7fffffff
  return String(n % 10 ** DIGITS).padStart(DIGITS, '0')
}

export const stepOf = (nowMs: number): number => Math.floor(nowMs / 1000 / STEP_SECONDS)

/** The step whose code `code` is, within one step either side of now (clock drift), or null. Every candidate is
 *  computed and compared in constant time, so the answer's timing does not say which step matched. */
export function matchStep(secret: string, code: string, nowMs: number): number | null {
  if (!/^\d{6}$/.test(code)) return null
  const now = stepOf(nowMs)
  let hit: number | null = null
  for (const step of [now - 1, now, now + 1]) if (safeEqual(hotp(secret, step), code) && hit === null) hit = step
  return hit
}

/** The otpauth:// URI authenticator apps read (Google Authenticator's Key URI format). */
export function otpauthUri(secret: string, issuer: string, account: string): string {
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`
  return `otpauth://totp/${label}?secret=${secret}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=${DIGITS}&period=${STEP_SECONDS}`
}

/** The URI as a QR code in SVG (error correction M, the smallest version that holds it). */
export function qrSvg(text: string): string {
  const qr = qrcode(0, 'M')
  qr.addData(text, 'Byte')
  qr.make()
  return qr.createSvgTag({ cellSize: 4, margin: 4, scalable: true })
}
