// Dead letters also go to the dead-letter topic, so a tool other than ClickHouse (or a
// re-drive job) can consume them. Key = topic/partition/offset/line: a replayed range produces
// the same keys, which lets a consumer drop the repeats (the topic is at-least-once; the
// dead_letters table is exactly-once through the insert token).
import type { Kafka, Producer } from 'kafkajs'
import type { DeadLetterRow } from './row-types.js'

export interface DeadLetterTopic {
  send (rows: DeadLetterRow[]): Promise<void>
  close (): Promise<void>
}

export function createDeadLetterTopic (kafka: Kafka, topic: string): DeadLetterTopic {
  let producer: Producer | null = null
  return {
    async send (rows) {
      if (rows.length === 0) return
      if (producer === null) {
        producer = kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 1 })
        await producer.connect()
      }
      await producer.send({
        topic,
        acks: -1,
        messages: rows.map(r => ({ key: `${r.topic}/${r.partition}/${r.kafka_offset}/${r.line_index}`, value: JSON.stringify(r) }))
      })
    },
    async close () {
      const p = producer
      producer = null
      await p?.disconnect().catch(() => {})
    }
  }
}
