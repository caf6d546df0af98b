// `sluice grep` and `sluice tail` against `sluice up` (real broker, embedded ClickHouse):
// lines logged through pino by two hosts, found with -C context, regex, -i, --json, and the
// exit codes 0 found / 1 none / 2 error; the tail follows new lines live, in order.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { renderLine } from '../../cli/client.js'
import { logFromTwoHosts, runCli, startUp, stopChild, tempDir, uniquePrefix, waitFor, type Running } from '../helpers/env.js'

interface Line { ts: string, host: string, service: string, level: string, msg: string, fields: Record<string, unknown>, context?: boolean }

const perHost = 2000
const token = 'qv3grepneedle'

describe('sluice grep / sluice tail against sluice up', () => {
  const dataDir = tempDir('e2e-grep')
  let up: Awaited<ReturnType<typeof startUp>>
  let tail: Running
  let env: Record<string, string>

  const grep = async (args: string[]): Promise<{ code: number | null, out: string, err: string }> => {
    const r = runCli(['grep', ...args], env)
    const code = await r.exited
    return { code, out: r.stdout(), err: r.stderr() }
  }

  beforeAll(async () => {
    const port = await freePort()
    up = await startUp({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(port), SLUICE_TOPIC_PREFIX: uniquePrefix('e2egrep') })
    env = { SLUICE_URL: up.url }
    tail = runCli(['tail', '--host', 'host-a'], env)
    await waitFor('the tail client to connect', async () => /^sluice_tail_clients 1$/m.test(await (await fetch(`${up.url}/metrics`)).text()), 60_000)
    const [a, b] = await logFromTwoHosts(dataDir, perHost, 1000, token)
    expect(a).toEqual({ code: 0, stderr: '' })
    expect(b).toEqual({ code: 0, stderr: '' })
    let n = 0
    await waitFor('4,000 lines queryable', async () => {
      const r = await fetch(`${up.url}/v1/logs?since=1h&limit=1&q=from`)
      n = (await r.json() as { lines: Line[] }).lines.length
      const c = await fetch(`${up.url}/v1/logs?since=1h&limit=5000`)
      return (await c.json() as { lines: Line[] }).lines.length >= 2 * perHost
    }, 120_000, 500, () => String(n))
  })
  afterAll(async () => {
    if (tail !== undefined) await stopChild(tail, 'SIGTERM')
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
  })

  it('grep -C 3 prints the match with exactly 3 lines of its own host before and after (exit 0)', async () => {
    const r = await grep([token, '-C', '3', '--since', '1h'])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    const api = await (await fetch(`${up.url}/v1/logs?q=${token}&context=3&since=1h&order=asc`)).json() as { lines: Line[] }
    expect(api.lines.map(l => [l.host, l.msg, l.context ?? false])).toEqual([
      ['host-a', 'line 997 from host-a', true], ['host-a', 'line 998 from host-a', true], ['host-a', 'line 999 from host-a', true],
      ['host-a', `line 1000 from host-a ${token}`, false],
      ['host-a', 'line 1001 from host-a', true], ['host-a', 'line 1002 from host-a', true], ['host-a', 'line 1003 from host-a', true]
    ])
    // not a TTY: no colours; context lines use '-' after the time, like grep
    expect(r.out).toBe(api.lines.map(l => renderLine(l, false)).join('\n') + '\n')
    expect(r.out.split('\n')[3]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z host-a checkout INFO  line 1000 from host-a ${token} n=1000$`))
    expect(r.out.split('\n')[0]).toMatch(/^\S+Z-host-a checkout INFO  line 997 from host-a n=997$/)
  })

  it('grep -C across pages prints every line once, in order, and a match in the trailing context of the previous page as a match', async () => {
    // every 2nd line of host-a matches; -m 300 takes two pages (200 + 100 matches); the lines
    // after match 398 (page 1) are also context of match 400 and match 400 itself (page 2)
    const r = await grep(['-E', 'line [0-9]*[02468] from host-a', '--host', 'host-a', '-C', '3', '-m', '300', '--since', '1h', '--json'])
    expect(r.err).toBe('')
    expect(r.code).toBe(0)
    const got = r.out.trim().split('\n').map(s => JSON.parse(s) as Line).map(l => [l.fields.n, l.context === true])
    // after the 300th match (598) come its 3 lines of context, 600 included (grep -m does the same)
    expect(got).toEqual(Array.from({ length: 602 }, (_, n) => [n, n % 2 === 1 || n === 600]))
  })

  it('grep -E with --host and -m, -i with --json, no match (exit 1), and a bad regex (exit 2)', async () => {
    const re = await grep(['-E', 'line 1[0-9]{3} from host-b$', '--host', 'host-b', '-m', '5', '--since', '1h'])
    expect(re.code).toBe(0)
    expect(re.out.trim().split('\n').map(s => /line \d+ from host-b/.exec(s)?.[0])).toEqual(['line 1000 from host-b', 'line 1001 from host-b', 'line 1002 from host-b', 'line 1003 from host-b', 'line 1004 from host-b'])
    const js = await grep(['-i', token.toUpperCase(), '--json'])
    expect(js.code).toBe(0)
    const parsed = js.out.trim().split('\n').map(s => JSON.parse(s) as Line)
    expect(parsed.map(l => [l.host, l.msg, l.fields])).toEqual([['host-a', `line 1000 from host-a ${token}`, { n: 1000 }]])
    const none = await grep(['no-such-line-zz9', '--since', '1h'])
    expect(none).toEqual({ code: 1, out: '', err: '' })
    const bad = await grep(['-E', '(a'])
    expect(bad).toEqual({ code: 2, out: '', err: "sluice grep: invalid query parameter 'regex': is not a valid RE2 expression: missing ): (a\n" })
    const range = await grep(['x', '--since', '400d'])
    expect(range).toEqual({ code: 2, out: '', err: "sluice grep: invalid query parameter 'since': time range exceeds the maximum of 31 days\n" })
    const down = runCli(['grep', 'x'], { SLUICE_URL: 'http://127.0.0.1:9' })
    expect(await down.exited).toBe(2)
    expect(down.stderr()).toMatch(/^sluice grep: cannot reach http:\/\/127\.0\.0\.1:9 \(.*\); is 'sluice up' running\? set SLUICE_URL\n$/)
  })

  it('sluice tail printed every host-a line logged after it connected, in order, and none of host-b', async () => {
    await waitFor('the tail to print 2,000 lines', async () => tail.stdout().split('\n').filter(s => s !== '').length >= perHost, 60_000, 250, () => `${tail.stdout().split('\n').length} lines; stderr ${tail.stderr()}`)
    const lines = tail.stdout().trim().split('\n')
    expect(lines.length).toBe(perHost)
    expect(lines.map(s => Number(/ line (\d+) from host-a/.exec(s)?.[1]))).toEqual([...Array(perHost).keys()])
    expect(tail.stderr()).toBe('')
  })
})
