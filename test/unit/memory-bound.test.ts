// The shipper's memory-bound policy on its own: above the bound a minor GC, then a major one only
// if the minor was not enough; 0 bounds nothing; the Kafka thread's cumulative GC counts are
// turned into increments once each.
import { describe, expect, it } from 'vitest'
import { collectIfOver, createMemoryBound, type GcType, type MemoryBoundRuntime } from '../../shipper/memory-bound.js'

/** a runtime whose arrayBuffers readings come from `readings`, one per read */
function fakeRuntime (readings: number[]): MemoryBoundRuntime & { gcs: GcType[], young: number, freed: number, reads: number } {
  const rt = {
    gcs: [] as GcType[],
    young: 0,
    freed: 0,
    reads: 0,
    arrayBuffers: () => readings[rt.reads++],
    gc: (type: GcType) => { rt.gcs.push(type) },
    boundYoungGeneration: () => { rt.young++ },
    freeBuffersAtGc: () => { rt.freed++ }
  }
  return rt
}

describe('collectIfOver', () => {
  it('under or at the bound: no GC, one reading', () => {
    const ran: GcType[] = []
    let reads = 0
    expect(collectIfOver(100, () => { reads++; return 100 }, t => ran.push(t))).toEqual([])
    expect(ran).toEqual([])
    expect(reads).toBe(1)
  })

  it('over, and a minor GC brings it under: minor only', () => {
    const readings = [150, 90]
    const ran: GcType[] = []
    expect(collectIfOver(100, () => readings.shift()!, t => ran.push(t))).toEqual(['minor'])
    expect(ran).toEqual(['minor'])
    expect(readings).toEqual([])
  })

  it('still over after the minor GC: minor, then major, no third reading', () => {
    const readings = [150, 120, 1]
    const ran: GcType[] = []
    expect(collectIfOver(100, () => readings.shift()!, t => ran.push(t))).toEqual(['minor', 'major'])
    expect(ran).toEqual(['minor', 'major'])
    expect(readings).toEqual([1])
  })

  it('a bound of 0 reads nothing and collects nothing', () => {
    let reads = 0
    expect(collectIfOver(0, () => { reads++; return 1e9 }, () => { throw new Error('no GC expected') })).toEqual([])
    expect(reads).toBe(0)
  })
})

describe('createMemoryBound (main thread)', () => {
  it('counts forced GCs and reports both threads\' Buffer bytes', () => {
    const rt = fakeRuntime([150, 120, 50, 40])
    const forced: Array<[GcType, number]> = []
    const bytes: number[] = []
    const bound = createMemoryBound(100, { onForcedGc: (t, n) => forced.push([t, n]), onBufferBytes: b => bytes.push(b) }, rt)
    bound.activate()
    bound.workerReport(7, { minor: 0, major: 0 })
    bound.check() // 150 → minor → 120 → major
    bound.check() // 50: nothing
    expect(rt.freed).toBe(1)
    expect(rt.young).toBe(2)
    expect(rt.gcs).toEqual(['minor', 'major'])
    expect(forced).toEqual([['minor', 1], ['major', 1]])
    expect(bytes).toEqual([157, 127, 57])
  })

  it('the Kafka thread\'s cumulative counts become increments, each GC counted once', () => {
    const forced: Array<[GcType, number]> = []
    const bound = createMemoryBound(100, { onForcedGc: (t, n) => forced.push([t, n]), onBufferBytes: () => {} }, fakeRuntime([]))
    bound.workerReport(0, { minor: 3, major: 0 })
    bound.workerReport(0, { minor: 3, major: 1 })
    bound.workerReport(0, { minor: 5, major: 1 })
    expect(forced).toEqual([['minor', 3], ['major', 1], ['minor', 2]])
  })

  it('unbounded (0): no V8 flags, no readings, no GCs', () => {
    const rt = fakeRuntime([])
    const bound = createMemoryBound(0, { onForcedGc: () => { throw new Error('no GC expected') }, onBufferBytes: () => { throw new Error('no reading expected') } }, rt)
    bound.activate()
    bound.check()
    expect({ freed: rt.freed, young: rt.young, reads: rt.reads, gcs: rt.gcs }).toEqual({ freed: 0, young: 0, reads: 0, gcs: [] })
  })
})
