// The spool contract between the in-app transport (writer) and `sluice ship` (reader):
//   <dataDir>/spool/<service>/<start-ms>-<pid>-<seq>.ndjson
// and where <dataDir> is when nothing says otherwise.
import path from 'node:path'

/** data directory when neither --data-dir nor SLUICE_DATA_DIR is given (relative to the cwd) */
export const defaultDataDir = './.sluice'

/** the data directory the environment names, or the default (not resolved) */
export function dataDirFromEnv (env: NodeJS.ProcessEnv = process.env): string {
  return env.SLUICE_DATA_DIR ?? defaultDataDir
}

/** the spool root inside a data directory: one subdirectory per service */
export function spoolRootOf (dataDir: string): string {
  return path.join(dataDir, 'spool')
}

/** the directory of one service's spool files (`service` already a safe name) */
export function serviceSpoolDir (spoolRoot: string, service: string): string {
  return path.join(spoolRoot, service)
}

export const spoolFileSuffix = '.ndjson'

/** name of a spool file: start time, writer pid and a per-writer sequence keep names unique
 *  across processes and sort by age within one */
export function spoolFileName (startMs: number, pid: number, seq: number): string {
  return `${startMs}-${pid}-${String(seq).padStart(4, '0')}${spoolFileSuffix}`
}

/** the glob `sluice ship` tails: every service's spool files under a data directory */
export function spoolGlobOf (dataDir: string): string {
  return path.join(spoolRootOf(dataDir), '*', '*' + spoolFileSuffix)
}
