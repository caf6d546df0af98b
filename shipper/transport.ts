// `sluice/transport` — pino target. Runs in pino's worker thread, so the application's
// event loop only pays pino's own serialisation:
//   pino (main thread) ──thread-stream──▶ this worker: chunks ──▶ whole lines + service/host/pid
//     ──▶ spool NDJSON files ──▶ `sluice ship`
// A plain Writable over string chunks rather than pino-abstract-transport's `parse: 'lines'`:
// that path JSON.parses every line and iterates them one by one asynchronously, and the slower
// worker backed thread-stream up into the app (measured 2.5× pino/file's main-thread cost per
// log call; bench/RESULTS.md). Lines are never re-parsed here: the fields are spliced in front.
import os from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { createSpoolWriter } from './spool.js'

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
  return path.resolve(process.env.SLUICE_DATA_DIR ?? './.sluice', 'spool')
}

export default async function sluiceTransport (opts: TransportOptions): Promise<Writable> {
  if (opts === undefined || typeof opts.service !== 'string' || opts.service === '') {
    throw new TypeError("sluice/transport: options.service is required, e.g. transport: { target: 'sluice/transport', options: { service: 'api' } }")
  }
  const host = opts.host ?? os.hostname()
  const writer = createSpoolWriter({ dir: opts.dir ?? defaultSpoolDir(), service: opts.service, maxFileBytes: opts.maxFileBytes, maxSpoolBytes: opts.maxSpoolBytes })
  const prefix = `{"service":${JSON.stringify(opts.service)},"host":${JSON.stringify(host)},"pid":${process.pid},`
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
