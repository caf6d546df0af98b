// Compression codecs for kafkajs, registered once per thread on import (platform/kafka.ts
// imports this module, so every producer and consumer of Sluice's has them):
//   gzip — what the shipper sends by default, compressed at zlib level 1 instead of kafkajs'
//          level 6 (on NDJSON log batches ~3.5× faster for a 3% larger output).
//   zstd — `sluice ship --compression zstd`. kafkajs has no zstd of its own; this one is
//          @mongodb-js/zstd (the MongoDB driver's codec, native, prebuilt per platform on npm).
//          Every reader needs the codec: a Sluice collector or tail from before this module
//          cannot read what a zstd shipper sends.
// Measured on one 1.44 MB shipper batch of 8,192 pino lines (2 shared cores, 2026-12-01):
// gzip level 1 4.8-5.5 ms → 107 KB (13×); zstd level 1 3.6-3.8 ms → 32 KB (45×). Kafka itself
// reads zstd from version 2.1 (2018) on; kcat and librdkafka read it too.
import zlib from 'node:zlib'
import { createRequire } from 'node:module'
import { promisify } from 'node:util'
import kafkajs, { CompressionTypes } from 'kafkajs'

export type Compression = 'zstd' | 'gzip' | 'none'
export const compressions: readonly Compression[] = ['gzip', 'zstd', 'none']

interface Zstd { compress: (data: Buffer, level?: number) => Promise<Buffer>, decompress: (data: Buffer) => Promise<Buffer> }
// loaded on first use: a process that never meets zstd never maps the native addon
let zstd: Zstd | null | undefined
let zstdLoadError = ''
function loadZstd (): Zstd | null {
  if (zstd !== undefined) return zstd
  try {
    zstd = createRequire(import.meta.url)('@mongodb-js/zstd') as Zstd
  } catch (err) {
    zstd = null
    zstdLoadError = (err as Error).message.split('\n')[0]
  }
  return zstd
}
const zstdOrThrow = (): Zstd => {
  const z = loadZstd()
  if (z === null) throw new Error(zstdUnavailable()!)
  return z
}

/** null when zstd works here, else why not (a platform without a prebuilt binary) */
function zstdUnavailable (): string | null {
  return loadZstd() === null ? `zstd is not available on this platform (${zstdLoadError}); ship with --compression gzip (the default)` : null
}

/** why a shipper cannot use compression `c` here (an unknown name, or zstd without its
 *  binary), or null when it can — the one check behind `--compression` and createShipper */
export function compressionProblem (c: string): string | null {
  if (!(compressions as readonly string[]).includes(c)) return `expected one of ${compressions.join(', ')}`
  return c === 'zstd' ? zstdUnavailable() : null
}

export function compressionType (c: Compression): CompressionTypes {
  return c === 'zstd' ? CompressionTypes.ZSTD : c === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None
}

// zlib hands its output back 16 KiB at a time by default, one thread-pool round trip and one
// callback each; gzip at level 1 shrinks log lines ~5-13×, so an output chunk of a quarter of
// the input (≥ 16 KiB, ≤ 1 MiB) takes one or two
const gzipChunk = (n: number): number => Math.min(1 << 20, Math.max(16 * 1024, n >> 2))
const gzip1 = promisify((buf: Buffer, cb: (err: Error | null, out: Buffer) => void) => zlib.gzip(buf, { level: 1, chunkSize: gzipChunk(buf.length) }, cb))
const unzip = promisify(zlib.unzip)

// (kafkajs is CommonJS and Node's ESM loader does not detect CompressionCodecs as a named export)
const codecs = kafkajs.CompressionCodecs as Record<number, () => { compress: (encoder: { buffer: Buffer }) => Promise<Buffer>, decompress: (buf: Buffer) => Promise<Buffer> }>
codecs[CompressionTypes.GZIP] = () => ({
  compress: async encoder => await gzip1(encoder.buffer),
  decompress: async buf => await unzip(buf)
})
codecs[CompressionTypes.ZSTD] = () => ({
  compress: async encoder => await zstdOrThrow().compress(encoder.buffer, 1),
  decompress: async buf => await zstdOrThrow().decompress(buf)
})
