// The collector's canonical-line scan (collector/canonical-log.ts) must accept a line only when the
// general path (JSON.parse → validateRecord → the table checks → JSON.stringify of the v1 record
// with unknown top-level fields moved into `fields`) would produce exactly that text; anything
// else must be declined and then give the same rows / dead letters as before.
import { describe, expect, it } from 'vitest'
import { mutations as mutate } from '../helpers/mutate.js'
import { addMessage } from '../../collector/rows.js'
import { emptyRows, logRowsOf } from '../../collector/row-types.js'
import { scanCanonicalLog } from '../../collector/canonical-log.js'
import { validateRecord } from '../../schemas/records.js'

const good = { v: 1, kind: 'log', ts: '2026-11-22T04:00:00.123Z', host: 'web-1', service: 'checkout', pid: 4242, level: 'info', msg: 'GET /api 200', fields: { orderId: 7, route: '/x', nested: { a: [1, 2.5, 'x', null, true] } }, src: 'src-1', path: '/var/log/a.log', off: 160, flags: [] as string[] }
const line = (o: Record<string, unknown>): string => JSON.stringify(o)

const variants: string[] = [
  line(good),
  line({ ...good, flags: ['truncated', 'no_ts'] }),
  line({ ...good, msg: 'tab\there "q" back\\slash\nnew \u0001 é 😀 $$ \' $sluice0$' }),
  line({ ...good, fields: {} }),
  line({ ...good, fields: { '1a': 1 } }),
  line({ ...good, fields: { b: 1, a: { z: 1, y: 2 } } }),
  line({ ...good, pid: 0, off: 0 }),
  line({ ...good, pid: 4294967295 }),
  line({ ...good, pid: 4294967296 }),
  line({ ...good, pid: -1 }),
  line({ ...good, pid: 1.5 }),
  line({ ...good, off: 123456789012345 }),
  line({ ...good, off: 1234567890123456 }),
  line({ ...good, ts: '1899-12-31T23:59:59.999Z' }),
  line({ ...good, ts: '2300-01-01T00:00:00.000Z' }),
  line({ ...good, ts: '2026-11-22T04:00:00Z' }),
  line({ ...good, ts: '2026-11-22T04:00:00.123+02:00' }),
  line({ ...good, ts: '2026-13-22T04:00:00.123Z' }),
  line({ ...good, ts: 'yesterday' }),
  line({ ...good, level: 'loud' }),
  line({ ...good, level: 'fatal' }),
  line({ ...good, host: '' }),
  line({ ...good, host: 'h'.repeat(255) }),
  line({ ...good, host: 'h'.repeat(256) }),
  line({ ...good, host: 'h"x' }),
  line({ ...good, service: 'é'.repeat(255) }),
  line({ ...good, src: '' }),
  line({ ...good, path: 'a\\b "c"' }),
  line({ ...good, extra: 'kept', fields: { a: 1 } }),
  line({ ...good, v: 2 }),
  line({ ...good, kind: 'stats' }),
  line({ v: 1, kind: 'stats', ts: good.ts, host: 'h', service: 's', pid: 1, metrics: { rss: 1 }, src: 's', off: 1 }),
  '{"v":1,"kind":"log","ts":"2026-11-22T04:00:00.123Z","host":"web-1","service":"checkout","pid":4242,"level":"info","msg":"m","fields":{"a":1,"a":2},"src":"s","path":"p","off":1,"flags":[]}',
  '{"v":1,"kind":"log","ts":"2026-11-22T04:00:00.123Z","host":"web-1","service":"checkout","pid":4242,"level":"info","msg":"m","fields":{"a":1.50},"src":"s","path":"p","off":1,"flags":[]}',
  '{"v":1,"kind":"log","ts":"2026-11-22T04:00:00.123Z","host":"web-1","service":"checkout","pid":04242,"level":"info","msg":"m","fields":{},"src":"s","path":"p","off":1,"flags":[]}',
  '{"v":1,"kind":"log","ts":"2026-11-22T04:00:00.123Z","host":"web-1","service":"checkout","pid":4242,"level":"info","msg":"\\u00e9","fields":{},"src":"s","path":"p","off":1,"flags":[]}',
  '{"v":1,"kind":"log","ts":"2026-11-22T04:00:00.123Z","host":"web-1","service":"checkout","pid":4242,"level":"info","msg":"m","fields":{},"src":"s","path":"p","off":1,"flags":[]} ',
  '{"v":1,"kind":"log","ts":"2026-11-22T04:00:00.123Z","host":"web-1","service":"checkout","pid":4242,"level":"info","msg":"m","fields":{},"src":"s","path":"p","off":1,"flags":[]}\r',
  '{"v":1,"kind":"log","ts":"2026-11-22T04:00:00.123Z", "host":"web-1","service":"checkout","pid":4242,"level":"info","msg":"m","fields":{},"src":"s","path":"p","off":1,"flags":[]}',
  '{"v":1,"kind":"log","ts":"2026-11-22T04:00:00.123Z","host":"web-1","service":"checkout","pid":4242,"level":"info","msg":"m","fields":{"k\u2028":1},"src":"s","path":"p","off":1,"flags":[]}',
  '{"v":1,"kind":"log","ts":"2026-11-22T04:00:00.123Z","host":"web-1","service":"checkout","pid":4242,"level":"info","msg":"m","fields":[],"src":"s","path":"p","off":1,"flags":[]}',
  '{"v":1,"kind":"log","ts":"2026-11-22T04:00:00.123Z","host":"web-1","service":"checkout","pid":4242,"level":"info","msg":"m","fields":{},"src":"s","path":"p","off":1,"flags":[1]}',
  '{"v":1,"kind":"log","ts":"2026-11-22T04:00:00.123Z","host":"web-1","service":"checkout","pid":4242,"level":"info","msg":"m","fields":{},"src":"s","path":"p","off":1,"flags":[]',
  '[1,2,3]',
  ''
]

/** what the general path writes for a line: the canonical v1 text, or null (not a log row) */
function general (l: string): string | null {
  let r: Record<string, unknown>
  try { r = JSON.parse(l) as Record<string, unknown> } catch { return null }
  if (validateRecord(r) !== null || r.kind !== 'log') return null
  if ((r.pid as number) > 4294967295) return null
  const year = Number((r.ts as string).slice(0, 4))
  if (year < 1900 || year > 2299) return null
  const known = new Set(['v', 'kind', 'ts', 'host', 'service', 'pid', 'level', 'msg', 'fields', 'src', 'path', 'off', 'flags'])
  const fields = { ...(r.fields as Record<string, unknown>) }
  for (const k of Object.keys(r)) if (!known.has(k)) fields[k] = r[k]
  return JSON.stringify({ v: 1, kind: 'log', ts: r.ts, host: r.host, service: r.service, pid: r.pid, level: r.level, msg: r.msg, fields, src: r.src, path: r.path, off: r.off, flags: r.flags })
}

const chars = ['"', '\\', '{', '}', '[', ']', ',', ':', '0', '1', '.', 'e', '-', ' ', 'a', '\u00e9', '\n']
const mutations = (l: string, n: number): string[] => mutate(l, n, chars, 42)

describe('collector rows: canonical-line scan', () => {
  const all = [...variants, ...mutations(line(good), 3000), ...mutations(variants[2], 1000)]
  it('accepts a line only when the general path writes exactly that text', () => {
    let accepted = 0
    for (const l of all) {
      if (l.includes('\n')) continue
      const end = scanCanonicalLog(l, 0)
      // a message without backslashes and control characters takes the quick string scan
      if (!/[\\\x00-\x1f]/.test(l)) expect(scanCanonicalLog(l, 0, true), l).toBe(end)
      if (end >= 0) {
        accepted++
        expect(end).toBe(l.length)
        expect(general(l), l).toBe(l)
      }
    }
    expect(accepted).toBeGreaterThan(15)
  })

  it('gives the same log rows and dead letters as the general path for whole messages', () => {
    const meta = { topic: 't', partition: 0, offset: '5', key: 'h' }
    for (let k = 0; k < all.length; k += 7) {
      const msgLines = [line(good), all[k], variants[k % variants.length], '', line({ ...good, off: 9 })]
      const rows = emptyRows()
      addMessage(rows, Buffer.from(msgLines.join('\n')), meta)
      // the same message with every line forced onto the general path (U+2028 in a valid line)
      const forced = emptyRows()
      addMessage(forced, Buffer.from([...msgLines, line({ ...good, msg: '\u2028' })].join('\n')), meta)
      expect(rows.logCount).toBe(forced.logCount - 1)
      const key = (r: { offset: number, msg: string }): string => JSON.stringify(Object.entries(r).sort())
      const sorted = <T extends { offset: number, msg: string }>(xs: T[]): T[] => [...xs].sort((a, b) => key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)
      expect(sorted(logRowsOf(rows))).toEqual(sorted(logRowsOf(forced).filter(r => r.msg !== '\u2028')))
      expect(rows.dead).toEqual(forced.dead)
      expect(rows.stats).toEqual(forced.stats)
    }
  })
})
