// Pure parts of the query API: regex literal extraction (index hints, never execution),
// tail event ids, and the UTF-8 check of raw query strings.
import { describe, expect, it } from 'vitest'
import { regexLiterals } from '../../query-api/search.js'
import { decodePosition, encodePosition } from '../../query-api/tail-position.js'
import { assertUtf8Query } from '../../query-api/utf8.js'

describe('regexLiterals', () => {
  const cases: Array<[string, string[]]> = [
    ['user=u42[0-9]{2} path=/v1/items/77[0-9] ', ['user=u42', ' path=/v1/items/77']],
    ['timeout after \\d+ms', ['timeout after ']],
    ['colou?r mismatch', ['colo', 'r mismatch']],
    ['abc+def', ['abc', 'def']],
    ['a|bcdef', []],
    ['(?i)needle', []],
    ['x\\.y\\.z', ['x.y.z']],
    ['^(a+)+$', []],
    ['ab', []]
  ]
  for (const [re, want] of cases) it(`${re} → ${JSON.stringify(want)}`, () => { expect(regexLiterals(re)).toEqual(want) })
})

describe('tail positions', () => {
  it('round-trips and sorts partitions', () => {
    const id = encodePosition(new Map([[2, [10, 0]], [0, [5, 3]]]))
    expect(id).toBe('k1.0-5-3_2-10-0')
    expect([...decodePosition(id)]).toEqual([[0, [5, 3]], [2, [10, 0]]])
  })
  for (const bad of ['', 'k2.0-1-0', 'k1.0-1-0_0-2-0', 'k1.0-1', "k1.0-1-0'", 'k1.' + '0-1-0_'.repeat(2000) + '0-1-0']) {
    it(`rejects ${JSON.stringify(bad.slice(0, 24))}`, () => {
      expect(() => decodePosition(bad)).toThrow('invalid cursor: Last-Event-ID is not an event id sent by this API')
    })
  }
})

describe('assertUtf8Query', () => {
  it('accepts UTF-8 and plus-encoded spaces', () => { expect(() => assertUtf8Query('/v1/logs?q=caf%C3%A9+bar&host=a')).not.toThrow() })
  it('names the parameter holding invalid UTF-8', () => { expect(() => assertUtf8Query('/v1/logs?since=1h&q=%FF')).toThrow("invalid query parameter 'q': is not valid UTF-8") })
})
