// The SSRF guard for every outbound URL a site's configuration controls (webhooks, mail templates): loopback,
// private, CGNAT, link-local, (deprecated) site-local, multicast, unspecified and unique-local targets are
// refused unless GOTRUE_WEBHOOK_ALLOW_LOCAL=true. Names are resolved first, so a public name pointing at 127.0.0.1 is refused.
// (fetch resolves the name again; a DNS-rebinding race remains possible and is noted in docs.)
import { isIP } from 'node:net'

/** True for addresses a public webhook or template host must never be (IPv4, IPv6, IPv4-mapped IPv6). */
export function isPrivateAddress(ip: string): boolean {
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip) // URL's spelling of ::ffff:127.0.0.1
  if (hex) {
    const hi = parseInt(hex[1] as string, 16), lo = parseInt(hex[2] as string, 16)
    return isPrivateAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`)
  }
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.\d+\.\d+$/i.exec(ip)
  if (v4) {
    const a = Number(v4[1]), b = Number(v4[2])
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127) || a >= 224
  }
  const v6 = ip.toLowerCase()
  return v6 === '::' || v6 === '::1' || /^f[cd]/.test(v6) || /^fe[89a-f]/.test(v6) || /^ff/.test(v6) // ULA, link- and site-local, multicast
}

/** Throws when the URL's host is, or resolves to, a private address (unless local targets are allowed). */
export async function assertPublicUrl(url: URL, allowLocal: boolean): Promise<void> {
  if (allowLocal) return
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const addresses = isIP(host) ? [host] : (await Bun.dns.lookup(host)).map((a) => a.address)
  if (!addresses.length || addresses.some(isPrivateAddress)) {
    throw new Error(`${host} is a local address (set GOTRUE_WEBHOOK_ALLOW_LOCAL=true to allow it)`)
  }
}
