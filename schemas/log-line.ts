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
