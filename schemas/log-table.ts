// The logs table as the collector writes it and readers read it back: its columns in the order
// of a row's values (RowBinary, collector/row-binary.ts) and a row as an object.
// The table itself is created by schemas/migrations.ts.

/** one row of the logs table (ts as toISOString()) */
export interface LogRow {
  ts: string, host: string, service: string, pid: number, level: string, level_num: number
  msg: string, fields: string, source: string, path: string, offset: number, flags: string[]
  /** bytes of the line in its source, newline included (0: unknown) */
  len: number
}

/** the logs table's columns in the order of a row's values */
export const logColumns = ['ts', 'host', 'service', 'pid', 'level', 'msg', 'fields', 'source', 'path', 'offset', 'flags', 'level_num', 'len'] as const

/** the logs columns a RowBinary row holds, in `logColumns` order, with the types the rows are
 *  written in (LowCardinality columns take plain strings; ClickHouse converts on insert) */
export const rowBinaryStructure = "ts DateTime64(3, 'UTC'), host String, service String, pid UInt32, level String, msg String, fields String, source String, path String, offset UInt64, flags Array(String), level_num UInt8, len UInt32"
