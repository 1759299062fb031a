// The client a request comes from, as the per-client rate limits key it.
import { type Config, ConfigError } from './config.ts'
import { v6groups } from './ssrf.ts'

/** The client a request comes from. With GOTRUE_TRUSTED_PROXIES, a request whose socket peer is one of them is
 *  keyed by the right-most entry of X-Forwarded-For (or of GOTRUE_RATE_LIMIT_HEADER) that is not a trusted proxy:
 *  entries left of it were written by the client and may be anything; a request from any other peer is keyed by
 *  its socket address, whatever headers it carries. Without trusted proxies, GOTRUE_RATE_LIMIT_HEADER (when set)
 *  is believed from any peer, its last entry being the one the operator's own proxy appended. A request without
 *  that header is keyed by its socket address too: an empty key would be skipped by `enforce`, so leaving the
 *  header out would otherwise lift every per-client limit (the reference shares one "" bucket). */
export function clientOf(config: Config, request: Request, server: { requestIP(r: Request): { address: string } | null } | null): string {
  const peer = server?.requestIP(request)?.address || dispatched.get(request) || ''
  const h = config.rate_limit_header
  const proxies = trustedOf(config)
  if (proxies) {
    if (!proxies.has(peer)) return clientKey(peer)
    const hops = (request.headers.get(h || 'x-forwarded-for') ?? '').split(',').map((x) => x.trim()).filter(Boolean)
    for (let i = hops.length - 1; i >= 0; i--) if (!proxies.has(hops[i] as string)) return clientKey(hops[i] as string)
    return clientKey(hops[0] ?? peer) // every hop is one of ours: the first is the client
  }
  if (!h) {
    if (!warned.has(config)) noteForwarded(config, request)
    return clientKey(peer)
  }
  const fromHeader = (request.headers.get(h) ?? '').split(',').pop()?.trim()
  return clientKey(fromHeader || peer)
}

/** A set of CIDR ranges (IPv4 and IPv6; a bare address is a /32 or /128). */
export interface AddressSet { has(address: string): boolean }

/** 128 bits as 8 groups of 16; IPv4 as its IPv4-mapped IPv6 form, so one comparison serves both. */
function bits128(address: string): number[] | null {
  const a = address.trim()
  return v6groups(a.includes(':') ? a : `::ffff:${a}`)
}

/** Parses a CIDR list; throws ConfigError naming GOTRUE_TRUSTED_PROXIES on a bad entry. */
export function parseCidrs(list: string[]): AddressSet {
  const nets = list.map((entry) => {
    const [addr = '', len] = entry.split('/')
    const v4 = !addr.includes(':')
    const groups = bits128(addr)
    const max = v4 ? 32 : 128
    const n = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : Number.NaN
    if (!groups || !(n >= 0 && n <= max) || (v4 && !/^\d+\.\d+\.\d+\.\d+$/.test(addr))) {
      throw new ConfigError(`GOTRUE_TRUSTED_PROXIES: expected CIDR ranges such as 10.0.0.0/8,fd00::/8, got ${JSON.stringify(entry)}`)
    }
    return { groups, prefix: v4 ? 96 + n : n }
  })
  return {
    has(address: string) {
      const g = bits128(address)
      if (!g) return false
      return nets.some(({ groups, prefix }) => {
        for (let i = 0, left = prefix; left > 0; i++, left -= 16) {
          const mask = left >= 16 ? 0xffff : (0xffff << (16 - left)) & 0xffff
          if (((g[i] as number) & mask) !== ((groups[i] as number) & mask)) return false
        }
        return true
      })
    },
  }
}

const trusted = new WeakMap<Config, AddressSet | null>()
/** The configured trusted proxies, parsed once per configuration (null: none). */
export function trustedOf(config: Config): AddressSet | null {
  let t = trusted.get(config)
  if (t === undefined) {
    t = config.trusted_proxies.length ? parseCidrs(config.trusted_proxies) : null
    trusted.set(config, t)
  }
  return t
}

/** Where the once-per-process X-Forwarded-For warning goes (set by the server at start). */
const loggers = new WeakMap<Config, (msg: string) => void>()
const warned = new WeakSet<Config>()
export function watchForwardedFor(config: Config, warn: (msg: string) => void): void { loggers.set(config, warn) }
function noteForwarded(config: Config, request: Request): void {
  if (!request.headers.has('x-forwarded-for')) return
  warned.add(config)
  loggers.get(config)?.('requests carry X-Forwarded-For, but rate limits key clients by their socket address: behind a reverse proxy every user shares one bucket. Set GOTRUE_TRUSTED_PROXIES to the proxies\' addresses (or GOTRUE_RATE_LIMIT_HEADER)')
}

/** The key of a client address. One IPv6 host commonly holds a whole /64 (SLAAC privacy addresses, a routed
 *  prefix), so IPv6 clients are keyed by their /64: otherwise one machine could be a new "client" per request.
 *  IPv4-mapped IPv6 is the IPv4 address it carries. Anything that is not an IPv6 address is kept as it is. */
export function clientKey(address: string): string {
  if (!address.includes(':')) return address
  const g = v6groups(address)
  if (!g) return address
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return [(g[6] as number) >> 8, (g[6] as number) & 255, (g[7] as number) >> 8, (g[7] as number) & 255].join('.')
  }
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`
}

/** Multi-instance mode hands each request to an instance's app with app.handle(), where there is no socket:
 *  the dispatcher records the socket address here first. */
const dispatched = new WeakMap<Request, string>()
export const rememberClient = (request: Request, address: string): void => { dispatched.set(request, address) }
