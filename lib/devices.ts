// A session's device and network, summarised so a user can recognise it in their list of sessions without the
// server keeping a fingerprint: the browser and system without versions, and the network rather than the address.

const BROWSERS: [RegExp, string][] = [
  [/Edg(e|A|iOS)?\//, 'Edge'], [/OPR\/|Opera/, 'Opera'], [/Firefox\/|FxiOS/, 'Firefox'], [/Chrome\/|CriOS/, 'Chrome'], [/Safari\//, 'Safari'],
]
const SYSTEMS: [RegExp, string][] = [
  [/Windows/, 'Windows'], [/iPhone|iPad|iPod/, 'iOS'], [/Android/, 'Android'], [/CrOS/, 'ChromeOS'], [/Mac OS X|Macintosh/, 'macOS'], [/Linux/, 'Linux'],
]
/** "Firefox on Linux", or the first product name of a non-browser client ("curl", "okhttp"): enough to recognise a
 *  device, without the versions and build details that make a user agent a fingerprint. */
export function userAgentSummary(ua: string | null | undefined): string {
  if (!ua) return ''
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1]
  const system = SYSTEMS.find(([re]) => re.test(ua))?.[1]
  if (browser) return system ? `${browser} on ${system}` : browser
  const product = /^[A-Za-z][A-Za-z0-9._-]{0,31}/.exec(ua)?.[0] ?? ''
  return product === 'Mozilla' ? (system ?? '') : product
}

/** The network, not the address: an IPv4 /24 or an IPv6 /48 (the client key is already an IPv6 /64, see
 *  lib/client.ts). Anything else (a proxy header holding a name) is not recorded. */
export function ipSummary(client: string | undefined): string {
  if (!client) return ''
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/.exec(client)
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`
  const v6 = /^([0-9a-f]{1,4}):([0-9a-f]{1,4}):([0-9a-f]{1,4}):[0-9a-f:]*\/64$/i.exec(client)
  return v6 ? `${v6[1]}:${v6[2]}:${v6[3]}::/48` : ''
}
