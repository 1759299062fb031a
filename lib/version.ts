// The build's version: package.json's, read through an import so that a compiled binary embeds it.
import pkg from '../package.json' with { type: 'json' }
export const VERSION: string = pkg.version

/** What GET /health and the operator's GET / answer: GoTrue's name and description with this build's version. */
export function serviceManifest(version: string): { description: string; name: string; version: string } {
  return { description: 'GoTrue is a user registration and authentication API', name: 'GoTrue', version }
}
