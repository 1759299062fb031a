// Parses a dotenv file's text; lib/config.ts reads the file and lets the real environment win over it.

/** Parse a dotenv file: KEY=value lines, optional quotes, # comments, optional `export `. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const raw of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)?\s*$/.exec(raw)
    if (!m || !m[1]) continue
    let v = (m[2] ?? '').trim()
    const q = v[0]
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) {
      v = v.slice(1, -1)
      if (q === '"') v = v.replace(/\\n/g, '\n').replace(/\\"/g, '"')
    } else v = v.replace(/\s+#.*$/, '')
    out[m[1]] = v
  }
  return out
}
