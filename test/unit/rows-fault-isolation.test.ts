// Regression (issue 15): an exception while building one line's row (JSON.stringify's RangeError
// on deeply nested fields) escaped addMessage, failed the Kafka batch and stopped the collector's
// consumer for good. Now any exception turns that line into a dead letter with the reason, what
// it had half written is taken back, and the lines around it are kept. The exception is injected
// by making JSON.stringify throw for a marked object (no real input is known to throw any more).
import { afterEach, describe, expect, it, vi } from 'vitest'
import { addMessage } from '../../collector/rows.js'
import { emptyRows, logRowsOf } from '../../collector/row-types.js'
import { segmentHeaderJson } from '../../schemas/segment.js'

const real = JSON.stringify
function throwOnBoom (): void {
  vi.spyOn(JSON, 'stringify').mockImplementation(((v: unknown, ...rest: unknown[]) => {
    if (v !== null && typeof v === 'object' && (v as { boom?: unknown }).boom === true) throw new RangeError('Maximum call stack size exceeded')
    return (real as (...a: unknown[]) => string).call(JSON, v, ...rest)
  }) as typeof JSON.stringify)
}
afterEach(() => { vi.restoreAllMocks() })

const rec = (n: number, extra: Record<string, unknown> = {}): string => real({ v: 1, kind: 'log', ts: '2026-11-22T04:00:00.000Z', host: 'h', service: 's', pid: 1, level: 'info', msg: `line ${n}`, fields: { n }, src: 'src', path: '/p', off: n * 10, flags: [], ...extra })
const meta = { topic: 't', partition: 0, offset: '7', key: 'h' }
const reason = 'could not process: RangeError: Maximum call stack size exceeded'

describe('collector rows: fault isolation per line', () => {
  it('dead-letters a v1 record whose row building throws, keeps its neighbours whole', () => {
    const clean = emptyRows()
    addMessage(clean, Buffer.from(`${rec(1)}\n${rec(3)}\n`), meta)
    throwOnBoom()
    const rows = emptyRows()
    // a top-level key beside the v1 ones is moved into fields: the general path, which writes
    // half of the row before it serialises fields
    const bad = rec(2, { boom: true })
    addMessage(rows, Buffer.from(`${rec(1)}\n${bad}\n${rec(3)}\n`), meta)
    expect(logRowsOf(rows)).toEqual(logRowsOf(clean))
    expect(rows.dead).toEqual([{ stage: 'collect', reason, raw: bad, topic: 't', partition: 0, kafka_offset: '7', line_index: 1, host: 'h' }])
  })

  it('dead-letters a segment line whose row building throws, keeps its neighbours whole', () => {
    const lines = ['{"time":1795000000000,"msg":"one"}', '{"time":1795000000000,"n":1.0,"boom":true,"msg":"two"}', '{"time":1795000000000,"msg":"three"}']
    const body = lines.join('\n') + '\n'
    const value = Buffer.from(`${segmentHeaderJson({ host: 'h', service: 's', src: 'f', path: '/p', off: 0, lines: 3, bytes: Buffer.byteLength(body), rt: '2026-11-22T10:00:00.000Z' })}\n${body}`)
    throwOnBoom()
    const rows = emptyRows()
    addMessage(rows, value, meta)
    expect(logRowsOf(rows).map(r => [r.msg, r.offset])).toEqual([['one', 0], ['three', lines[0].length + lines[1].length + 2]])
    expect(rows.dead.map(d => [d.reason, d.line_index, JSON.parse(d.raw).msg])).toEqual([[reason, 2, 'two']])
  })
})
