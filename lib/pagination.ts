// Page-number pagination as GoTrue's admin API does it (page, per_page, X-Total-Count, Link with next/prev/last),
// with junk rejected as 422 instead of the reference's dropped connection on per_page=0.
import { unprocessable } from './errors.ts'

export interface Page { page: number; perPage: number; offset: number }

const POSITIVE = /^[1-9]\d{0,8}$/
export function parsePage(q: { page?: string; per_page?: string }, maxPerPage = 1000): Page {
  const page = q.page === undefined || q.page === '' ? 1 : POSITIVE.test(q.page) ? Number(q.page) : NaN
  const perPage = q.per_page === undefined || q.per_page === '' ? 50 : POSITIVE.test(q.per_page) ? Number(q.per_page) : NaN
  if (!Number.isFinite(page)) throw unprocessable(`Bad Pagination Parameters: page must be a positive integer, got ${JSON.stringify(q.page)}`)
  if (!Number.isFinite(perPage) || perPage > maxPerPage) throw unprocessable(`Bad Pagination Parameters: per_page must be an integer from 1 to ${maxPerPage}, got ${JSON.stringify(q.per_page)}`)
  return { page, perPage, offset: (page - 1) * perPage }
}

/** `</path?…&page=N>; rel="next", …; rel="last"` with the other query parameters kept (keys sorted). */
export function linkHeader(path: string, query: Record<string, string | undefined>, p: Page, total: number): string {
  const last = Math.ceil(total / p.perPage)
  const uri = (page: number) => {
    const params = Object.entries({ ...query, page: String(page) }).filter(([, v]) => v !== undefined && v !== '') as [string, string][]
    return `<${path}?${new URLSearchParams(params.sort(([a], [b]) => a.localeCompare(b))).toString()}>`
  }
  const parts: string[] = []
  if (p.page < last) parts.push(`${uri(p.page + 1)}; rel="next"`)
  if (p.page > 1) parts.push(`${uri(p.page - 1)}; rel="prev"`)
  parts.push(`${uri(last)}; rel="last"`)
  return parts.join(', ')
}

/** A LIKE pattern matching `s` as a literal substring, for `LIKE ? ESCAPE '!'` (the same on SQLite and MySQL;
 *  the reference let % and _ act as wildcards). */
export const likeSubstring = (s: string): string => `%${s.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`
