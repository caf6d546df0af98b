// The kafkajs consumer's lifecycle: connect, subscribe, run; group joins; pausing every assigned
// partition while ClickHouse fails. A consumer kafkajs will not restart (a non-retriable error)
// is replaced by a new one after a backoff, forever: the collector never stops consuming on its
// own (logged, counted in sluice_collector_consumer_restarts_total). The backoff starts over
// once a consumer joins.
import type { Consumer, ConsumerConfig, EachBatchPayload, Kafka } from 'kafkajs'
import { warn } from '../platform/log.js'
import type { CollectorMetrics } from './metrics.js'

type Assignment = Array<{ topic: string, partitions: number[] }>

export interface ConsumerRunnerOptions {
  kafka: Kafka
  config: ConsumerConfig
  topics: string[]
  partitionsConsumedConcurrently: number
  maxRestartBackoffMs: number
  /** a new consumer not joined by then is replaced (default 60 000 ms) */
  joinWaitMs?: number
  metrics: CollectorMetrics
  eachBatch: (payload: EachBatchPayload) => Promise<void>
  /** a new group generation (a join, or a replaced consumer): what was known per partition is void */
  onNewGeneration: () => void
}

export type ConsumerRunner = ReturnType<typeof createConsumerRunner>

/** The assigned partitions and the steering of them: pause all while ClickHouse fails, resume,
 *  seek. `consumer()` is the live consumer, which a restart replaces. */
function partitionSteering (consumer: () => Consumer | null, m: CollectorMetrics) {
  let assignment: Assignment = []
  let pausedForFailure: Assignment = []

  // pause/resume/seek throw while the consumer is between a crash and its restart (e.g. Kafka
  // down): then there is nothing to steer — the rejoined member fetches from the committed
  // offsets and GROUP_JOIN resets this member's state — so such a call is skipped, not thrown
  // (regression: a seek during a Kafka outage became an unhandled rejection)
  function steer (what: string, fn: (c: Consumer) => void): void {
    const c = consumer()
    if (c === null) return
    try { fn(c) } catch (err) {
      if (!/not initialized|not running/i.test((err as Error).message)) warn(`collect: ${what} failed: ${(err as Error).message}`)
    }
  }

  function resumeAll (): void {
    if (pausedForFailure.length === 0 || consumer() === null) return
    const paused = pausedForFailure
    steer('resume', c => c.resume(paused))
    pausedForFailure = []
    m.paused.set(0)
  }

  return {
    steer,
    resumeAll,
    pauseAll (): void {
      if (pausedForFailure.length > 0 || consumer() === null) return
      pausedForFailure = assignment.map(a => ({ topic: a.topic, partitions: [...a.partitions] }))
      if (pausedForFailure.length === 0) return
      const paused = pausedForFailure
      steer('pause', c => c.pause(paused))
      m.paused.set(pausedForFailure.reduce((n, a) => n + a.partitions.length, 0))
    },
    /** a join's (or a new consumer's: empty) assignment */
    assigned (a: Assignment): void { assignment = a },
    /** pauses what is assigned now (a halt) */
    pauseAssigned (): void { if (assignment.length > 0) steer('pause', c => c.pause(assignment)) }
  }
}

export function createConsumerRunner (o: ConsumerRunnerOptions) {
  const m = o.metrics
  let consumer: Consumer | null = null
  let running = false
  let halted = false
  let restartAttempt = 0
  let restartTimer: NodeJS.Timeout | null = null
  const partitions = partitionSteering(() => consumer, m)

  async function run (): Promise<void> {
    const c = o.kafka.consumer(o.config)
    consumer = c
    // a consumer whose first join never completes (seen when the group's previous member was
    // leaving while it joined) would consume nothing, silently: it is replaced like a crashed one
    const joinWatch = setTimeout(() => {
      if (consumer === c && !halted) restart(c, new Error(`no group join within ${joinWaitMs / 1000} s`))
    }, joinWaitMs)
    joinWatch.unref()
    c.on(c.events.GROUP_JOIN, e => {
      clearTimeout(joinWatch)
      if (consumer !== c) return
      restartAttempt = 0
      o.onNewGeneration()
      m.rebalances.inc()
      partitions.assigned(Object.entries(e.payload.memberAssignment).map(([topic, ps]) => ({ topic, partitions: ps })))
      // a batch abandoned by the rebalance may have left partitions paused
      partitions.resumeAll()
    })
    c.on(c.events.CRASH, e => {
      if (consumer !== c) return
      if (e.payload.restart) warn(`collect: consumer error (${e.payload.error.message}); restarting from the committed offsets`)
      else restart(c, e.payload.error)
    })
    await c.connect()
    await c.subscribe({ topics: o.topics, fromBeginning: true })
    running = true
    await c.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: o.partitionsConsumedConcurrently, eachBatch: o.eachBatch })
  }

  /** how long a restart waits for the crashed consumer to disconnect */
  const disconnectWaitMs = 5000
  /** a new consumer that has not joined its group by then is replaced (kafkajs' rebalance timeout) */
  const joinWaitMs = o.joinWaitMs ?? 60_000

  function restart (old: Consumer, err: Error): void {
    if (halted || restartTimer !== null) return
    const delay = Math.min(o.maxRestartBackoffMs, 1000 * 2 ** Math.min(restartAttempt++, 15))
    m.consumerRestarts.inc()
    warn(`collect: consumer error (${err.message}); kafkajs gave up on this consumer: starting a new one in ${delay} ms (from the committed offsets)`)
    restartTimer = setTimeout(() => {
      restartTimer = null
      void (async () => {
        // a crashed consumer's disconnect can hang (kafkajs mid-join): bounded, it must not stall the restart
        await Promise.race([old.disconnect().catch(() => {}), new Promise(resolve => setTimeout(resolve, disconnectWaitMs).unref())])
        if (halted) return
        partitions.assigned([])
        o.onNewGeneration()
        try { await run() } catch (e) { restart(consumer ?? old, e as Error) }
      })()
    }, delay)
    restartTimer.unref()
  }

  return {
    start: run,
    pauseAll: partitions.pauseAll,
    resumeAll: partitions.resumeAll,
    /** false before the first consumer runs and once closing */
    isRunning: (): boolean => running,
    seek (topic: string, partition: number, offset: bigint): void {
      partitions.steer('seek', c => c.seek({ topic, partition, offset: offset.toString() }))
    },
    async commit (topic: string, partition: number, offset: bigint, metadata: string | null): Promise<void> {
      try {
        await consumer!.commitOffsets([{ topic, partition, offset: offset.toString(), metadata }])
      } catch (err) {
        m.commitFailures.inc()
        throw err
      }
    },
    /** no restarts, no new batches: the assigned partitions are paused */
    halt (): void {
      halted = true
      if (restartTimer !== null) { clearTimeout(restartTimer); restartTimer = null }
      partitions.pauseAssigned()
    },
    async close (): Promise<void> {
      running = false
      await consumer?.disconnect().catch(() => {})
    }
  }
}
