// The collector writes log rows as RowBinary values of the logs table's columns (collector/rows.ts,
// row-binary.ts; embedded: read by chDB from a file). What the real engine stores must be exactly the row values
// rows.ts describes (logRowsOf), on the canonical fast path, the non-ASCII path, the general
// path (U+2028, extra top-level keys) and log segments alike.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { createClickHouse } from '../../platform/clickhouse.js'
import { migrate } from '../../schemas/migrations.js'
import { addMessage } from '../../collector/rows.js'
import { emptyRows, logRowsOf } from '../../collector/row-types.js'
import { insertBatch, insertFileTag, insertFilesDirOf, removeStaleInsertFiles } from '../../collector/insert.js'
import { noFaults } from '../../collector/faults.js'
import { segmentHeaderJson } from '../../schemas/segment.js'
import { tempDir } from '../helpers/env.js'

const base = Date.parse('2026-11-22T04:00:00Z')
const rec = (i: number, extra: Record<string, unknown> = {}): string => JSON.stringify({ v: 1, kind: 'log', ts: new Date(base + i).toISOString(), host: 'h', service: 's', pid: 1, level: 'info', msg: `m ${i}`, fields: {}, src: 'src', path: '/p', off: i, flags: [], ...extra })

describe('log rows into the real engine', () => {
  it('stores every column exactly as the collector describes it', async () => {
    const ch = await createClickHouse({ database: 'sluice', dataDir: tempDir('rows-roundtrip') })
    try {
      // retention of 200 years: the row from 1969 below must not be removed by the TTL meanwhile
      await migrate(ch.client, 'sluice', { retentionDays: 73_000 })
      const rows = emptyRows()
      const meta = (offset: string): { topic: string, partition: number, offset: string, key: string } => ({ topic: 't', partition: 0, offset, key: 'h' })
      // ASCII, canonical: the byte-copy fast path
      addMessage(rows, Buffer.from([rec(0), rec(1, { level: 'fatal', flags: ['truncated', 'not_json'], fields: { n: -1e21, s: '\u0001', q: 'x"y\\z' } })].join('\n')), meta('1'))
      // non-ASCII canonical lines: the string path
      addMessage(rows, Buffer.from([rec(2, { msg: 'tab\there "q" nl\n é ✓ 😀', fields: { a: { b: [1, 2.5, null, true] }, kéy: 'v' } }), rec(3, { host: 'hé', path: '/p/é' })].join('\n')), meta('2'))
      // the general path: U+2028, a top-level key a newer producer added, a short ts
      addMessage(rows, Buffer.from([rec(4, { msg: '\u2028sep' }), rec(5, { extraTop: 5 }), rec(6, { ts: '2026-11-22T04:00:00Z' })].join('\n')), meta('3'))
      // timestamps the canonical shape does not cover: an offset with extra fractional digits
      // (truncated to the millisecond) and one before 1970 (a negative DateTime64)
      addMessage(rows, Buffer.from([rec(2000, { ts: '2026-11-22T05:00:00.1239+01:00' }), rec(2001, { ts: '1969-12-31T23:59:59.999Z', msg: 'ünïcode before 1970' })].join('\n')), meta('5'))
      // strings whose RowBinary length takes two and three bytes, on the byte path and the string path
      addMessage(rows, Buffer.from([rec(2002, { msg: 'y'.repeat(300) }), rec(2003, { msg: `${'z'.repeat(20_000)} é`, path: `/${'p'.repeat(200)}` })].join('\n')), meta('6'))
      // a log segment of raw pino lines
      const raw = [JSON.stringify({ level: 40, time: base + 7, pid: 9, hostname: 'web', msg: 'seg "one"', k: [1] }), JSON.stringify({ level: 50, time: base + 8, msg: 'seg two é' })].join('\n') + '\n'
      const header = segmentHeaderJson({ host: 'web', service: 'svc', src: 'segsrc', path: '/seg.log', off: 1000, lines: 2, bytes: Buffer.byteLength(raw), rt: new Date(base).toISOString() })
      addMessage(rows, Buffer.from(`${header}\n${raw}`), meta('4'))
      expect(rows.dead).toEqual([])
      expect(rows.logCount).toBe(13)
      await insertBatch({ client: ch.client, database: 'sluice', faults: noFaults }, rows, 't', 0, { from: 1n, to: 6n })

      const want = logRowsOf(rows).map(r => ({ ...r, ts: Date.parse(r.ts) })).sort((a, b) => a.offset - b.offset)
      const got = (await (await ch.client.query({ query: 'SELECT toUnixTimestamp64Milli(ts) AS ts, host, service, pid, level, msg, fields, source, path, offset, flags, level_num, len FROM sluice.logs ORDER BY offset', format: 'JSONEachRow' })).json<Record<string, unknown>>())
        .map(r => ({ ...r, ts: Number(r.ts), offset: Number(r.offset) }))
      expect(got).toEqual(want)
      // a segment line's len: its bytes in the file, newline included (the next line starts there)
      expect(got.filter(r => r.source === 'segsrc').map(r => [r.offset, r.len])).toEqual(raw.split('\n').slice(0, 2).map((l, i) => [i === 0 ? 1000 : 1000 + Buffer.byteLength(raw.split('\n')[0]) + 1, Buffer.byteLength(l) + 1]))
      expect(got[1]).toMatchObject({ level: 'fatal', level_num: 60, flags: ['truncated', 'not_json'], fields: '{"n":-1e+21,"s":"\\u0001","q":"x\\"y\\\\z"}' })
      expect(got[2]).toMatchObject({ msg: 'tab\there "q" nl\n é ✓ 😀', fields: '{"a":{"b":[1,2.5,null,true]},"kéy":"v"}' })
      expect(got[5]).toMatchObject({ fields: '{"extraTop":5}' })
      expect(got[7]).toMatchObject({ ts: base + 7, host: 'web', service: 'svc', pid: 9, level: 'warn', msg: 'seg "one"', source: 'segsrc', path: '/seg.log', offset: 1000 })
      expect(got.find(r => r.offset === 2000)).toMatchObject({ ts: base + 123 })
      expect(got.find(r => r.offset === 2001)).toMatchObject({ ts: -1, msg: 'ünïcode before 1970' })
      expect(got.find(r => r.offset === 2002)).toMatchObject({ msg: 'y'.repeat(300) })
      expect(got.find(r => r.offset === 2003)).toMatchObject({ msg: `${'z'.repeat(20_000)} é`, path: `/${'p'.repeat(200)}` })
      // the batch's row file is gone once the insert is acknowledged
      expect(fs.readdirSync(insertFilesDirOf(ch.client)!)).toEqual([])
    } finally {
      await ch.close()
    }
  })

  it('removes the row files of a collector that died mid-insert, and only those', () => {
    const dir = tempDir('insert-files')
    const mine = `${insertFileTag()}1.rowbinary`
    // an earlier run of this same pid (every run is pid 1 in a container) left two
    fs.writeFileSync(path.join(dir, `${process.pid}-0badc0de-1.rowbinary`), 'x')
    fs.writeFileSync(path.join(dir, '4242-12345678-2.rowbinary'), 'x')
    fs.writeFileSync(path.join(dir, mine), 'x')
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'x')
    expect(removeStaleInsertFiles(dir)).toBe(2)
    expect(fs.readdirSync(dir).sort()).toEqual([mine, 'notes.txt'].sort())
  })
})
