import { describe, expect, it } from 'vitest'
import { createSeenLines } from '../../query-api/tail-dedup.js'

describe('createSeenLines (the live tail sends a line identity once)', () => {
  it('a Kafka batch retried after later batches: the late originals pass, the repeats do not', () => {
    const seen = createSeenLines(100)
    const shown: number[] = []
    // batch 2 (offsets 30-50) lands before batch 1 (0-20) is retried; then batch 1 again
    for (const off of [30, 40, 50, 0, 10, 20, 0, 10, 20, 30]) if (seen.firstSighting('src-a', off)) shown.push(off)
    expect(shown).toEqual([30, 40, 50, 0, 10, 20])
  })

  it('keeps sources apart', () => {
    const seen = createSeenLines(100)
    expect([seen.firstSighting('a', 0), seen.firstSighting('b', 0), seen.firstSighting('a', 0)]).toEqual([true, true, false])
  })

  it('forgets the oldest lines beyond its capacity, so memory stays fixed', () => {
    const seen = createSeenLines(4)
    for (let off = 0; off < 6; off++) expect(seen.firstSighting('s', off)).toBe(true)
    expect(seen.size).toBe(4)
    expect(seen.firstSighting('s', 5)).toBe(false) // still in the window
    expect(seen.firstSighting('s', 0)).toBe(true) // evicted: offered again
  })

  it('reuses the id of a source whose lines all left the window', () => {
    const seen = createSeenLines(2)
    expect(seen.firstSighting('old', 1)).toBe(true)
    expect(seen.firstSighting('new', 1)).toBe(true)
    expect(seen.firstSighting('new', 2)).toBe(true) // evicts old:1, frees its id
    expect(seen.firstSighting('other', 1)).toBe(true) // evicts new:1, may take the freed id
    expect(seen.firstSighting('new', 2)).toBe(false)
    expect(seen.firstSighting('other', 1)).toBe(false)
  })
})
