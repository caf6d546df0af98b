// The shared filter language and time expressions: what each text parses to, the exact 400
// for each mistake, and the JS matcher the live tail uses (the SQL side is in
// test/integration/query-filters.test.ts, on the same cases).
import { describe, expect, it } from 'vitest'
import { compileLogFilter, filterSql, matchesField, parseFieldFilter, parseLogFilter, prefilterLiterals } from '../../schemas/log-filter.js'
import { parseDurationMs, parseTime, timeRange } from '../../schemas/time-expr.js'
import { describeValidation } from '../../query-api/param-errors.js'

describe('parseFieldFilter', () => {
  const ok: Array<[string, string[], string, string | number]> = [
    ['responseTime>=500', ['responseTime'], 'ge', 500],
    ['responseTime>499.5', ['responseTime'], 'gt', 499.5],
    ['latency<=-1e3', ['latency'], 'le', -1000],
    ['n<3', ['n'], 'lt', 3],
    ['err.code:ECONNRESET', ['err', 'code'], 'eq', 'ECONNRESET'],
    ['err.code=ECONNRESET', ['err', 'code'], 'eq', 'ECONNRESET'],
    ['user.id!:42', ['user', 'id'], 'ne', '42'],
    ['user.id!=42', ['user', 'id'], 'ne', '42'],
    ['url:/a?b=c:d', ['url'], 'eq', '/a?b=c:d'],
    ['name:', ['name'], 'eq', ''],
    ['trace?', ['trace'], 'exists', ''],
    ['!req.headers.x-id?', ['req', 'headers', 'x-id'], 'absent', '']
  ]
  for (const [text, path, op, v] of ok) {
    it(`${text} → ${path.join('.')} ${op} ${v}`, () => {
      const f = parseFieldFilter(text)
      expect([f.path, f.op, typeof v === 'number' ? f.num : f.value]).toEqual([path, op, v])
    })
  }
  const bad: Array<[string, string]> = [
    ['responseTime', "invalid query parameter 'field': expected PATH:VALUE, PATH!:VALUE, PATH>=N (also > <= <), PATH? (exists) or !PATH? (absent), e.g. responseTime>=500 or err.code:ECONNRESET; got 'responseTime'"],
    ['responseTime>=fast', "invalid query parameter 'field': compares numbers: expected a number after the operator (e.g. responseTime>=500); got 'responseTime>=fast'"],
    ['a..b:1', "invalid query parameter 'field': has an empty key in its dotted path (a.b.c); got 'a..b:1'"],
    [':x', "invalid query parameter 'field': expected PATH:VALUE, PATH!:VALUE, PATH>=N (also > <= <), PATH? (exists) or !PATH? (absent), e.g. responseTime>=500 or err.code:ECONNRESET; got ':x'"]
  ]
  for (const [text, message] of bad) it(`rejects ${text}`, () => { expect(() => parseFieldFilter(text)).toThrow(message) })
})

describe('parseLogFilter', () => {
  it('levels are case-insensitive, hosts lower-cased, lists split on commas', () => {
    expect(parseLogFilter({ level: 'ERROR', host: ['WEB-1,web-2'], not_level: 'Debug', service: 'api', not_service: ['x', 'y'], v: 'request completed' })).toEqual({
      hosts: ['web-1', 'web-2'], notHosts: [], services: ['api'], notServices: ['x', 'y'], level: 'error', notLevels: ['debug'], fields: [], exclude: ['request completed']
    })
  })
  const bad: Array<[Parameters<typeof parseLogFilter>[0], string]> = [
    [{ level: '50' }, "invalid query parameter 'level': must be one of trace, debug, info, warn, error, fatal (case-insensitive); got '50'"],
    [{ not_level: 'info,loud' }, "invalid query parameter 'not_level': must be one of trace, debug, info, warn, error, fatal (case-insensitive); got 'loud'"],
    [{ field: Array.from({ length: 21 }, (_, i) => `k${i}?`) }, "invalid query parameter 'field': at most 20 field filters; got 21"]
  ]
  for (const [qs, message] of bad) it(`rejects ${JSON.stringify(qs).slice(0, 60)}`, () => { expect(() => parseLogFilter(qs)).toThrow(message) })
})

describe('field matching in Node (the tail) follows ClickHouse JSONExtract semantics', () => {
  const fields = { responseTime: 500, s: '500', ok: true, nul: null, err: { code: 'ECONNRESET', errno: -104 }, empty: '' }
  const cases: Array<[string, boolean]> = [
    ['responseTime>=500', true], ['responseTime>500', false], ['responseTime<=500', true], ['responseTime<501', true],
    ['s>=500', false], // a string never compares as a number
    ['missing>=0', false],
    ['responseTime:500', true], ['s:500', true], ['ok:true', true], ['err.code:ECONNRESET', true], ['err.code:econnreset', false],
    ['err.errno:-104', true], ['err.code!:ECONNRESET', false], ['err.code!:EPIPE', true], ['missing!:x', true],
    ['empty:', true], ['nul:', false], ['missing:', false],
    ['nul?', true], ['err.code?', true], ['missing?', false], ['!missing?', true], ['!err?', false], ['err.code.deeper?', false]
  ]
  for (const [text, want] of cases) it(`${text} → ${want}`, () => { expect(matchesField(parseFieldFilter(text), fields)).toBe(want) })

  it('combines host, level, exclusions and fields', () => {
    const m = compileLogFilter(parseLogFilter({ host: 'WEB-2', level: 'warn', not_level: 'fatal', field: 'responseTime>=500', v: 'COMPLETED' }), true)
    const line = { host: 'web-2', service: 'api', level: 'error', msg: 'slow', fields: { responseTime: 700 } }
    expect(m(line, '{"responseTime":700}')).toBe(true)
    expect(m({ ...line, host: 'web-1' }, '{}')).toBe(false)
    expect(m({ ...line, level: 'info' }, '{}')).toBe(false)
    expect(m({ ...line, level: 'fatal' }, '{}')).toBe(false)
    expect(m({ ...line, msg: 'request completed' }, '{}')).toBe(false)
    expect(m({ ...line, fields: { responseTime: 10 } }, '{}')).toBe(false)
  })

  it('binds every value as a parameter: the SQL text holds none of them', () => {
    const params: Record<string, unknown> = {}
    const sql = filterSql(parseLogFilter({ host: "h'; DROP", field: ["a.b'c:x'y", 'n>=5'], v: "z'" }), params).join(' AND ')
    expect(sql).not.toContain("'; DROP")
    expect(sql).not.toContain("x'y")
    expect(sql).toBe("lower(host) IN {lfhosts:Array(String)} AND (position(fields, {lff0p0:String}) > 0 AND position(fields, {lff0p1:String}) > 0 AND position(fields, {lff0p2:String}) > 0 OR position(fields, '\\\\') > 0) AND (JSONExtractString(fields, {lff0k0:String}, {lff0k1:String}) = {lff0v:String}) AND (position(fields, {lff1p0:String}) > 0 OR position(fields, '\\\\') > 0) AND toFloat64OrNull(JSONExtractRaw(fields, {lff1k0:String})) >= {lff1v:Float64} AND NOT (position(msg, {lfx0:String}) > 0 OR position(fields, {lfx0:String}) > 0)")
    expect(params).toEqual({ lfhosts: ["h'; drop"], lff0k0: 'a', lff0k1: "b'c", lff0p0: '"a"', lff0p1: `"b'c"`, lff0p2: "x'y", lff0v: "x'y", lff1k0: 'n', lff1p0: '"n"', lff1v: 5, lfx0: "z'" })
  })
})

describe('prefilterLiterals: texts a backslash-free fields JSON must contain', () => {
  const cases: Array<[string, string[]]> = [
    ['err.code:ECONNRESET', ['"err"', '"code"', 'ECONNRESET']],
    ['status:500', ['"status"']], // 500 may be written 500.0 or 5e2
    ['obj:{"a":1}', ['"obj"']],
    ['responseTime>=500', ['"responseTime"']],
    ['trace?', ['"trace"']],
    ['err.code!:EPIPE', []],
    ['!trace?', []]
  ]
  for (const [text, want] of cases) it(`${text} → ${JSON.stringify(want)}`, () => { expect(prefilterLiterals(parseFieldFilter(text))).toEqual(want) })
})

describe('time expressions (UTC)', () => {
  const now = Date.parse('2026-12-05T16:20:00.000Z')
  const cases: Array<[string, string | null]> = [
    ['15:48', '2026-12-05T15:48:00.000Z'],
    ['15:48:30', '2026-12-05T15:48:30.000Z'],
    ['9:05', '2026-12-05T09:05:00.000Z'],
    ['1h30m', '2026-12-05T14:50:00.000Z'],
    ['90s', '2026-12-05T16:18:30.000Z'],
    ['yesterday', '2026-12-04T00:00:00.000Z'],
    ['Today', '2026-12-05T00:00:00.000Z'],
    ['now', '2026-12-05T16:20:00.000Z'],
    ['2026-12-05 15:48:30', '2026-12-05T15:48:30.000Z'],
    ['2026-12-05T15:48:30+01:00', '2026-12-05T14:48:30.000Z'],
    ['25:00', null], ['15:61', null], ['1h30', null], ['soon', null]
  ]
  for (const [text, want] of cases) it(`${text} → ${want}`, () => { const t = parseTime(text, now); expect(t === null ? null : new Date(t).toISOString()).toBe(want) })
  it('durations add up', () => { expect([parseDurationMs('1h30m'), parseDurationMs('1.5h'), parseDurationMs('2d'), parseDurationMs('500ms'), parseDurationMs('5')]).toEqual([5_400_000, 5_400_000, 172_800_000, 500, null]) })

  const o = { defaultSinceMs: 86_400_000, maxRangeDays: 31, now }
  it('around ± window', () => {
    expect(timeRange({ around: '2026-12-05T15:48:30Z', window: '30s' }, o)).toEqual({ since: Date.parse('2026-12-05T15:48:00Z'), until: Date.parse('2026-12-05T15:49:00Z') })
    expect(timeRange({ around: '15:48' }, o)).toEqual({ since: Date.parse('2026-12-05T15:47:30Z'), until: Date.parse('2026-12-05T15:48:30Z') })
  })
  const bad: Array<[Parameters<typeof timeRange>[0], string]> = [
    [{ since: '15:48 today' }, `invalid query parameter 'since': expected a duration ago (15m, 1h30m, 7d), a time of day in UTC (15:48, 15:48:30), today, yesterday, now, or an ISO-8601 time (2026-12-05T15:48:30Z); got "15:48 today"`],
    [{ since: '1h', until: '2h' }, "invalid query parameter 'until': is before since (2026-12-05T14:20:00.000Z < 2026-12-05T15:20:00.000Z)"],
    [{ around: '15:48', since: '1h' }, "invalid query parameter 'around': cannot be combined with since or until (around T covers T - window to T + window)"],
    [{ around: '15:48', window: 'wide' }, `invalid query parameter 'window': expected a duration like 30s, 5m or 1h30m; got "wide"`],
    [{ window: '30s' }, "invalid query parameter 'window': needs around (the time the window is centred on)"],
    [{ since: '40d' }, "invalid query parameter 'since': time range exceeds the maximum of 31 days"]
  ]
  for (const [p, message] of bad) it(`rejects ${JSON.stringify(p)}`, () => { expect(() => timeRange(p, o)).toThrow(message) })
})

describe('describeValidation', () => {
  it('a union of constants lists them and what came', () => {
    const union = { anyOf: [{ const: 'asc' }, { const: 'desc' }] }
    expect(describeValidation([
      { keyword: 'const', instancePath: '/order', params: {}, message: 'must be equal to constant', parentSchema: { const: 'asc' }, data: 'up' },
      { keyword: 'anyOf', instancePath: '/order', params: {}, message: 'must match a schema in anyOf', parentSchema: union, data: 'up' }
    ])).toEqual({ name: 'order', why: "must be one of asc, desc; got 'up'" })
  })
  it('integers name their bounds; unknown parameters list the accepted ones', () => {
    expect(describeValidation([{ keyword: 'maximum', instancePath: '/limit', params: {}, parentSchema: { type: 'integer', minimum: 1, maximum: 5000 }, data: 6000 }])).toEqual({ name: 'limit', why: "must be a whole number from 1 to 5000; got '6000'" })
    expect(describeValidation([{ keyword: 'additionalProperties', instancePath: '', params: { additionalProperty: 'format' }, parentSchema: { properties: { q: {}, since: {} } } }])).toEqual({ name: 'format', why: 'unknown parameter; accepted: q, since' })
  })
})
