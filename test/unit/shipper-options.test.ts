// createShipper's options resolved once: the defaults with their units, and the two exact errors.
import { describe, expect, it } from 'vitest'
import { resolveShipperOptions } from '../../shipper/options.js'
import { createShipper } from '../../shipper/ship.js'

describe('shipper options', () => {
  it('fills in the defaults and freezes the result', () => {
    const o = resolveShipperOptions({ brokers: ['b:9092'], globs: ['/x/*.log'], dataDir: '/d', host: 'h' })
    expect({ ...o, registry: undefined }).toEqual({
      brokers: ['b:9092'], globs: ['/x/*.log'], dataDir: '/d', service: undefined, host: 'h', registry: undefined,
      topics: { prefix: 'sluice.', logs: 'sluice.logs.v1', stats: 'sluice.stats.v1', deadLetters: 'sluice.deadletter.v1' },
      maxLineBytes: undefined, maxBatchBytes: 2 * 1024 * 1024, maxBatchLines: 8192, maxMessageBytes: 255 * 1024,
      maxInFlight: 2, compression: 'gzip', checkpointMs: 250, pollMs: 100, scanMs: 1000,
      maxArrayBuffers: 16 * 1024 * 1024, segments: undefined, rotatedSettleMs: 60_000
    })
    expect(Object.isFrozen(o)).toBe(true)
    expect(resolveShipperOptions({ brokers: [], globs: ['a'], dataDir: '/d', maxBatchesInFlight: 0 }).maxInFlight).toBe(1)
  })

  it('refuses no globs and an unknown compression, through createShipper too', () => {
    expect(() => createShipper({ brokers: [], globs: [], dataDir: '/d' })).toThrow(new TypeError('createShipper: at least one glob is required'))
    expect(() => resolveShipperOptions({ brokers: [], globs: ['a'], dataDir: '/d', compression: 'brotli' as never })).toThrow(new TypeError('createShipper: compression "brotli": expected one of gzip, zstd, none'))
    expect(() => resolveShipperOptions({ brokers: [], globs: ['a'], dataDir: '/d', rotatedSettleMs: -1 })).toThrow(new TypeError('createShipper: rotatedSettleMs must be a number of ms ≥ 0, got -1'))
  })
})
