// The log filter: one definition for /v1/logs, /v1/tail, /v1/histogram and the CLI.
//   query string ──parseLogFilter──▶ LogFilter ──filterSql──▶ ClickHouse WHERE (bound parameters)
//                                              └─matchesLine─▶ the live tail, in Node
// Field filters address the `fields` JSON by dotted path: `responseTime>=500`,
// `err.code:ECONNRESET`, `user.id!:42`, `trace?` (exists), `!trace?` (absent).
import { Type } from '@sinclair/typebox'
import { levels, levelNum, type Level } from './records.js'
import { errors } from '../platform/errors.js'

export type FieldOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le' | 'exists' | 'absent'
export interface FieldFilter { path: string[], op: FieldOp, value: string, num?: number, text: string }

/** The parsed form every consumer shares. Hosts are compared case-insensitively (DNS names are). */
export interface LogFilter {
  hosts: string[]
  notHosts: string[]
  services: string[]
  notServices: string[]
  /** minimum level */
  level?: Level
  notLevels: Level[]
  fields: FieldFilter[]
  /** lines containing none of these (grep -v), case-insensitive with i */
  exclude: string[]
}

export const maxFieldFilters = 20
const listParam = (description: string) => Type.Union([Type.String({ maxLength: 255 }), Type.Array(Type.String({ maxLength: 255 }), { maxItems: 100 })], { description })

/** The query parameters of the filter, as TypeBox properties every route spreads into its schema. */
export const filterParams = {
  host: Type.Optional(listParam('host (case-insensitive), repeatable or comma-separated')),
  not_host: Type.Optional(listParam('exclude these hosts')),
  service: Type.Optional(listParam('service, repeatable or comma-separated')),
  not_service: Type.Optional(listParam('exclude these services')),
  level: Type.Optional(Type.String({ maxLength: 16, description: `minimum level: ${levels.join(', ')} (case-insensitive)` })),
  not_level: Type.Optional(listParam('exclude these exact levels')),
  field: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Array(Type.String({ maxLength: 1024 }), { maxItems: maxFieldFilters })], { description: 'field filter, repeatable: path:value, path!:value, path>=n, path>n, path<=n, path<n, path? (exists), !path? (absent); path is dotted (err.code); = and != may be used for : and !:' })),
  v: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 20 })], { description: 'exclude lines containing this text (grep -v), repeatable' }))
}

export interface FilterQuery { host?: string | string[], not_host?: string | string[], service?: string | string[], not_service?: string | string[], level?: string, not_level?: string | string[], field?: string | string[], v?: string | string[] }

/** A repeated or comma-separated query parameter as its non-empty values. */
export function paramValues (v: string | string[] | undefined): string[] {
  if (v === undefined) return []
  return (Array.isArray(v) ? v : [v]).flatMap(s => s.split(',')).filter(s => s !== '')
}

const levelHint = `must be one of ${levels.join(', ')} (case-insensitive)`

export function parseLevel (name: string, text: string): Level {
  const l = text.trim().toLowerCase()
  if (!(levels as readonly string[]).includes(l)) throw errors.BAD_PARAM(name, `${levelHint}; got ${quote(text)}`)
  return l as Level
}

function quote (s: string): string { return `'${s.replace(/'/g, "\\'")}'` }

const fieldSyntax = 'expected PATH:VALUE, PATH!:VALUE, PATH>=N (also > <= <), PATH? (exists) or !PATH? (absent), e.g. responseTime>=500 or err.code:ECONNRESET'
const ops: Array<[string, FieldOp]> = [['>=', 'ge'], ['<=', 'le'], ['!=', 'ne'], ['!:', 'ne'], ['>', 'gt'], ['<', 'lt'], ['=', 'eq'], [':', 'eq']]
const numberRe = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/

/** Parses one `field` parameter; a 400 naming what was wrong otherwise. */
export function parseFieldFilter (text: string): FieldFilter {
  const bad = (why: string): never => { throw errors.BAD_PARAM('field', `${why}; got ${quote(text)}`) }
  const presence = /^(!?)([^=:!<>?\s]+)\?$/.exec(text)
  let pathText: string
  let op: FieldOp
  let value = ''
  if (presence !== null) {
    pathText = presence[2]
    op = presence[1] === '!' ? 'absent' : 'exists'
  } else {
    const m = /^([^=:!<>?\s]+)(>=|<=|!=|!:|>|<|=|:)(.*)$/s.exec(text)
    if (m === null) return bad(fieldSyntax)
    pathText = m[1]
    op = ops.find(([o]) => o === m[2])![1]
    value = m[3]
  }
  const path = pathText.split('.')
  if (path.some(k => k === '')) bad('has an empty key in its dotted path (a.b.c)')
  if (path.length > 10) bad('has a path deeper than 10 keys')
  const f: FieldFilter = { path, op, value, text }
  if (op === 'gt' || op === 'ge' || op === 'lt' || op === 'le') {
    if (!numberRe.test(value)) bad(`compares numbers: expected a number after the operator (e.g. ${pathText}>=500)`)
    f.num = Number(value)
  }
  return f
}

export function parseLogFilter (qs: FilterQuery): LogFilter {
  const fieldTexts = qs.field === undefined ? [] : Array.isArray(qs.field) ? qs.field : [qs.field]
  if (fieldTexts.length > maxFieldFilters) throw errors.BAD_PARAM('field', `at most ${maxFieldFilters} field filters; got ${fieldTexts.length}`)
  return {
    hosts: paramValues(qs.host).map(h => h.toLowerCase()),
    notHosts: paramValues(qs.not_host).map(h => h.toLowerCase()),
    services: paramValues(qs.service),
    notServices: paramValues(qs.not_service),
    level: qs.level === undefined || qs.level === '' ? undefined : parseLevel('level', qs.level),
    notLevels: paramValues(qs.not_level).map(l => parseLevel('not_level', l)),
    fields: fieldTexts.map(parseFieldFilter),
    exclude: (qs.v === undefined ? [] : Array.isArray(qs.v) ? qs.v : [qs.v]).filter(s => s !== '')
  }
}

/**
 * WHERE conditions for the filter. Every value is a bound parameter (named `${prefix}…`);
 * the SQL text depends only on the filter's shape. `ci` makes the text exclusion case-insensitive.
 */
export function filterSql (f: LogFilter, params: Record<string, unknown>, ci = false, prefix = 'lf'): string[] {
  const where: string[] = []
  const bind = (name: string, v: unknown, type: string): string => { params[`${prefix}${name}`] = v; return `{${prefix}${name}:${type}}` }
  if (f.hosts.length > 0) where.push(`lower(host) IN ${bind('hosts', f.hosts, 'Array(String)')}`)
  if (f.notHosts.length > 0) where.push(`lower(host) NOT IN ${bind('nhosts', f.notHosts, 'Array(String)')}`)
  if (f.services.length > 0) where.push(`service IN ${bind('svcs', f.services, 'Array(String)')}`)
  if (f.notServices.length > 0) where.push(`service NOT IN ${bind('nsvcs', f.notServices, 'Array(String)')}`)
  if (f.level !== undefined && f.level !== 'trace') where.push(`level_num >= ${bind('lvl', levelNum[f.level], 'UInt8')}`)
  if (f.notLevels.length > 0) where.push(`level NOT IN ${bind('nlvls', f.notLevels, 'Array(String)')}`)
  f.fields.forEach((ff, i) => {
    const keys = ff.path.map((k, j) => bind(`f${i}k${j}`, k, 'String')).join(', ')
    // a cheap necessary condition first, so JSON is parsed only where it can match
    const lits = prefilterLiterals(ff)
    if (lits.length > 0) where.push(`(${lits.map((l, j) => `position(fields, ${bind(`f${i}p${j}`, l, 'String')}) > 0`).join(' AND ')} OR position(fields, '\\\\') > 0)`)
    switch (ff.op) {
      case 'exists': where.push(`JSONHas(fields, ${keys})`); break
      case 'absent': where.push(`NOT JSONHas(fields, ${keys})`); break
      case 'eq':
      case 'ne': {
        // JSONExtractString gives a string's text and any other value's JSON text ('500', 'true');
        // '' also stands for a missing key or null, so an empty value asks for the type too
        const eq = ff.value === ''
          ? `JSONType(fields, ${keys}) = 'String' AND JSONExtractString(fields, ${keys}) = ''`
          : `JSONExtractString(fields, ${keys}) = ${bind(`f${i}v`, ff.value, 'String')}`
        where.push(ff.op === 'eq' ? `(${eq})` : `NOT (${eq})`)
        break
      }
      default: {
        // only JSON numbers compare: a string's raw text keeps its quotes and parses to NULL
        const sym = { gt: '>', ge: '>=', lt: '<', le: '<=' }[ff.op]
        where.push(`toFloat64OrNull(JSONExtractRaw(fields, ${keys})) ${sym} ${bind(`f${i}v`, ff.num, 'Float64')}`)
      }
    }
  })
  f.exclude.forEach((v, i) => {
    const p = bind(`x${i}`, v, 'String')
    where.push(ci
      ? `NOT (positionCaseInsensitiveUTF8(msg, ${p}) > 0 OR positionCaseInsensitiveUTF8(fields, ${p}) > 0)`
      : `NOT (position(msg, ${p}) > 0 OR position(fields, ${p}) > 0)`)
  })
  return where
}

/**
 * Texts a line's `fields` must contain for the filter to hold, if the text has no backslash:
 * JSON without a backslash has no escapes, so every key on the path appears as "key" and a
 * string value as itself. Numbers are not included (500 may be written 500.0 or 5e2), nor
 * object or array values; negations (!:, !key?) have none. Lines holding a backslash are
 * always parsed (the caller ORs that in).
 */
export function prefilterLiterals (ff: FieldFilter): string[] {
  if (ff.op === 'ne' || ff.op === 'absent') return []
  const out = ff.path.map(k => JSON.stringify(k))
  if (ff.op === 'eq' && ff.value !== '' && !numberRe.test(ff.value) && !/^[[{]/.test(ff.value)) out.push(ff.value)
  return out
}

/** A value's text as ClickHouse's JSONExtractString gives it ('' for null). */
function textOf (v: unknown): string {
  if (typeof v === 'string') return v
  if (v === null || v === undefined) return ''
  return JSON.stringify(v)
}

function lookup (fields: Record<string, unknown>, path: string[]): { found: boolean, value?: unknown } {
  let cur: unknown = fields
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, k)) return { found: false }
    cur = (cur as Record<string, unknown>)[k]
  }
  return { found: true, value: cur }
}

export function matchesField (ff: FieldFilter, fields: Record<string, unknown>): boolean {
  const { found, value } = lookup(fields, ff.path)
  switch (ff.op) {
    case 'exists': return found
    case 'absent': return !found
    case 'eq':
    case 'ne': {
      const eq = ff.value === '' ? found && value === '' : found && textOf(value) === ff.value
      return ff.op === 'eq' ? eq : !eq
    }
    default: {
      if (typeof value !== 'number') return false
      const n = ff.num!
      return ff.op === 'gt' ? value > n : ff.op === 'ge' ? value >= n : ff.op === 'lt' ? value < n : value <= n
    }
  }
}

export interface FilterableLine { host: string, service: string, level: string, msg: string, fields: Record<string, unknown> }

/** The same filter in Node (the live tail). `fieldsJson` is the line's stored fields text. */
export function compileLogFilter (f: LogFilter, ci = false): (l: FilterableLine, fieldsJson: string) => boolean {
  const hosts = f.hosts.length > 0 ? new Set(f.hosts) : null
  const notHosts = new Set(f.notHosts)
  const services = f.services.length > 0 ? new Set(f.services) : null
  const notServices = new Set(f.notServices)
  const notLevels = new Set<string>(f.notLevels)
  const min = f.level !== undefined ? levelNum[f.level] : 0
  const exclude = ci ? f.exclude.map(s => s.toLowerCase()) : f.exclude
  return (l, fieldsJson) => {
    if (hosts !== null || notHosts.size > 0) {
      const host = l.host.toLowerCase()
      if (hosts !== null && !hosts.has(host)) return false
      if (notHosts.has(host)) return false
    }
    if (services !== null && !services.has(l.service)) return false
    if (notServices.has(l.service)) return false
    if (min > 0 && (levelNum[l.level as Level] ?? 0) < min) return false
    if (notLevels.has(l.level)) return false
    for (const ff of f.fields) if (!matchesField(ff, l.fields)) return false
    if (exclude.length > 0) {
      const msg = ci ? l.msg.toLowerCase() : l.msg
      const fj = ci ? fieldsJson.toLowerCase() : fieldsJson
      if (exclude.some(x => msg.includes(x) || fj.includes(x))) return false
    }
    return true
  }
}
