// `sluice/transport` — pino target. Runs in pino's worker thread, so the application's
// event loop only pays pino's own serialisation:
//   pino (main thread) ──thread-stream──▶ this worker ──▶ spool NDJSON files ──▶ `sluice ship`
// Each line gets service, host and pid prepended without re-parsing it.
import os from 'node:os'
import path from 'node:path'
import build from 'pino-abstract-transport'
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

export function defaultSpoolDir (): string {
  return path.resolve(process.env.SLUICE_DATA_DIR ?? './.sluice', 'spool')
}

export default async function sluiceTransport (opts: TransportOptions): Promise<ReturnType<typeof build>> {
  if (opts === undefined || typeof opts.service !== 'string' || opts.service === '') {
    throw new TypeError("sluice/transport: options.service is required, e.g. transport: { target: 'sluice/transport', options: { service: 'api' } }")
  }
  const host = opts.host ?? os.hostname()
  const writer = createSpoolWriter({ dir: opts.dir ?? defaultSpoolDir(), service: opts.service, maxFileBytes: opts.maxFileBytes, maxSpoolBytes: opts.maxSpoolBytes })
  const prefix = `{"service":${JSON.stringify(opts.service)},"host":${JSON.stringify(host)},"pid":${process.pid},`
  return build(async function (source: AsyncIterable<string>) {
    for await (const line of source) {
      if (line.length === 0) continue
      if (line.charCodeAt(0) === 123 /* { */ && line.charCodeAt(1) !== 125 /* } */) writer.write(prefix + line.slice(1) + '\n')
      else writer.write(prefix + `"msg":${JSON.stringify(line)}}\n`)
    }
  }, {
    parse: 'lines',
    async close () { writer.close() }
  })
}
