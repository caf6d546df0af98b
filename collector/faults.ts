// Fault injection for tests and drills, off unless the variable is set. It lives inside the
// collector (not a mocked client) so the real kafkajs and ClickHouse paths run around it.
//   SLUICE_FAULT_INSERT_FAIL_FILE=/path  every ClickHouse insert fails while that file exists
//                                        (ClickHouse "unavailable", also in embedded mode)
//   SLUICE_FAULT_CRASH_AFTER_INSERT=N    after ClickHouse acknowledged the N-th insert of a new range,
//                                        the process SIGKILLs itself before committing the Kafka
//                                        offsets (replays of a planned range do not count, so each
//                                        life of a crash loop makes progress)
import fs from 'node:fs'

export interface Faults {
  insertFailFile: string | null
  crashAfterInsert: number | null
}

export const noFaults: Faults = { insertFailFile: null, crashAfterInsert: null }

export function faultsFromEnv (env: NodeJS.ProcessEnv): Faults {
  const file = env.SLUICE_FAULT_INSERT_FAIL_FILE
  const crash = env.SLUICE_FAULT_CRASH_AFTER_INSERT
  const n = crash === undefined || crash === '' ? null : Number(crash)
  if (n !== null && (!Number.isInteger(n) || n < 1)) throw new Error(`SLUICE_FAULT_CRASH_AFTER_INSERT must be a whole number ≥ 1, got ${JSON.stringify(crash)}`)
  return { insertFailFile: file === undefined || file === '' ? null : file, crashAfterInsert: n }
}

export class InjectedInsertFailure extends Error {
  constructor (file: string) { super(`injected insert failure (${file} exists)`) }
}

export function checkInsertFault (f: Faults): void {
  if (f.insertFailFile !== null && fs.existsSync(f.insertFailFile)) throw new InjectedInsertFailure(f.insertFailFile)
}

export function onInsertAcknowledged (f: Faults, acknowledged: number): void {
  if (f.crashAfterInsert !== null && acknowledged >= f.crashAfterInsert) {
    process.stderr.write(`sluice: SLUICE_FAULT_CRASH_AFTER_INSERT: crashing after insert ${acknowledged}, before the offset commit\n`)
    process.kill(process.pid, 'SIGKILL')
  }
}
