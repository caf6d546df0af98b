// The batcher's sealing rules decide how big each ClickHouse insert is: a trickle at once, a
// backlog in large inserts, and open batches bounded in bytes. These pin each rule alone.
import { describe, expect, it } from 'vitest'
import { createBatcher, type OpenBatch } from '../../collector/batcher.js'
import { rowCount } from '../../collector/row-types.js'

const meta = { topic: 'sluice.stats.v1', partition: 0, offset: '0', key: 'h1' }
// one v1 stats record of one sample: one row
const record = (i: number): Buffer => Buffer.from(JSON.stringify({ v: 1, kind: 'stats', ts: '2026-01-01T00:00:00.000Z', host: 'h1', service: 's', pid: 1, metrics: { heap_used: 10 + i }, src: 's', off: i }))

function setup (o: { maxBatchRows?: number, maxBatchBytes?: number } = {}) {
  let t = 1000
  const b = createBatcher<string>({ maxBatchRows: o.maxBatchRows ?? 8, maxBatchBytes: o.maxBatchBytes ?? 1 << 20, maxWaitMs: 500, now: () => t })
  const fill = (n: number, from = 0, ob?: OpenBatch<string>): OpenBatch<string> => {
    for (let i = 0; i < n; i++) ob = b.add(ob, 'fetch', 0, 0, BigInt(from + i), record(i), meta)
    return ob!
  }
  return { b, fill, advance: (ms: number) => { t += ms } }
}

describe('batcher', () => {
  it('opens a batch at the first message and tracks its offsets, rows and bytes', () => {
    const { fill } = setup()
    const ob = fill(3, 40)
    expect(ob.from).toBe(40n)
    expect(ob.to).toBe(42n)
    expect(rowCount(ob.rows)).toBe(3)
    expect(ob.rows.stats.map(r => r.value)).toEqual([10, 11, 12])
    expect(ob.bytes).toBe(record(0).length + record(1).length + record(2).length)
    expect(ob.since).toBe(1000)
  })

  it('is full at maxBatchRows rows, not one row before', () => {
    const { b, fill } = setup({ maxBatchRows: 8 })
    const ob = fill(7)
    expect(b.isFull(ob)).toBe(false)
    expect(b.isFull(fill(1, 7, ob))).toBe(true)
  })

  it('is full at maxBatchBytes bytes', () => {
    const { b, fill } = setup({ maxBatchRows: 1000, maxBatchBytes: 2 * record(0).length })
    const ob = fill(1)
    expect(b.isFull(ob)).toBe(false)
    expect(b.isFull(fill(1, 1, ob))).toBe(true)
  })

  it('is ready when caught up, at a quarter of maxBatchRows, or after twice the fetch wait', () => {
    const { b, fill, advance } = setup({ maxBatchRows: 8 })
    const one = fill(1)
    expect(b.ready(one)).toBe(false)
    one.caughtUp = true
    expect(b.ready(one)).toBe(true)
    expect(b.ready(fill(2))).toBe(true)
    const old = fill(1)
    advance(999)
    expect(b.ready(old)).toBe(false)
    advance(1)
    expect(b.ready(old)).toBe(true)
  })

  it('seals at the end of a fetch only when ClickHouse is idle and the batch ready, or past the open-bytes bound', () => {
    const size = record(0).length
    const { b, fill } = setup({ maxBatchRows: 100, maxBatchBytes: 2 * size })
    const ob = fill(1)
    ob.caughtUp = true
    expect(b.sealsAtFetchEnd(ob, true)).toBe(true)
    expect(b.sealsAtFetchEnd(ob, false)).toBe(false)
    // open batches may hold 2 × maxBatchBytes together: 3 parked + this one exceed it
    b.park('p1', fill(1)); b.park('p2', fill(1)); b.park('p3', fill(1))
    expect(b.openBytes).toBe(3 * size)
    expect(b.sealsAtFetchEnd(fill(1), false)).toBe(false) // 4 × size = the bound, not over it
    b.park('p4', fill(1))
    expect(b.sealsAtFetchEnd(fill(1), false)).toBe(true)
  })

  it('takes the oldest ready batch, skips unready ones and drops stale ones', () => {
    const { b, fill, advance } = setup({ maxBatchRows: 100 })
    const stale = fill(1); stale.caughtUp = true
    b.park('stale', stale)
    advance(10)
    const notReady = fill(1)
    b.park('waiting', notReady)
    advance(10)
    const older = fill(1); older.caughtUp = true
    b.park('older', older)
    advance(10)
    const newer = fill(1); newer.caughtUp = true
    b.park('newer', newer)
    const isCurrent = (key: string): boolean => key !== 'stale'
    expect(b.takeOldestReady(isCurrent)).toEqual({ key: 'older', ob: older })
    expect(b.takeOldestReady(isCurrent)).toEqual({ key: 'newer', ob: newer })
    expect(b.takeOldestReady(isCurrent)).toBeNull()
    // only the unready batch is left open: the stale one was dropped with its bytes
    expect(b.openBytes).toBe(notReady.bytes)
    expect(b.take('stale')).toBeUndefined()
    expect(b.take('waiting')).toBe(notReady)
    expect(b.openBytes).toBe(0)
  })

  it('clear() forgets every open batch and its bytes', () => {
    const { b, fill } = setup()
    b.park('p1', fill(2))
    b.clear()
    expect(b.openBytes).toBe(0)
    expect(b.take('p1')).toBeUndefined()
  })
})
