// File → Kafka, measured the same way for every contender (bench/shipper.bench.mjs):
// the contender runs as a process of its own, spawned onto a fresh topic; one kafkajs admin
// polls the topic's high watermarks every POLL ms from the spawn on, with the contender's CPU
// time (/proc/<pid>/stat) read at each poll. Once it is done (it exited, or the watermarks did
// not move for QUIET ms) everything it wrote is read back with `kcat -C`, and each message's
// lines are counted as the collector would count them (a log segment carries `lines` lines; any
// other message is raw lines). From that: the poll at which the last line was acknowledged,
// the poll at which the first was, and how many lines each poll had seen acknowledged.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn } from 'node:child_process'

const ticks = 100 // USER_HZ: /proc reports CPU time in 1/100 s on Linux

/** user+sys CPU seconds of a live process and its reaped children, or null once it is gone */
export function cpuSeconds (pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // f[0] is field 3 (state)
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / ticks
  } catch { return null }
}

/** the process /usr/bin/time started */
async function innerPid (timePid) {
  for (let i = 0; i < 200; i++) {
    try {
      const kids = fs.readFileSync(`/proc/${timePid}/task/${timePid}/children`, 'utf8').trim()
      if (kids !== '') return Number(kids.split(' ')[0])
    } catch {}
    await sleep(1)
  }
  throw new Error(`no child of /usr/bin/time (pid ${timePid})`)
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
const now = () => Number(process.hrtime.bigint()) / 1e9

/**
 * Reads every message of `topic` with kcat and returns, per partition, the lines and bytes of
 * line text each offset carries (a segment's header and a progress record carry none).
 */
export function readBack (brokers, topic, isSegment, parseSegment) {
  return new Promise((resolve, reject) => {
    const kcat = spawn('kcat', ['-C', '-q', '-e', '-b', brokers, '-t', topic, '-o', 'beginning', '-f', '%p %o %S\n%s'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const parts = new Map() // partition → { lines: number[], bytes: number }
    let buf = Buffer.alloc(0)
    let want = null // { p, o, size } of the message whose value is being read
    let err = ''
    const take = (p, o, v) => {
      let part = parts.get(p)
      if (part === undefined) { part = { lines: [], bytes: 0, v1: 0 }; parts.set(p, part) }
      let lines = 0
      if (isSegment(v)) {
        const s = parseSegment(v)
        if (s.error !== undefined) throw new Error(`${topic} ${p}@${o}: ${s.error}`)
        lines = s.header.lines
        part.bytes += s.header.bytes
      } else if (v[0] === 0x22) {
        // one line as a JSON string: the collector's kafka exporter, `encoding: raw`, sends a
        // string body (what the filelog receiver makes of a line) JSON-encoded
        lines = 1
        part.bytes += Buffer.byteLength(JSON.parse(v.toString('utf8'))) + 1
      } else if (v.length > 0) {
        // raw lines (kcat: one per message, without its '\n'), or NDJSON of v1 records
        for (const line of v.toString('utf8').split('\n')) {
          if (line === '') continue
          if (line.startsWith('{"v":1,')) {
            const kind = JSON.parse(line).kind
            if (kind === 'log') { lines++; part.v1++ }
          } else { lines++; part.bytes += Buffer.byteLength(line) + 1 }
        }
      }
      part.lines[o] = lines
    }
    kcat.stdout.on('data', chunk => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk])
      let at = 0
      try {
        for (;;) {
          if (want === null) {
            const nl = buf.indexOf(10, at)
            if (nl === -1) break
            const [p, o, size] = buf.toString('latin1', at, nl).split(' ').map(Number)
            want = { p, o, size: Math.max(0, size) }
            at = nl + 1
          }
          if (buf.length - at < want.size) break
          take(want.p, want.o, buf.subarray(at, at + want.size))
          at += want.size
          want = null
        }
      } catch (e) { kcat.kill(); reject(e); return }
      buf = buf.subarray(at)
    })
    kcat.stderr.on('data', d => { err += d })
    kcat.on('error', reject)
    kcat.on('close', code => {
      if (code !== 0) { reject(new Error(`kcat -C ${topic} exited with ${code}: ${err.trim()}`)); return }
      resolve(parts)
    })
  })
}

/** per partition: prefix sums of lines by offset, and where its last line-carrying message ends */
function indexParts (parts) {
  const idx = new Map()
  for (const [p, { lines }] of parts) {
    const prefix = new Float64Array(lines.length + 1)
    let lastEnd = 0
    for (let o = 0; o < lines.length; o++) {
      const n = lines[o] ?? 0
      prefix[o + 1] = prefix[o] + n
      if (n > 0) lastEnd = o + 1
    }
    idx.set(p, { prefix, lastEnd })
  }
  return idx
}

/**
 * Spawns `cmd args` and measures it as described above. `brokerPid` (optional): the local
 * broker, whose CPU time over the same window is reported beside the contender's.
 */
export async function measureProcess ({ cmd, args, env, topic, brokers, admin, pollMs = 50, quietMs = 3000, timeoutMs = 600_000, brokerPid, isSegment, parseSegment }) {
  // a fresh topic: the admin's metadata may not know its leaders yet; learn them before the clock
  for (let i = 0; ; i++) {
    try { await admin.fetchTopicOffsets(topic); break } catch (err) { if (i === 50 || err.retriable !== true) throw err; await sleep(100) }
  }
  const polls = [] // { t, hw: Map<partition, high>, cpu, brokerCpu }
  const brokerCpu0 = brokerPid === undefined ? null : cpuSeconds(brokerPid)
  const t0 = now()
  // under /usr/bin/time where it exists: a contender that exits by itself (kcat) is gone
  // before the poll that sees its last acknowledgement, and time(1) reports its whole CPU time
  const timeFile = fs.existsSync('/usr/bin/time') ? path.join(os.tmpdir(), `bench-time-${process.pid}-${Date.now()}`) : null
  const child = timeFile === null
    ? spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, cmd, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  const pid = timeFile === null ? child.pid : await innerPid(child.pid)
  const killIt = () => { try { process.kill(pid, 'SIGKILL') } catch {} }
  process.once('exit', killIt)
  let stderr = ''
  child.stderr.on('data', d => { stderr = (stderr + d).slice(-4000) })
  let exited = null
  const exit = new Promise(resolve => child.once('exit', (code, signal) => { exited = { code, signal }; resolve() }))
  child.once('error', e => { exited = { code: null, signal: null, error: e } })
  let lastSum = -1
  let lastChange = t0
  let cpu = 0
  for (;;) {
    const started = now()
    const exitedBefore = exited !== null
    const c = cpuSeconds(pid)
    if (c !== null) cpu = c
    let offsets
    try { offsets = await admin.fetchTopicOffsets(topic) } catch (err) {
      // a retriable error (leadership news) costs this poll only; the next one sees the same end
      if (err.retriable !== true || now() - t0 > timeoutMs / 1000) throw err
      await sleep(pollMs)
      continue
    }
    const t = now()
    const hw = new Map(offsets.map(o => [o.partition, Number(o.high)]))
    polls.push({ t, hw, cpu, brokerCpu: brokerPid === undefined ? null : cpuSeconds(brokerPid) })
    const sum = [...hw.values()].reduce((a, b) => a + b, 0)
    if (sum !== lastSum) { lastSum = sum; lastChange = t }
    if (exitedBefore) break
    if (sum > 0 && t - lastChange >= quietMs / 1000) break
    if (t - t0 > timeoutMs / 1000) break
    await sleep(Math.max(0, pollMs - (now() - started) * 1000))
  }
  const exitedFirst = exited !== null
  if (exited === null) {
    process.kill(pid, 'SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await exit
    clearTimeout(killer)
  }
  process.removeListener('exit', killIt)
  let timeCpu = null
  if (timeFile !== null) {
    const [u, sy] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(' ').map(Number)
    timeCpu = u + sy
    fs.rmSync(timeFile, { force: true })
  }
  const failed = exited.error !== undefined || (exited.code !== 0 && exited.signal !== 'SIGTERM' && !(exited.code === 143))
  const parts = await readBack(brokers, topic, isSegment, parseSegment)
  const idx = indexParts(parts)
  const linesAt = hw => [...idx].reduce((s, [p, { prefix }]) => s + prefix[Math.min(hw.get(p) ?? 0, prefix.length - 1)], 0)
  const delivered = linesAt(new Map([...idx].map(([p, { prefix }]) => [p, prefix.length - 1])))
  const bytes = [...parts.values()].reduce((s, x) => s + x.bytes, 0)
  const v1 = [...parts.values()].reduce((s, x) => s + x.v1, 0)
  const end = polls.find(q => [...idx].every(([p, { lastEnd }]) => (q.hw.get(p) ?? 0) >= lastEnd))
  const first = polls.find(q => linesAt(q.hw) > 0)
  if (end === undefined || first === undefined) throw new Error(`${cmd}: no line acknowledged within the polls (exit ${JSON.stringify(exited)}): ${stderr.trim()}`)
  const steadyLines = delivered - linesAt(first.hw)
  return {
    delivered,
    bytes,
    v1,
    messages: [...parts.values()].reduce((s, x) => s + x.lines.length, 0),
    partitions: [...parts.entries()].filter(([, x]) => x.lines.length > 0).length,
    wholeS: end.t - t0,
    firstS: first.t - t0,
    steadyS: end.t - first.t,
    wholeRate: delivered / (end.t - t0),
    steadyRate: end === first ? NaN : steadyLines / (end.t - first.t),
    // exited by itself: its whole CPU time (it ends right after its last acknowledgement);
    // still running: its CPU time at the poll that saw the last line acknowledged
    cpuS: exitedFirst && timeCpu !== null ? timeCpu : end.cpu,
    brokerCpuS: brokerCpu0 === null || end.brokerCpu === null ? null : end.brokerCpu - brokerCpu0,
    exit: exited,
    failed,
    stderr: stderr.trim()
  }
}
