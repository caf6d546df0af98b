// Shared test plumbing: temp dirs, unique topic prefixes, the CLI as a child process,
// and polling for an outcome with a deadline (never a timed assertion).
import { spawn, type ChildProcess } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
// the `sluice` command as installed (bin/sluice: a sh wrapper that execs Node on bin/sluice.js)
export const cli = path.join(root, 'bin', 'sluice')

export function tempDir (label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `sluice-${label}-`))
}

export function uniquePrefix (label: string): string {
  return `t-${label}-${crypto.randomBytes(4).toString('hex')}.`
}

export async function waitFor<T> (what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, everyMs = 250, progress?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined && v !== null && v !== false) return v
      last = undefined
    } catch (err) { last = err }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? ` (last error: ${(last as Error).message})` : ''}${progress !== undefined ? ` (last seen: ${progress()})` : ''}`)
    await new Promise(resolve => setTimeout(resolve, everyMs))
  }
}

export interface Running { child: ChildProcess, stdout: () => string, stderr: () => string, exited: Promise<number | null> }

export function runCli (args: string[], env: Record<string, string>): Running {
  const child = spawn(cli, args, { cwd: root, env: { ...process.env, SLUICE_DEBUG: '', SLUICE_NODE: process.execPath, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''; let err = ''
  child.stdout.on('data', d => { out += String(d) })
  child.stderr.on('data', d => { err += String(d) })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  return { child, stdout: () => out, stderr: () => err, exited }
}

/** Runs a Node script to completion and resolves with its exit code. */
export function runNode (script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null, stderr: string }> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [script, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', d => { err += String(d) })
    child.once('exit', code => resolve({ code, stderr: err }))
  })
}

export async function startUp (env: Record<string, string>): Promise<Running & { url: string }> {
  const r = runCli(['up'], env)
  const url = await waitFor('sluice up to print its URL', async () => {
    if (r.child.exitCode !== null) throw new Error(`sluice up exited ${r.child.exitCode}: ${r.stderr()}`)
    return /Sluice is up: (\S+)/.exec(r.stdout())?.[1]
  }, 120_000)
  return { ...r, url }
}

export async function stopChild (r: Running, signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
  if (r.child.exitCode !== null) return r.child.exitCode
  r.child.kill(signal)
  const t = setTimeout(() => r.child.kill('SIGKILL'), 30_000)
  const code = await r.exited
  clearTimeout(t)
  return code
}

/** Two real child processes log `perHost` numbered lines each through pino + sluice/transport
 * into `<dataDir>/spool` as host-a and host-b (service checkout); host-a's line `tokenAt`
 * carries `token`. Resolves with both exit results. */
export async function logFromTwoHosts (dataDir: string, perHost: number, tokenAt: number, token: string): Promise<Array<{ code: number | null, stderr: string }>> {
  const fixture = path.join(root, 'test', 'fixtures', 'log-lines.mjs')
  const spool = path.join(dataDir, 'spool')
  return await Promise.all([
    runNode(fixture, [spool, 'checkout', 'host-a', String(perHost), String(tokenAt), token]),
    runNode(fixture, [spool, 'checkout', 'host-b', String(perHost)])
  ])
}
