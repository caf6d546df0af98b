// sluice/stats' timer inside the user's process: a logger that throws must not turn into an
// unhandled rejection (which exits a Node application), and is reported once.
import { describe, expect, it, vi } from 'vitest'
import { monitorProcess } from '../../transport/process-stats.js'
import { waitFor } from '../helpers/env.js'

describe('sluice/stats', () => {
  it('a logger that throws: samples skipped, one warning, no unhandled rejection', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    const rejections: unknown[] = []
    const onRejection = (r: unknown): void => { rejections.push(r) }
    process.on('unhandledRejection', onRejection)
    let calls = 0
    const m = monitorProcess({ info: () => { calls++; throw new Error('the worker has exited') } }, { intervalMs: 100 })
    try {
      await waitFor('three failed samples', async () => calls >= 3, 30_000, 50)
      await new Promise(resolve => setImmediate(resolve))
    } finally {
      m.stop()
      process.off('unhandledRejection', onRejection)
    }
    const warnings = stderr.mock.calls.map(c => String(c[0])).filter(s => s.startsWith('sluice/stats'))
    stderr.mockRestore()
    expect(rejections).toEqual([])
    expect(warnings).toEqual(['sluice/stats: warning: cannot log process stats (the worker has exited); skipping samples until it can. Further failures are not reported.\n'])
  })
})
