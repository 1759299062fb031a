// The SSRF guard for every outbound URL a site's configuration controls (webhooks, mail templates): only public
// unicast addresses are reached unless GOTRUE_WEBHOOK_ALLOW_LOCAL=true. Loopback, private, CGNAT, link-local,
// benchmarking, reserved, multicast and unspecified IPv4, and IPv6 outside global unicast (unique-local, link-local,
// multicast, documentation, Teredo, discard) are refused; IPv6 forms that carry an IPv4 address (IPv4-mapped,
// IPv4-compatible, SIIT, NAT64, 6to4) are judged by the IPv4 address they carry. Names are resolved once and
// the request goes to the address that was checked (pinnedFetch), so a name cannot answer a public address to the
// check and a private one to the connection; redirects are never followed.
import { isIP } from 'node:net'

/** The 32 bits of a dotted-quad IPv4 address, or null. (Hosts from URL are already in this form: WHATWG URL turns
 *  2130706433, 0x7f.1 and 0177.0.0.1 into 127.0.0.1.) */
function v4bits(ip: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip)
  if (!m) return null
  const parts = m.slice(1).map(Number)
  if (parts.some((p) => p > 255)) return null
  return (((parts[0] as number) << 24) | ((parts[1] as number) << 16) | ((parts[2] as number) << 8) | (parts[3] as number)) >>> 0
}

/** The eight 16-bit groups of an IPv6 address (with an embedded dotted quad or not), or null. */
export function v6groups(ip: string): number[] | null {
  let s = ip.toLowerCase().replace(/%.*$/, '') // zone id
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (quad) {
    const b = v4bits(quad[1] as string)
    if (b === null) return null
    s = `${s.slice(0, -(quad[1] as string).length)}${(b >>> 16).toString(16)}:${(b & 0xffff).toString(16)}`
  }
  const halves = s.split('::')
  if (halves.length > 2) return null
  const parse = (h: string) => (h ? h.split(':') : []).map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : Number.NaN))
  const head = parse(halves[0] as string)
  const tail = halves.length === 2 ? parse(halves[1] as string) : []
  const fill = 8 - head.length - tail.length
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null
  const groups = [...head, ...Array(halves.length === 2 ? fill : 0).fill(0), ...tail]
  return groups.some(Number.isNaN) ? null : groups
}

const inV4 = (bits: number, net: string, len: number) => len === 0 || (bits >>> (32 - len)) === ((v4bits(net) as number) >>> (32 - len))
/** IPv4 ranges that are not public unicast (RFC 6890 special-purpose registry, plus multicast and reserved). */
const V4_BLOCKED: [string, number][] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
]
const privateV4 = (bits: number) => V4_BLOCKED.some(([net, len]) => inV4(bits, net, len))

/** True for addresses a public webhook or template host must never be. Anything that does not parse counts as private. */
export function isPrivateAddress(ip: string): boolean {
  const v4 = v4bits(ip)
  if (v4 !== null) return privateV4(v4)
  const g = v6groups(ip)
  if (!g) return true
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [number, number, number, number, number, number, number, number]
  const embedded = ((g6 << 16) | g7) >>> 0
  const zero = (...xs: number[]) => xs.every((x) => x === 0)
  // ::/96 (unspecified, loopback, IPv4-compatible), ::ffff:0:0/96 (mapped), ::ffff:0:0:0/96 (SIIT): all carry an
  // IPv4 address in the last 32 bits, or are :: and ::1 themselves.
  if (zero(g0, g1, g2, g3) && ((g4 === 0 && (g5 === 0 || g5 === 0xffff)) || (g4 === 0xffff && g5 === 0))) {
    return zero(g4, g5) ? true : privateV4(embedded) // every IPv4-compatible address is deprecated (RFC 4291)
  }
  if (g0 === 0x64 && g1 === 0xff9b) return g2 !== 0 || !zero(g3, g4, g5) || privateV4(embedded) // 64:ff9b::/96 NAT64; 64:ff9b:1::/48 is local use
  if (g0 === 0x2002) return privateV4(((g1 << 16) | g2) >>> 0) // 6to4
  if (g0 === 0x2001 && g1 === 0) return true // Teredo
  if (g0 === 0x2001 && g1 === 0xdb8) return true // documentation
  if (g0 === 0x3fff && g1 < 0x1000) return true // documentation (RFC 9637)
  return (g0 & 0xe000) !== 0x2000 // only 2000::/3 is global unicast: fc00::/7, fe80::/10, ff00::/8, 100::/64 … are not
}

/** The addresses the URL's host stands for, checked: throws when one is private (unless local targets are allowed). */
async function publicAddresses(url: URL, allowLocal: boolean): Promise<string[]> {
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const addresses = isIP(host) ? [host] : (await Bun.dns.lookup(host)).map((a) => a.address)
  if (!addresses.length) throw new Error(`${host} has no address`)
  if (!allowLocal && addresses.some(isPrivateAddress)) {
    throw new Error(`${host} is a local address (set GOTRUE_WEBHOOK_ALLOW_LOCAL=true to allow it)`)
  }
  return addresses
}

/** Throws when the URL's host is, or resolves to, a private address (unless local targets are allowed). */
export async function assertPublicUrl(url: URL, allowLocal: boolean): Promise<void> {
  await publicAddresses(url, allowLocal)
}

/** The one checked address a request to `url` must connect to (throws like assertPublicUrl). Resolve once, then
 *  pass the address to fetchAt for every attempt: a second lookup could answer differently (DNS rebinding). */
export async function checkedAddress(url: URL, allowLocal: boolean): Promise<string> {
  return (await publicAddresses(url, allowLocal))[0] as string
}

/** fetch() to a checked address, with the name kept for the Host header and for TLS (SNI and certificate).
 *  Redirects are returned, never followed: a public host could otherwise send the request on to a private one. */
export function fetchAt(url: URL, address: string, init: RequestInit): Promise<Response> {
  const target = new URL(url)
  const name = url.hostname.replace(/^\[|\]$/g, '')
  target.hostname = isIP(address) === 6 ? `[${address}]` : address
  const headers = new Headers(init.headers)
  headers.set('host', url.host)
  return fetch(target, {
    ...init, headers, redirect: 'manual',
    ...(url.protocol === 'https:' && !isIP(name) ? { tls: { serverName: name } } : {}),
  } as RequestInit)
}

/** fetch() to the checked address of `url` (see checkedAddress and fetchAt). */
export async function pinnedFetch(url: URL, init: RequestInit, allowLocal: boolean): Promise<Response> {
  return fetchAt(url, await checkedAddress(url, allowLocal), init)
}
