// Fault injection for tests and drills, off unless the variable is set. It lives inside the
// collector (not a mocked client) so the real kafkajs and ClickHouse paths run around it.
//   SLUICE_FAULT_INSERT_FAIL_FILE=/path  every ClickHouse insert fails while that file exists
//                                        (ClickHouse "unavailable", also in embedded mode)
//   SLUICE_FAULT_CRASH_AFTER_INSERT=N    after ClickHouse acknowledged the N-th insert of a new range,
//                                        the process SIGKILLs itself before committing the Kafka
//                                        offsets (replays of a planned range do not count, so each
//                                        life of a crash loop makes progress)
//   SLUICE_FAULT_INSERT_POISON_OFFSET=N  every insert of a range holding Kafka offset N fails as
//                                        ClickHouse fails a batch it rejects for its content
//                                        (a poison message: the range is skipped after
//                                        maxInsertAttempts tries)
import fs from 'node:fs'

export interface Faults {
  insertFailFile: string | null
  crashAfterInsert: number | null
  poisonOffset?: bigint | null
}

export const noFaults: Faults = { insertFailFile: null, crashAfterInsert: null, poisonOffset: null }

export function faultsFromEnv (env: NodeJS.ProcessEnv): Faults {
  const file = env.SLUICE_FAULT_INSERT_FAIL_FILE
  const crash = env.SLUICE_FAULT_CRASH_AFTER_INSERT
  const n = crash === undefined || crash === '' ? null : Number(crash)
  if (n !== null && (!Number.isInteger(n) || n < 1)) throw new Error(`SLUICE_FAULT_CRASH_AFTER_INSERT must be a whole number ≥ 1, got ${JSON.stringify(crash)}`)
  const poison = env.SLUICE_FAULT_INSERT_POISON_OFFSET
  if (poison !== undefined && poison !== '' && !/^\d{1,18}$/.test(poison)) throw new Error(`SLUICE_FAULT_INSERT_POISON_OFFSET must be a Kafka offset (a whole number ≥ 0), got ${JSON.stringify(poison)}`)
  return { insertFailFile: file === undefined || file === '' ? null : file, crashAfterInsert: n, poisonOffset: poison === undefined || poison === '' ? null : BigInt(poison) }
}

export class InjectedInsertFailure extends Error {
  constructor (file: string) { super(`injected insert failure (${file} exists)`) }
}

/** the error a content-rejected insert gives (the form of ClickHouse's own) */
export class InjectedPoisonInsert extends Error {
  constructor (offset: bigint) { super(`Code: 27. DB::Exception: injected: cannot parse the rows of Kafka offset ${offset} (CANNOT_PARSE_INPUT_ASSERTION_FAILED)`) }
}

/** range: the Kafka offsets the insert holds (null for the record of a skipped range) */
export function checkInsertFault (f: Faults, range: { from: bigint, to: bigint } | null = null): void {
  if (f.insertFailFile !== null && fs.existsSync(f.insertFailFile)) throw new InjectedInsertFailure(f.insertFailFile)
  const p = f.poisonOffset ?? null
  if (p !== null && range !== null && range.from <= p && p <= range.to) throw new InjectedPoisonInsert(p)
}

export function onInsertAcknowledged (f: Faults, acknowledged: number): void {
  if (f.crashAfterInsert !== null && acknowledged >= f.crashAfterInsert) {
    process.stderr.write(`sluice: SLUICE_FAULT_CRASH_AFTER_INSERT: crashing after insert ${acknowledged}, before the offset commit\n`)
    process.kill(process.pid, 'SIGKILL')
  }
}
