// The alert state machine on exact sample sequences (data time, no clock involved).
import { describe, expect, it } from 'vitest'
import { compileRule, type RuleBody } from '../../alerts/rules.js'
import { applyPresence, applySample, checkSilence, newGroupState, transitionId } from '../../alerts/state.js'

const g = { service: 'api', host: 'h1', pid: 7 }
function run (body: Partial<RuleBody>, values: number[], stepMs = 1000): string[] {
  const rule = compileRule({ id: 'r', name: 'r', kind: 'threshold', metric: 'x', op: '>', threshold: 10, ...body } as RuleBody & { id: string }, 'api')
  const s = newGroupState('r', g)
  const out: string[] = []
  values.forEach((v, i) => { const t = applySample(rule, s, 1000 + i * stepMs, v); if (t !== null) out.push(`${i}:${t.to}`) })
  return out
}

describe('alert state machine', () => {
  it.each([
    ['fires at once without for', {}, [5, 11, 12, 9], ['1:firing', '3:resolved']],
    ['pending, then firing once the breach lasted for', { for: '2s' }, [11, 11, 11, 11, 5], ['0:pending', '2:firing', '4:resolved']],
    ['pending that clears before for never fires', { for: '3s' }, [11, 11, 5, 11], ['0:pending', '2:inactive', '3:pending']],
    ['oscillation without hysteresis flaps', {}, [11, 9, 11, 9, 11, 9], ['0:firing', '1:resolved', '2:firing', '3:resolved', '4:firing', '5:resolved']],
    ['resolve_threshold: oscillation keeps one alert', { resolve_threshold: 5 }, [11, 9, 11, 9, 11, 9, 4], ['0:firing', '6:resolved']],
    ['keep_firing_for: short dips do not resolve', { keep_firing_for: '3s' }, [11, 9, 11, 9, 9, 11, 9, 9, 9, 9], ['0:firing', '9:resolved']],
    ['op < with resolve above', { op: '<', threshold: 2, resolve_threshold: 4 }, [5, 1, 3, 1, 5], ['1:firing', '4:resolved']],
    ['>= includes the threshold', { op: '>=' }, [10, 9], ['0:firing', '1:resolved']]
  ] as Array<[string, Partial<RuleBody>, number[], string[]]>)('%s', (_name, body, values, expected) => {
    expect(run(body, values)).toEqual(expected)
  })

  it('ignores samples older than the last one (replays, duplicates)', () => {
    const rule = compileRule({ id: 'r', name: 'r', kind: 'threshold', metric: 'x', op: '>', threshold: 10 }, 'api')
    const s = newGroupState('r', g)
    expect(applySample(rule, s, 2000, 11)?.to).toBe('firing')
    expect(applySample(rule, s, 2000, 1)).toBeNull()
    expect(applySample(rule, s, 1500, 1)).toBeNull()
    expect(s.state).toBe('firing')
  })

  it('derives the same transition id for the same event in any evaluator', () => {
    const rule = compileRule({ id: 'r', name: 'r', kind: 'threshold', metric: 'x', op: '>', threshold: 10, for: '1s' }, 'api')
    const a = newGroupState('r', g); const b = newGroupState('r', g)
    const ids = (s: typeof a): string[] => [1000, 2000, 3000].map((t, i) => applySample(rule, s, t, [11, 11, 1][i])?.id ?? '-')
    expect(ids(a)).toEqual(ids(b))
    expect(ids(newGroupState('r', g))[1]).toBe(transitionId('r', 'api\u0000h1\u00007', 'firing', 2000))
  })

  it('no-data fires at last sample + for and resolves on the next sample', () => {
    const rule = compileRule({ id: 'nd', name: 'nd', kind: 'no_data', metric: 'heap_used', for: '5s' }, 'api')
    const s = newGroupState('nd', g)
    expect(applyPresence(rule, s, 10_000)).toBeNull()
    expect(checkSilence(rule, s, 14_999)).toBeNull()
    const fired = checkSilence(rule, s, 20_000)
    expect(fired).toMatchObject({ to: 'firing', ts: 15_000, value: 5, threshold: 5 })
    expect(checkSilence(rule, s, 30_000)).toBeNull()
    expect(applyPresence(rule, s, 31_000)).toMatchObject({ from: 'firing', to: 'resolved', ts: 31_000 })
  })
})
