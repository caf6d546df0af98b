// One registry of named errors (fastify's FST_ERR_* idea): every code has a message
// template and, where it reaches HTTP, a status. Tests assert the exact messages.

export class SluiceError extends Error {
  readonly code: string
  readonly statusCode: number
  constructor (code: string, message: string, statusCode = 500) {
    super(message)
    this.name = 'SluiceError'
    this.code = code
    this.statusCode = statusCode
  }
}

type Factory<A extends unknown[]> = (...args: A) => SluiceError

function define<A extends unknown[]> (code: string, statusCode: number, message: (...args: A) => string): Factory<A> & { code: string } {
  const f = ((...args: A) => new SluiceError(code, message(...args), statusCode)) as Factory<A> & { code: string }
  f.code = code
  return f
}

export const errors = {
  CONFIG_INVALID: define('SLUICE_ERR_CONFIG_INVALID', 500, (name: string, value: string, why: string) => `${name}=${JSON.stringify(value)} is invalid: ${why}`),
  KAFKA_UNREACHABLE: define('SLUICE_ERR_KAFKA_UNREACHABLE', 503, (brokers: string, why: string) => `cannot reach Kafka at KAFKA_BROKERS=${brokers}: ${why}`),
  CLICKHOUSE_UNREACHABLE: define('SLUICE_ERR_CLICKHOUSE_UNREACHABLE', 503, (url: string, why: string) => `cannot reach ClickHouse at CLICKHOUSE_URL=${url}: ${why}`),
  PORT_IN_USE: define('SLUICE_ERR_PORT_IN_USE', 500, (bind: string, port: number) => `port ${port} on ${bind} is already in use: stop the other process or set SLUICE_PORT / --port`),
  KAFKA_LAUNCH_FAILED: define('SLUICE_ERR_KAFKA_LAUNCH_FAILED', 500, (why: string) => `could not start the local Kafka broker: ${why}`),
  EMBEDDED_LOCKED: define('SLUICE_ERR_EMBEDDED_LOCKED', 500, (dir: string) => `the embedded ClickHouse at ${dir} is used by another process (one process per data dir): stop it, use another SLUICE_DATA_DIR, or set CLICKHOUSE_URL`),
  BAD_PARAM: define('SLUICE_ERR_BAD_PARAM', 400, (name: string, why: string) => `invalid query parameter '${name}': ${why}`),
  BAD_CURSOR: define('SLUICE_ERR_BAD_CURSOR', 400, (why: string) => `invalid cursor: ${why}`),
  UNAUTHORIZED: define('SLUICE_ERR_UNAUTHORIZED', 401, () => 'missing or invalid bearer token (set Authorization: Bearer <token> from SLUICE_TOKENS)'),
  OVERLOADED: define('SLUICE_ERR_OVERLOADED', 503, (what: string) => `server overloaded (${what}); retry later`),
  TOO_MANY_TAILS: define('SLUICE_ERR_TOO_MANY_TAILS', 503, (max: number) => `too many concurrent tails (limit ${max}); retry later`),
  CLOSED: define('SLUICE_ERR_CLOSED', 500, (what: string) => `${what} is closed`),
  BAD_RULE: define('SLUICE_ERR_BAD_RULE', 400, (field: string, why: string, more: Array<[string, string]> = []) => `invalid alert rule: ${[[field, why], ...more].map(([f, w]) => `'${f}' ${w}`).join('; ')}`),
  RULE_NOT_FOUND: define('SLUICE_ERR_RULE_NOT_FOUND', 404, (id: string) => `no alert rule with id '${id}'`),
  RULE_EXISTS: define('SLUICE_ERR_RULE_EXISTS', 409, (id: string) => `an alert rule with id '${id}' already exists; use PUT /v1/alerts/rules/${id} to change it`),
  RULE_READONLY: define('SLUICE_ERR_RULE_READONLY', 409, (id: string, origin: string) => `alert rule '${id}' comes from ${origin} and cannot be changed through the API`),
  HOST_NOT_ALLOWED: define('SLUICE_ERR_HOST_NOT_ALLOWED', 421, (host: string) => `Host ${JSON.stringify(host)} is not allowed on a loopback bind (protection against DNS rebinding); to allow it, add it to SLUICE_ALLOWED_HOSTS (comma-separated host names)`),
  REQUEST_TIMEOUT: define('SLUICE_ERR_REQUEST_TIMEOUT', 408, (ms: number) => `the request was not received in full within ${ms} ms (SLUICE_REQUEST_TIMEOUT_MS); the connection is closed`),
  CLIENT_LIMIT: define('SLUICE_ERR_CLIENT_LIMIT', 429, (what: string, max: number) => `this client already holds ${max} ${what} (the per-client limit); retry later or finish the others first`),
  RESUME_BUSY: define('SLUICE_ERR_RESUME_BUSY', 503, (running: number, waiting: number) => `too many tails resuming from Kafka (${running} running, ${waiting} waiting); retry later`),
  RESUME_TOO_OLD: define('SLUICE_ERR_RESUME_TOO_OLD', 410, (oldest: string, max: number) => `Last-Event-ID is more than ${max} Kafka messages behind the live tail on some partition; the oldest position offered is ${oldest} (reconnect with it as Last-Event-ID; older lines are in /v1/logs)`),
  TOO_MANY_RULES: define('SLUICE_ERR_TOO_MANY_RULES', 409, (max: number) => `too many alert rules: this server evaluates at most ${max} (SLUICE_ALERT_MAX_RULES); delete a rule or raise the limit`),
  BAD_REQUEST: define('SLUICE_ERR_BAD_REQUEST', 400, (why: string) => why),
  INTERNAL: define('SLUICE_ERR_INTERNAL', 500, () => 'internal error; see the server log'),
  TOO_MANY_STREAMS: define('SLUICE_ERR_TOO_MANY_STREAMS', 503, (max: number) => `too many concurrent alert streams (limit ${max}); retry later`)
} as const

export type ErrorCode = (typeof errors)[keyof typeof errors]['code']
