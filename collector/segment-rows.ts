// A Kafka message that is a log segment (schemas/segment.ts: raw lines, normalised here) → rows.
// Each line gets the rows its v1 record would have got, as if the shipper had sent it: a
// canonical line (fastLogParts, the shipper's own fast path) becomes the row directly; any
// other line is normalised and its record goes through the general path (record-line.ts),
// with every check and dead letter of the record path.
import { levelNum } from '../schemas/records.js'
import { fastLogParts } from '../schemas/fast-line.js'
import { forEachSegmentLine, parseSegment, segmentLineRecord, type ParsedSegment } from '../schemas/segment.js'
import { addLine } from './record-line.js'
import { tsMillis } from './row-binary.js'
import { addDeadLetter, failedReason, maxPid, maxRawBytes, outOfRange, rollback, type Meta, type Rows } from './row-types.js'

const oddChars = /[\uFFFD\u2028\u2029]/

export function addSegment (rows: Rows, value: Buffer, meta: Meta): void {
  const seg = parseSegment(value)
  if ('error' in seg) { addDeadLetter(rows, meta, seg.error, value.toString('utf8', 0, Math.min(value.length, maxRawBytes)), 0); return }
  const h = seg.header
  const n = forEachSegmentLine(value, seg, (start, end, off, index) => {
    // one line's failure costs that line only (the mark in locals: no object per line)
    const pos = rows.log.pos
    const logCount = rows.logCount
    const stats = rows.stats.length
    const deadCount = rows.dead.length
    try { segmentLine(rows, value, seg, start, end, off, index, meta) } catch (err) {
      rollback(rows, { pos, logCount, stats, dead: deadCount })
      addDeadLetter(rows, meta, failedReason(err), value.toString('utf8', start, Math.min(end, start + maxRawBytes)), index, { source: h.src, offset: off, len: end - start + 1 })
    }
  })
  if (n !== h.lines) addDeadLetter(rows, meta, `segment header says ${h.lines} lines, the body holds ${n} (its rows are kept: line identities come from byte offsets)`, value.toString('utf8', 0, value.indexOf(10)), 0)
}

function segmentLine (rows: Rows, value: Buffer, seg: ParsedSegment, start: number, end: number, off: number, index: number, meta: Meta): void {
  const h = seg.header
  const w = rows.log
  // a v1 record is its line plus < 1 KiB: lines under 256 KiB are far from maxRecordBytes
  const line = end - start <= 256 * 1024 ? value.toString('utf8', start, end) : null
  const fast = line !== null && !oddChars.test(line) ? fastLogParts(line, h.host, h.service) : null
  if (fast !== null && fast.pid <= maxPid && fast.ts.length === 24) {
    const year = Number(fast.ts.slice(0, 4))
    const tsMs = tsMillis(fast.ts)
    if (year >= 1900 && year <= 2299 && !outOfRange(tsMs, meta)) {
      w.int64(tsMs)
      w.string(fast.host)
      w.string(fast.service)
      w.uint32(fast.pid)
      w.string(fast.level)
      const m = fast.msgJson
      w.string(m.includes('\\') ? JSON.parse(m) as string : m.slice(1, -1))
      w.string(fast.fieldsJson)
      w.string(h.src)
      w.string(h.path)
      w.uint64(off)
      w.uint8(0) // no flags
      w.uint8(levelNum[fast.level])
      w.uint32(end - start + 1)
      rows.logCount++
      return
    }
  }
  addLine(rows, JSON.stringify(segmentLineRecord(value, start, end, off, seg)), index, meta, { source: h.src, offset: off, len: end - start + 1 })
}
