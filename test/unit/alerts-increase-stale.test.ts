// Increase rules and stale groups on exact sample sequences (data time; the stale check takes
// the clock as an argument).
import { describe, expect, it } from 'vitest'
import { compileRule, type RuleBody } from '../../alerts/rules.js'
import { applySample, checkStale, newGroupState, recordIncrease, transitionId } from '../../alerts/state.js'

const g = { service: 'api', host: 'h1', pid: 7 }
const rule = (body: Partial<RuleBody>) => compileRule({ id: 'r', name: 'r', kind: 'increase', metric: 'fds', window: '5s', op: '>', threshold: 50, ...body } as RuleBody & { id: string }, 'api')

describe('increase rule value', () => {
  it('is the last sample minus the last sample at or before t − window; none until the window is covered', () => {
    const r = rule({})
    const s = newGroupState('r', g)
    // samples every 2 s: 10, 20, 30, 100, 160
    const got = [[0, 10], [2000, 20], [4000, 30], [6000, 100], [8000, 160]].map(([t, v]) => recordIncrease(r, s, t, v))
    // t=0..4000: nothing at or before t−5s; t=6000: base t=0 (10); t=8000: base t=2000 (20)
    expect(got).toEqual([null, null, null, 90, 140])
    // only the base of the newest sample and what follows it is kept
    expect(s.recent).toEqual([[2000, 20], [4000, 30], [6000, 100], [8000, 160]])
  })

  it('ignores a duplicate and gives no value to a late sample older than the newest', () => {
    const r = rule({})
    const s = newGroupState('r', g)
    expect([recordIncrease(r, s, 0, 1), recordIncrease(r, s, 6000, 5), recordIncrease(r, s, 6000, 5), recordIncrease(r, s, 3000, 2), recordIncrease(r, s, 9000, 9)]).toEqual([null, 4, null, null, 7])
  })

  it('keeps at most one sample per window/1000 (the newest of each slot)', () => {
    const r = rule({ window: '1s' }) // 1 ms slots
    const s = newGroupState('r', g)
    for (let i = 0; i < 10; i++) recordIncrease(r, s, 5000 + i * 0.25, i)
    expect(s.recent).toEqual([[5000.75, 3], [5001.75, 7], [5002.25, 9]])
  })

  it('fires on growth through the state machine', () => {
    const r = rule({})
    const s = newGroupState('r', g)
    const out: string[] = []
    for (const [t, v] of [[0, 10], [5000, 40], [10000, 100], [15000, 110]]) {
      const inc = recordIncrease(r, s, t, v)
      const tr = inc === null ? null : applySample(r, s, t, inc)
      if (tr !== null) out.push(`${t}:${tr.to}:${tr.value}`)
    }
    expect(out).toEqual(['10000:firing:60', '15000:resolved:10'])
  })
})

describe('stale groups', () => {
  it('a firing group with no sample for stale_after resolves once, at last sample + stale_after, reason stale', () => {
    const r = compileRule({ id: 'r', name: 'r', kind: 'threshold', metric: 'fds', op: '>', threshold: 5, stale_after: '30s' }, 'api')
    const s = newGroupState('r', g)
    expect(applySample(r, s, 1000, 9)?.to).toBe('firing')
    expect(checkStale(r, s, 30_999)).toBeNull()
    const t = checkStale(r, s, 31_000)
    expect(t).toMatchObject({ from: 'firing', to: 'resolved', ts: 31_000, reason: 'stale', value: 9, threshold: 5, id: transitionId('r', s.key, 'resolved', 31_000) })
    expect(checkStale(r, s, 90_000)).toBeNull()
  })

  it('a pending group goes back to inactive; default stale_after is 5m', () => {
    const r = compileRule({ id: 'r', name: 'r', kind: 'threshold', metric: 'fds', op: '>', threshold: 5, for: '1m' }, 'api')
    expect(r.staleAfterMs).toBe(300_000)
    const s = newGroupState('r', g)
    expect(applySample(r, s, 1000, 9)?.to).toBe('pending')
    expect(checkStale(r, s, 301_000)).toMatchObject({ from: 'pending', to: 'inactive', ts: 301_000, reason: 'stale' })
  })
})
