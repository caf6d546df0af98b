// Log segments (schemas/segment.ts) carry plain JSON lines raw and leave their normalisation to
// the reader. Whatever a line holds, the collector must store exactly what it stores when the
// same line arrives as the v1 record the shipper would otherwise have sent: the same log rows,
// stats rows and dead letters, for the same (src, off) identity.
import { describe, expect, it } from 'vitest'
import { mutations } from '../helpers/mutate.js'
import { encodeBatch, type BatchContext } from '../../shipper/batch.js'
import { TailedLine, tailedLine, type Source } from '../../shipper/tailer.js'
import { addMessage } from '../../collector/rows.js'
import { emptyRows, logRowsOf, type Meta, type Rows } from '../../collector/row-types.js'
import { topicsFor } from '../../schemas/topics.js'
import { isSegment, parseSegment, segmentHeaderJson } from '../../schemas/segment.js'

const topics = topicsFor('seg.')
const now = Date.parse('2026-11-22T10:00:00.000Z')
const ctx = (segments: boolean): BatchContext => ({ host: 'web-1', topics, maxMessageBytes: 8 * 1024, serviceFor: () => 'checkout', segments, now })

function sourceOf (): Source {
  return { fp: 'fp-1', path: '/var/log/checkout/app.log', fd: -1, dev: 0, ino: 0, readPos: 0, endOffset: 0, ackedOffset: 0, skipping: false, detached: false, lastDataAt: 0, size: 0 }
}

/** the lines as the tailer hands them out: each in a buffer of its own, or (chunked) all as
 *  ranges of one read chunk */
function tailed (lines: Buffer[], chunked = false): TailedLine[] {
  let off = 0
  if (!chunked) return lines.map(buf => { const l = tailedLine(buf, off); off += buf.length + 1; return l })
  const chunk = Buffer.concat(lines.flatMap(b => [b, Buffer.from('\n')]))
  return lines.map(buf => { const l = new TailedLine(chunk, off, off + buf.length, off, false); off += buf.length + 1; return l })
}

type Window = Pick<Meta, 'receivedMs' | 'retentionDays'>

function collect (segments: boolean, lines: TailedLine[], win: Window = {}): { rows: Rows, messages: number, segments: number, flagged: Record<string, number>, log: number, stats: number } {
  const b = encodeBatch([{ source: sourceOf(), lines, endOffset: 0 }], ctx(segments))
  const rows = emptyRows()
  let messages = 0
  let segs = 0
  for (const [topic, byKey] of b.byTopic) {
    for (const [key, values] of byKey) {
      for (const v of values) {
        messages++
        if (isSegment(v)) segs++
        addMessage(rows, v, { topic, partition: 0, offset: String(messages), key, ...win })
      }
    }
  }
  return { rows, messages, segments: segs, flagged: b.flagged, log: b.counts.log, stats: b.counts.stats }
}

const sortBy = <T>(xs: T[], k: (x: T) => string): T[] => [...xs].sort((a, b) => k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0)

function same (lines: Buffer[], chunked = false, win: Window = {}): { records: ReturnType<typeof collect>, segments: ReturnType<typeof collect> } {
  const t = tailed(lines, chunked)
  const records = collect(false, t, win)
  const segments = collect(true, t, win)
  const rowKey = (r: { offset: number }): string => String(r.offset).padStart(12, '0')
  expect(sortBy(logRowsOf(segments.rows), rowKey)).toEqual(sortBy(logRowsOf(records.rows), rowKey))
  expect(sortBy(segments.rows.stats, r => `${rowKey(r)}${r.metric}`)).toEqual(sortBy(records.rows.stats, r => `${rowKey(r)}${r.metric}`))
  const deadKey = (d: { reason: string, raw: string }): string => `${d.reason}\0${d.raw}`
  expect(sortBy(segments.rows.dead.map(d => ({ reason: d.reason, raw: d.raw })), deadKey)).toEqual(sortBy(records.rows.dead.map(d => ({ reason: d.reason, raw: d.raw })), deadKey))
  expect(segments.log + segments.stats).toBe(records.log + records.stats)
  return { records, segments }
}

const pino = (i: number, extra = ''): string => `{"level":30,"time":${1795000000000 + i},"pid":4242,"hostname":"web-1","reqId":"r-${i}"${extra},"msg":"payment accepted for order ${i}"}`

const edge: string[] = [
  pino(1),
  '{}',
  '{"msg":"no time at all"}',
  '{"time":"2026-11-22T04:00:00Z","level":"warn","message":"iso time, message key"}',
  '{"time":1795000000,"level":50,"msg":"seconds"}',
  '{"time":99999999999999999,"msg":"far future"}',
  '{"time":-5,"msg":"before 1970"}',
  '{"time":"1800-01-01T00:00:00Z","msg":"before 1900"}',
  '{"time":1795000000000,"pid":99999999999,"msg":"pid too large"}',
  '{"time":1795000000000,"pid":-1,"msg":"negative pid"}',
  '{"time":1795000000000,"pid":1.5,"msg":"fractional pid"}',
  '{"time":1795000000000,"msg":"unicode é 😀 \\u00e9 \\ud83d\\ude00 tab\\t quote\\" back\\\\"}',
  '{"time":1795000000000,"msg":"line sep \u2028 in msg"}',
  '{"time":1795000000000,"k\u2028ey":1,"msg":"line sep in a key"}',
  '{"time":1795000000000,"msg":"replacement char \uFFFD is valid UTF-8"}',
  '{"time":1795000000000,"n":1.0,"m":1e5,"o":-0,"p":1E-7,"msg":"non-canonical numbers"}',
  '{"time":1795000000000,"a":1,"a":2,"msg":"duplicate keys"}',
  '{"time":1795000000000, "msg" : "whitespace" }',
  '{"time":1795000000000,"msg":{"nested":true}}',
  '{"time":1795000000000,"msg":42}',
  '{"time":1795000000000,"msg":null}',
  '{"time":1795000000000,"host":"","hostname":"from-hostname","msg":"empty host"}',
  `{"time":1795000000000,"host":"${'h'.repeat(300)}","msg":"long host"}`,
  `{"time":1795000000000,"service":"${'s'.repeat(300)}","msg":"long service"}`,
  '{"time":1795000000000,"service":"billing","level":"WARNING","msg":"service and level names"}',
  '{"time":1795000000000,"v":7,"kind":"other","src":"x","off":3,"flags":["y"],"msg":"v1 keys in a plain line"}',
  '{"time":1795000000000,"sluice_stats":{"rss":123,"heap_used":4.5,"bad":"x"},"pid":7}',
  '{"time":1795000000000,"msg":"mentions \\"sluice_stats\\" in text"}',
  '{"time":1795000000000,"sluice_stats":5,"msg":"stats that is not an object"}',
  '{"time":1795000000000,"nested":{"deep":[1,[2,[3,{"x":null}]]]},"msg":"deep"}',
  '{"time":1795000000000,"msg":"bad json",}',
  'plain text line',
  '',
  '[1,2,3]',
  '{"time":1795000000000,"msg":"crlf"}\r'
]

const chars = ['"', '\\', '{', '}', '[', ']', ',', ':', '0', '1', '.', 'e', '-', ' ', 'a', 'é', 't', 'n', '\u2028']
const mutated = (l: string, n: number): string[] => mutations(l, n, chars, 7)

describe('log segments', () => {
  it('ship 200 plain pino lines as segments of whole lines, within the message size', () => {
    const lines = Array.from({ length: 200 }, (_, i) => Buffer.from(pino(i)))
    const { records, segments } = same(lines)
    expect(records.segments).toBe(0)
    expect(records.rows.logCount).toBe(200)
    expect(segments.rows.logCount).toBe(200)
    expect(segments.messages).toBe(segments.segments)
    const b = encodeBatch([{ source: sourceOf(), lines: tailed(lines), endOffset: 0 }], ctx(true))
    const values = [...b.byTopic.get(topics.logs)!.get('web-1')!]
    expect(values.length).toBeGreaterThan(1)
    let expectOff = 0
    let total = 0
    for (const v of values) {
      expect(v.length).toBeLessThanOrEqual(8 * 1024)
      const seg = parseSegment(v)
      if ('error' in seg) throw new Error(seg.error)
      expect(seg.header).toMatchObject({ v: 1, kind: 'lines', host: 'web-1', service: 'checkout', src: 'fp-1', path: '/var/log/checkout/app.log', off: expectOff, rt: '2026-11-22T10:00:00.000Z' })
      const body = v.subarray(seg.bodyStart).toString()
      expect(body).toBe(lines.slice(total, total + seg.header.lines).map(l => `${l.toString()}\n`).join(''))
      expectOff += seg.header.bytes
      total += seg.header.lines
    }
    expect(total).toBe(200)
  })

  it.each([false, true])('store every edge-case line exactly as its v1 record would be stored (lines in one read chunk: %s)', (chunked) => {
    const lines = [...edge.map(l => Buffer.from(l)), Buffer.concat([Buffer.from('{"time":1795000000000,"msg":"bad utf8 '), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), Buffer.from('{"msg":"nul \0 raw"}')]
    const { records, segments } = same(lines, chunked)
    expect(segments.segments).toBeGreaterThan(0)
    // the shipper counts what it can see: lines it could not send raw keep their flags. Braced
    // lines ('{' … '}') in valid UTF-8 travel raw whether or not they parse, so the two braced
    // lines that are not JSON are flagged not_json (and no_ts) by the reader, not counted here
    expect(segments.flagged).toEqual({ not_json: 3, no_ts: 3, invalid_utf8: 1 })
        // the rows themselves (what the flags column shows) are the same either way: same() checked
    expect(records.flagged).toEqual({ not_json: 5, no_ts: 8, invalid_utf8: 1 })
    // (the 3 JSON lines without a time are flagged no_ts by the collector when they travel raw)
    expect(segments.rows.dead.map(d => d.reason).sort()).toEqual(['schema v1: /pid: 99999999999 does not fit UInt32', 'schema v1: /ts: year 1800 is outside 1900-2299 (DateTime64 range)'])
  })

  it.each([false, true])('store 6,000 mutated lines exactly as their v1 records would be stored (lines in one read chunk: %s)', (chunked) => {
    const lines = [...mutated(pino(3, ',"orderId":7,"route":"/api/x","ok":true,"tags":["a","b"]'), 4000), ...mutated(edge[11], 2000)].filter(l => !l.includes('\n')).map(l => Buffer.from(l))
    const { segments } = same(lines, chunked)
    expect(segments.segments).toBeGreaterThan(0)
  })

  it('dead-letter a segment whose header is wrong, with the reason', () => {
    const body = `${pino(1)}\n`
    const header = (o: Partial<{ bytes: number, lines: number, rt: string, off: number }>): string => segmentHeaderJson({ host: 'h', service: 's', src: 'f', path: 'p', off: 0, lines: 1, bytes: Buffer.byteLength(body), rt: '2026-11-22T10:00:00.000Z', ...o })
    const cases: Array<[string, string]> = [
      [`${header({ bytes: 5 })}\n${body}`, `segment header says 5 bytes of lines, the message holds ${Buffer.byteLength(body)}`],
      [`${header({ rt: 'soon' })}\n${body}`, 'segment header: /rt: Expected string to match \'date-time\' format'],
      [`${header({ off: -1 })}\n${body}`, 'segment header: /off: Expected integer to be greater or equal to 0'],
      // a byte offset past 2^53 - 1 cannot name a line exactly (it once threw mid-row in the collector)
      [`${header({ off: 2 ** 64 })}\n${body}`, `segment header: /off: ${2 ** 64} + ${Buffer.byteLength(body)} bytes is beyond 2^53 - 1 (a byte offset cannot be that large)`],
      ['{"v":1,"kind":"lines",', 'segment header is not followed by a newline'],
      ['{"v":1,"kind":"lines",}\n{}\n', 'segment header: invalid JSON: Expected double-quoted property name in JSON at position 22'],
      [`${header({ bytes: Buffer.byteLength(body) - 1 })}\n${body.slice(0, -1)}`, 'segment body does not end with a newline']
    ]
    for (const [value, reason] of cases) {
      const rows = emptyRows()
      addMessage(rows, Buffer.from(value), { topic: 't', partition: 1, offset: '9', key: 'h' })
      expect(rows.logCount).toBe(0)
      expect(rows.dead.map(d => d.reason)).toEqual([reason])
    }
    // a wrong line count keeps the rows (identity comes from byte offsets) and says so
    const rows = emptyRows()
    addMessage(rows, Buffer.from(`${header({ lines: 2 })}\n${body}`), { topic: 't', partition: 1, offset: '9', key: 'h' })
    expect(rows.logCount).toBe(1)
    expect(rows.dead.map(d => d.reason)).toEqual(['segment header says 2 lines, the body holds 1 (its rows are kept: line identities come from byte offsets)'])
  })

  // regression (issue 15): a line of deeply nested JSON threw "Maximum call stack size exceeded"
  // out of JSON.stringify in the collector and stopped it for good, on every restart
  it.each([false, true])('dead-letter lines nested deeper than 64 levels, keep the lines around them (lines in one read chunk: %s)', (chunked) => {
    const nested = (d: number): string => `{"time":1795000000000,"a":${'['.repeat(d)}${']'.repeat(d)},"msg":"nested ${d}"}`
    const depths = [10, 63, 64, 1000, 100_000]
    const lines = [pino(1), ...depths.map(nested), pino(2)].map(l => Buffer.from(l))
    const { segments } = same(lines, chunked)
    expect(logRowsOf(segments.rows).map(r => r.msg).sort()).toEqual(['nested 10', 'nested 63', 'payment accepted for order 1', 'payment accepted for order 2'])
    const reason = 'line nests objects/arrays deeper than 64 levels (limit maxJsonDepth)'
    expect(segments.rows.dead.map(d => [d.reason, d.raw.length])).toEqual([[reason, nested(64).length], [reason, nested(1000).length], [reason, 64 * 1024]])
  })

  // regression (issue 15): logger.info({ host: 'db-primary', service: 'payments' }, 'x') was
  // stored as host db-primary, service payments
  it.each([false, true])('take host and service from the pipeline, keep the line\'s own in fields (lines in one read chunk: %s)', (chunked) => {
    const t = 1795000000000
    const lines = [
      // sluice/transport's header for this service, then pino's line with keys of its own
      `{"service":"checkout","host":"app-7","pid":42,"level":60,"time":${t},"pid":42,"hostname":"app-7","host":"db-primary","service":"payments","msg":"claims"}`,
      `{"service":"checkout","host":"app-7","pid":42,"level":30,"time":${t + 1},"pid":42,"hostname":"app-7","msg":"plain pino"}`,
      // no transport header: the shipper's host
      `{"time":${t + 2},"host":"db-primary","hostname":"web-1","service":"payments","msg":"file line"}`,
      // a header naming another service is not the transport's
      `{"service":"other","host":"evil","pid":1,"time":${t + 3},"msg":"foreign header"}`,
      `{"level":30,"time":${t + 4},"pid":1,"hostname":"container-1","msg":"container hostname"}`,
      `{"time":${t + 5},"host":"","service":"checkout","msg":"empty host, same service"}`,
      `{"service":"checkout","host":"app-7","pid":42,"time":${t + 6},"sluice_stats":{"rss":1},"host":"db"}`
    ].map(l => Buffer.from(l))
    const { segments } = same(lines, chunked)
    expect(logRowsOf(segments.rows).map(r => [r.host, r.service, r.level, r.msg, r.fields])).toEqual([
      ['app-7', 'checkout', 'fatal', 'claims', '{"service":"payments","host":"db-primary"}'],
      ['app-7', 'checkout', 'info', 'plain pino', '{}'],
      ['web-1', 'checkout', 'info', 'file line', '{"host":"db-primary","service":"payments"}'],
      ['web-1', 'checkout', 'info', 'foreign header', '{"service":"other","host":"evil"}'],
      ['web-1', 'checkout', 'info', 'container hostname', '{"hostname":"container-1"}'],
      ['web-1', 'checkout', 'info', 'empty host, same service', '{"host":""}']
    ])
    expect(segments.rows.stats.map(r => [r.host, r.service, r.metric])).toEqual([['app-7', 'checkout', 'rss']])
  })

  // regression (issue 15): a line 40 days old, or with time 0, was counted as inserted and then
  // removed by the table's TTL at once
  it.each([false, true])('store lines outside the retention at their receive time, flagged (lines in one read chunk: %s)', (chunked) => {
    const received = Date.parse('2026-11-22T10:00:00.000Z')
    const day = 86_400_000
    const lines = [
      `{"time":${received - 40 * day},"msg":"40 days old"}`,
      '{"time":0,"msg":"time zero"}',
      `{"time":${received + 2 * day},"msg":"2 days ahead"}`,
      `{"time":${received - 29 * day},"msg":"29 days old"}`,
      `{"time":${received + 3600_000},"msg":"an hour ahead"}`,
      '{"time":"1800-01-01T00:00:00Z","msg":"before 1900"}',
      `{"time":${received - 40 * day},"sluice_stats":{"rss":1}}`,
      `{"time":${received - 60_000},"sluice_stats":{"rss":2}}`
    ].map(l => Buffer.from(l))
    const { segments } = same(lines, chunked, { receivedMs: received, retentionDays: 30 })
    const iso = (ms: number): string => new Date(ms).toISOString()
    expect(logRowsOf(segments.rows).map(r => [r.ts.slice(0, 10), r.msg, r.fields, r.flags])).toEqual([
      ['2026-11-22', '40 days old', `{"ts_original":"${iso(received - 40 * day)}"}`, ['ts_out_of_range']],
      ['2026-11-22', 'time zero', '{"ts_original":"1970-01-01T00:00:00.000Z"}', ['ts_out_of_range']],
      ['2026-11-22', '2 days ahead', `{"ts_original":"${iso(received + 2 * day)}"}`, ['ts_out_of_range']],
      [iso(received - 29 * day).slice(0, 10), '29 days old', '{}', []],
      ['2026-11-22', 'an hour ahead', '{}', []],
      ['2026-11-22', 'before 1900', '{"ts_original":"1800-01-01T00:00:00.000Z"}', ['ts_out_of_range']]
    ])
    // a stats sample has no flags: dead-lettered instead
    expect(segments.rows.stats.map(r => [r.metric, r.value])).toEqual([['rss', 2]])
    expect(segments.rows.dead.map(d => d.reason)).toEqual([`stats sample at ${iso(received - 40 * day)} is outside the retention (30 days before its receive time 2026-11-22T10:00:00.000Z, or more than a day after it)`])
  })
})
