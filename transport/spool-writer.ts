// Spool writer used by the pino transport (inside pino's worker thread):
//   lines ──▶ in-memory chunk (≤ 64 KiB) ──▶ <dir>/<service>/<start-ms>-<pid>-<seq>.ndjson
// Files rotate by size; the spool directory of a service is capped in bytes: beyond it the
// oldest closed files are deleted, the loss is counted and one warning is printed.
// Nothing here throws into the application: a spool that cannot be created or written drops
// lines (counted, one warning), retries at a bounded interval, and says so in the next file.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { serviceSpoolDir, spoolFileName, spoolFileSuffix } from '../schemas/spool-layout.js'

export interface SpoolOptions {
  dir: string
  service: string
  /** rotate the current file past this size, bytes (default 16 MiB) */
  maxFileBytes?: number
  /** cap on all spool files of this service, bytes (default 1 GiB) */
  maxSpoolBytes?: number
  /** flush buffered lines at least this often, ms (default 50) */
  flushIntervalMs?: number
  /** after a failed create/open/write, drop lines without touching the disk for this long, ms (default 1000) */
  retryIntervalMs?: number
  /** where the one-per-kind warnings go (default process.stderr) */
  warn?: (message: string) => void
}

const chunkLimit = 64 * 1024

export interface SpoolWriter {
  /** one or more complete NDJSON lines (`lines` says how many, for the counters) */
  write (data: string, lines?: number): void
  flush (): void
  close (): void
  readonly stats: { linesWritten: number, filesRotated: number, droppedFiles: number, droppedBytes: number, droppedLines: number }
}

export const maxServiceNameBytes = 128
const serviceNamePattern = /^[A-Za-z0-9._-]+$/

/** Why `service` cannot name a spool directory as is (undefined when it can): 1–128 letters,
 *  digits, `.`, `_` or `-`, and not `.` or `..` (those would write outside the service's dir). */
export function serviceNameProblem (service: unknown): string | undefined {
  if (typeof service !== 'string' || service === '') return 'is missing'
  if (service === '.' || service === '..') return 'would write outside its spool directory'
  if (!serviceNamePattern.test(service)) return 'has characters other than letters, digits, \'.\', \'_\' and \'-\''
  if (service.length > maxServiceNameBytes) return `is ${service.length} bytes long`
  return undefined
}

/** The safe name the transport uses instead of an invalid one: other characters become `_`,
 *  an all-dots name becomes underscores, a long one is cut with a hash of the whole name so two
 *  long names stay apart; a missing one is `unnamed`. */
export function safeServiceName (service: unknown): string {
  if (typeof service !== 'string' || service === '') return 'unnamed'
  let name = service.replace(/[^A-Za-z0-9._-]/g, '_')
  if (/^\.+$/.test(name)) name = name.replace(/\./g, '_')
  if (name.length > maxServiceNameBytes) {
    name = name.slice(0, maxServiceNameBytes - 9) + '-' + crypto.createHash('sha256').update(service).digest('hex').slice(0, 8)
  }
  return name
}

export function spoolDirFor (dir: string, service: string): string {
  return serviceSpoolDir(dir, safeServiceName(service))
}

/** opens `file` in `dir` for appending; a directory removed under us (a cleanup of the spool)
 *  is made once more */
function openForAppend (dir: string, file: string): number {
  try {
    return fs.openSync(file, 'a')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    fs.mkdirSync(dir, { recursive: true })
    return fs.openSync(file, 'a')
  }
}

/** the record that opens the next spool file after a loss, so it is findable in the timeline */
function droppedRecord (service: string, lost: { files: number, bytes: number, lines: number }): string {
  return `{"time":${Date.now()},"level":40,"service":${JSON.stringify(service)},"pid":${process.pid},"msg":"sluice/transport: spool data dropped","sluice_spool_dropped":{"files":${lost.files},"bytes":${lost.bytes},"lines":${lost.lines}}}\n`
}

/** Deletes the oldest spool files of `dir` until the rest fit in `maxBytes` (never `current`,
 *  the file being written); returns the files deleted. A directory it cannot list: none. */
function deleteOldestOverCap (dir: string, maxBytes: number, current: string): Array<{ p: string, size: number }> {
  let files: Array<{ p: string, size: number }>
  try {
    files = fs.readdirSync(dir).filter(f => f.endsWith(spoolFileSuffix)).map(f => {
      const p = path.join(dir, f)
      return { p, size: fs.statSync(p).size }
    }).sort((a, b) => a.p < b.p ? -1 : 1)
  } catch { return [] }
  let total = files.reduce((s, f) => s + f.size, 0)
  const deleted: Array<{ p: string, size: number }> = []
  for (const f of files) {
    if (total <= maxBytes) break
    if (f.p === current) continue
    try { fs.unlinkSync(f.p) } catch { continue }
    total -= f.size
    deleted.push(f)
  }
  return deleted
}

type SpoolStats = SpoolWriter['stats']

/** What the spool lost and who has been told: counters, the one warning per kind, the back-off
 *  after a failed write, and the drops not yet announced in the spool itself (the next file
 *  opens with a record saying so, so a loss is findable in the timeline, not only on stderr). */
function createSpoolLosses (dir: string, maxSpoolBytes: number, retryIntervalMs: number, warn: (message: string) => void, stats: SpoolStats) {
  let unreported = { files: 0, bytes: 0, lines: 0 }
  let warnedWrite = false
  let warnedCap = false
  // after a failure, lines are dropped until then without touching the disk (one syscall per retry)
  let retryAt = 0
  return {
    /** lines dropped; with the error that made them dropped, the disk is left alone for a while */
    drop (lines: number, err?: Error): void {
      stats.droppedLines += lines
      unreported.lines += lines
      if (err === undefined) return
      retryAt = Date.now() + retryIntervalMs
      if (!warnedWrite) {
        warnedWrite = true
        warn(`sluice/transport: warning: cannot write spool ${dir} (${err.message}); dropping lines and retrying every ${retryIntervalMs} ms. Make options.dir (default $SLUICE_DATA_DIR/spool) a writable directory. Further drops are counted only and reported in the spool once it is writable.\n`)
      }
    },
    /** a closed file deleted under the spool cap */
    deleted (f: { p: string, size: number }): void {
      stats.droppedFiles++
      stats.droppedBytes += f.size
      unreported.files++
      unreported.bytes += f.size
      if (!warnedCap) {
        warnedCap = true
        warn(`sluice/transport: warning: spool ${dir} exceeded ${maxSpoolBytes} bytes (shipper not keeping up?); deleted oldest file ${path.basename(f.p)} (${f.size} bytes). Further drops are counted only.\n`)
      }
    },
    /** true while a failed write's back-off lasts */
    backingOff: (): boolean => retryAt !== 0 && Date.now() < retryAt,
    /** the last lines get one more try */
    endBackoff (): void { retryAt = 0 },
    /** the record announcing the drops not yet announced (then they are), or null */
    takeAnnouncement (service: string): string | null {
      if (unreported.files + unreported.lines === 0) return null
      const rec = droppedRecord(service, unreported)
      unreported = { files: 0, bytes: 0, lines: 0 }
      return rec
    }
  }
}

export function createSpoolWriter (opts: SpoolOptions): SpoolWriter {
  const dir = spoolDirFor(opts.dir, opts.service)
  const maxFileBytes = opts.maxFileBytes ?? 16 * 1024 * 1024
  const maxSpoolBytes = opts.maxSpoolBytes ?? 1024 * 1024 * 1024
  const stats = { linesWritten: 0, filesRotated: 0, droppedFiles: 0, droppedBytes: 0, droppedLines: 0 }
  const losses = createSpoolLosses(dir, maxSpoolBytes, opts.retryIntervalMs ?? 1000, opts.warn ?? ((message: string) => { process.stderr.write(message) }), stats)
  let seq = 0
  let fd = -1
  let fileBytes = 0
  let currentPath = ''
  let pending: string[] = []
  let pendingBytes = 0
  let pendingLines = 0
  let closed = false
  let dirMade = false

  function open (): void {
    // created on first use and again if it disappears, so a spool that cannot be created yet
    // (parent missing, not a directory, disk full) costs lines, never the application
    if (!dirMade) { fs.mkdirSync(dir, { recursive: true }); dirMade = true }
    currentPath = path.join(dir, spoolFileName(Date.now(), process.pid, seq++))
    fd = openForAppend(dir, currentPath)
    fileBytes = 0
    const rec = losses.takeAnnouncement(opts.service)
    if (rec !== null) {
      try { fs.writeSync(fd, rec); fileBytes += rec.length } catch {}
    }
  }

  function flush (): void {
    if (pending.length === 0) return
    const data = pending.join('')
    const lines = pendingLines
    pendingLines = 0
    pending = []
    pendingBytes = 0
    if (fd < 0 && losses.backingOff()) { losses.drop(lines); return }
    try {
      // another process of the same service may have deleted our file under the spool cap:
      // writing on into an unlinked file would lose every later line silently
      if (fd >= 0 && fs.fstatSync(fd).nlink === 0) { fs.closeSync(fd); fd = -1 }
      if (fd < 0) open()
      fs.writeSync(fd, data)
    } catch (err) {
      // disk full or spool unwritable: the app must keep running; count the lines, warn once
      losses.drop(lines, err as Error)
      if (fd >= 0) { try { fs.closeSync(fd) } catch {} fd = -1 }
      dirMade = false
      return
    }
    fileBytes += Buffer.byteLength(data)
    if (fileBytes >= maxFileBytes) {
      try { fs.closeSync(fd) } catch {}
      fd = -1
      stats.filesRotated++
      for (const f of deleteOldestOverCap(dir, maxSpoolBytes, currentPath)) losses.deleted(f)
    }
  }

  // made up front so a spool that cannot be created is reported when the logger starts
  try { fs.mkdirSync(dir, { recursive: true }); dirMade = true } catch (err) { losses.drop(0, err as Error) }
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
      losses.endBackoff()
      flush()
      if (fd >= 0) { try { fs.fsyncSync(fd) } catch {} }
      if (fd >= 0) { try { fs.closeSync(fd) } catch {} fd = -1 }
    }
  }
}
