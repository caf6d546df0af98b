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

/** the first port of the range the kernel hands out to outgoing connections (Linux) */
export function ephemeralLow (): number {
  try {
    const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) && low > 1024 ? low : 32768
  } catch { return 32768 }
}

async function bindable (port: number): Promise<number | null> {
  return await new Promise(resolve => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', () => resolve(null))
    srv.listen(port, '127.0.0.1', () => {
      const got = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(got))
    })
  })
}

/** A free port to listen on, below the ephemeral range: a listener that restarts on its port
 *  (a killed broker, a restarted server) could otherwise find it taken by a client's outgoing
 *  connection — a client retrying 127.0.0.1:port while nothing listens can even connect to
 *  itself from that very port — and exit with "address already in use". */
export async function freePort (): Promise<number> {
  const high = ephemeralLow()
  const low = Math.min(20_000, high - 1000)
  for (let i = 0; i < 50; i++) {
    const got = await bindable(low + Math.floor(Math.random() * (high - low)))
    if (got !== null) return got
  }
  const any = await bindable(0)
  if (any === null) throw errors.KAFKA_LAUNCH_FAILED('no free port to listen on')
  return any
}

/** A KRaft cluster id: 16 random bytes as 22 base64url characters. One starting with '-' would be
 * read as an option by the storage tool (regression: a format failed 1 run in 64), so draw again. */
export function newClusterId (): string {
  for (;;) {
    const id = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url').slice(0, 22)
    if (/^[A-Za-z0-9]/.test(id)) return id
  }
}

export interface LocalKafkaNode {
  /** KRaft node id (1-based); the node at index i has id i + 1 */
  id: number
  port: number
  controllerPort: number | null
  dataDir: string
  process: ChildProcess
}

export interface LocalKafka {
  /** bootstrap list, comma-separated (what KAFKA_BROKERS takes) */
  brokers: string
  brokerList: string[]
  /** port of the first broker */
  port: number
  dataDir: string
  /** process of the first broker */
  process: ChildProcess
  nodes: LocalKafkaNode[]
  /** SIGKILLs broker `i` (0-based) and resolves once it has exited */
  kill (i: number): Promise<void>
  /** starts broker `i` again on its ports and data dir; resolves once it answers metadata */
  restart (i: number): Promise<void>
  stop (): Promise<void>
}

export interface LocalKafkaOptions {
  /** number of brokers in the KRaft cluster (default 1) */
  brokers?: number
  /** broker port (one broker only) */
  port?: number
  /** controller port (one broker only) */
  controllerPort?: number
  dataDir?: string
  progress?: (msg: string) => void
  /** ms to wait for the brokers to answer metadata (default 90 s) */
  readyTimeoutMs?: number
  /** -Xmx for each broker JVM (default 512m) */
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

interface NodePlan { id: number, port: number, controllerPort: number | null, dir: string }

/** server.properties of one node. Layout: with 3 or more brokers the first three nodes are
 *  combined broker+controller nodes forming a 3-voter quorum (one may be lost) and the rest
 *  are brokers only; with fewer, node 1 alone is the controller. Internal topics and new topics
 *  get replication factor min(3, N) and, from 3 brokers on, min.insync.replicas=2. */
function serverProperties (node: NodePlan, voters: NodePlan[], n: number): string {
  const rf = Math.min(3, n)
  const isVoter = node.controllerPort !== null
  const listeners = [`PLAINTEXT://127.0.0.1:${node.port}`, ...(isVoter ? [`CONTROLLER://127.0.0.1:${String(node.controllerPort)}`] : [])]
  return [
    `process.roles=${isVoter ? 'broker,controller' : 'broker'}`,
    `node.id=${node.id}`,
    `controller.quorum.voters=${voters.map(v => `${v.id}@127.0.0.1:${String(v.controllerPort)}`).join(',')}`,
    `listeners=${listeners.join(',')}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${node.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${path.join(node.dir, 'kraft')}`,
    'num.partitions=4',
    `default.replication.factor=${rf}`,
    `min.insync.replicas=${n >= 3 ? 2 : 1}`,
    `offsets.topic.replication.factor=${rf}`,
    `offsets.topic.num.partitions=${n >= 3 ? 3 : 1}`,
    `transaction.state.log.replication.factor=${rf}`,
    `transaction.state.log.min.isr=${n >= 3 ? 2 : 1}`,
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'unclean.leader.election.enable=false',
    'message.max.bytes=16777216',
    // a follower must be able to fetch the largest message (replica.fetch.max.bytes is 1 MiB)
    'replica.fetch.max.bytes=16777216',
    'log.retention.hours=168',
    ''
  ].join('\n')
}

/**
 * Starts the broker(s). A broker that exits while starting on fresh ports (another process took
 * a port between our pick and its bind, as happens when several runs share a machine) is
 * retried twice on new ports (a fresh data dir is emptied first); fixed ports, or a data dir that
 * already holds a cluster, are not retried.
 */
export async function startLocalKafka (opts: LocalKafkaOptions = {}): Promise<LocalKafka> {
  // a data dir that already holds a cluster keeps its ports: only a fresh one is retried
  const freshDir = opts.dataDir === undefined || !fs.existsSync(path.join(opts.dataDir, 'cluster.id'))
  const retriable = freshDir && opts.port === undefined && opts.controllerPort === undefined
  for (let attempt = 1; ; attempt++) {
    try {
      if (attempt > 1 && opts.dataDir !== undefined) fs.rmSync(opts.dataDir, { recursive: true, force: true })
      return await launchKafka(opts)
    } catch (err) {
      const m = err instanceof Error ? /exited \(code .*; see (\S+)$/.exec(err.message) : null
      if (!retriable || attempt >= 3 || m === null) throw err
      let tail = ''
      try { tail = fs.readFileSync(m[1], 'utf8').trim().split('\n').slice(-3).join(' | ').slice(0, 600) } catch {}
      ;(opts.progress ?? (() => {}))(`${(err as Error).message}${tail !== '' ? ` (${tail})` : ''}; retrying on fresh ports (attempt ${attempt + 1} of 3)`)
    }
  }
}

/** each node's ports and dir. One broker keeps the original layout (server.properties, kraft/,
 *  logs/ in dataDir); a cluster gets node-<id>/ per broker. Ports already written into a node's
 *  properties are kept, so a cluster restarted on the same data dir keeps its addresses. */
async function planNodes (opts: LocalKafkaOptions, n: number, nVoters: number, dataDir: string): Promise<NodePlan[]> {
  const plans: NodePlan[] = []
  for (let i = 0; i < n; i++) {
    const dir = n === 1 ? dataDir : path.join(dataDir, `node-${i + 1}`)
    const old = fs.existsSync(path.join(dir, 'server.properties')) ? fs.readFileSync(path.join(dir, 'server.properties'), 'utf8') : ''
    const oldPort = /^listeners=PLAINTEXT:\/\/127\.0\.0\.1:(\d+)/m.exec(old)?.[1]
    const oldCport = /CONTROLLER:\/\/127\.0\.0\.1:(\d+)/m.exec(old)?.[1]
    const port = (n === 1 ? opts.port : undefined) ?? (oldPort !== undefined && n > 1 ? Number(oldPort) : await freePort())
    const controllerPort = i >= nVoters ? null : (n === 1 ? opts.controllerPort : undefined) ?? (oldCport !== undefined && n > 1 ? Number(oldCport) : await freePort())
    plans.push({ id: i + 1, port, controllerPort, dir })
  }
  return plans
}

/** the JVM arguments of a node living in `dir` */
type JvmArgs = (dir: string) => string[]

/** writes each node's configuration and formats its storage (a no-op on a formatted dir) */
function formatNodes (plans: NodePlan[], nVoters: number, dataDir: string, jvmOf: JvmArgs): void {
  const voters = plans.slice(0, nVoters)
  // a fixed cluster id per data dir: re-formatting an existing dir is a no-op
  const idFile = path.join(dataDir, 'cluster.id')
  if (!fs.existsSync(idFile)) fs.writeFileSync(idFile, newClusterId())
  const clusterId = fs.readFileSync(idFile, 'utf8').trim()
  for (const p of plans) {
    fs.mkdirSync(path.join(p.dir, 'logs'), { recursive: true })
    fs.writeFileSync(path.join(p.dir, 'server.properties'), serverProperties(p, voters, plans.length))
    fs.writeFileSync(path.join(p.dir, 'log4j2.properties'), log4j)
    const fmt = spawnSync('java', [...jvmOf(p.dir), 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '-c', path.join(p.dir, 'server.properties'), '--ignore-formatted'], { encoding: 'utf8' })
    if (fmt.error !== undefined) throw errors.KAFKA_LAUNCH_FAILED(`could not run java: ${fmt.error.message}`)
    if (fmt.status !== 0) throw errors.KAFKA_LAUNCH_FAILED(`storage format of node ${p.id} failed: ${(fmt.stdout + fmt.stderr).trim().split('\n').slice(-2).join(' | ')}`)
  }
}

/** The broker JVMs of a cluster: started, watched for an early exit, waited for, stopped. */
interface BrokerProcesses {
  nodes: LocalKafkaNode[]
  /** starts node i's JVM (again) */
  spawn: (i: number) => ChildProcess
  /** waits until `addrs` answer a metadata request and the cluster lists `expect` brokers; a
   *  watched node that exits, or the timeout, kills them all and throws */
  waitReady: (addrs: string[], watch: number[], expect: number) => Promise<void>
  /** stops a node with `signal` (SIGKILL after 10 s) and resolves once it has exited */
  stopNode: (node: LocalKafkaNode, signal: NodeJS.Signals) => Promise<void>
  killAll: () => void
}

function brokerProcesses (plans: NodePlan[], jvmOf: JvmArgs, readyTimeoutMs: number): BrokerProcesses {
  const nodes: LocalKafkaNode[] = []
  const exitedMsg: Array<string | null> = plans.map(() => null)
  const killAll = (): void => { for (const node of nodes) { try { node.process.kill('SIGKILL') } catch {} } }
  const spawnNode = (i: number): ChildProcess => {
    const p = plans[i]
    const logDir = path.join(p.dir, 'logs')
    const out = fs.openSync(path.join(logDir, 'stdout.log'), 'a')
    const child = spawn('java', [...jvmOf(p.dir), 'kafka.Kafka', path.join(p.dir, 'server.properties')], { stdio: ['ignore', out, out], detached: false })
    fs.closeSync(out)
    exitedMsg[i] = null
    child.once('exit', (code, sig) => { if (nodes[i]?.process === child || nodes[i] === undefined) exitedMsg[i] = `broker ${p.id} exited (code ${String(code)}, signal ${String(sig)}); see ${logDir}/broker.log` })
    return child
  }
  const answers = async (addr: string, expect: number): Promise<boolean> => {
    const admin = createKafka([addr], 'sluice-launcher', { retry: { retries: 0 }, connectionTimeout: 1000 }).admin()
    try {
      await admin.connect()
      return (await admin.describeCluster()).brokers.length >= expect
    } catch { return false } finally { await admin.disconnect().catch(() => {}) }
  }
  const waitReady = async (addrs: string[], watch: number[], expect: number): Promise<void> => {
    const deadline = Date.now() + readyTimeoutMs
    for (;;) {
      const dead = watch.map(i => exitedMsg[i]).find(m => m !== null)
      if (dead !== undefined && dead !== null) { killAll(); throw errors.KAFKA_LAUNCH_FAILED(dead) }
      if (Date.now() > deadline) { killAll(); throw errors.KAFKA_LAUNCH_FAILED(`broker${watch.length > 1 ? 's' : ''} did not answer within ${readyTimeoutMs / 1000} s; see ${watch.map(i => path.join(plans[i].dir, 'logs', 'broker.log')).join(', ')}`) }
      let ok = true
      for (const addr of addrs) { ok = await answers(addr, expect); if (!ok) break }
      if (ok) return
      await new Promise(resolve => setTimeout(resolve, 300))
    }
  }
  const stopNode = async (node: LocalKafkaNode, signal: NodeJS.Signals): Promise<void> => {
    const child = node.process
    if (child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>(resolve => {
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
      child.once('exit', () => { clearTimeout(t); resolve() })
      child.kill(signal)
    })
  }
  return { nodes, spawn: spawnNode, waitReady, stopNode, killAll }
}

async function launchKafka (opts: LocalKafkaOptions): Promise<LocalKafka> {
  const progress = opts.progress ?? (() => {})
  const n = opts.brokers ?? 1
  if (!Number.isInteger(n) || n < 1 || n > 9) throw errors.KAFKA_LAUNCH_FAILED(`brokers must be a whole number 1-9, not ${String(opts.brokers)}`)
  if (n > 1 && (opts.port !== undefined || opts.controllerPort !== undefined)) throw errors.KAFKA_LAUNCH_FAILED('port and controllerPort apply to a single broker only')
  const libs = ensureKafkaJars(progress)
  const dataDir = path.resolve(opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-kafka-')))
  fs.mkdirSync(dataDir, { recursive: true })
  const nVoters = n >= 3 ? 3 : 1
  const plans = await planNodes(opts, n, nVoters, dataDir)
  const jvmOf: JvmArgs = dir => ['-Xms128m', `-Xmx${opts.heap ?? '512m'}`, '-XX:+UseG1GC', '-XX:TieredStopAtLevel=1', `-Dlog4j2.configurationFile=${path.join(dir, 'log4j2.properties')}`, `-Dkafka.logs.dir=${path.join(dir, 'logs')}`, '-cp', `${libs}/*`]
  formatNodes(plans, nVoters, dataDir, jvmOf)

  const brokers = brokerProcesses(plans, jvmOf, opts.readyTimeoutMs ?? 90_000)
  const { nodes, killAll, stopNode } = brokers
  process.once('exit', killAll)
  progress(n === 1
    ? `starting Kafka broker on 127.0.0.1:${plans[0].port} (data ${dataDir})`
    : `starting a ${n}-broker KRaft cluster on ${plans.map(p => `127.0.0.1:${p.port}`).join(',')} (controllers: nodes ${plans.slice(0, nVoters).map(v => v.id).join(',')}; data ${dataDir})`)
  for (let i = 0; i < n; i++) {
    const p = plans[i]
    nodes.push({ id: p.id, port: p.port, controllerPort: p.controllerPort, dataDir: p.dir, process: brokers.spawn(i) })
  }
  const brokerList = plans.map(p => `127.0.0.1:${p.port}`)
  await brokers.waitReady(brokerList, plans.map((_, i) => i), n)

  const checkIndex = (i: number): void => {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`broker index ${String(i)} is outside 0-${n - 1}`)
  }
  let stopping: Promise<void> | null = null
  return {
    brokers: brokerList.join(','),
    brokerList,
    port: plans[0].port,
    dataDir,
    get process () { return nodes[0].process },
    nodes,
    async kill (i) {
      checkIndex(i)
      await stopNode(nodes[i], 'SIGKILL')
    },
    async restart (i) {
      checkIndex(i)
      await stopNode(nodes[i], 'SIGKILL')
      nodes[i].process = brokers.spawn(i)
      await brokers.waitReady([brokerList[i]], [i], 1)
    },
    stop () {
      stopping ??= (async () => {
        process.removeListener('exit', killAll)
        await Promise.all(nodes.map(async node => await stopNode(node, 'SIGTERM')))
      })()
      return stopping
    }
  }
}
