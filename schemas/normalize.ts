// Turns one raw line of a log file into a wire-format v1 record. Never throws: a line that is
// not JSON, not UTF-8 or has no timestamp still becomes a record, flagged so it can be found.
import { isUtf8 } from 'node:buffer'
import { levelNum, levels, type Level, type LogRecordV1, type StatsRecordV1 } from './records.js'
import { maxJsonDepth, nestsDeeperThan } from './limits.js'

export interface LineContext {
  host: string
  service: string
  src: string
  path: string
  off: number
  /** ms since epoch, used when the line carries no timestamp */
  now: number
  truncated?: boolean
  /** bytes of the line in its source, newline included (the record's `len`; omitted: unknown) */
  len?: number
}

export const consumed = new Set(['v', 'time', 'ts', 'timestamp', '@timestamp', 'level', 'msg', 'message', 'host', 'hostname', 'service', 'pid', 'sluice_stats'])

/** consumed keys that are also kept in fields when their value is not the line's identity */
export const identityKeys = new Set(['host', 'hostname', 'service'])

// Identity comes from the pipeline, never from the logged object (README "Host and service"):
// service is the shipper's (the spool directory the transport writes to, or --service); host is
// the shipper's, except on lines sluice/transport wrote, which start with its own header
// `{"service":S,"host":H,"pid":N,` — trusted when S is that same service — and then H (the
// transport's `host` option). A line's own host/hostname/service stay in fields unless equal to
// the identity or, for host/hostname, to the shipper's host (pino writes the machine's hostname on
// every line, also when the transport's `host` option names the process differently).
const transportHead = /^\{"service":"([^"\\\x00-\x1f]{1,255})","host":"([^"\\\x00-\x1f]{1,255})","pid":\d{1,15},/

/** the host of a line: the transport's header host when the line has one for `service`, else `shipperHost` */
export function lineHost (text: string, shipperHost: string, service: string): string {
  if (text.charCodeAt(1) !== 34) return shipperHost
  const m = transportHead.exec(text)
  return m !== null && m[1] === service ? m[2] : shipperHost
}

/** flag of a line not parsed because it nests deeper than maxJsonDepth (the collector
 *  dead-letters such records, the live tail skips them) */
export const tooDeepFlag = 'too_deep'

export const statsKey = 'sluice_stats'

// node:buffer's native isUtf8 validates in one pass; decoding first and searching the text
// for U+FFFD scanned every line twice on the shipper's hot path
export function decodeLine (buf: Buffer): { text: string, validUtf8: boolean } {
  return { text: buf.toString('utf8'), validUtf8: isUtf8(buf) }
}

export function toLevel (raw: unknown): Level {
  if (typeof raw === 'number') {
    if (raw >= 60) return 'fatal'
    if (raw >= 50) return 'error'
    if (raw >= 40) return 'warn'
    if (raw >= 30) return 'info'
    if (raw >= 20) return 'debug'
    return 'trace'
  }
  if (typeof raw === 'string') {
    const l = raw.toLowerCase()
    if ((levels as readonly string[]).includes(l)) return l as Level
    if (l === 'warning') return 'warn'
    if (l === 'err' || l === 'critical') return 'error'
  }
  return 'info'
}

// Formatting a Date per line was ~7% of the shipper's CPU profile; lines of one second share the
// 'YYYY-MM-DDTHH:MM:SS.' prefix, so it is cached and only the milliseconds are appended.
let isoSecond = -1
let isoPrefix = ''
function isoOfMs (ms: number): string | null {
  if (ms >= 0 && ms < 253402300800000 /* year 10000: longer years change the format */) {
    const whole = Math.floor(ms)
    const sec = Math.floor(whole / 1000)
    if (sec !== isoSecond) { isoPrefix = new Date(sec * 1000).toISOString().slice(0, 20); isoSecond = sec }
    const frac = whole - sec * 1000
    return `${isoPrefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`
  }
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? null : d.toISOString()
}

export function toIso (raw: unknown): string | null {
  if (typeof raw === 'number' && Number.isFinite(raw)) {
    // seconds vs milliseconds: anything below year 2001 in ms is treated as seconds
    return isoOfMs(raw < 1e11 ? raw * 1000 : raw)
  }
  if (typeof raw === 'string' && raw.length >= 10 && raw.length <= 40) {
    const t = Date.parse(raw)
    return Number.isNaN(t) ? null : new Date(t).toISOString()
  }
  return null
}

export function normalizeLine (text: string, ctx: LineContext, validUtf8 = true): LogRecordV1 | StatsRecordV1 {
  const rec = recordOf(text, ctx, validUtf8)
  if (ctx.len !== undefined) rec.len = ctx.len
  return rec
}

function recordOf (text: string, ctx: LineContext, validUtf8: boolean): LogRecordV1 | StatsRecordV1 {
  const flags: string[] = []
  if (ctx.truncated === true) flags.push('truncated')
  if (!validUtf8) flags.push('invalid_utf8')
  let obj: Record<string, unknown> | null = null
  if (text.charCodeAt(0) === 123 /* { */ && ctx.truncated !== true) {
    try {
      const parsed: unknown = JSON.parse(text)
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) obj = parsed as Record<string, unknown>
    } catch { /* flagged below */ }
  }
  if (obj !== null && nestsDeeperThan(obj, maxJsonDepth)) {
    // not kept as fields: they could not be re-serialised; the raw line travels in msg
    flags.push(tooDeepFlag, 'no_ts')
    return { v: 1, kind: 'log', ts: new Date(ctx.now).toISOString(), host: ctx.host, service: ctx.service, pid: 0, level: 'info', msg: text, fields: {}, src: ctx.src, path: ctx.path, off: ctx.off, flags }
  }
  if (obj === null) {
    flags.push('not_json', 'no_ts')
    return { v: 1, kind: 'log', ts: new Date(ctx.now).toISOString(), host: ctx.host, service: ctx.service, pid: 0, level: 'info', msg: text, fields: {}, src: ctx.src, path: ctx.path, off: ctx.off, flags }
  }
  let ts = toIso(obj.time ?? obj.ts ?? obj.timestamp ?? obj['@timestamp'])
  if (ts === null) { ts = new Date(ctx.now).toISOString(); flags.push('no_ts') }
  const host = lineHost(text, ctx.host, ctx.service).slice(0, 255)
  const service = ctx.service.slice(0, 255)
  const pid = typeof obj.pid === 'number' && Number.isInteger(obj.pid) && obj.pid >= 0 ? obj.pid : 0

  const stats = obj[statsKey]
  if (stats !== null && typeof stats === 'object' && !Array.isArray(stats)) {
    const metrics: Record<string, number> = {}
    for (const [k, val] of Object.entries(stats as Record<string, unknown>)) {
      if (typeof val === 'number' && Number.isFinite(val)) metrics[k] = val
    }
    return { v: 1, kind: 'stats', ts, host, service, pid, metrics, src: ctx.src, off: ctx.off }
  }

  const rawMsg = obj.msg ?? obj.message
  const msg = typeof rawMsg === 'string' ? rawMsg : rawMsg === undefined ? '' : JSON.stringify(rawMsg)
  const fields: Record<string, unknown> = {}
  for (const k of Object.keys(obj)) {
    if (!consumed.has(k)) fields[k] = obj[k]
    else if (identityKeys.has(k) && (k === 'service' ? obj[k] !== service : obj[k] !== host && obj[k] !== ctx.host)) fields[k] = obj[k]
  }
  return { v: 1, kind: 'log', ts, host, service, pid, level: toLevel(obj.level), msg, fields, src: ctx.src, path: ctx.path, off: ctx.off, flags }
}

export { levelNum }
