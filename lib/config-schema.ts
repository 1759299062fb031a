// One TypeBox schema describes every setting: its nested path, its GOTRUE_* name (plus the reference's
// unprefixed or README spellings), its type, bounds, default and meaning. lib/config.ts loads the environment
// into it; the README table and .env.example are generated from it (describeConfig). Reads nothing itself.
import { Type as T, type TSchema } from '@sinclair/typebox'

export type Kind = 'string' | 'int' | 'bool' | 'duration' | 'list' | 'map' | 'enum'
export interface Meta { env: string; alt?: string[]; kind: Kind; doc: string; secret?: boolean; seconds?: boolean }

const str = (env: string, def: string, doc: string, x: Partial<Meta> = {}) =>
  T.String({ default: def, env, doc, kind: 'string', ...x })
const int = (env: string, def: number, doc: string, min = 0, max = 2 ** 31, x: Partial<Meta> = {}) =>
  T.Integer({ default: def, env, doc, kind: 'int', minimum: min, maximum: max, ...x })
const bool = (env: string, def: boolean, doc: string, x: Partial<Meta> = {}) =>
  T.Boolean({ default: def, env, doc, kind: 'bool', ...x })
/** A Go duration (`15m`, `900s`, `1h30m`) or a bare number of seconds; held as seconds. */
const dur = (env: string, def: number, doc: string, x: Partial<Meta> = {}) =>
  T.Number({ default: def, env, doc, kind: 'duration', minimum: 0, ...x })
const list = (env: string, doc: string, x: Partial<Meta> = {}) =>
  T.Array(T.String(), { default: [], env, doc, kind: 'list', ...x })
const map = (env: string, doc: string) => T.Record(T.String(), T.String(), { default: {}, env, doc, kind: 'map' })
const oneOf = <V extends string>(env: string, values: V[], def: V, doc: string) =>
  T.Union(values.map((v) => T.Literal(v)), { default: def, env, doc, kind: 'enum', values })

/** The OAuth providers, in the order /settings reports them: each has an external.<name> block below. */
export const PROVIDER_NAMES = ['bitbucket', 'github', 'gitlab', 'google', 'facebook'] as const
/** Notification events of ours (lib/notices.ts): sent after the commit, the reply ignored. Named like the audit
 *  actions (snake_case), so one name means one fact in the audit log and at the receiver; GoTrue's receivers never
 *  see them unless listed. */
export const NOTICE_EVENTS = ['session_created', 'session_refreshed', 'session_revoked', 'factor_enrolled', 'factor_verified',
  'factor_deleted', 'recovery_code_used', 'challenge_failed'] as const
/** The events GOTRUE_WEBHOOK_EVENTS may name (GoTrue's, then ours): lib/webhooks.ts sends them, instance configs list them. */
export const WEBHOOK_EVENTS = ['validate', 'signup', 'login', 'userdeleted', 'usermodified', ...NOTICE_EVENTS] as const
const provider = (p: string) => {
  const P = `EXTERNAL_${p.toUpperCase()}`
  return T.Object({
    enabled: bool(`${P}_ENABLED`, false, `enable sign-in with ${p}`),
    client_id: str(`${P}_CLIENT_ID`, '', `OAuth client id for ${p}`),
    secret: str(`${P}_SECRET`, '', `OAuth client secret for ${p}`, { secret: true }),
    redirect_uri: str(`${P}_REDIRECT_URI`, '', `callback URL registered at ${p} (this API's /callback)`),
    url: str(`${P}_URL`, '', `base URL replacing every ${p} host (self-hosted instances, test fakes)`),
  })
}
const mailKinds = (prefix: string, doc: string, defs: [string, string, string, string, string]) =>
  T.Object({
    invite: str(`${prefix}_INVITE`, defs[0], `${doc} (invite)`),
    confirmation: str(`${prefix}_CONFIRMATION`, defs[1], `${doc} (signup confirmation)`),
    recovery: str(`${prefix}_RECOVERY`, defs[2], `${doc} (password recovery)`),
    email_change: str(`${prefix}_EMAIL_CHANGE`, defs[3], `${doc} (email change)`),
    magic_link: str(`${prefix}_MAGIC_LINK`, defs[4], `${doc} (passwordless sign-in: magic link and code)`),
  })
/** The mails with a link (mailKinds) and the one with a code only, supabase's reauthentication nonce (no link, so
 *  no MAILER_URLPATHS_ entry). */
const allMailKinds = (prefix: string, doc: string, defs: [string, string, string, string, string, string]) =>
  T.Object({
    ...mailKinds(prefix, doc, defs.slice(0, 5) as [string, string, string, string, string]).properties,
    reauthentication: str(`${prefix}_REAUTHENTICATION`, defs[5], `${doc} (reauthentication code for a password change)`),
  })

export const ConfigSchema = T.Object({
  site_url: str('SITE_URL', 'http://localhost:8081', 'base URL of the site: mail links, template fetches, redirects'),
  uri_allow_list: list('URI_ALLOW_LIST', 'URLs besides SITE_URL\'s own scheme, host and port that sign-ins may redirect to, comma-separated globs (* within a host label or path segment, ** anything)'),
  cors_allowed_headers: list('CORS_ALLOWED_HEADERS', 'request headers a browser may send cross-origin besides the built-in ones (GoTrue\'s and supabase-js\'s: apikey, x-client-info, x-supabase-api-version), comma-separated'),
  operator_token: str('OPERATOR_TOKEN', '', 'operator shared secret: master admin bearer token (optional in single-instance mode)', { secret: true }),
  multi_instance_mode: bool('MULTIINSTANCEMODE', false, 'serve many sites from one deployment (operator mode)'),
  disable_signup: bool('DISABLE_SIGNUP', false, 'refuse /signup and new external sign-ups (invites still work)'),
  rate_limit_header: str('RATE_LIMIT_HEADER', '', 'request header holding the client address for rate limits (set it behind a proxy); empty: the socket address'),
  trusted_proxies: list('TRUSTED_PROXIES', 'CIDR ranges of your reverse proxies (10.0.0.0/8,fd00::/8): from them the client is the right-most address of X-Forwarded-For (or GOTRUE_RATE_LIMIT_HEADER) that is not one of them; from other peers, the socket address'),
  rate_limit: T.Object({
    token_refresh: int('RATE_LIMIT_TOKEN_REFRESH', 30, 'POST /token requests per 5 minutes per client (0: off)', 0),
    login: int('RATE_LIMIT_LOGIN', 30, 'failed password-grant attempts per 5 minutes per account and client; successes do not count (0: off)', 0),
    login_account: int('RATE_LIMIT_LOGIN_ACCOUNT', 300, 'failed password-grant attempts per 5 minutes per account from all clients together: the ceiling for guessing spread over many addresses (0: off)', 0),
    verify: int('RATE_LIMIT_VERIFY', 30, 'POST /verify requests per 5 minutes per client (0: off)', 0),
    otp: int('RATE_LIMIT_OTP', 30, '/signup, /recover, /invite and email-change requests per hour, per client and per email (0: off)', 0),
    email_sent: int('RATE_LIMIT_EMAIL_SENT', 0, 'mails sent per hour in total, across nodes with Redis (0: no limit)', 0),
  }),
  bcrypt_cost: int('BCRYPT_COST', 10, 'bcrypt cost for new password hashes', 4, 15),
  bcrypt_max_cost: int('BCRYPT_MAX_COST', 14, 'highest bcrypt cost accepted in a supplied hash (admin password_hash, import) or verified at login', 4, 31),
  user_data_schema: str('USER_DATA_SCHEMA', '', 'JSON Schema (inline JSON, or file:PATH) that user_metadata must satisfy on signup, PUT /user and admin updates'),
  redis_url: str('REDIS_URL', '', 'Redis URL for limits shared across nodes (empty: in memory)', { secret: true }),
  api: T.Object({
    host: str('API_HOST', '', 'listen address (empty: all interfaces)'),
    port: int('API_PORT', 8081, 'listen port', 0, 65535, { alt: ['PORT'] }),
    endpoint: str('API_ENDPOINT', '', 'public URL of this API, echoed by the operator API'),
    request_id_header: str('API_REQUEST_ID_HEADER', '', 'inbound header to take the request id from', { alt: ['REQUEST_ID_HEADER'] }),
    export_secret: str('API_EXPORT_SECRET', '', 'enables GET /admin/users/export; required in its EXPORT_SECRET header', { secret: true }),
    max_body_bytes: int('API_MAX_BODY_BYTES', 1024 * 1024, 'largest accepted request body in bytes', 1024, 64 * 1024 * 1024),
  }),
  db: T.Object({
    driver: oneOf('DB_DRIVER', ['sqlite', 'mysql'], 'sqlite', 'storage driver: sqlite (embedded default) or mysql'),
    url: str('DB_DATABASE_URL', '', 'sqlite: file path or :memory: (default ./data/gotrue.db); mysql: DSN or mysql:// URL', { alt: ['DATABASE_URL'], secret: true }),
    namespace: str('DB_NAMESPACE', '', 'prefix for every table name (tables become <ns>_users, …)'),
    migrations_path: str('DB_MIGRATIONS_PATH', '', 'directory of migration files (default: the bundled ones)'),
    automigrate: bool('DB_AUTOMIGRATE', false, 'apply pending migrations when serve starts'),
    pool_size: int('DB_POOL_SIZE', 10, 'MySQL connections per pool (one pool for single statements, one for transactions)', 1, 1000),
    encryption_key: str('DB_ENCRYPTION_KEY', '', 'key that encrypts secrets at rest: MFA TOTP secrets, and in multi-instance mode instance secrets (JWT secrets, SMTP and OAuth passwords); generated beside the SQLite file when unset', { secret: true }),
    sqlite_mmap_mb: int('DB_SQLITE_MMAP_MB', 1024, 'SQLite: MiB of the database file read through memory-mapped I/O (0: off). Keeps lookups in a large database as fast as in a small one; a disk read error then ends the process instead of failing one request', 0, 1 << 20),
    check_every_commit: bool('DB_CHECK_EVERY_COMMIT', false, 'MySQL: begin every transaction with a savepoint that its COMMIT checks, as on a Galera node, even where the server does not say it is one (a proxy such as ProxySQL or MaxScale in front of a Galera cluster, or a wsrep provider loaded after the connection opened); two statements more per transaction'),
    query_timeout: dur('DB_QUERY_TIMEOUT', 30, 'MySQL: longest a statement may take before its connection is dropped and the request gets a 503 (0: no limit)'),
  }),
  metrics: T.Object({
    enabled: bool('METRICS_ENABLED', true, 'serve Prometheus metrics at GET /metrics'),
    port: int('METRICS_PORT', 0, 'serve /metrics on this port instead of the API port (0: the API port)', 0, 65535),
    token: str('METRICS_TOKEN', '', 'bearer token GET /metrics requires (Prometheus `authorization`); on the API port /metrics is served only when it is set', { secret: true }),
  }),
  log: T.Object({
    level: oneOf('LOG_LEVEL', ['panic', 'fatal', 'error', 'warn', 'info', 'debug', 'trace'], 'info', 'log level', ),
    file: str('LOG_FILE', '', 'append logs to this file instead of stderr'),
    disable_colors: bool('LOG_DISABLE_COLORS', false, 'accepted for compatibility (logs are JSON lines)'),
    quote_empty_fields: bool('LOG_QUOTE_EMPTY_FIELDS', false, 'accepted for compatibility (logs are JSON lines)'),
    ts_format: str('LOG_TSFORMAT', '', 'accepted for compatibility (timestamps are RFC 3339)'),
    fields: map('LOG_FIELDS', 'static fields added to every log line, k1:v1,k2:v2'),
  }),
  tracing: T.Object({
    enabled: bool('TRACING_ENABLED', false, 'send request spans to a tracing agent'),
    host: str('TRACING_HOST', '', 'tracing agent host'),
    port: str('TRACING_PORT', '', 'tracing agent port'),
    service_name: str('TRACING_SERVICE_NAME', 'gotrue', 'service name on spans', { alt: ['GOTRUE_SERVICE_NAME', 'SERVICE_NAME'] }),
    tags: map('TRACING_TAGS', 'global span tags, k1:v1,k2:v2'),
    otlp_endpoint: str('TRACING_OTLP_ENDPOINT', '', 'OTLP/HTTP JSON endpoint, e.g. http://collector:4318/v1/traces'),
  }),
  jwt: T.Object({
    secret: str('JWT_SECRET', '', 'HS256 signing key for access tokens (generated beside the SQLite file when unset)', { secret: true }),
    exp: int('JWT_EXP', 3600, 'access token lifetime in seconds', 0, 365 * 86400),
    aud: str('JWT_AUD', '', 'default audience'),
    audiences: list('JWT_AUDIENCES', 'further audiences (X-JWT-AUD) /signup may create users in, besides JWT_AUD and audiences that already have users'),
    admin_group_name: str('JWT_ADMIN_GROUP_NAME', 'admin', 'role that makes a user an admin of its audience'),
    default_group_name: str('JWT_DEFAULT_GROUP_NAME', '', 'role given to new users'),
    refresh_token_lifetime: int('JWT_REFRESH_TOKEN_LIFETIME', 2592000, 'refresh token idle lifetime in seconds', 0),
    keys: str('JWT_KEYS', '', 'signing keys: a JSON array of JWKs (supabase/auth format; kid, alg RS256|ES256|EdDSA|HS256; the one with key_ops ["sign"] signs) or file:PATH; unset: HS256 with JWT_SECRET', { secret: true }),
    valid_methods: list('JWT_VALID_METHODS', 'algorithms accepted on access tokens when JWT_KEYS is set (default: those of the keys, plus HS256 for JWT_SECRET)'),
    issuer: str('JWT_ISSUER', '', 'the `iss` claim of access tokens and the issuer of /.well-known/openid-configuration (its jwks_uri is ISSUER/.well-known/jwks.json)'),
  }),
  security: T.Object({
    refresh_token_rotation_enabled: bool('SECURITY_REFRESH_TOKEN_ROTATION_ENABLED', true, 'rotate refresh tokens on every use'),
    refresh_token_reuse_interval: int('SECURITY_REFRESH_TOKEN_REUSE_INTERVAL', 10, 'seconds a rotated refresh token may be replayed (returns the same successor); later reuse revokes the family', 0, 3600),
    update_password_require_reauthentication: bool('SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION', false, 'PUT /user changes the password of a session older than 24 hours only with the `nonce` that GET /reauthenticate mails (supabase\'s secure password change)'),
  }),
  mfa: T.Object({
    enabled: bool('MFA_ENABLED', true, 'multi-factor authentication: TOTP factors and recovery codes (/factors)'),
    max_enrolled_factors: int('MFA_MAX_ENROLLED_FACTORS', 10, 'most factors (verified or not) a user may have', 1, 100),
    challenge_expiry_duration: dur('MFA_CHALLENGE_EXPIRY_DURATION', 300, 'how long a challenge may be verified'),
    rate_limit_challenge_and_verify: int('MFA_RATE_LIMIT_CHALLENGE_AND_VERIFY', 15, 'challenge and verify requests per minute per client (0: off); failed verifications are also limited per factor', 0),
    require_aal2_for_changes: bool('MFA_REQUIRE_AAL2_FOR_CHANGES', true, 'a user with a verified factor needs an aal2 session to change their password or email'),
  }),
  sessions: T.Object({
    timebox: dur('SESSIONS_TIMEBOX', 0, 'longest a session (a refresh-token family) lives from its login, however often it is refreshed (0: no limit)'),
    inactivity_timeout: dur('SESSIONS_INACTIVITY_TIMEOUT', 0, 'a session not refreshed for this long ends (0: no limit besides JWT_REFRESH_TOKEN_LIFETIME)'),
    single_per_user: bool('SESSIONS_SINGLE_PER_USER', false, 'a new login (password, verify link, external provider) ends every other session of the user'),
  }),
  password: T.Object({
    min_length: int('PASSWORD_MIN_LENGTH', 8, 'minimum password length for new passwords', 1, 72),
  }),
  smtp: T.Object({
    host: str('SMTP_HOST', '', 'SMTP server; empty: mails are written to the outbox folder instead'),
    port: int('SMTP_PORT', 587, 'SMTP port (465: implicit TLS; otherwise STARTTLS when offered)', 1, 65535),
    user: str('SMTP_USER', '', 'SMTP user'),
    pass: str('SMTP_PASS', '', 'SMTP password', { secret: true }),
    admin_email: str('SMTP_ADMIN_EMAIL', 'admin@localhost', 'From: address of every mail'),
    max_frequency: dur('SMTP_MAX_FREQUENCY', 900, 'minimum interval between confirmation / recovery mails to one user (900, 900s, 15m)'),
    outbox_dir: str('SMTP_OUTBOX_DIR', './outbox', 'folder for .eml files when no SMTP host is set'),
  }),
  mailer: T.Object({
    autoconfirm: bool('MAILER_AUTOCONFIRM', false, 'confirm new users without a mail'),
    subjects: allMailKinds('MAILER_SUBJECTS', 'mail subject', ['You have been invited', 'Confirm Your Signup', 'Reset Your Password', 'Confirm Email Change', 'Your Magic Link', 'Confirm Reauthentication']),
    templates: allMailKinds('MAILER_TEMPLATES', 'template: a URL path on SITE_URL, or file:NAME in GOTRUE_MAILER_TEMPLATES_DIR', ['', '', '', '', '', '']),
    templates_dir: str('MAILER_TEMPLATES_DIR', './templates', 'folder that file: mail templates are read from; a file outside it (through .. or a symlink) is refused'),
    url_paths: mailKinds('MAILER_URLPATHS', 'path or URL of the link in the mail', ['/', '/', '/', '/', '/']),
    otp_exp: dur('MAILER_OTP_EXP', 3600, 'lifetime of a passwordless sign-in (magic link and its emailed code)'),
    otp_length: int('MAILER_OTP_LENGTH', 6, 'digits of the emailed sign-in code', 6, 10),
    otp_max_attempts: int('MAILER_OTP_MAX_ATTEMPTS', 5, 'wrong emailed codes for one address before its codes are void (a new one must be asked for)', 1),
    recovery_max_age: dur('MAILER_RECOVERY_MAX_AGE', 86400, 'recovery token lifetime'),
    confirmation_max_age: dur('MAILER_CONFIRMATION_MAX_AGE', 86400, 'confirmation and email-change token lifetime'),
    invite_max_age: dur('MAILER_INVITE_MAX_AGE', 7 * 86400, 'invite token lifetime'),
  }),
  external: T.Object({
    bitbucket: provider('bitbucket'),
    github: provider('github'),
    gitlab: provider('gitlab'),
    google: provider('google'),
    facebook: provider('facebook'),
    email: T.Object({ disabled: bool('EXTERNAL_EMAIL_DISABLED', false, 'disable email/password signup and login') }),
    saml: T.Object({
      enabled: bool('EXTERNAL_SAML_ENABLED', false, 'SAML sign-in (reported by /settings; not implemented)'),
      name: str('EXTERNAL_SAML_NAME', '', 'label shown in /settings external_labels.saml'),
      // The reference's SAML service-provider settings: accepted so existing configurations load, read by nothing.
      metadata_url: str('EXTERNAL_SAML_METADATA_URL', '', 'accepted for compatibility and ignored (SAML is not implemented): IdP metadata URL', { alt: ['METADATA_URL'] }),
      api_base: str('EXTERNAL_SAML_API_BASE', '', 'accepted for compatibility and ignored (SAML is not implemented): public base URL of this API', { alt: ['API_BASE'] }),
      signing_cert: str('EXTERNAL_SAML_SIGNING_CERT', '', 'accepted for compatibility and ignored (SAML is not implemented): SP certificate (PEM)', { alt: ['SIGNING_CERT'] }),
      signing_key: str('EXTERNAL_SAML_SIGNING_KEY', '', 'accepted for compatibility and ignored (SAML is not implemented): SP key (PEM)', { alt: ['SIGNING_KEY'], secret: true }),
    }),
    redirect_url: str('EXTERNAL_REDIRECTURL', '', 'where /callback always redirects (overrides referrer and SITE_URL)'),
    auth_code_lifetime: dur('EXTERNAL_AUTH_CODE_LIFETIME', 300, 'lifetime of the one-time ?code= of an external sign-in with PKCE (authorization_code and pkce grants); a mailed PKCE link lives as its mail'),
    pkce_plain_enabled: bool('EXTERNAL_PKCE_PLAIN_ENABLED', false, 'accept code_challenge_method=plain (S256 only otherwise)'),
  }),
  webhook: T.Object({
    url: str('WEBHOOK_URL', '', 'webhook receiver (absolute, or relative to SITE_URL)'),
    secret: str('WEBHOOK_SECRET', '', 'HS256 key of the x-webhook-signature header', { secret: true }),
    retries: int('WEBHOOK_RETRIES', 3, 'attempts per event', 0, 100),
    timeout_sec: int('WEBHOOK_TIMEOUTSEC', 5, 'per-attempt timeout in seconds', 0, 600, { alt: ['GOTRUE_WEBHOOK_TIMEOUT_SEC'] }),
    events: list('WEBHOOK_EVENTS', `events sent: ${WEBHOOK_EVENTS.join(',')}`),
    allow_local: bool('WEBHOOK_ALLOW_LOCAL', false, 'allow webhook and template URLs on loopback/private addresses'),
    max_in_flight: int('WEBHOOK_MAX_IN_FLIGHT', 100, 'session and factor notifications being sent at once (per process and site); past it a notification is dropped, with a warning at most once a second', 1, 100000),
  }),
  cookie: T.Object({
    key: str('COOKIE_KEY', 'nf_jwt', 'cookie name of the access token in cookie mode (X-Use-Cookie)'),
    duration: int('COOKIE_DURATION', 86400, 'cookie Max-Age in seconds', 0),
  }),
})

/** Every leaf of the schema with its path, for loading and for documentation. */
export function describeConfig(): { path: string[]; env: string; alt: string[]; kind: Kind; def: unknown; doc: string; secret: boolean }[] {
  const rows: ReturnType<typeof describeConfig> = []
  const walk = (s: TSchema, path: string[]) => {
    const m = s as TSchema & Partial<Meta> & { properties?: Record<string, TSchema>; default?: unknown }
    if (m.env) {
      const alt = m.alt ?? [] // full names: unprefixed reference names or README spellings
      rows.push({ path, env: `GOTRUE_${m.env}`, alt, kind: m.kind as Kind, def: m.default, doc: m.doc ?? '', secret: !!m.secret })
    } else for (const [k, v] of Object.entries(m.properties ?? {})) walk(v, [...path, k])
  }
  walk(ConfigSchema, [])
  return rows
}

/** The schema node at a path of describeConfig(): a leaf carries its Meta (kind, bounds, enum values). */
export function schemaAt(path: string[]): TSchema {
  let s: TSchema = ConfigSchema
  for (const k of path) s = (s as TSchema & { properties: Record<string, TSchema> }).properties[k] as TSchema
  return s
}
