// The build's version: GOTRUE_VERSION baked in at build time, else package.json's version.
import pkg from '../package.json' with { type: 'json' }
export const VERSION: string = pkg.version
