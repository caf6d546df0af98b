// Spool writer used by the pino transport (inside pino's worker thread):
//   lines ──▶ in-memory chunk (≤ 64 KiB) ──▶ <dir>/<service>/<start-ms>-<pid>-<seq>.ndjson
// Files rotate by size; the spool directory of a service is capped in bytes: beyond it the
// oldest closed files are deleted, the loss is counted and one warning is printed.
import fs from 'node:fs'
import path from 'node:path'

export interface SpoolOptions {
  dir: string
  service: string
  /** rotate the current file past this size, bytes (default 16 MiB) */
  maxFileBytes?: number
  /** cap on all spool files of this service, bytes (default 1 GiB) */
  maxSpoolBytes?: number
  /** flush buffered lines at least this often, ms (default 50) */
  flushIntervalMs?: number
}

const chunkLimit = 64 * 1024

export interface SpoolWriter {
  /** one or more complete NDJSON lines (`lines` says how many, for the counters) */
  write (data: string, lines?: number): void
  flush (): void
  close (): void
  readonly stats: { linesWritten: number, filesRotated: number, droppedFiles: number, droppedBytes: number, droppedLines: number }
}

export function spoolDirFor (dir: string, service: string): string {
  return path.join(dir, service.replace(/[^A-Za-z0-9._-]/g, '_'))
}

export function createSpoolWriter (opts: SpoolOptions): SpoolWriter {
  const dir = spoolDirFor(opts.dir, opts.service)
  const maxFileBytes = opts.maxFileBytes ?? 16 * 1024 * 1024
  const maxSpoolBytes = opts.maxSpoolBytes ?? 1024 * 1024 * 1024
  fs.mkdirSync(dir, { recursive: true })
  const stats = { linesWritten: 0, filesRotated: 0, droppedFiles: 0, droppedBytes: 0, droppedLines: 0 }
  let warnedWrite = false
  // drops not yet announced in the spool itself: the next file opens with a record saying so,
  // so a loss is findable in the timeline, not only on this process's stderr
  let unreported = { files: 0, bytes: 0, lines: 0 }
  let seq = 0
  let fd = -1
  let fileBytes = 0
  let currentPath = ''
  let pending: string[] = []
  let pendingBytes = 0
  let pendingLines = 0
  let warned = false
  let closed = false

  function open (): void {
    currentPath = path.join(dir, `${Date.now()}-${process.pid}-${String(seq++).padStart(4, '0')}.ndjson`)
    fd = fs.openSync(currentPath, 'a')
    fileBytes = 0
    if (unreported.files + unreported.lines > 0) {
      const rec = `{"time":${Date.now()},"level":40,"service":${JSON.stringify(opts.service)},"pid":${process.pid},"msg":"sluice/transport: spool data dropped","sluice_spool_dropped":{"files":${unreported.files},"bytes":${unreported.bytes},"lines":${unreported.lines}}}\n`
      unreported = { files: 0, bytes: 0, lines: 0 }
      try { fs.writeSync(fd, rec); fileBytes += rec.length } catch {}
    }
  }

  function enforceCap (): void {
    let files: Array<{ p: string, size: number, mtime: number }>
    try {
      files = fs.readdirSync(dir).filter(f => f.endsWith('.ndjson')).map(f => {
        const p = path.join(dir, f)
        const st = fs.statSync(p)
        return { p, size: st.size, mtime: st.mtimeMs }
      }).sort((a, b) => a.p < b.p ? -1 : 1)
    } catch { return }
    let total = files.reduce((s, f) => s + f.size, 0)
    for (const f of files) {
      if (total <= maxSpoolBytes) break
      if (f.p === currentPath) continue
      try { fs.unlinkSync(f.p) } catch { continue }
      total -= f.size
      stats.droppedFiles++
      stats.droppedBytes += f.size
      unreported.files++
      unreported.bytes += f.size
      if (!warned) {
        warned = true
        process.stderr.write(`sluice/transport: warning: spool ${dir} exceeded ${maxSpoolBytes} bytes (shipper not keeping up?); deleted oldest file ${path.basename(f.p)} (${f.size} bytes). Further drops are counted only.\n`)
      }
    }
  }

  function flush (): void {
    if (pending.length === 0) return
    const data = pending.join('')
    const lines = pendingLines
    pendingLines = 0
    pending = []
    pendingBytes = 0
    try {
      // another process of the same service may have deleted our file under the spool cap:
      // writing on into an unlinked file would lose every later line silently
      if (fd >= 0 && fs.fstatSync(fd).nlink === 0) { fs.closeSync(fd); fd = -1 }
      if (fd < 0) open()
      fs.writeSync(fd, data)
    } catch (err) {
      // disk full or spool unwritable: the app must keep running; count the lines, warn once
      stats.droppedLines += lines
      unreported.lines += lines
      if (!warnedWrite) {
        warnedWrite = true
        process.stderr.write(`sluice/transport: warning: cannot write spool ${dir} (${(err as Error).message}); dropping lines until it is writable. Further drops are counted only.\n`)
      }
      if (fd >= 0) { try { fs.closeSync(fd) } catch {} fd = -1 }
      return
    }
    fileBytes += Buffer.byteLength(data)
    if (fileBytes >= maxFileBytes) {
      fs.closeSync(fd)
      fd = -1
      stats.filesRotated++
      enforceCap()
    }
  }

  const timer = setInterval(flush, opts.flushIntervalMs ?? 50)
  timer.unref()

  return {
    stats,
    write (data: string, lines = 1) {
      if (closed) return
      pending.push(data)
      pendingBytes += data.length
      stats.linesWritten += lines
      pendingLines += lines
      if (pendingBytes >= chunkLimit) flush()
    },
    flush,
    close () {
      if (closed) return
      closed = true
      clearInterval(timer)
      flush()
      if (fd >= 0) { fs.fsyncSync(fd); fs.closeSync(fd); fd = -1 }
    }
  }
}
