// Where a browser may be sent with tokens in its URL: the site itself (same scheme, host and port as SITE_URL), or
// a URL matching an entry of GOTRUE_URI_ALLOW_LIST. Anything else is refused, and the caller falls back to
// SITE_URL. The URL is parsed once and its normalised form is both what is matched and what is returned, so no
// other parser can read a different host out of it; userinfo, backslashes and whitespace are refused outright
// because browsers and proxies disagree on them.
import type { Config } from './config.ts'

/** Schemes that run or embed content in the page that opens them: never a landing, whatever a glob says. */
const SCRIPT_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:'])
const SEP = '[^./]'
const literal = (c: string) => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')

/** One allow-list glob as an anchored RegExp, with supabase/auth's rules (gobwas/glob, separators `.` and `/`):
 *  `*` is any run within one host label or path segment, `**` any run at all, `?` one character that is not a
 *  separator, `[abc]` / `[!a-z]` a class, `{a,b}` alternatives, `\` escapes the next character. */
export function globToRegExp(glob: string): RegExp {
  let out = ''
  let depth = 0
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '\\' && i + 1 < glob.length) out += literal(glob[++i] as string)
    else if (c === '*' && glob[i + 1] === '*') { out += '.*'; i++ }
    else if (c === '*') out += `${SEP}*`
    else if (c === '?') out += SEP
    else if (c === '{') { out += '(?:'; depth++ }
    else if (c === ',' && depth) out += '|'
    else if (c === '}' && depth) { out += ')'; depth-- }
    else if (c === '[' && glob.indexOf(']', i + 2) > 0) {
      const end = glob.indexOf(']', i + 2)
      const body = glob.slice(i + 1, end)
      const [neg, chars] = body.startsWith('!') ? ['^', body.slice(1)] : ['', body]
      out += `[${neg}${chars.replace(/[\\\]^[]/g, '\\$&')}]`
      i = end
    } else out += literal(c)
  }
  return new RegExp(`^${out}${')'.repeat(depth)}$`, 's')
}

/** Checks redirect targets against a config; the allow-list is compiled once. Returns the normalised URL (without
 *  fragment) when the target is allowed, null otherwise. */
export function redirectGuard(config: Config): (candidate: string | null | undefined) => string | null {
  const site = new URL(config.site_url)
  const allowed = config.uri_allow_list.map(globToRegExp)
  return (candidate) => {
    if (!candidate || /[\\\s\x00-\x1f\x7f]/.test(candidate)) return null
    let url: URL
    try { url = new URL(candidate) } catch { return null }
    if (url.username || url.password || SCRIPT_SCHEMES.has(url.protocol)) return null
    url.hash = ''
    const href = url.toString()
    if (url.protocol === site.protocol && url.hostname === site.hostname && url.port === site.port) return href
    return allowed.some((re) => re.test(href)) ? href : null
  }
}
