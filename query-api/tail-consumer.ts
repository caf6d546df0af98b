// The tail hub's live consumer of the logs topic: a group of its own that never commits, started
// at given offsets, seeking back to the hub's own position on every rejoin, and replaced by a
// new consumer from there when kafkajs gives up on it.
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs'
import type { TailPosition } from './tail-position.js'

export type PartitionOffsets = Array<{ partition: number, offset: number }>

/** the topic's high watermarks: where a hub's coverage begins */
export async function highWatermarks (kafka: Kafka, topic: string): Promise<PartitionOffsets> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return (await admin.fetchTopicOffsets(topic)).map(p => ({ partition: p.partition, offset: Number(p.high) }))
  } finally { await admin.disconnect().catch(() => {}) }
}

export interface LiveConsumer {
  /** connected, or replaced after a crash and connected again */
  readonly ready: boolean
  /** start() was called and got as far as creating a consumer */
  readonly started: boolean
  start (from: PartitionOffsets): Promise<void>
  stop (): Promise<void>
}

/** `cur` is the hub's position (next offset per partition), which eachBatch advances */
export function createLiveConsumer (kafka: Kafka, topic: string, groupId: () => string, cur: TailPosition, eachBatch: (p: EachBatchPayload) => Promise<void>): LiveConsumer {
  let consumer: Consumer | null = null
  let ready = false
  let stopped = false

  /** A consumer of the logs topic starting at `from` (per partition). The group has no
   *  committed offsets, so after a rejoin or a restart kafkajs would start at the latest offset:
   *  every (re)join seeks back to the hub's own position, and a consumer kafkajs gives up on
   *  (e.g. a broker lost for longer than its retries) is replaced by a new one from there. */
  async function connectConsumer (from: Array<{ partition: number, offset: number }>): Promise<void> {
    const c = kafka.consumer({ groupId: groupId(), maxWaitTimeInMs: 100, minBytes: 1, allowAutoTopicCreation: false, retry: { retries: 10 } })
    consumer = c
    // start exactly where the ring's coverage begins (`from`), whatever offset reset would pick:
    // after run(), or — when the group restarted at once (kafkajs then has no group to seek in,
    // and seek throws) — when it has joined; a later join (rejoin) resumes from our own position
    let seeked = false
    const seekStart = (): void => {
      if (seeked) return
      for (const p of from) c.seek({ topic, partition: p.partition, offset: String(p.offset) })
      seeked = true
    }
    let joins = 0
    const joined = new Promise<void>(resolve => c.on(c.events.GROUP_JOIN, () => {
      if (joins++ > 0) for (const [partition, [offset]] of cur) c.seek({ topic, partition, offset: String(offset) })
      else try { seekStart() } catch {}
      resolve()
    }))
    c.on(c.events.CRASH, (ev) => {
      if (ev.payload.restart || stopped || consumer !== c) return
      ready = false
      void (async () => {
        await c.disconnect().catch(() => {})
        for (;;) {
          if (stopped) return
          await new Promise(resolve => setTimeout(resolve, 1000))
          try {
            await connectConsumer([...cur].map(([partition, [offset]]) => ({ partition, offset })))
            ready = true
            return
          } catch { await consumer?.disconnect().catch(() => {}) }
        }
      })()
    })
    await c.connect()
    await c.subscribe({ topic, fromBeginning: false })
    await c.run({ autoCommit: false, eachBatchAutoResolve: true, eachBatch })
    try { seekStart() } catch {}
    await joined
  }

  return {
    get ready () { return ready },
    get started () { return consumer !== null },
    async start (from) {
      await connectConsumer(from)
      ready = true
    },
    async stop () {
      stopped = true
      ready = false
      await consumer?.disconnect().catch(() => {})
    }
  }
}
