// The MySQL side of `--mysql`: the server version for the report, and dropping the run's table namespace.
import mysql from 'mysql2/promise'

const connect = (url: string) => mysql.createConnection({ uri: url, multipleStatements: false })

export async function mysqlVersion(url: string): Promise<string> {
  const c = await connect(url)
  try {
    const [rows] = await c.query('SELECT VERSION() AS v')
    return `MySQL/MariaDB ${(rows as { v: string }[])[0]?.v ?? '?'}`
  } finally { await c.end() }
}

/** Drops every table named `<namespace>_…` in the URL's database. */
export async function dropNamespace(url: string, namespace: string): Promise<void> {
  const c = await connect(url)
  try {
    const [rows] = await c.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [`${namespace}\\_%`])
    await c.query('SET FOREIGN_KEY_CHECKS = 0')
    for (const { t } of rows as { t: string }[]) await c.query(`DROP TABLE IF EXISTS \`${t}\``)
  } finally { await c.end() }
}
