// `sluice/transport` — pino target. Runs in pino's worker thread, so the application's
// event loop only pays pino's own serialisation:
//   pino (main thread) ──thread-stream──▶ this worker: chunks ──▶ whole lines + service/host/pid
//     ──▶ spool NDJSON files ──▶ `sluice ship`
// A plain Writable over string chunks rather than pino-abstract-transport's `parse: 'lines'`,
// whose per-line JSON.parse slowed the worker until it backed up into the app
// (docs/design/2026-12-01-shipper-main-thread.md). Lines are never re-parsed: the fields are
// spliced in front.
// Nothing here may fail: thread-stream re-emits a worker error (a throw while building, an
// 'error' on this stream) as 'error' on pino's ThreadStream, which has no listener, so it would
// exit the application. Bad options and unwritable spools become one stderr warning each.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { dataDirFromEnv, spoolRootOf } from '../schemas/spool-layout.js'
import { createSpoolWriter, maxServiceNameBytes, safeServiceName, serviceNameProblem } from './spool-writer.js'

export interface TransportOptions {
  service: string
  /** spool directory (default $SLUICE_DATA_DIR/spool, SLUICE_DATA_DIR defaulting to ./.sluice) */
  dir?: string
  /** host name recorded on every line (default os.hostname()) */
  host?: string
  maxFileBytes?: number
  maxSpoolBytes?: number
}

/** a line without a newline is cut here and spooled as is, so one runaway write cannot grow
 *  the worker's memory without limit (the shipper then flags it not_json or truncated) */
const maxPendingChars = 8 * 1024 * 1024

export function defaultSpoolDir (): string {
  return spoolRootOf(path.resolve(dataDirFromEnv()))
}

/** Written straight to fd 2: the worker's process.stderr is relayed through the application's
 *  event loop and lost if the application exits soon after. */
function warn (message: string): void {
  try { fs.writeSync(2, message) } catch {}
}

export default async function sluiceTransport (opts: TransportOptions): Promise<Writable> {
  try {
    return build(opts)
  } catch (err) {
    return droppingStream(err as Error)
  }
}

function build (opts: TransportOptions): Writable {
  const given = opts?.service
  const problem = serviceNameProblem(given)
  const service = problem === undefined ? given as string : safeServiceName(given)
  if (problem !== undefined) {
    const shown = typeof given === 'string' && given !== '' ? ` ${JSON.stringify(given.length > 40 ? given.slice(0, 40) + '…' : given)}` : ''
    warn(`sluice/transport: warning: options.service${shown} ${problem}; logging as service "${service}" instead. Set options.service to 1-${maxServiceNameBytes} letters, digits, '.', '_' or '-' (not '.' or '..').\n`)
  }
  const host = typeof opts?.host === 'string' && opts.host !== '' ? opts.host : os.hostname()
  const writer = createSpoolWriter({ dir: opts?.dir ?? defaultSpoolDir(), service, maxFileBytes: opts?.maxFileBytes, maxSpoolBytes: opts?.maxSpoolBytes, warn })
  const prefix = `{"service":${JSON.stringify(service)},"host":${JSON.stringify(host)},"pid":${process.pid},`
  const enrich = (line: string): string =>
    line.charCodeAt(0) === 123 /* { */ && line.charCodeAt(1) !== 125 /* } */
      ? prefix + line.slice(1) + '\n'
      : prefix + `"msg":${JSON.stringify(line)}}\n`
  let rest = ''

  function take (text: string, final: boolean): void {
    let out = ''
    let lines = 0
    let start = 0
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      if (nl > start) { out += enrich(text.slice(start, nl)); lines++ }
      start = nl + 1
    }
    rest = start === 0 ? text : text.slice(start)
    if (rest.length > 0 && (final || rest.length > maxPendingChars)) { out += enrich(rest); lines++; rest = '' }
    if (lines > 0) writer.write(out, lines)
  }

  const stream = new Writable({
    decodeStrings: false,
    write (chunk: string | Buffer, _enc, cb) {
      take(rest + (typeof chunk === 'string' ? chunk : chunk.toString('utf8')), false)
      cb()
    },
    final (cb) {
      take(rest, true)
      writer.close()
      cb()
    },
    destroy (err, cb) {
      writer.close()
      cb(err)
    }
  })
  // thread-stream calls a destination's flush() for logger.flush(): put buffered lines on disk
  Object.assign(stream, { flush: () => { writer.flush() } })
  return stream
}

/** Last resort when the transport cannot be built at all: the application keeps running, its
 *  lines are counted and dropped, and stderr says why once. */
function droppingStream (err: Error): Writable {
  warn(`sluice/transport: warning: cannot start (${err.message}); dropping this process's log lines. Check the transport options.\n`)
  return new Writable({ decodeStrings: false, write (_chunk, _enc, cb) { cb() } })
}
