// The real Debian logrotate, forced (-f) on a config with its own state file.
import { execFile } from 'node:child_process'

/** one forced rotation; resolves with '' on success, else the error and logrotate's stderr */
export function logrotate (conf: string, state: string): Promise<string> {
  return new Promise(resolve => {
    execFile('logrotate', ['-f', '-s', state, conf], (err, _out, stderr) => resolve(err === null ? '' : `${err.message} ${stderr}`))
  })
}
