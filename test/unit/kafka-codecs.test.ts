// platform/kafka-codecs.ts changes two things in kafkajs' record-batch path: gzip runs
// synchronously at level 1, and an Encoder appending an array of Encoders grows once, to the
// size it needs. Both must leave the bytes on the wire exactly as kafkajs made them.
import zlib from 'node:zlib'
import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import kafkajs, { CompressionTypes } from 'kafkajs'
import '../../platform/kafka-codecs.js'

interface Enc { buf: Buffer, offset: number, buffer: Buffer, writeInt8: (v: number) => Enc, writeInt32: (v: number) => Enc, writeBytes: (b: Buffer) => Enc, writeEncoderArray: (v: unknown) => Enc }
const Encoder = createRequire(import.meta.url)('kafkajs/src/protocol/encoder') as new (initialSize?: number) => Enc

const bytes = (n: number, seed: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff))

describe('kafkajs Encoder.writeEncoderArray (grown once)', () => {
  it('appends every encoder\'s bytes after what was written, in order, and keeps growing afterwards', () => {
    const parts = [bytes(300_000, 1), bytes(5, 2), bytes(0, 3), bytes(70_000, 4)]
    const encoders = parts.map(p => new Encoder().writeBytes(p))
    const out = new Encoder().writeInt32(7).writeEncoderArray(encoders).writeInt8(9).writeBytes(bytes(600_000, 5))
    const expected = Buffer.concat([Buffer.from([0, 0, 0, 7]), ...encoders.map(e => e.buffer), Buffer.from([9]), new Encoder().writeBytes(bytes(600_000, 5)).buffer])
    expect(out.offset).toBe(expected.length)
    expect(out.buffer.equals(expected)).toBe(true)
  })

  it('allocates exactly what it needs instead of doubling', () => {
    const encoders = [bytes(261_000, 1), bytes(261_000, 2), bytes(261_000, 3)].map(p => new Encoder().writeBytes(p))
    const out = new Encoder().writeEncoderArray(encoders)
    expect(out.buf.length).toBe(3 * (4 + 261_000))
  })

  it('an empty array writes nothing; anything but encoders is refused as kafkajs refuses it', () => {
    expect(new Encoder().writeInt8(1).writeEncoderArray([]).buffer).toEqual(Buffer.from([1]))
    expect(() => new Encoder().writeEncoderArray([Buffer.from('x')])).toThrow('all values should be an instance of Encoder[]')
    expect(() => new Encoder().writeEncoderArray('x')).toThrow('all values should be an instance of Encoder[]')
  })
})

describe('gzip codec', () => {
  it('compresses at level 1 to a gzip stream any reader inflates back to the input', async () => {
    const codec = (kafkajs.CompressionCodecs as Record<number, () => { compress: (e: { buffer: Buffer }) => Promise<Buffer>, decompress: (b: Buffer) => Promise<Buffer> }>)[CompressionTypes.GZIP]()
    const input = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `{"level":30,"time":${1796000000000 + i},"msg":"line ${i}"}\n`).join(''))
    const packed = await codec.compress({ buffer: input })
    expect(packed.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
    expect(packed.equals(zlib.gzipSync(input, { level: 1 }))).toBe(true)
    expect(zlib.gunzipSync(packed).equals(input)).toBe(true)
    expect((await codec.decompress(packed)).equals(input)).toBe(true)
  })
})
