// Wire format v1: the record shapes every stage shares. TypeBox gives the JSON Schema (for
// runtime validation and docs) and the TypeScript type from one definition.
import { FormatRegistry, Type, type Static } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'

export const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const
export type Level = typeof levels[number]
export const levelNum: Record<Level, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }

/** bytes the line takes in its source, its newline included: the next line starts at off + len
 *  (absent or 0: unknown — an over-long line whose end was not read when it was shipped) */
const lineLen = Type.Integer({ minimum: 0, maximum: 4294967295, description: 'bytes of the line in its source including its newline: the next line starts at off + len (0 or absent: unknown)' })

export const LogRecordV1 = Type.Object({
  v: Type.Literal(1),
  kind: Type.Literal('log'),
  ts: Type.String({ format: 'date-time', description: 'event time, ISO-8601 UTC with milliseconds' }),
  host: Type.String({ minLength: 1, maxLength: 255 }),
  service: Type.String({ minLength: 1, maxLength: 255 }),
  pid: Type.Integer({ minimum: 0 }),
  level: Type.Union(levels.map(l => Type.Literal(l))),
  msg: Type.String(),
  fields: Type.Record(Type.String(), Type.Unknown(), { description: 'all other structured fields of the line' }),
  src: Type.String({ minLength: 1, description: 'stable source identity: content fingerprint of the file' }),
  path: Type.String({ description: 'file path when the line was read' }),
  off: Type.Integer({ minimum: 0, description: 'byte offset of the line within its source' }),
  flags: Type.Array(Type.String(), { description: 'e.g. truncated, not_json, invalid_utf8, no_ts' }),
  len: Type.Optional(lineLen)
}, { additionalProperties: true })
export type LogRecordV1 = Static<typeof LogRecordV1>

export const StatsRecordV1 = Type.Object({
  v: Type.Literal(1),
  kind: Type.Literal('stats'),
  ts: Type.String({ format: 'date-time' }),
  host: Type.String({ minLength: 1, maxLength: 255 }),
  service: Type.String({ minLength: 1, maxLength: 255 }),
  pid: Type.Integer({ minimum: 0 }),
  metrics: Type.Record(Type.String(), Type.Number(), { description: 'metric name -> value' }),
  src: Type.String({ minLength: 1 }),
  off: Type.Integer({ minimum: 0 }),
  len: Type.Optional(lineLen)
}, { additionalProperties: true })
export type StatsRecordV1 = Static<typeof StatsRecordV1>

/** what the shipper knows of one file it tails (docs/gaps.md) */
export const progressStates = ['active', 'rotated', 'finished', 'deleted', 'lost', 'host'] as const
export type ProgressState = typeof progressStates[number]

/** bytes [from, to) of a source the shipper will never send, and why (to null: end unknown) */
export const DroppedRange = Type.Object({
  from: Type.Integer({ minimum: 0 }),
  to: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  reason: Type.String({ minLength: 1, maxLength: 64, description: 'partial_last_line, compressed, deleted' })
}, { additionalProperties: false })
export type DroppedRange = Static<typeof DroppedRange>

// A progress record travels on the logs topic with the host's key, behind the lines it reports:
// once the collector has stored it, every line below `acked` has been stored (or dead-lettered).
export const ProgressRecordV1 = Type.Object({
  v: Type.Literal(1),
  kind: Type.Literal('progress'),
  ts: Type.String({ format: 'date-time', description: 'when the shipper reported' }),
  host: Type.String({ minLength: 1, maxLength: 255 }),
  service: Type.String({ maxLength: 255 }),
  src: Type.String({ description: 'content fingerprint of the file; empty in a host heartbeat (state "host")' }),
  path: Type.String(),
  size: Type.Integer({ minimum: 0, description: 'file size at last sight' }),
  acked: Type.Integer({ minimum: 0, description: 'bytes from the start of the file acknowledged by Kafka' }),
  state: Type.Union(progressStates.map(s => Type.Literal(s))),
  reason: Type.Optional(Type.String({ maxLength: 1000 })),
  dropped: Type.Array(DroppedRange, { maxItems: 1000 })
}, { additionalProperties: true })
export type ProgressRecordV1 = Static<typeof ProgressRecordV1>

const isoRe = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/
/** the v1 'date-time' format: what validateRecord accepts for `ts` */
export function isV1DateTime (v: string): boolean { return isoRe.test(v) && !Number.isNaN(Date.parse(v)) }
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', isV1DateTime)

const logCheck = TypeCompiler.Compile(LogRecordV1)
const statsCheck = TypeCompiler.Compile(StatsRecordV1)
const progressCheck = TypeCompiler.Compile(ProgressRecordV1)

/** Validate a parsed v1 record; returns a one-line reason or null when valid. */
export function validateRecord (value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'record is not a JSON object'
  const kind = (value as { kind?: unknown }).kind
  const check = kind === 'log' ? logCheck : kind === 'stats' ? statsCheck : kind === 'progress' ? progressCheck : null
  if (check === null) return `unknown record kind ${JSON.stringify(kind)} (expected "log", "stats" or "progress")`
  if (!check.Check(value)) {
    const first = check.Errors(value).First()
    return first !== undefined ? `${first.path || '/'}: ${first.message}` : 'does not match the v1 schema'
  }
  return null
}
