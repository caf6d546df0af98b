// The planned range in the offset-commit metadata is what makes a retried insert carry the
// same dedup token after a crash; these pin its encoding and when it is (not) trusted.
import { describe, expect, it } from 'vitest'
import { decodePlan, dedupToken, encodePlan } from '../../collector/plan.js'

describe('planned offset ranges', () => {
  it('round-trips through the commit metadata', () => {
    const r = { from: 1200n, to: 1299n }
    expect(encodePlan(r)).toBe('sluice-plan/1 1200-1299')
    expect(decodePlan(encodePlan(r), '1200')).toEqual(r)
  })

  it.each([
    ['no metadata', null, '1200'],
    ['metadata of another tool', 'checkpoint 7', '1200'],
    ['committed offset moved past the plan', 'sluice-plan/1 1200-1299', '1300'],
    ['no committed offset', 'sluice-plan/1 1200-1299', '-1'],
    ['inverted range', 'sluice-plan/1 1299-1200', '1299'],
    ['garbage after the tag', 'sluice-plan/1 12x-13', '12']
  ])('is ignored with %s', (_what, metadata, committed) => {
    expect(decodePlan(metadata, committed)).toBeNull()
  })

  it('builds the same token for the same range, a different one per table and range', () => {
    const t = dedupToken('sluice.logs.v1', 3, { from: 10n, to: 20n }, 'logs')
    expect(t).toBe('sluice.logs.v1:3:10-20:logs')
    expect(dedupToken('sluice.logs.v1', 3, { from: 10n, to: 20n }, 'logs')).toBe(t)
    expect(dedupToken('sluice.logs.v1', 3, { from: 10n, to: 20n }, 'dead_letters')).not.toBe(t)
    expect(dedupToken('sluice.logs.v1', 3, { from: 10n, to: 21n }, 'logs')).not.toBe(t)
  })
})
