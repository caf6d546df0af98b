// Finding a file the checkpoint knows after it moved while nobody watched (logrotate renamed
// it once or more, compressed it, or deleted it): by device/inode first (cheap), always
// confirmed by the content fingerprint; then by fingerprint alone, over every file of the
// directory, gzip included (its head is inflated, its size read from the trailer).
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import crypto from 'node:crypto'

export const fingerprintBytes = 4096

/** fingerprint of a file's first line (or first 4 KiB) given its first bytes; null while no
 *  full line exists */
export function fingerprintHead (head: Buffer, host: string): string | null {
  const nl = head.indexOf(10)
  if (nl === -1 && head.length < fingerprintBytes) return null
  const first = nl === -1 ? head.subarray(0, fingerprintBytes) : head.subarray(0, nl + 1)
  return crypto.createHash('sha256').update(host).update('\0').update(first).digest('hex').slice(0, 24)
}

export function readHead (fd: number, size: number): Buffer {
  const head = Buffer.allocUnsafe(Math.min(fingerprintBytes, size))
  const n = fs.readSync(fd, head, 0, head.length, 0)
  return head.subarray(0, n)
}

export function fingerprintOf (fd: number, size: number, host: string): string | null {
  if (size === 0) return null
  return fingerprintHead(readHead(fd, size), host)
}

const logrotateBackup = '.backup'
const compressedNames = /\.(gz|zst|bz2|xz|lz4|zip)$/i
const magics: Array<[string, number[]]> = [['gzip', [0x1f, 0x8b]], ['zstd', [0x28, 0xb5, 0x2f, 0xfd]], ['bzip2', [0x42, 0x5a, 0x68]], ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]], ['lz4', [0x04, 0x22, 0x4d, 0x18]]]

/** the compression format of a file, by its name or its first bytes; null for plain text */
export function compressionOf (name: string, head: Buffer): string | null {
  for (const [format, magic] of magics) if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return format
  const ext = compressedNames.exec(name)
  return ext === null ? null : ext[1].toLowerCase()
}

/** A rotated name of `live`: the live name with a rotation token (a number or a date) inserted
 *  before an extension or appended — app.log → app.log.1, app.log-20261205, app.1.log — or
 *  logrotate's backup of it (app.log-2026120519.backup: with `create`, a file the application
 *  recreated at the live path before logrotate could, moved aside so logrotate can create its own) */
export function isRotatedName (name: string, live: string): boolean {
  if (name.endsWith(logrotateBackup) && !live.endsWith(logrotateBackup)) name = name.slice(0, -logrotateBackup.length)
  if (name.length <= live.length || compressedNames.test(name)) return false
  for (let i = 0; i <= live.length; i++) {
    const a = live.slice(0, i)
    const b = live.slice(i)
    if (!name.startsWith(a) || !name.endsWith(b)) continue
    if (/^[._-][0-9][0-9._-]*$/.test(name.slice(a.length, name.length - b.length))) return true
  }
  return false
}

export interface KnownFile { fp: string, path: string, dev?: number, ino?: number }

export type Located =
  /** the file, open (the caller owns fd) */
  | { kind: 'found', path: string, fd: number, dev: number, ino: number, size: number }
  /** its content, compressed: size is the uncompressed size when the format tells it */
  | { kind: 'compressed', path: string, format: string, size: number | null }
  | { kind: 'gone' }

export interface DirEntry { path: string, dev: number, ino: number, size: number, mtimeMs: number }

export interface DirIndex {
  readonly dir: string
  readonly files: DirEntry[]
  locate (f: KnownFile): Located
}

/** gzip: fingerprint of the inflated head and the uncompressed size (mod 2^32, from the trailer) */
function gzipIdentity (p: string, size: number, host: string): { fp: string | null, size: number } | null {
  let fd: number
  try { fd = fs.openSync(p, 'r') } catch { return null }
  try {
    // 16 KiB in: enough for a 4 KiB head of text, and at most ~16 MiB out (deflate's ratio bound)
    const buf = Buffer.allocUnsafe(Math.min(size, 16 * 1024))
    const n = fs.readSync(fd, buf, 0, buf.length, 0)
    const head = zlib.gunzipSync(buf.subarray(0, n), { finishFlush: zlib.constants.Z_SYNC_FLUSH })
    const tail = Buffer.alloc(4)
    fs.readSync(fd, tail, 0, 4, size - 4)
    return { fp: fingerprintHead(head.subarray(0, fingerprintBytes), host), size: tail.readUInt32LE(0) }
  } catch { return null } finally { fs.closeSync(fd) }
}

/** One look at a directory, shared by every lookup made in it at the same moment. */
export function indexDirectory (dir: string, host: string): DirIndex {
  const files: DirEntry[] = []
  let names: string[] = []
  try { names = fs.readdirSync(dir) } catch {}
  for (const name of names) {
    const p = path.join(dir, name)
    try {
      const st = fs.statSync(p)
      if (st.isFile()) files.push({ path: p, dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs })
    } catch {}
  }
  // fingerprints of every file, computed on the first lookup that needs them
  let byFp: Map<string, { e: DirEntry, format: string | null, size: number | null }> | null = null
  const fingerprints = (): NonNullable<typeof byFp> => {
    if (byFp !== null) return byFp
    byFp = new Map()
    for (const e of files) {
      let fd: number
      try { fd = fs.openSync(e.path, 'r') } catch { continue }
      let head: Buffer
      try { head = readHead(fd, e.size) } catch { continue } finally { fs.closeSync(fd) }
      const format = compressionOf(e.path, head)
      if (format === null) {
        const fp = fingerprintHead(head, host)
        if (fp !== null) byFp.set(fp, { e, format, size: e.size })
      } else if (format === 'gzip') {
        const id = gzipIdentity(e.path, e.size, host)
        if (id?.fp != null) byFp.set(id.fp, { e, format, size: id.size })
      }
    }
    return byFp
  }
  const open = (e: DirEntry, fp: string): Located | null => {
    let fd: number
    try { fd = fs.openSync(e.path, 'r') } catch { return null }
    try {
      const st = fs.fstatSync(fd)
      if (fingerprintOf(fd, st.size, host) === fp) return { kind: 'found', path: e.path, fd, dev: st.dev, ino: st.ino, size: st.size }
    } catch {}
    fs.closeSync(fd)
    return null
  }
  return {
    dir,
    files,
    locate (f) {
      if (f.ino !== undefined) {
        const e = files.find(x => x.ino === f.ino && x.dev === f.dev)
        const hit = e === undefined ? null : open(e, f.fp)
        if (hit !== null) return hit
      }
      const m = fingerprints().get(f.fp)
      if (m === undefined) return { kind: 'gone' }
      if (m.format !== null) return { kind: 'compressed', path: m.e.path, format: m.format, size: m.size }
      return open(m.e, f.fp) ?? { kind: 'gone' }
    }
  }
}
