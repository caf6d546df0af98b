// The spool contract in schemas/spool-layout.ts: what the transport's spool writer writes is
// exactly what `sluice ship`'s spool glob finds, and the default data dir is one constant.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { dataDirFromEnv, defaultDataDir, spoolFileName, spoolGlobOf, spoolRootOf } from '../../schemas/spool-layout.js'
import { createSpoolWriter } from '../../transport/spool-writer.js'
import { expandGlob } from '../../shipper/glob.js'
import { tempDir } from '../helpers/env.js'

describe('spool layout', () => {
  it('files the writer creates under <dataDir>/spool are exactly the files the shipper glob finds', () => {
    const data = tempDir('spool-layout')
    for (const service of ['checkout', 'billing']) {
      const w = createSpoolWriter({ dir: spoolRootOf(data), service, maxFileBytes: 100, flushIntervalMs: 60_000 })
      for (let i = 0; i < 3; i++) { w.write(`{"n":${i},"msg":"${'x'.repeat(100)}"}\n`); w.flush() }
      w.close()
    }
    fs.writeFileSync(path.join(spoolRootOf(data), 'checkout', 'notes.txt'), 'not a spool file\n')
    const written = ['checkout', 'billing'].flatMap(s => fs.readdirSync(path.join(data, 'spool', s)).filter(f => f !== 'notes.txt').map(f => path.join(path.resolve(data), 'spool', s, f))).sort()
    expect(written).toHaveLength(6)
    expect(expandGlob(spoolGlobOf(data))).toEqual(written)
  })

  it('names a spool file <start-ms>-<pid>-<seq>.ndjson with a four-digit sequence', () => {
    expect(spoolFileName(1764950400000, 4242, 7)).toBe('1764950400000-4242-0007.ndjson')
  })

  it('takes the data dir from SLUICE_DATA_DIR, else ./.sluice', () => {
    expect(defaultDataDir).toBe('./.sluice')
    expect(dataDirFromEnv({})).toBe('./.sluice')
    expect(dataDirFromEnv({ SLUICE_DATA_DIR: '/var/lib/sluice' })).toBe('/var/lib/sluice')
  })
})
