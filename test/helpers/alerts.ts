// Alert-test plumbing: a child service reporting stats through the real transport, JSON
// calls to the API, and an SSE reader of /v1/alerts/stream.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { root } from './env.js'

export interface Child { child: ChildProcess, pid: number, exited: Promise<number | null>, stderr: () => string }

export function spawnFixture (name: string, args: string[], nodeArgs: string[] = []): Child {
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, 'test', 'fixtures', name), ...args], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr!.on('data', d => { err += String(d) })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  return { child, pid: child.pid!, exited, stderr: () => err }
}

export async function api<T = Record<string, unknown>> (base: string, method: string, p: string, body?: unknown): Promise<{ status: number, body: T }> {
  const res = await fetch(`${base}${p}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as T }
}

/** Collects `transition` events of /v1/alerts/stream until close(). */
export function readStream (base: string): { events: Array<Record<string, unknown>>, close: () => void, ready: Promise<void> } {
  const ac = new AbortController()
  const events: Array<Record<string, unknown>> = []
  let markReady: () => void = () => {}
  const ready = new Promise<void>(resolve => { markReady = resolve })
  void (async () => {
    const res = await fetch(`${base}/v1/alerts/stream`, { signal: ac.signal, headers: { accept: 'text/event-stream' } })
    markReady()
    const decoder = new TextDecoder()
    let buf = ''
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true })
      let i
      while ((i = buf.indexOf('\n\n')) !== -1) {
        const ev = buf.slice(0, i); buf = buf.slice(i + 2)
        const data = ev.split('\n').find(l => l.startsWith('data: '))
        if (ev.includes('event: transition') && data !== undefined) events.push(JSON.parse(data.slice(6)) as Record<string, unknown>)
      }
    }
  })().catch(() => { markReady() })
  return { events, close: () => ac.abort(), ready }
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
