// One real Kafka broker for the whole test run:
//   KAFKA_BROKERS set → that cluster; Docker engine reachable → testcontainers;
//   otherwise the project's own launcher (official jars from Maven Central).
// Test files isolate themselves with their own SLUICE_TOPIC_PREFIX.
import fs from 'node:fs'
import type { TestProject } from 'vitest/node'
import { startLocalKafka } from '../../platform/kafka-launcher.js'

declare module 'vitest' {
  export interface ProvidedContext { kafkaBrokers: string }
}

function dockerLikely (): boolean {
  return process.env.DOCKER_HOST !== undefined || fs.existsSync('/var/run/docker.sock')
}

export default async function setup (project: TestProject): Promise<() => Promise<void>> {
  if (process.env.KAFKA_BROKERS !== undefined && process.env.KAFKA_BROKERS !== '') {
    project.provide('kafkaBrokers', process.env.KAFKA_BROKERS)
    return async () => {}
  }
  if (dockerLikely()) {
    try {
      const { KafkaContainer } = await import('@testcontainers/kafka')
      const container = await new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().withExposedPorts(9093).start()
      project.provide('kafkaBrokers', `${container.getHost()}:${container.getMappedPort(9093)}`)
      process.stderr.write('test setup: Kafka from testcontainers\n')
      return async () => { await container.stop() }
    } catch (err) {
      process.stderr.write(`test setup: Docker not usable (${(err as Error).message.split('\n')[0]}); using the local launcher\n`)
    }
  }
  const k = await startLocalKafka({ progress: msg => process.stderr.write(`test setup: ${msg}\n`) })
  project.provide('kafkaBrokers', k.brokers)
  return async () => {
    await k.stop()
    fs.rmSync(k.dataDir, { recursive: true, force: true })
  }
}
