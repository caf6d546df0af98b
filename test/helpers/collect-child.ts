// `sluice collect` as a child process with its /metrics endpoint, for the crash tests.
import { metricValue } from './collector.js'
import { runCli, waitFor, type Running } from './env.js'

export interface CollectChild extends Running { metricsUrl: string }

export async function startCollectChild (env: Record<string, string>, args: string[] = []): Promise<CollectChild> {
  const r = runCli(['collect', '--metrics-port', '0', '--session-timeout-ms', '6000', ...args], env)
  const metricsUrl = await waitFor('sluice collect to serve /metrics', async () => {
    if (r.child.exitCode !== null || r.child.signalCode !== null) throw new Error(`sluice collect exited (${r.child.exitCode ?? r.child.signalCode}): ${r.stderr()}`)
    return /metrics at (\S+)/.exec(r.stderr())?.[1]
  }, 120_000)
  return { ...r, metricsUrl }
}

/** Rows this child had inserted into logs (null once it is gone). */
export async function childLogRows (c: CollectChild): Promise<number | null> {
  try {
    const text = await (await fetch(c.metricsUrl)).text()
    return metricValue(text, 'sluice_collector_rows_total', 'table="logs"') ?? 0
  } catch { return null }
}

export async function childMetrics (c: CollectChild): Promise<string> {
  return await (await fetch(c.metricsUrl)).text()
}
