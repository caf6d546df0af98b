// The tail hub's parts on their own: the replay ring (bounded in lines and bytes, `low` moving with
// each eviction, a resume older than the ring refused) and the resume turns (at most N at once, a
// bounded queue of waiters, a full queue refused, an aborted waiter leaving the queue).
import { describe, expect, it, vi } from 'vitest'
import { Counter, Gauge, Registry } from 'prom-client'
import { createTailRing } from '../../query-api/tail-ring.js'
import { createResumeSlots } from '../../query-api/tail-resume.js'
import type { TailEntry } from '../../query-api/tail-message.js'

const entry = (partition: number, offset: number, frameBytes = 10): TailEntry =>
  ({ partition, pos: [offset, 0], next: [offset + 1, 0], frame: Buffer.alloc(frameBytes), fieldsJson: '{}', line: {} as TailEntry['line'] })
const offsets = (es: TailEntry[] | null): Array<[number, number]> | null => es === null ? null : es.map(e => [e.partition, e.pos[0]])

describe('tail ring', () => {
  it('keeps the newest lines within its line cap; low moves past each evicted line', () => {
    const ring = createTailRing(3, 1e9)
    ring.low.set(0, [0, 0]).set(1, [0, 0])
    for (const [p, o] of [[0, 0], [1, 0], [0, 1], [1, 1], [0, 2]]) ring.append(entry(p, o))
    expect(ring.size).toBe(3)
    expect(ring.bytes).toBe(30)
    expect([...ring.low]).toEqual([[0, [1, 0]], [1, [1, 0]]])
    expect(offsets(ring.after(new Map([[0, [1, 0]], [1, [1, 0]]]), 10))).toEqual([[0, 1], [1, 1], [0, 2]])
    expect(offsets(ring.after(new Map([[0, [2, 0]], [1, [1, 0]]]), 10))).toEqual([[1, 1], [0, 2]])
    expect(offsets(ring.after(new Map([[0, [1, 0]], [1, [1, 0]]]), 2))).toEqual([[0, 1], [1, 1]])
  })

  it('a position older than the ring, or missing a partition, is not served from memory', () => {
    const ring = createTailRing(2, 1e9)
    ring.low.set(0, [0, 0])
    for (let o = 0; o < 4; o++) ring.append(entry(0, o))
    expect(ring.after(new Map([[0, [1, 0]]]), 10)).toBeNull()
    expect(ring.after(new Map(), 10)).toBeNull()
    expect(offsets(ring.after(new Map([[0, [2, 0]]]), 10))).toEqual([[0, 2], [0, 3]])
  })

  it('keeps its frames within the byte cap', () => {
    const ring = createTailRing(100, 25)
    ring.low.set(0, [0, 0])
    for (let o = 0; o < 5; o++) ring.append(entry(0, o, 10))
    expect({ size: ring.size, bytes: ring.bytes, low: ring.low.get(0) }).toEqual({ size: 2, bytes: 20, low: [3, 0] })
  })
})

describe('resume turns', () => {
  const metrics = () => {
    const registers = [new Registry()]
    return {
      resumesInFlight: new Gauge({ name: 'in_flight', help: 'h', registers }),
      resumesPeak: new Gauge({ name: 'peak', help: 'h', registers }),
      resumesWaiting: new Gauge({ name: 'waiting', help: 'h', registers }),
      resumesRefused: new Counter({ name: 'refused', help: 'h', labelNames: ['reason'], registers })
    }
  }

  it('one at a time: the next waits, one more is refused busy, a returned turn goes to the waiter', async () => {
    const m = metrics()
    const slots = createResumeSlots(1, 1, m)
    const first = await slots.acquire(new AbortController().signal, true)
    let secondGot = false
    const second = slots.acquire(new AbortController().signal, true).then(give => { secondGot = true; return give })
    await expect(slots.acquire(new AbortController().signal, true)).rejects.toMatchObject({ code: 'SLUICE_ERR_RESUME_BUSY', message: 'too many tails resuming from Kafka (1 running, 1 waiting); retry later' })
    expect((await m.resumesRefused.get()).values.map(v => [v.labels.reason, v.value])).toEqual([['busy', 1]])
    expect((await m.resumesWaiting.get()).values[0].value).toBe(1)
    expect(secondGot).toBe(false)
    first()
    first() // giving a turn back twice gives it once
    const giveSecond = await second
    expect(secondGot).toBe(true)
    expect((await m.resumesInFlight.get()).values[0].value).toBe(1)
    giveSecond()
    expect((await m.resumesInFlight.get()).values[0].value).toBe(0)
    expect((await m.resumesPeak.get()).values[0].value).toBe(1)
  })

  it('an aborted waiter leaves the queue and is rejected as closed', async () => {
    const slots = createResumeSlots(1, 4, metrics())
    const give = await slots.acquire(new AbortController().signal, false)
    const ac = new AbortController()
    const waiting = slots.acquire(ac.signal, false)
    ac.abort()
    await expect(waiting).rejects.toMatchObject({ code: 'SLUICE_ERR_CLOSED', message: 'the tail request is closed' })
    give()
    const again = await slots.acquire(new AbortController().signal, false)
    again()
  })

  it('idle GCs: one gcAfterMs after the last turn or closed tail, a second 5 × later; a new turn postpones them', async () => {
    vi.useFakeTimers()
    try {
      const m = { ...metrics(), idleGcs: new Counter({ name: 'idle_gcs', help: 'h', registers: [new Registry()] }) }
      const slots = createResumeSlots(1, 1, m, 20)
      const gcs = async (): Promise<number> => (await m.idleGcs.get()).values[0]?.value ?? 0
      const give = await slots.acquire(new AbortController().signal, true)
      vi.advanceTimersByTime(60)
      expect(await gcs()).toBe(0) // a resume is running
      give()
      slots.closed()
      vi.advanceTimersByTime(19)
      expect(await gcs()).toBe(0)
      vi.advanceTimersByTime(1)
      expect(await gcs()).toBe(1)
      const again = await slots.acquire(new AbortController().signal, true)
      vi.advanceTimersByTime(150)
      expect(await gcs()).toBe(1) // the second one waits for the new resume to end
      again()
      vi.advanceTimersByTime(20)
      expect(await gcs()).toBe(2)
      vi.advanceTimersByTime(99)
      expect(await gcs()).toBe(2)
      vi.advanceTimersByTime(1)
      expect(await gcs()).toBe(3)
      vi.advanceTimersByTime(1000)
      expect(await gcs()).toBe(3) // and no more until the next resume
    } finally { vi.useRealTimers() }
  })
})
