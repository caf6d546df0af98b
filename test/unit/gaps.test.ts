// Gap classification (query-api/gaps.ts) and the shipper's progress records (shipper/progress.ts).
import { describe, expect, it } from 'vitest'
import { classifyGaps, type ProgressRow } from '../../query-api/gaps.js'
import { createProgressReporter } from '../../shipper/progress.js'
import { validateRecord } from '../../schemas/records.js'
import type { Source } from '../../shipper/tailer.js'
import { compileRule } from '../../alerts/rules.js'
import { newGroupState, renderMessage, type Transition } from '../../alerts/state.js'
import { createGapRules, unionFilter, type GapsView } from '../../alerts/gap-rules.js'
import { createGroupTable } from '../../alerts/group-table.js'
import { Counter } from 'prom-client'

const prog = (p: Partial<ProgressRow>): ProgressRow => ({ host: 'h', source: 's1', service: 'svc', path: '/l/svc/app.log', size: 1000, acked: 1000, state: 'active', reason: '', dropped: '[]', ts: 0, ...p })
const sum = { source: 's1', host: 'h', service: 'svc', path: '/l/svc/app.log', end: 1000, last_len: 10, last_ts: 'T9' }

describe('classifyGaps', () => {
  it('reports nothing when the stored lines reach what the shipper acknowledged and saw', () => {
    expect(classifyGaps([], [sum], [prog({})], [], { tails: true })).toEqual([])
  })

  it('a hole below the acknowledged offset is lost, with the neighbouring timestamps; the dead-lettered part of it is dead_lettered', () => {
    const got = classifyGaps([{ source: 's1', from: 100, to: 300, before: 'T1', after: 'T2' }], [sum], [prog({})], [{ source: 's1', from: 200, to: 250, reason: 'too deep' }], { tails: true })
    expect(got).toHaveLength(1)
    expect(got[0].ranges).toEqual([
      { from: 100, to: 200, bytes: 100, class: 'lost', before: 'T1', after: 'T2' },
      { from: 200, to: 250, bytes: 50, class: 'dead_lettered', reason: 'too deep', before: 'T1', after: 'T2' },
      { from: 250, to: 300, bytes: 50, class: 'lost', before: 'T1', after: 'T2' }
    ])
  })

  it('above the acknowledged offset a hole is in flight (a later batch landed first), and so is the unshipped tail', () => {
    const got = classifyGaps([{ source: 's1', from: 600, to: 700, before: 'T1', after: 'T2' }], [{ ...sum, end: 800 }], [prog({ acked: 650, size: 900 })], [], { tails: true })
    expect(got[0].ranges).toEqual([
      { from: 600, to: 650, bytes: 50, class: 'lost', before: 'T1', after: 'T2' },
      { from: 650, to: 700, bytes: 50, class: 'in_flight', before: 'T1', after: 'T2' },
      { from: 800, to: 900, bytes: 100, class: 'in_flight', before: 'T9', after: null }
    ])
  })

  it('the unread end of a rotated file deleted while the shipper was down is dropped, with its reason', () => {
    const got = classifyGaps([], [sum], [prog({ size: 1500, acked: 1000, state: 'deleted', reason: 'deleted', dropped: JSON.stringify([{ from: 1000, to: 1500, reason: 'deleted' }]) })], [], { tails: true })
    expect(got.map(g => [g.state, g.ranges])).toEqual([['deleted', [{ from: 1000, to: 1500, bytes: 500, class: 'dropped', reason: 'deleted', before: 'T9', after: null }]]])
  })

  it('a loss of unknown size is a dropped range without an end', () => {
    const got = classifyGaps([], [sum], [prog({ state: 'lost', reason: 'compressed', dropped: JSON.stringify([{ from: 1000, to: null, reason: 'compressed' }]) })], [], { tails: true })
    expect(got[0].ranges).toEqual([{ from: 1000, to: null, bytes: null, class: 'dropped', reason: 'compressed', before: 'T9', after: null }])
  })

  it('a deleted file\'s unread end is one open range from the acknowledged offset: the size seen last is only a lower bound (it may have grown)', () => {
    const got = classifyGaps([], [sum], [prog({ size: 1500, acked: 1000, state: 'deleted', reason: 'deleted', dropped: JSON.stringify([{ from: 1000, to: null, reason: 'deleted' }]) })], [], { tails: true })
    expect(got[0].ranges).toEqual([{ from: 1000, to: null, bytes: null, class: 'dropped', reason: 'deleted', before: 'T9', after: null }])
  })

  it('an open drop starting below the last stored line\'s end starts at that end', () => {
    const got = classifyGaps([], [{ ...sum, end: 1200 }], [prog({ size: 1200, acked: 1000, state: 'deleted', reason: 'deleted', dropped: JSON.stringify([{ from: 1000, to: null, reason: 'deleted' }]) })], [], { tails: true })
    expect(got[0].ranges).toEqual([{ from: 1200, to: null, bytes: null, class: 'dropped', reason: 'deleted', before: 'T9', after: null }])
  })

  it('a silent host\'s tailed file has an open in-flight range after what it saw; an ended file and a reporting host have none', () => {
    const rows = [prog({ size: 1100 }), prog({ source: 's2', host: 'h2', size: 1000 }), prog({ source: 's3', state: 'finished' })]
    const sums = [sum, { ...sum, source: 's2', host: 'h2' }, { ...sum, source: 's3' }]
    const got = classifyGaps([], sums, rows, [], { tails: true, silentHosts: new Set(['h']) })
    expect(got.map(g => [g.source, g.ranges])).toEqual([['s1', [
      { from: 1000, to: 1100, bytes: 100, class: 'in_flight', before: 'T9', after: null },
      { from: 1100, to: null, bytes: null, class: 'in_flight', reason: 'host_silent', before: 'T9', after: null }
    ]]])
  })

  it('acknowledged bytes beyond the last stored line are lost (the progress record was stored after them)', () => {
    const got = classifyGaps([], [{ ...sum, end: 900 }], [prog({})], [], { tails: true })
    expect(got[0].ranges).toEqual([{ from: 900, to: 1000, bytes: 100, class: 'lost', before: 'T9', after: null }])
  })
})

describe('progress records', () => {
  const src = (fp: string, p: Partial<Source>): Source => ({ fp, path: `/l/svc/${fp}.log`, fd: -1, dev: 0, ino: 0, readPos: 0, endOffset: 0, ackedOffset: 0, skipping: false, detached: false, lastDataAt: 0, size: 0, ...p })

  it('reports each tailed file, finished files once, drops and losses as ranges, and a host heartbeat; every record is valid v1', async () => {
    let sources = [src('a', { size: 500, ackedOffset: 400 }), src('b', { size: 90, ackedOffset: 80, detached: true })]
    const sent: string[] = []
    const r = createProgressReporter({ host: 'h1', topic: 'logs', intervalMs: 60_000, sources: () => sources, serviceOf: () => 'svc', send: async tm => { for (const t of tm) for (const m of t.messages) sent.push(...m.value.toString().split('\n')) } })
    const t0 = Date.parse('2026-12-01T00:00:00.000Z')
    const brief = (now: number): unknown[] => r.records(now).map(x => [x.src, x.state, x.acked, x.size, x.dropped])
    expect(brief(t0)).toEqual([['', 'host', 0, 0, []], ['a', 'active', 400, 500, []], ['b', 'rotated', 80, 90, []]])
    r.dropped('b', '/l/svc/b.log', 80, 90, 'partial_last_line')
    sources = [sources[0]]
    r.lost({ reason: 'deleted', path: '/l/svc/c.log', fp: 'c', offset: 100, bytes: 50 })
    expect(brief(t0)).toEqual([['', 'host', 0, 0, []], ['a', 'active', 400, 500, []], ['c', 'deleted', 100, 150, [{ from: 100, to: null, reason: 'deleted' }]], ['b', 'finished', 80, 90, [{ from: 80, to: 90, reason: 'partial_last_line' }]]])
    await r.stop() // the last report: ended files are then forgotten
    expect(sent.map(l => validateRecord(JSON.parse(l)))).toEqual([null, null, null, null])
    expect(brief(t0)).toEqual([['', 'host', 0, 0, []], ['a', 'active', 400, 500, []]])
  })
})

describe('gap alert rules', () => {
  it('compile with no metric, op or threshold; their message names host, path, source and range', () => {
    const rule = compileRule({ id: 'g', name: 'lost', kind: 'gap' }, 'api')
    expect([rule.metric, rule.op, rule.threshold, rule.forMs]).toEqual([null, '>', 0, 0])
    const s = newGroupState('g', { service: 'svc', host: 'web-7', pid: 0 })
    const t: Transition = { id: 'x', ruleId: 'g', key: s.key, service: 'svc', host: 'web-7', pid: 0, from: 'inactive', to: 'firing', ts: 0, since: 0, value: 2310, threshold: 0, gap: { source: 'abc', path: '/var/log/app.log', from: 100, to: 2410 } }
    expect(renderMessage(rule.message, rule, t)).toBe('lost firing: 2310 bytes of web-7:/var/log/app.log lost (source abc, bytes 100-2410)')
  })

  it('refuse the fields that do not apply to them, each named', () => {
    expect(() => compileRule({ id: 'g', name: 'lost', kind: 'gap', op: '>', threshold: 5, for: '1m' }, 'api')).toThrow("'op' does not apply to kind 'gap' (it fires once when a byte range is classed lost)")
  })

  it('are evaluated with one gap pass per round for all of them, each keeping its own hosts and services', async () => {
    const rules = [
      compileRule({ id: 'a', name: 'web', kind: 'gap', host: ['web-7'] }, 'api'),
      compileRule({ id: 'b', name: 'db', kind: 'gap', host: ['db-1'], service: ['pg'] }, 'api'),
      compileRule({ id: 'c', name: 'api', kind: 'gap', service: ['api'] }, 'api')
    ]
    expect(unionFilter(rules)).toEqual({ hosts: [], services: [] })
    expect(unionFilter(rules.slice(0, 2))).toEqual({ hosts: ['db-1', 'web-7'], services: [] })
    const passes: unknown[] = []
    const range = { class: 'lost', from: 100, to: 2410, bytes: 2310 }
    const find = async (_ch: unknown, f: unknown): Promise<GapsView> => {
      passes.push(f)
      return { sources: [{ service: 'api', host: 'web-7', source: 's1', path: '/a.log', ranges: [range] }, { service: 'pg', host: 'db-1', source: 's2', path: '/b.log', ranges: [range, { ...range, class: 'in_flight' }] }] }
    }
    const gaps = createGapRules(find, { clickhouse: {} as never, database: 'x' }, createGroupTable(100, new Counter({ name: 'dropped', help: 'h', registers: [] })))
    const out: Transition[] = []
    await gaps.evaluate(rules, 20_000, out)
    await gaps.evaluate(rules, 25_000, out) // within 10 s of the last pass: none
    expect(passes).toEqual([{ hosts: [], services: [] }])
    expect(out.map(t => [t.ruleId, t.host, t.gap?.source, t.to])).toEqual([['a', 'web-7', 's1', 'firing'], ['b', 'db-1', 's2', 'firing'], ['c', 'web-7', 's1', 'firing']])
  })
})
