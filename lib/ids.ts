// What counts as a UUID wherever an id arrives from outside (paths, JWT claims, imports, CLI flags, the OpenAPI
// `uuid` format): any version, either case. One definition, so every door accepts and refuses the same strings.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(v: string): boolean {
  return UUID.test(v)
}
