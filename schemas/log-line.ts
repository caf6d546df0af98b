// A stored log line as the query API answers it (/v1/logs, /v1/tail events) and the web UI reads it.
export interface LogLine {
  ts: string
  host: string
  service: string
  pid: number
  level: string
  msg: string
  fields: Record<string, unknown>
  /** the line identity: its file's content fingerprint and the line's byte offset in it */
  source: string
  path: string
  offset: number
  flags: string[]
  /** set on lines returned only as context around a match */
  context?: boolean
}

/** A line's values as its sources hold them: a stored row (numbers may arrive as strings) or a
 *  v1 record off Kafka. */
export interface LogLineValues {
  tsMs: number
  host: string
  service: string
  pid: number | string
  level: string
  msg: string
  fields: Record<string, unknown>
  source: string
  path: string
  offset: number | string
  flags: string[]
}

/** The LogLine of one line; throws a RangeError when `tsMs` is not a time. */
export function toLogLine (v: LogLineValues): LogLine {
  return { ts: new Date(v.tsMs).toISOString(), host: v.host, service: v.service, pid: Number(v.pid), level: v.level, msg: v.msg, fields: v.fields, source: v.source, path: v.path, offset: Number(v.offset), flags: v.flags }
}
