// What the CLI and text/plain print from API answers: histogram bars, stack traces under their line (metric units and sparklines: test/unit/metric-units.test.ts).
import { describe, expect, it } from 'vitest'
import { bar, renderHistogram } from '../../cli/histogram-chart.js'
import { renderLine } from '../../cli/client.js'
import { formatTextLine } from '../../schemas/text-line.js'

describe('histogram chart', () => {
  it('bars scale to the busiest bucket in eighths; levels worst first; empty buckets have no bar', () => {
    expect([bar(0, 8, 4), bar(1, 8, 4), bar(8, 8, 4), bar(5, 8, 4)]).toEqual(['', '▌', '████', '██▌'])
    const h = { since: '2026-12-05T15:00:00.000Z', until: '2026-12-05T15:03:00.000Z', step: 60, by: 'level', total: 12, buckets: [
      { t: '2026-12-05T15:00:00.000Z', counts: { info: 6, error: 2 } }, { t: '2026-12-05T15:01:00.000Z', counts: {} }, { t: '2026-12-05T15:02:00.000Z', counts: { warn: 4 } }] }
    expect(renderHistogram(h, false, 8)).toBe([
      '12 lines from 2026-12-05T15:00:00.000Z to 2026-12-05T15:03:00.000Z (UTC), 1m per bar, by level',
      '2026-12-05T15:00Z ████████ 8  error=2 info=6',
      '2026-12-05T15:01Z          0',
      '2026-12-05T15:02Z ████     4  warn=4'
    ].join('\n') + '\n')
  })
})

describe('stack traces in text output (issue 18 item 8)', () => {
  const stack = 'Error: read ECONNRESET\n    at TCP.onStreamRead (node:internal/stream_base_commons:217:20)\n    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)'
  const line = { ts: '2026-12-05T15:48:30.123Z', host: 'web-2', service: 'api', level: 'error', msg: 'upstream failed', fields: { err: { type: 'Error', message: 'read ECONNRESET', stack, code: 'ECONNRESET' }, responseTime: 812 } }

  it('err.stack: indented lines under the log line; the rest of err stays k=v (CLI and text/plain)', () => {
    expect(renderLine(line, false)).toBe([
      '2026-12-05T15:48:30.123Z web-2 api ERROR upstream failed err={"type":"Error","message":"read ECONNRESET","code":"ECONNRESET"} responseTime=812',
      '    | Error: read ECONNRESET',
      '    |     at TCP.onStreamRead (node:internal/stream_base_commons:217:20)',
      '    |     at process.processTicksAndRejections (node:internal/process/task_queues:95:5)'
    ].join('\n'))
    expect(formatTextLine(line)).toBe([
      '2026-12-05T15:48:30.123Z web-2 api ERROR upstream failed err={"type":"Error","message":"read ECONNRESET","code":"ECONNRESET"} responseTime=812',
      '    | Error: read ECONNRESET',
      '    |     at TCP.onStreamRead (node:internal/stream_base_commons:217:20)',
      '    |     at process.processTicksAndRejections (node:internal/process/task_queues:95:5)'
    ].join('\n'))
  })

  it('any string field named stack at any depth (objects and arrays); several get a path header; a non-string stack stays k=v', () => {
    const l = { ts: 't', host: 'h', service: 's', level: 'warn', msg: 'm', fields: { stack: 'top\nat a', errs: [{ cause: { stack: 'inner\r\nat b\n' } }], meta: { stack: 3 } } }
    expect(renderLine(l, false)).toBe([
      't h s WARN  m errs=[{"cause":{}}] meta={"stack":3}',
      '    | stack:',
      '    | top',
      '    | at a',
      '    | errs.0.cause.stack:',
      '    | inner',
      '    | at b'
    ].join('\n'))
  })

  it('forged lines stay impossible: controls inside a stack line, and newlines in keys and values outside stacks, are escaped', () => {
    const forged = { ts: 't', host: 'h', service: 's', level: 'error', msg: 'm\n2026-01-01T00:00:00.000Z fake api INFO forged', fields: { 'k\nfake': 'v\r\nfake', err: { stack: 'Error: x\u001b[2J\n\u2028at y\rfake' }, 'stack\n': 'not a stack\nline' } }
    const out = renderLine(forged, false)
    expect(out).toBe([
      't h s ERROR m\\n2026-01-01T00:00:00.000Z fake api INFO forged k\\nfake=v\\r\\nfake err={} stack\\n=not a stack\\nline',
      '    | Error: x\\x1b[2J',
      '    | \\u2028at y\\rfake'
    ].join('\n'))
    expect(out.split('\n').slice(1).every(s => s.startsWith('    | '))).toBe(true)
    expect(formatTextLine(forged)).toBe([
      't h s ERROR m\\n2026-01-01T00:00:00.000Z fake api INFO forged k\\nfake="v\\r\\nfake" err={} stack\\n="not a stack\\nline"',
      '    | Error: x\\x1b[2J',
      '    | \\u2028at y\\rfake'
    ].join('\n'))
  })

  it('a line without a stack is unchanged: one line', () => {
    expect(renderLine({ ts: 't', host: 'h', service: 's', level: 'info', msg: 'm', fields: { err: { message: 'no stack' } } }, false)).toBe('t h s INFO  m err={"message":"no stack"}')
  })
})
