// Kafka message → ClickHouse rows. Every line either becomes rows or a dead-letter row with a
// readable reason; nothing is dropped silently. Two layouts arrive:
//   v1 records, one JSON line each  → v1-lines.ts (canonical scan, else record-line.ts)
//   a log segment of raw lines       → segment-rows.ts (fast-line, else record-line.ts)
// Log rows are not built as objects: they are written straight into a RowBinary buffer
// (row-binary.ts), which ClickHouse reads without parsing text. The rows and the dead letter
// every path shares live in row-types.ts.
import { isSegment } from '../schemas/segment.js'
import { addSegment } from './segment-rows.js'
import { addV1Lines } from './v1-lines.js'
import { addDeadLetter, failedReason, markOf, maxRawBytes, rollback, type Meta, type Rows } from './row-types.js'

/** Adds one Kafka message's rows. Never throws: a message (or line) whose processing fails
 *  becomes a dead letter with the reason, and what it had written is taken back. */
export function addMessage (rows: Rows, value: Buffer | null, meta: Meta): void {
  const m = markOf(rows)
  try {
    if (value === null || value.length === 0) addDeadLetter(rows, meta, 'empty message value', '', 0)
    else if (isSegment(value)) addSegment(rows, value, meta)
    else addV1Lines(rows, value, meta)
  } catch (err) {
    rollback(rows, m)
    addDeadLetter(rows, meta, failedReason(err), value === null ? '' : value.toString('utf8', 0, Math.min(value.length, maxRawBytes)), 0)
  }
}
