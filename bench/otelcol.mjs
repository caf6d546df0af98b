// The OpenTelemetry Collector the shipper bench measures Sluice against: built on first use
// from bench/otelcol/builder-config.yaml with the official builder (Go module proxy) into
// bench/.cache/otelcol (gitignored), and rebuilt only when the manifest changes.
// `node bench/otelcol.mjs` builds it alone and prints the binary's path.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const manifest = path.join(root, 'bench', 'otelcol', 'builder-config.yaml')
const cache = path.join(root, 'bench', '.cache', 'otelcol')
const binary = path.join(cache, 'dist', 'otelcol-sluice-bench')
const stamp = path.join(cache, 'manifest.sha256')
/** the builder's release: the same as the collector core modules in the manifest */
export const builderVersion = 'v0.165.0'
/** the Go these modules declare (their go.mod `go` line) */
const goFloor = [1, 26]
const howTo = 'install Go ≥ 1.26 (or set GO=/path/to/go), then run: node bench/otelcol.mjs'

function findGo () {
  // GO names the one to use; otherwise the one on PATH, then the usual install path
  const candidates = process.env.GO !== undefined && process.env.GO !== '' ? [process.env.GO] : ['go', '/usr/local/go/bin/go']
  for (const go of candidates) {
    const r = spawnSync(go, ['version'], { encoding: 'utf8' })
    if (r.status !== 0) continue
    const m = /go(\d+)\.(\d+)/.exec(r.stdout)
    if (m === null) continue
    const ok = Number(m[1]) > goFloor[0] || (Number(m[1]) === goFloor[0] && Number(m[2]) >= goFloor[1])
    return ok ? { go, version: r.stdout.trim() } : { go: null, version: r.stdout.trim() }
  }
  return { go: null, version: null }
}

const manifestHash = () => crypto.createHash('sha256').update(fs.readFileSync(manifest)).digest('hex')

/** the built collector, or why there is none; builds it if Go is here and the cache is stale */
export function ensureOtelcol (log = s => process.stderr.write(`${s}\n`)) {
  if (fs.existsSync(binary) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === manifestHash()) return { bin: binary }
  const { go, version } = findGo()
  if (go === null) return { bin: null, why: `otelcol not built: needs go ≥ ${goFloor.join('.')}${version === null ? ' (none found)' : ` (found ${version})`}; ${howTo}` }
  fs.mkdirSync(path.join(cache, 'bin'), { recursive: true })
  // a shared 2-core machine: one package at a time, at low priority
  const env = { ...process.env, GOBIN: path.join(cache, 'bin'), GOFLAGS: `${process.env.GOFLAGS ?? ''} -p=1 -buildvcs=false`.trim(), PATH: `${path.dirname(go)}:${process.env.PATH}` }
  const run = (cmd, args) => {
    log(`otelcol: ${cmd} ${args.join(' ')}`)
    const r = spawnSync('nice', ['-n', '10', cmd, ...args], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] })
    return r.status === 0 ? null : `\`${cmd} ${args.join(' ')}\` exited with ${r.status ?? r.signal}`
  }
  const builder = path.join(cache, 'bin', 'builder')
  const failed = (fs.existsSync(builder) ? null : run(go, ['install', `go.opentelemetry.io/collector/cmd/builder@${builderVersion}`])) ??
    run(builder, [`--config=${manifest}`])
  if (failed !== null) return { bin: null, why: `otelcol not built: ${failed}; ${howTo}` }
  fs.writeFileSync(stamp, manifestHash())
  return { bin: binary }
}

/**
 * Collector config: filelog (from the beginning, offsets in file_storage, one log record per
 * line) → kafka (`encoding: raw`: one message per record; the receiver makes each line a string
 * body, which the exporter sends JSON-encoded — `encoding: nop` would keep the bytes but then the
 * receiver does not split lines). `matched` = the shipper's delivery settings:
 * a sending queue that blocks instead of dropping, in batches of 8192 lines (the shipper's batch);
 * without it the exporter's sending queue keeps its defaults. Both: gzip level 1, acks=all.
 */
export function otelcolConfig ({ file, brokers, topic, storageDir, matched }) {
  const queue = matched
    ? `
    sending_queue:
      block_on_overflow: true
      batch:
        sizer: items
        min_size: 8192
        max_size: 8192
        flush_timeout: 200ms`
    : ''
  return `extensions:
  file_storage:
    directory: ${JSON.stringify(storageDir)}
receivers:
  file_log:
    include: [${JSON.stringify(file)}]
    start_at: beginning
    storage: file_storage
exporters:
  kafka:
    brokers: [${JSON.stringify(brokers)}]
    logs:
      topic: ${JSON.stringify(topic)}
      encoding: raw
    producer:
      required_acks: -1
      compression: gzip
      compression_params:
        level: 1${queue}
service:
  extensions: [file_storage]
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [file_log]
      exporters: [kafka]
`
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = ensureOtelcol()
  if (r.bin === null) { process.stderr.write(`${r.why}\n`); process.exit(2) }
  process.stdout.write(`${r.bin}\n`)
}
