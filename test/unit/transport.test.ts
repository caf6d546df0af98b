// sluice/transport in a real child process (pino's worker thread): every line reaches the
// spool exactly once, in order, enriched with service/host/pid, including the last ones
// logged right before the process exits.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { root, runNode, tempDir } from '../helpers/env.js'

describe('sluice/transport', () => {
  it('spools 20,000 lines exactly once, in order, with service, host and pid, flushed on exit', async () => {
    const dir = tempDir('transport')
    const r = await runNode(path.join(root, 'test', 'fixtures', 'log-lines.mjs'), [dir, 'svc-a', 'host-a', '20000', '19999', 'last-token'])
    expect(r).toEqual({ code: 0, stderr: '' })
    const files = fs.readdirSync(path.join(dir, 'svc-a')).sort()
    const lines = files.flatMap(f => fs.readFileSync(path.join(dir, 'svc-a', f), 'utf8').split('\n').filter(l => l !== ''))
    const recs = lines.map(l => JSON.parse(l) as { service: string, host: string, pid: number, n: number, msg: string })
    expect(recs.map(x => x.n)).toEqual([...Array(20000).keys()])
    expect(new Set(recs.map(x => `${x.service}/${x.host}`))).toEqual(new Set(['svc-a/host-a']))
    expect(new Set(recs.map(x => x.pid)).size).toBe(1)
    expect(recs[19999].msg).toBe('line 19999 from host-a last-token')
  })
})
