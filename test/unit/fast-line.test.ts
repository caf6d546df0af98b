// The shipper's fast path (schemas/fast-line.ts) must build exactly the record the general
// path (normalizeLine → JSON.stringify) builds, byte for byte, or decline the line. Each line
// of the table (and 3,000 generated ones) goes through encodeBatch, which takes the fast path
// when it applies, and is compared with JSON.stringify(normalizeLine(line)).
import { describe, expect, it } from 'vitest'
import { fastLogParts } from '../../schemas/fast-line.js'
import { normalizeLine } from '../../schemas/normalize.js'
import { validateRecord } from '../../schemas/records.js'
import { encodeBatch } from '../../shipper/batch.js'
import { topicsFor } from '../../schemas/topics.js'
import { tailedLine, type Source } from '../../shipper/tailer.js'

const now = 1795000000000
const lines: string[] = [
  // pino defaults and the sluice/transport shape
  '{"level":30,"time":1795000000123,"pid":4242,"hostname":"web-1","msg":"payment accepted"}',
  '{"service":"checkout","host":"web-1","pid":42,"level":30,"time":1795000000123,"msg":"hi","orderId":42}',
  '{"level":30,"time":1795000000000,"pid":4242,"hostname":"web-1","service":"checkout","host":"web-1","reqId":"r-1","orderId":7,"msg":"payment accepted for order 1"}',
  '{"level":50,"time":1795000000999,"pid":1,"hostname":"h","err":{"type":"Error","message":"boom","stack":"Error: boom\\n    at x (/a.js:1:1)"},"msg":"failed"}',
  // nested fields, arrays, literals, numbers
  '{"time":1795000000001,"msg":"n","a":{"b":{"c":[1,2,{"d":null}],"e":true},"f":false},"g":[],"h":{},"i":-3.25,"j":0,"k":0.5,"l":123456789012345}',
  '{"time":1795000000001,"msg":"big","x":1234567890123456789,"y":1e3,"z":1.50,"w":-0,"v2":0.0000001,"u":0.000001}',
  // unicode and escapes
  '{"time":1795000000002,"msg":"héllo wörld ✓ 日本語 😀","user":"Zoë"}',
  '{"time":1795000000003,"msg":"tab\\there \\"quoted\\" back\\\\slash\\nnew\\r\\b\\f","ctl":"\\u0001\\u001f"}',
  '{"time":1795000000004,"msg":"slash \\/ and \\u00e9 and \\u0041","k":"\\u000a"}',
  '{"time":1795000000005,"msg":"lone \\ud800 surrogate","k":"\\uD83D\\uDE00"}',
  '{"time":1795000000006,"msg":"line sep \u2028 para \u2029"}',
  '{"time":1795000000006,"host":"h\\"x","msg":"escaped host"}',
  // times: seconds, ISO strings, other keys, none, null
  '{"time":1795000000,"msg":"seconds"}',
  '{"time":1795000000.5,"msg":"fractional seconds"}',
  '{"time":"2026-11-22T04:00:00.123Z","msg":"iso"}',
  '{"ts":"2026-11-22T04:00:00+02:00","msg":"ts offset"}',
  '{"timestamp":1795000000007,"msg":"timestamp"}',
  '{"@timestamp":"2026-11-22T04:00:00Z","message":"logstash"}',
  '{"time":null,"ts":1795000000008,"msg":"null time"}',
  '{"msg":"no time at all"}',
  '{"time":"yesterday","msg":"bad time"}',
  '{"time":true,"msg":"bool time"}',
  // levels
  '{"time":1795000000009,"level":"WARNING","msg":"s"}',
  '{"time":1795000000009,"level":"err","msg":"s"}',
  '{"time":1795000000009,"level":"debug","msg":"s"}',
  '{"time":1795000000009,"level":"nope","msg":"s"}',
  '{"time":1795000000009,"level":10,"msg":"s"}',
  '{"time":1795000000009,"level":65.5,"msg":"s"}',
  '{"time":1795000000009,"level":null,"msg":"s"}',
  // msg variants
  '{"time":1795000000010,"msg":null,"message":"from message"}',
  '{"time":1795000000010,"msg":null,"message":null}',
  '{"time":1795000000010,"msg":null}',
  '{"time":1795000000010,"msg":42}',
  '{"time":1795000000010,"msg":{"nested":1}}',
  '{"time":1795000000010}',
  // host / service / pid variants
  '{"time":1795000000011,"host":"","hostname":"hn","service":"","pid":-1,"msg":"x"}',
  '{"time":1795000000011,"host":5,"service":["a"],"pid":3.5,"msg":"x"}',
  '{"time":1795000000011,"pid":"7","msg":"x","v":1}',
  `{"time":1795000000011,"host":"${'h'.repeat(300)}","msg":"long host"}`,
  // key edge cases
  '{"time":1795000000012,"msg":"dup","a":1,"a":2}',
  '{"time":1795000000012,"msg":"dup consumed","msg":"second"}',
  '{"time":1795000000012,"msg":"int keys","b":1,"2":3,"1":4}',
  '{"time":1795000000012,"msg":"nested int keys","o":{"b":1,"2":3}}',
  '{"time":1795000000012,"msg":"nested dup","o":{"a":1,"a":2}}',
  '{"time":1795000000012,"msg":"proto","__proto__":{"x":1}}',
  '{"time":1795000000012,"msg":"esc key","a\\u0062":1}',
  // whitespace and other shapes
  '{ "time": 1795000000013, "msg": "spaced" }',
  '{"time":1795000000013,"msg":"trailing ws"} ',
  '{"time":1795000000013,"msg":"cr"}\r',
  '{}',
  '[1,2]',
  'plain text line',
  '{"time":1795000000013,"msg":"broken"',
  '{"time":1795000000013,"msg":"bad \u0001 ctl"}',
  // stats lines
  '{"time":1795000000014,"pid":9,"service":"svc","sluice_stats":{"heap_used":1234,"rss":5.5,"bad":"x"}}',
  '{"time":1795000000014,"sluice_stats":5,"msg":"not stats"}'
]

const source = { fp: 'abcdef0123456789abcdef01', path: '/var/log/svc/app.log' } as unknown as Source
const ctx = { host: 'default-host', topics: topicsFor('t.'), maxMessageBytes: 1 << 20, serviceFor: () => 'svc', segments: false }

/** the general path's NDJSON for one line, as before the fast path existed */
function generalJson (text: string, off: number): string {
  return JSON.stringify(normalizeLine(text, { host: ctx.host, service: 'svc', src: source.fp, path: source.path, off, now, truncated: false, len: Buffer.byteLength(text) + 1 }))
}

function encodedJson (text: string, off: number): string {
  const b = encodeBatch([{ source, lines: [tailedLine(Buffer.from(text), off)], endOffset: off + 1 }], ctx)
  const values = [...b.byTopic.values()].flatMap(m => [...m.values()].flat())
  expect(values).toHaveLength(1)
  return values[0].toString()
}

describe('fast path of line normalisation', () => {
  it.each(lines.map((l, i) => [i, l]))('line %i encodes exactly as the general path: %s', (i, line) => {
    const off = 1000 * (i as number)
    const got = encodedJson(line as string, off)
    const want = generalJson(line as string, off)
    // lines without a timestamp get Date.now(): compare those without ts
    const strip = (s: string): string => JSON.parse(s).flags?.includes('no_ts') === true ? s.replace(/"ts":"[^"]*"/, '') : s
    expect(strip(got)).toBe(strip(want))
    expect(validateRecord(JSON.parse(got))).toBeNull()
  })

  it('takes the fast path for the common pino and transport shapes', () => {
    for (const l of lines.slice(0, 5)) expect(fastLogParts(l, 'h', 's')).not.toBeNull()
    expect(fastLogParts(lines[6], 'h', 's')).not.toBeNull() // unicode
    expect(fastLogParts(lines[7], 'h', 's')).not.toBeNull() // stringify's own escapes
  })

  it('declines what it cannot reproduce byte for byte', () => {
    for (const l of [lines[5], lines[8], lines[9], lines[11], lines[19], lines[40], lines[42], lines[43], lines[45], lines[47], lines[55]]) {
      expect(fastLogParts(l, 'h', 's')).toBeNull()
    }
  })

  it('matches the general path on generated lines', () => {
    const pick = <T>(xs: T[], n: number): T => xs[n % xs.length]
    const values = ['1', '-7', '0', '2.5', '"s"', '"é\\n"', 'null', 'true', '[1,"a"]', '{"k":"v","n":[{}]}', '"\\u001b[31m"', '""']
    const keys = ['a', 'reqId', 'time', 'level', 'msg', 'pid', 'host', 'service', 'hostname', 'message', 'ts', 'v', 'x_y', 'ü']
    let seed = 7
    const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed }
    for (let n = 0; n < 3000; n++) {
      const used = new Set<string>()
      const pairs: string[] = []
      const count = rnd() % 8
      for (let j = 0; j < count; j++) {
        const k = pick(keys, rnd())
        if (used.has(k)) continue
        used.add(k)
        const v = k === 'time' ? pick(['1795000000123', '"2026-11-22T04:00:00Z"', 'null', '1795000000'], rnd()) : k === 'level' ? pick(['30', '"warn"', '"ERROR"', '"x"', 'null'], rnd()) : pick(values, rnd())
        pairs.push(`"${k}":${v}`)
      }
      if (!used.has('time')) pairs.push('"time":1795000000456')
      const line = `{${pairs.join(',')}}`
      expect(encodedJson(line, n), line).toBe(generalJson(line, n))
    }
  })
})
