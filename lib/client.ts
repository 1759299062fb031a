// The client a request comes from, as the per-client rate limits key it.
import type { Config } from './config.ts'
import { v6groups } from './ssrf.ts'

/** The client a request comes from: the configured header (behind a proxy) or the socket address. A request
 *  without that header is keyed by its socket address too: an empty key would be skipped by `enforce`, so
 *  leaving the header out would otherwise lift every per-client limit (the reference shares one "" bucket). */
export function clientOf(config: Config, request: Request, server: { requestIP(r: Request): { address: string } | null } | null): string {
  const h = config.rate_limit_header
  // With a list (X-Forwarded-For) the LAST entry is the one our own proxy appended; earlier ones are the client's say.
  const fromHeader = h ? (request.headers.get(h) ?? '').split(',').pop()?.trim() : ''
  return clientKey(fromHeader || server?.requestIP(request)?.address || dispatched.get(request) || '')
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
