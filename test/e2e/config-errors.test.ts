// Invalid configuration ends with exactly one clear line naming the problem — no stack trace.
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { runCli, tempDir } from '../helpers/env.js'

async function run (args: string[], env: Record<string, string>): Promise<{ code: number | null, stderr: string, stdout: string }> {
  const r = runCli(args, { SLUICE_DATA_DIR: tempDir('cfg'), ...env })
  const code = await r.exited
  return { code, stderr: r.stderr(), stdout: r.stdout() }
}

describe('configuration errors are one line', () => {
  it('a malformed KAFKA_BROKERS', async () => {
    const r = await run(['up'], { KAFKA_BROKERS: 'kafka-without-port' })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('sluice: error: KAFKA_BROKERS="kafka-without-port" is invalid: \'kafka-without-port\' is not host:port, e.g. 127.0.0.1:9092\n')
  })

  it('a KAFKA_BROKERS port out of range', async () => {
    const r = await run(['ship'], { KAFKA_BROKERS: '127.0.0.1:99999' })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('sluice: error: KAFKA_BROKERS="127.0.0.1:99999" is invalid: port 99999 of \'127.0.0.1:99999\' is outside 1-65535\n')
  })

  it('a compression sluice ship does not know', async () => {
    const r = await run(['ship', '--compression', 'lz4'], { KAFKA_BROKERS: '127.0.0.1:9092' })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('sluice: error: --compression="lz4" is invalid: expected one of gzip, zstd, none\n')
  })

  it('a KAFKA_BROKERS nobody answers on', async () => {
    const port = await freePort()
    const r = await run(['ship'], { KAFKA_BROKERS: `127.0.0.1:${port}` })
    expect(r.code).toBe(1)
    const lines = r.stderr.trimEnd().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^sluice: error: cannot reach Kafka at KAFKA_BROKERS=127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`))
  })

  it('an unreachable CLICKHOUSE_URL', async () => {
    const port = await freePort()
    const r = await run(['migrate'], { CLICKHOUSE_URL: `http://127.0.0.1:${port}` })
    expect(r.code).toBe(1)
    const lines = r.stderr.trimEnd().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^sluice: error: cannot reach ClickHouse at CLICKHOUSE_URL=http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`))
  })

  it('a CLICKHOUSE_URL that is not a URL', async () => {
    const r = await run(['migrate'], { CLICKHOUSE_URL: 'clickhouse:8123' })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('sluice: error: CLICKHOUSE_URL="clickhouse:8123" is invalid: expected an http(s) URL such as http://127.0.0.1:8123\n')
  })

  it('a port already in use', async () => {
    const blocker = net.createServer()
    await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as net.AddressInfo).port
    try {
      const r = await run(['serve'], { SLUICE_PORT: String(port) })
      expect(r.code).toBe(1)
      // serve applies migrations first (progress lines), then fails on the port with one line
      const lines = r.stderr.trimEnd().split('\n')
      expect(lines.filter(l => !l.startsWith('sluice: migrate: '))).toEqual([`sluice: error: port ${port} on 127.0.0.1 is already in use: stop the other process or set SLUICE_PORT / --port`])
    } finally { blocker.close() }
  })

  it('a bad SLUICE_PORT and binding beyond loopback without tokens', async () => {
    expect((await run(['serve'], { SLUICE_PORT: 'http' })).stderr).toBe('sluice: error: SLUICE_PORT="http" is invalid: expected a port number 0-65535\n')
    expect((await run(['serve'], { SLUICE_BIND: '0.0.0.0' })).stderr).toBe('sluice: error: SLUICE_BIND="0.0.0.0" is invalid: binding beyond loopback requires SLUICE_TOKENS (comma-separated bearer tokens)\n')
  })

  it('an unknown flag names the command\'s help', async () => {
    const r = await run(['up', '--nope'], {})
    expect(r.code).toBe(1)
    expect(r.stderr).toBe("sluice: error: Unknown option '--nope'; see sluice up --help\n")
  })
})
