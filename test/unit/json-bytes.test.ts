// isJsonObjectBytes decides which lines the shipper sends raw: it must never say yes to a line
// JSON.parse rejects (or parses to a non-object), and should say yes to every JSON object line.
import { describe, expect, it } from 'vitest'
import { isJsonObjectBytes } from '../../schemas/json-bytes.js'

const check = (s: string | Buffer): boolean => {
  const b = typeof s === 'string' ? Buffer.from(s) : s
  return isJsonObjectBytes(b, 0, b.length)
}

// nesting depth of a parsed value: {} is 1, {"a":[]} is 2, scalars 0
function depthOf (v: unknown): number {
  if (v === null || typeof v !== 'object') return 0
  let d = 0
  for (const x of Object.values(v)) d = Math.max(d, depthOf(x))
  return d + 1
}

// `n` levels in all, the top-level object included
const nested = (n: number): string => `{"d":${'['.repeat(n - 1)}${']'.repeat(n - 1)}}`
const nestedObjects = (n: number): string => '{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1)

const pino = '{"level":30,"time":1795000000000,"pid":4242,"hostname":"web-1","service":"checkout","host":"web-1","reqId":"r-1","orderId":7,"msg":"payment accepted for order 1"}'

describe('isJsonObjectBytes', () => {
  it.each([
    ['empty', '{}'],
    ['empty with whitespace inside', '{ \t\r\n}'],
    ['pino line', pino],
    ['nested objects', '{"a":{"b":{"c":{}}}}'],
    ['arrays', '{"a":[],"b":[1,[2,[3]],{"c":[]}],"d":[{}]}'],
    ['literals', '{"t":true,"f":false,"n":null,"l":[true,false,null]}'],
    ['escapes', '{"e":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u00E9\\u0000"}'],
    ['lone surrogate escapes', '{"s":"\\ud800 \\udfff \\uD83D"}'],
    ['escaped key', '{"k\\"\\u0041":1}'],
    ['unicode bytes', '{"é😀":"ünïcödé \u2028 日本"}'],
    ['numbers', '{"a":0,"b":-0,"c":1e5,"d":1.5E-3,"e":-12.25e+10,"f":1E0,"g":0.0,"h":9007199254740993123}'],
    ['whitespace between tokens', '{ "a" : [ 1 , 2 ] ,\n\t"b"\r:\t{ } }'],
    ['duplicate keys', '{"a":1,"a":2}'],
    ['depth 64', nested(64)],
    ['depth 64 of objects', nestedObjects(64)]
  ])('accepts %s', (_, s) => {
    expect(check(s)).toBe(true)
    // the contract: true ⇒ JSON.parse gives a plain object
    const v: unknown = JSON.parse(s)
    expect(v !== null && typeof v === 'object' && !Array.isArray(v)).toBe(true)
  })

  it.each([
    ['nothing', ''],
    ['lone {', '{'],
    ['lone }', '}'],
    ['trailing comma', '{"a":1,}'],
    ['trailing comma in array', '{"a":[1,]}'],
    ['leading comma', '{,"a":1}'],
    ['leading zero', '{"a":01}'],
    ['negative leading zero', '{"a":-01}'],
    ['1.', '{"a":1.}'],
    ['.5', '{"a":.5}'],
    ['+1', '{"a":+1}'],
    ['bare minus', '{"a":-}'],
    ['empty exponent', '{"a":1e}'],
    ['exponent sign only', '{"a":1e+}'],
    ['hex number', '{"a":0x1}'],
    ['bad escape \\x', '{"a":"\\x41"}'],
    ['bad escape \\U', '{"a":"\\U0041"}'],
    ['short \\u', '{"a":"\\u12"}'],
    ['non-hex \\u', '{"a":"\\u12g4"}'],
    ['unterminated string', '{"a":"x}'],
    ['unterminated key', '{"a}'],
    ['raw tab in string', '{"a":"x\ty"}'],
    ['raw newline in string', '{"a":"x\ny"}'],
    ['raw NUL in string', '{"a":"x\0y"}'],
    ['missing colon', '{"a" 1}'],
    ['missing value', '{"a":}'],
    ['missing comma', '{"a":1 "b":2}'],
    ['missing comma in array', '{"a":[1 2]}'],
    ['key without value', '{"a":1,"b"}'],
    ['single quotes', "{'a':1}"],
    ['unquoted key', '{a:1}'],
    ['non-string key', '{1:1}'],
    ['top-level array', '[{}]'],
    ['top-level empty array', '[]'],
    ['top-level string', '"{}"'],
    ['top-level number', '1'],
    ['leading space', ' {}'],
    ['trailing space', '{} '],
    ['trailing newline', '{}\n'],
    ['trailing garbage after }', '{"a":1}x}'],
    ['extra }', '{"a":1}}'],
    ['two objects', '{}{}'],
    ['tru', '{"a":tru}'],
    ['truex', '{"a":truex}'],
    ['nul', '{"a":nul}'],
    ['True', '{"a":True}'],
    ['NaN', '{"a":NaN}'],
    ['Infinity', '{"a":Infinity}'],
    ['-Infinity', '{"a":-Infinity}'],
    ['mismatched brackets', '{"a":[}'],
    ['mismatched empty', '{"a":{]}'],
    ['unclosed array', '{"a":[1}'],
    ['NUL between tokens', '{"a":1\0}'],
    ['form feed as whitespace', '{\f"a":1}'],
    ['depth 65', nested(65)],
    ['depth 65 of objects', nestedObjects(65)]
  ])('rejects %s', (_, s) => {
    expect(check(s)).toBe(false)
  })

  it('rejects bytes ≥ 0x80 outside strings and allows them inside', () => {
    expect(check(Buffer.from([0x7b, 0x22, 0xff, 0x80, 0x22, 0x3a, 0x31, 0x7d]))).toBe(true) // {"..":1}
    expect(check(Buffer.from([0x7b, 0xc2, 0xa0, 0x22, 0x61, 0x22, 0x3a, 0x31, 0x7d]))).toBe(false) // NBSP before a key
    expect(check(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x31, 0xff, 0x7d]))).toBe(false)
  })

  it('honours start and end', () => {
    const b = Buffer.from(`xx${pino}yy`)
    expect(isJsonObjectBytes(b, 2, b.length - 2)).toBe(true)
    expect(isJsonObjectBytes(b, 1, b.length - 2)).toBe(false)
    expect(isJsonObjectBytes(b, 2, b.length - 1)).toBe(false)
    // the range cuts the text short: nothing past `end` may complete it
    const c = Buffer.from('{"a":"}"}')
    expect(isJsonObjectBytes(c, 0, 7)).toBe(false) // {"a":"}
    const d = Buffer.from('{"a":1}, "b":2}')
    expect(isJsonObjectBytes(d, 0, 7)).toBe(true)
    expect(isJsonObjectBytes(d, 0, d.length)).toBe(false)
    expect(isJsonObjectBytes(d, -1, 7)).toBe(false)
    expect(isJsonObjectBytes(d, 0, d.length + 1)).toBe(false)
  })

  it('agrees with JSON.parse on 40,000 random and mutated lines, on sub-ranges too', () => {
    // xorshift32: deterministic, so a failure reproduces
    let state = 0x9e3779b9
    const rnd = (k: number): number => {
      state ^= state << 13
      state ^= state >>> 17
      state ^= state << 5
      return (state >>> 0) % k
    }
    const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]
    const strings = ['', 'x', 'hello world', 'é', 'q"t', 'back\\s', 'sl/ash', 'nl\n', 'tab\t', 'ctl\u0001\u001f', '\u2028\u2029', '😀', '\ud800', '日本語', '{"a":[1,2]}']
    const value = (d: number): unknown => {
      switch (rnd(d > 3 ? 6 : 9)) {
        case 0: return rnd(2) === 0 ? rnd(100000) : (rnd(2000) - 1000) / 7
        case 1: return pick([0, -0, 1e21, -1e-7, 5e-324, 1.7976931348623157e308, 0.1, -123456789012, 2 ** 53 + 2])
        case 2: return pick(strings)
        case 3: return rnd(2) === 0
        case 4: return null
        case 5: return `${pick(strings)}${rnd(1000)}`
        case 6: return Array.from({ length: rnd(4) }, () => value(d + 1))
        default: return Object.fromEntries(Array.from({ length: rnd(4) }, (_, k) => [`k${k}${pick(strings)}`, value(d + 1)]))
      }
    }
    // deep lines around the 64-level limit, mixing arrays and objects
    const deep = (n: number): string => {
      let open = ''
      let close = ''
      for (let k = 1; k < n; k++) {
        if (rnd(2) === 0) { open += '['; close = ']' + close } else { open += '{"k":'; close = '}' + close }
      }
      return `{"d":${open}${rnd(2) === 0 ? '1' : '{}'}${close}}`
    }
    const chars = '{}[]",:\\0123456789eE+-. tfnrua\t'
    const mutationByte = (): number => {
      const r = rnd(20)
      if (r === 0) return 0x80 + rnd(128)
      if (r === 1) return rnd(0x20) // control bytes, NUL included
      return chars.charCodeAt(rnd(chars.length))
    }

    const total = 40000
    let disagreements = 0
    const samples: string[] = []
    let accepted = 0
    let rejected = 0
    let conservative = 0 // valid objects deeper than 64: false is allowed there
    for (let n = 0; n < total; n++) {
      let s = n % 40 === 0
        ? deep(60 + rnd(8))
        : JSON.stringify(Object.fromEntries(Array.from({ length: 1 + rnd(6) }, (_, k) => [`f${k}`, value(0)])))
      if (n % 7 === 3) s = s.replace(/,/g, ' ,\n').replace(/:/g, ':\t')
      let b = Buffer.from(s)
      // a third are left whole, the rest get one to three byte-level edits
      for (let m = rnd(4); m > 0; m--) {
        const p = rnd(b.length + 1)
        const op = rnd(3)
        const byte = Buffer.from([mutationByte()])
        if (op === 0) b = Buffer.concat([b.subarray(0, p), b.subarray(p + 1)])
        else if (op === 1) b = Buffer.concat([b.subarray(0, p), byte, b.subarray(p)])
        else b = Buffer.concat([b.subarray(0, p), byte, b.subarray(p + 1)])
      }
      // framing bytes around the range must be ignored; '}' and '{' are the tempting ones
      const pad = rnd(3)
      const framing = Buffer.from(pick(['x', '}', '{', ' ']).repeat(pad))
      const framed = Buffer.concat([framing, b, framing])
      const got = isJsonObjectBytes(framed, pad, pad + b.length)

      const text = b.toString('utf8')
      let parsed: { ok: true, value: unknown } | { ok: false } = { ok: false }
      try { parsed = { ok: true, value: JSON.parse(text) } } catch {}
      const isObject = parsed.ok && parsed.value !== null && typeof parsed.value === 'object' && !Array.isArray(parsed.value)
      const mustAccept = isObject && b[0] === 0x7b && b[b.length - 1] === 0x7d && depthOf(parsed.value) <= 64

      if (got) accepted++
      else rejected++
      if (isObject && !mustAccept && b[0] === 0x7b && b[b.length - 1] === 0x7d) conservative++
      // true must be sound; false is wrong only on a valid object line within the depth limit
      if ((got && !isObject) || (!got && mustAccept)) {
        disagreements++
        if (samples.length < 5) samples.push(`got ${String(got)} for ${JSON.stringify(b.toString('latin1'))}`)
      }
    }
    expect(disagreements, samples.join('\n')).toBe(0)
    // both sides were exercised, so agreement means something
    expect(accepted).toBeGreaterThan(total / 4)
    expect(rejected).toBeGreaterThan(total / 4)
    expect(conservative).toBeGreaterThan(0)
  })
})
