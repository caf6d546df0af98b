// Starts a real single-node KRaft Apache Kafka broker from the official jars, resolved from
// Maven Central by Maven (docker/kafka/pom.xml) and cached. Used by `sluice kafka`,
// `sluice up` (when KAFKA_BROKERS is unset) and the test harness.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { errors } from './errors.js'
import { createKafka } from './kafka.js'

export function packageRoot (): string {
  let dir = path.dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pj = path.join(dir, 'package.json')
    if (fs.existsSync(pj) && (JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'sluice') return dir
    const up = path.dirname(dir)
    if (up === dir) throw new Error('cannot find the sluice package root')
    dir = up
  }
}

export function kafkaLibsDir (): string {
  return process.env.SLUICE_KAFKA_LIBS ?? path.join(packageRoot(), 'docker', 'kafka', 'libs')
}

/** Resolves the broker jars with Maven once; later calls return at once. */
export function ensureKafkaJars (progress: (msg: string) => void = () => {}): string {
  const libs = kafkaLibsDir()
  const has = fs.existsSync(libs) && fs.readdirSync(libs).some(f => /^kafka_2\.13-.*\.jar$/.test(f))
  if (has) return libs
  const pom = path.join(packageRoot(), 'docker', 'kafka', 'pom.xml')
  progress(`resolving Apache Kafka jars from Maven Central into ${libs} (first run only, ~10-60 s)…`)
  const tmp = `${libs}.tmp-${process.pid}`
  const r = spawnSync('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${tmp}`], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
  if (r.error !== undefined) throw errors.KAFKA_LAUNCH_FAILED(`could not run Maven (mvn): ${r.error.message}; install Maven or set KAFKA_BROKERS`)
  if (r.status !== 0) throw errors.KAFKA_LAUNCH_FAILED(`Maven failed (exit ${String(r.status)}): ${(r.stdout + r.stderr).trim().split('\n').slice(-3).join(' | ')}`)
  try { fs.renameSync(tmp, libs) } catch (err) {
    if (!fs.existsSync(libs)) throw err // a concurrent run won the race: fine
    fs.rmSync(tmp, { recursive: true, force: true })
  }
  return libs
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })
}

/** A KRaft cluster id: 16 random bytes as 22 base64url characters. One starting with '-' would be
 * read as an option by the storage tool (regression: a format failed 1 run in 64), so draw again. */
export function newClusterId (): string {
  for (;;) {
    const id = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url').slice(0, 22)
    if (/^[A-Za-z0-9]/.test(id)) return id
  }
}

export interface LocalKafka {
  brokers: string
  port: number
  dataDir: string
  process: ChildProcess
  stop (): Promise<void>
}

export interface LocalKafkaOptions {
  port?: number
  controllerPort?: number
  dataDir?: string
  progress?: (msg: string) => void
  /** ms to wait for the broker to answer metadata (default 90 s) */
  readyTimeoutMs?: number
  /** -Xmx for the broker JVM (default 512m) */
  heap?: string
}

const log4j = `status = error
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = \${sys:kafka.logs.dir}/broker.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
`

export async function startLocalKafka (opts: LocalKafkaOptions = {}): Promise<LocalKafka> {
  const progress = opts.progress ?? (() => {})
  const libs = ensureKafkaJars(progress)
  const port = opts.port ?? await freePort()
  const cport = opts.controllerPort ?? await freePort()
  const dataDir = path.resolve(opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-kafka-')))
  const logDir = path.join(dataDir, 'logs')
  fs.mkdirSync(logDir, { recursive: true })
  const props = path.join(dataDir, 'server.properties')
  fs.writeFileSync(props, [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${cport}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${path.join(dataDir, 'kraft')}`,
    'num.partitions=4',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'message.max.bytes=16777216',
    'log.retention.hours=168',
    ''
  ].join('\n'))
  const l4j = path.join(dataDir, 'log4j2.properties')
  fs.writeFileSync(l4j, log4j)
  const jvm = ['-Xms128m', `-Xmx${opts.heap ?? '512m'}`, '-XX:+UseG1GC', '-XX:TieredStopAtLevel=1', `-Dlog4j2.configurationFile=${l4j}`, `-Dkafka.logs.dir=${logDir}`, '-cp', `${libs}/*`]
  // a fixed cluster id per data dir: re-formatting an existing dir is a no-op
  const idFile = path.join(dataDir, 'cluster.id')
  if (!fs.existsSync(idFile)) fs.writeFileSync(idFile, newClusterId())
  const clusterId = fs.readFileSync(idFile, 'utf8').trim()
  const fmt = spawnSync('java', [...jvm, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', props, '--ignore-formatted'], { encoding: 'utf8' })
  if (fmt.error !== undefined) throw errors.KAFKA_LAUNCH_FAILED(`could not run java: ${fmt.error.message}`)
  if (fmt.status !== 0) throw errors.KAFKA_LAUNCH_FAILED(`storage format failed: ${(fmt.stdout + fmt.stderr).trim().split('\n').slice(-2).join(' | ')}`)
  progress(`starting Kafka broker on 127.0.0.1:${port} (data ${dataDir})`)
  const out = fs.openSync(path.join(logDir, 'stdout.log'), 'a')
  const child = spawn('java', [...jvm, 'kafka.Kafka', props], { stdio: ['ignore', out, out], detached: false })
  fs.closeSync(out)
  let exited: string | null = null
  child.once('exit', (code, sig) => { exited = `broker exited (code ${String(code)}, signal ${String(sig)}); see ${logDir}/broker.log` })
  const killOnExit = (): void => { try { child.kill('SIGKILL') } catch {} }
  process.once('exit', killOnExit)

  const brokers = `127.0.0.1:${port}`
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000)
  for (;;) {
    if (exited !== null) throw errors.KAFKA_LAUNCH_FAILED(exited)
    if (Date.now() > deadline) { killOnExit(); throw errors.KAFKA_LAUNCH_FAILED(`broker did not answer within ${(opts.readyTimeoutMs ?? 90_000) / 1000} s; see ${logDir}/broker.log`) }
    const admin = createKafka([brokers], 'sluice-launcher', { retry: { retries: 0 }, connectionTimeout: 1000 }).admin()
    try {
      await admin.connect()
      await admin.describeCluster()
      await admin.disconnect()
      break
    } catch {
      await admin.disconnect().catch(() => {})
      await new Promise(resolve => setTimeout(resolve, 300))
    }
  }
  let stopping: Promise<void> | null = null
  return {
    brokers,
    port,
    dataDir,
    process: child,
    stop () {
      stopping ??= new Promise<void>(resolve => {
        process.removeListener('exit', killOnExit)
        if (child.exitCode !== null || child.signalCode !== null) { resolve(); return }
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
        child.once('exit', () => { clearTimeout(t); resolve() })
        child.kill('SIGTERM')
      })
      return stopping
    }
  }
}
