// The named parts of /v1/tail and the one LogLine builder, each on its own.
import { describe, expect, it } from 'vitest'
import { resumeTurn } from '../../query-api/tail-replay.js'
import { toLogLine } from '../../schemas/log-line.js'

describe('resumeTurn', () => {
  it('gives a held turn back exactly once, however often give() is called', () => {
    let given = 0
    const turn = resumeTurn(() => { given++ })
    turn.give()
    turn.give()
    expect([given, turn.held]).toEqual([1, null])
    turn.held = () => { given++ }
    turn.give()
    expect(given).toBe(2)
  })
  it('give() without a turn does nothing', () => {
    const turn = resumeTurn()
    turn.give()
    expect(turn.held).toBe(null)
  })
})

describe('toLogLine', () => {
  const values = { host: 'h1', service: 'api', level: 'info', msg: 'hello', fields: { a: 1 }, source: 'fp1', path: '/app.log', flags: ['no_ts'] }
  const expected = { ts: '2026-12-05T10:00:00.123Z', host: 'h1', service: 'api', pid: 42, level: 'info', msg: 'hello', fields: { a: 1 }, source: 'fp1', path: '/app.log', offset: 120, flags: ['no_ts'] }
  it('a stored row (numbers as strings) and a record give the same line', () => {
    expect(toLogLine({ ...values, tsMs: Date.parse('2026-12-05T10:00:00.123Z'), pid: '42', offset: '120' })).toEqual(expected)
    expect(toLogLine({ ...values, tsMs: Date.parse('2026-12-05T10:00:00.123Z'), pid: 42, offset: 120 })).toEqual(expected)
  })
  it('throws a RangeError for a time that is not one (the tail counts the line as failed)', () => {
    expect(() => toLogLine({ ...values, tsMs: Number.NaN, pid: 1, offset: 0 })).toThrow(RangeError)
  })
})
