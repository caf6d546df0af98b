// The partition queue bounds the parsed ranges held in memory and keeps each partition's ranges
// in order; these pin the bound, the order, the slot hand-back and the epoch of a rewind.
import { describe, expect, it } from 'vitest'
import { Gauge, Registry } from 'prom-client'
import { createPartitionQueue, type Slot } from '../../collector/partition-queue.js'

function setup (maxInFlight: number) {
  const registers = [new Registry()]
  const metrics = { inFlight: new Gauge({ name: 'in_flight', help: 'h', registers }), bufferedBytes: new Gauge({ name: 'buffered', help: 'h', registers }) }
  let freed = 0
  const q = createPartitionQueue({ maxInFlight, metrics, onSlotFreed: () => { freed++ } })
  const gauge = async (g: Gauge): Promise<number> => (await g.get()).values[0].value
  return { q, metrics, gauge, freed: () => freed }
}

/** a range's insert that finishes when told to */
function job (log: string[], name: string) {
  let finish!: () => void
  let markStarted!: () => void
  let slot!: Slot
  const done = new Promise<void>(resolve => { finish = resolve })
  const started = new Promise<void>(resolve => { markStarted = resolve })
  const run = async (s: Slot): Promise<void> => {
    slot = s
    log.push(`start ${name}`)
    markStarted()
    await done
    log.push(`end ${name}`)
    s.inserted(); s.release()
  }
  return { run, started, finish: () => finish(), slot: () => slot }
}

describe('partition queue', () => {
  it('runs the ranges of one partition strictly in order, other partitions alongside', async () => {
    const { q } = setup(3)
    const log: string[] = []
    const a1 = job(log, 'a1'); const a2 = job(log, 'a2'); const b1 = job(log, 'b1')
    await q.enqueue('t:0', 10, a1.run)
    await q.enqueue('t:0', 10, a2.run)
    await q.enqueue('t:1', 10, b1.run)
    await Promise.all([a1.started, b1.started])
    expect(log).toEqual(['start a1', 'start b1'])
    expect(q.pending).toBe(2)
    a1.finish(); await a2.started
    b1.finish(); a2.finish()
    await new Promise(resolve => setTimeout(resolve, 0))
    expect(log.filter(l => l.endsWith(' a1') || l.endsWith(' a2'))).toEqual(['start a1', 'end a1', 'start a2', 'end a2'])
    expect(q.pending).toBe(0)
  })

  it('holds at most maxInFlight ranges: enqueue waits for a slot, counted in the gauges', async () => {
    const { q, metrics, gauge, freed } = setup(1)
    const log: string[] = []
    const first = job(log, 'first'); const second = job(log, 'second')
    await q.enqueue('t:0', 100, first.run)
    expect(q.hasFreeSlot()).toBe(false)
    expect(await gauge(metrics.inFlight)).toBe(1)
    expect(await gauge(metrics.bufferedBytes)).toBe(100)
    let queued = false
    const p = q.enqueue('t:1', 50, second.run).then(() => { queued = true })
    await first.started
    await new Promise(resolve => setTimeout(resolve, 0))
    expect(queued).toBe(false)
    first.finish()
    await p
    expect(queued).toBe(true)
    expect(freed()).toBe(1)
    await second.started
    expect(await gauge(metrics.bufferedBytes)).toBe(50)
    second.finish()
    await new Promise(resolve => setTimeout(resolve, 0))
    expect(await gauge(metrics.inFlight)).toBe(0)
    expect(q.hasFreeSlot()).toBe(true)
  })

  it('is idle only once every queued range is inserted; inserted() and release() count once', async () => {
    const { q, metrics, gauge, freed } = setup(2)
    const log: string[] = []
    const j = job(log, 'j')
    expect(q.idle()).toBe(true)
    await q.enqueue('t:0', 10, j.run)
    expect(q.idle()).toBe(false)
    await j.started
    j.slot().inserted(); j.slot().inserted()
    expect(q.idle()).toBe(true)
    j.slot().release()
    j.finish()
    await new Promise(resolve => setTimeout(resolve, 0))
    expect(freed()).toBe(1)
    expect(await gauge(metrics.inFlight)).toBe(0)
    expect(q.idle()).toBe(true)
  })

  it('bumps a partition epoch on rewind, leaving the others', () => {
    const { q } = setup(1)
    expect(q.epochOf('t:0')).toBe(0)
    q.bumpEpoch('t:0'); q.bumpEpoch('t:0')
    expect(q.epochOf('t:0')).toBe(2)
    expect(q.epochOf('t:1')).toBe(0)
  })
})
