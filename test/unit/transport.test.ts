// sluice/transport in a real child process (pino's worker thread): every line reaches the
// spool exactly once, in order, enriched with service/host/pid, including the last ones
// logged right before the process exits; and no option or spool failure takes the
// application down (thread-stream turns any worker error into an unhandled 'error' in the app).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { root, runNode, tempDir } from '../helpers/env.js'

describe('sluice/transport', () => {
  it('spools 20,000 lines exactly once, in order, with service, host and pid, flushed on exit', async () => {
    const dir = tempDir('transport')
    const r = await runNode(path.join(root, 'test', 'fixtures', 'log-lines.mjs'), [dir, 'svc-a', 'host-a', '20000', '19999', 'last-token'])
    expect(r).toEqual({ code: 0, stderr: '' })
    const files = fs.readdirSync(path.join(dir, 'svc-a')).sort()
    const lines = files.flatMap(f => fs.readFileSync(path.join(dir, 'svc-a', f), 'utf8').split('\n').filter(l => l !== ''))
    const recs = lines.map(l => JSON.parse(l) as { service: string, host: string, pid: number, n: number, msg: string })
    expect(recs.map(x => x.n)).toEqual([...Array(20000).keys()])
    expect(new Set(recs.map(x => `${x.service}/${x.host}`))).toEqual(new Set(['svc-a/host-a']))
    expect(new Set(recs.map(x => x.pid)).size).toBe(1)
    expect(recs[19999].msg).toBe('line 19999 from host-a last-token')
  })
})

/** test/fixtures/transport-app.mjs with these transport options: logs 1,000 lines, then "alive" */
function runApp (options: Record<string, unknown>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [path.join(root, 'test', 'fixtures', 'transport-app.mjs'), JSON.stringify(options)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''; let err = ''
    child.stdout.on('data', d => { out += String(d) })
    child.stderr.on('data', d => { err += String(d) })
    child.once('close', code => resolve({ code, stdout: out, stderr: err }))
  })
}

function spooled (dir: string): Array<{ service: string, n: number }> {
  return fs.readdirSync(dir).sort().flatMap(f => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(l => l !== ''))
    .map(l => JSON.parse(l) as { service: string, n: number })
}

const rule = "Set options.service to 1-128 letters, digits, '.', '_' or '-' (not '.' or '..')."

describe('sluice/transport never takes the application down', () => {
  it('a 300-byte service name: the app runs on, one warning, lines spooled under a derived name (regression: ENAMETOOLONG exited the app with code 1)', async () => {
    const dir = tempDir('transport-long')
    const r = await runApp({ service: 'a'.repeat(300), dir, host: 'h' })
    const derived = 'a'.repeat(119) + '-9835fa6b' // cut to 128 bytes with a hash of the whole name
    expect(r).toEqual({
      code: 0,
      stdout: 'alive\n',
      stderr: `sluice/transport: warning: options.service "${'a'.repeat(40)}…" is 300 bytes long; logging as service "${derived}" instead. ${rule}\n`
    })
    expect(fs.readdirSync(dir)).toEqual([derived])
    const recs = spooled(path.join(dir, derived))
    expect(recs.map(x => x.n)).toEqual([...Array(1000).keys()])
    expect(new Set(recs.map(x => x.service))).toEqual(new Set([derived]))
  })

  for (const [name, derived] of [['..', '__'], ['.', '_']]) {
    it(`service "${name}": the app runs on, one warning, nothing written outside the spool's service directories (regression: wrote into ${name === '..' ? '$SLUICE_DATA_DIR' : 'the spool root'}, unshipped)`, async () => {
      const data = tempDir('transport-dots')
      const dir = path.join(data, 'spool')
      const r = await runApp({ service: name, dir, host: 'h' })
      expect(r).toEqual({
        code: 0,
        stdout: 'alive\n',
        stderr: `sluice/transport: warning: options.service "${name}" would write outside its spool directory; logging as service "${derived}" instead. ${rule}\n`
      })
      expect(fs.readdirSync(data)).toEqual(['spool'])
      expect(fs.readdirSync(dir)).toEqual([derived])
      const files = fs.readdirSync(path.join(dir, derived))
      expect(files.every(f => f.endsWith('.ndjson'))).toBe(true)
      const recs = spooled(path.join(dir, derived))
      expect(recs.map(x => x.n)).toEqual([...Array(1000).keys()])
      expect(new Set(recs.map(x => x.service))).toEqual(new Set([derived]))
    })
  }

  it('a spool dir that cannot be created (its parent is a regular file): the app runs on, one warning, lines dropped (regression: ENOTDIR exited the app with code 1)', async () => {
    const data = tempDir('transport-nodir')
    fs.writeFileSync(path.join(data, 'afile'), 'x')
    const dir = path.join(data, 'afile', 'spool')
    const r = await runApp({ service: 'svc', dir, host: 'h' })
    const target = path.join(dir, 'svc')
    expect(r).toEqual({
      code: 0,
      stdout: 'alive\n',
      stderr: `sluice/transport: warning: cannot write spool ${target} (ENOTDIR: not a directory, mkdir '${target}'); dropping lines and retrying every 1000 ms. Make options.dir (default $SLUICE_DATA_DIR/spool) a writable directory. Further drops are counted only and reported in the spool once it is writable.\n`
    })
    expect(fs.readdirSync(data)).toEqual(['afile'])
    expect(fs.readFileSync(path.join(data, 'afile'), 'utf8')).toBe('x')
  })

  it('no service at all: the app runs on, one warning, lines spooled as "unnamed" (was a TypeError that exited the app)', async () => {
    const dir = tempDir('transport-noname')
    const r = await runApp({ dir, host: 'h' })
    expect(r).toEqual({ code: 0, stdout: 'alive\n', stderr: `sluice/transport: warning: options.service is missing; logging as service "unnamed" instead. ${rule}\n` })
    expect(spooled(path.join(dir, 'unnamed')).map(x => x.n)).toEqual([...Array(1000).keys()])
  })

  it('options it cannot build from at all: the app runs on, one warning, lines dropped', async () => {
    const r = await runApp({ service: 'svc', dir: 5 })
    expect(r).toEqual({ code: 0, stdout: 'alive\n', stderr: 'sluice/transport: warning: cannot start (The "path" argument must be of type string. Received type number (5)); dropping this process\'s log lines. Check the transport options.\n' })
  })
})
