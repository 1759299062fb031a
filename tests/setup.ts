// bun test preload: quiet, deterministic defaults for every test file. Nothing here starts a server.
process.env.TZ = 'UTC'
