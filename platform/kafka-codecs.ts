// Compression codecs for kafkajs, registered once per thread on import (platform/kafka.ts
// imports this module, so every producer and consumer of Sluice's has them):
//   gzip — what the shipper sends by default, at zlib level 1 (kafkajs uses 6: much slower
//          for a slightly smaller output).
//   zstd — `sluice ship --compression zstd`, via @mongodb-js/zstd (native, prebuilt per
//          platform). Every reader needs the codec.
// Also here: kafkajs' record-batch Encoder grows once, to the size it needs (end of file).
// Measurements and the choice of default: docs/design/2026-12-01-compression.md.
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

// zlib hands its output back 16 KiB at a time by default; log lines compress several-fold, so
// an output chunk of a quarter of the input (≥ 16 KiB, ≤ 1 MiB) takes one or two.
const gzipChunk = (n: number): number => Math.min(1 << 20, Math.max(16 * 1024, n >> 2))
// Compressing is synchronous, on the calling thread (the shipper's Kafka thread): an async zlib
// stream's buffers are freed only on a later turn of the event loop, so the shipper's forced GCs
// could not free them while catching up (docs/design/2026-12-01-compression.md).
const gzip1 = (buf: Buffer): Buffer => zlib.gzipSync(buf, { level: 1, chunkSize: gzipChunk(buf.length) })
const unzip = promisify(zlib.unzip)

// (kafkajs is CommonJS and Node's ESM loader does not detect CompressionCodecs as a named export)
const codecs = kafkajs.CompressionCodecs as Record<number, () => { compress: (encoder: { buffer: Buffer }) => Promise<Buffer>, decompress: (buf: Buffer) => Promise<Buffer> }>
codecs[CompressionTypes.GZIP] = () => ({
  compress: async encoder => gzip1(encoder.buffer),
  decompress: async buf => await unzip(buf)
})
codecs[CompressionTypes.ZSTD] = () => ({
  compress: async encoder => await zstdOrThrow().compress(encoder.buffer, 1),
  decompress: async buf => await zstdOrThrow().decompress(buf)
})

// kafkajs builds a record batch by appending each record's encoded bytes to one Encoder that
// doubles from 512 bytes as it goes, allocating (and zero-filling) several times the batch. Here
// an Encoder appending an array of Encoders grows once, to exactly the size it needs (the bytes
// past `offset` are never read: `buffer` is a slice to it). Same output byte for byte
// (test/unit/kafka-codecs.test.ts). It replaces a method of kafkajs' internals, so only on the
// version it was written against: 2.2.4, kafkajs' last release; any other keeps kafkajs' own.
interface KafkaEncoder { buf: Buffer, offset: number, buffer: Buffer }
const requireHere = createRequire(import.meta.url)
const EncoderClass = requireHere('kafkajs/src/protocol/encoder') as { prototype: { writeEncoderArray: (this: KafkaEncoder, value: KafkaEncoder[]) => KafkaEncoder } }
if ((requireHere('kafkajs/package.json') as { version: string }).version === '2.2.4') EncoderClass.prototype.writeEncoderArray = function (value) {
  if (!Array.isArray(value) || value.some(v => v == null || !Buffer.isBuffer(v.buf))) throw new Error('all values should be an instance of Encoder[]')
  let need = this.offset
  for (const v of value) need += v.offset
  if (need > this.buf.length) {
    const grown = Buffer.allocUnsafe(need)
    this.buf.copy(grown, 0, 0, this.offset)
    this.buf = grown
  }
  for (const v of value) this.offset += v.buf.copy(this.buf, this.offset, 0, v.offset)
  return this
}
