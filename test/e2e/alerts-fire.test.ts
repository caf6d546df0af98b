// Issue 18 item 6, on the real stack (`sluice up`, a real child through sluice/stats, the
// transport and the shipper): a rule on a metric nothing reports is accepted with a warning
// or refused with --strict; an `increase` rule on fds fires while a real process leaks fds;
// when that process exits, its firing alerts (increase and threshold) resolve as stale, once
// each; `sluice alerts add|rm|history` manage rules and print exact output.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freePort } from '../../platform/kafka-launcher.js'
import { cli as sluiceBin, runCli, startUp, stopChild, tempDir, uniquePrefix, waitFor } from '../helpers/env.js'
import { startReceiver, type Receiver } from '../helpers/webhook.js'
import { api, sleep, spawnFixture } from '../helpers/alerts.js'

describe('alert rules that can fire', () => {
  const dataDir = tempDir('alerts-fire')
  let up: Awaited<ReturnType<typeof startUp>>
  let receiver: Receiver
  const cli = async (...args: string[]): Promise<{ code: number | null, out: string, err: string }> => {
    const r = runCli(['alerts', ...args], { SLUICE_URL: up.url })
    const code = await r.exited
    return { code, out: r.stdout(), err: r.stderr() }
  }

  beforeAll(async () => {
    receiver = await startReceiver()
    up = await startUp({ KAFKA_BROKERS: inject('kafkaBrokers'), SLUICE_DATA_DIR: dataDir, SLUICE_PORT: String(await freePort()), SLUICE_TOPIC_PREFIX: uniquePrefix('alerts-fire'), SLUICE_ALERT_EVAL_MS: '250', SLUICE_ALERT_WEBHOOK_ALLOW: '127.0.0.1' })
  })
  afterAll(async () => {
    if (up !== undefined) expect(await stopChild(up)).toBe(0)
    await receiver?.stop()
  })

  it('unknown_metric_accepted_silently: sluice alerts add warns, --strict refuses, the rule shows "no data yet", rm removes it', async () => {
    expect(await cli('add', '--id', 'fd-typo', '--kind', 'threshold', '--metric', 'fd', '--op', '>', '--threshold', '50', '--for', '1m')).toEqual({
      code: 0,
      out: 'created fd-typo              on   api      warning   fd > 50 for 1m  (fd-typo)\n',
      err: "sluice alerts add: warning: metric 'fd' has not been reported by any process and is not a sluice/stats metric: the rule cannot fire until a process reports it; did you mean 'fds' or 'fd_limit'?\n"
    })
    expect(await cli('rules')).toEqual({ code: 0, out: 'RULES (1)\nfd-typo              on   api      warning   fd > 50 for 1m  (fd-typo)  no data yet\n', err: '' })
    expect(await cli('add', '--id', 'fd-typo-2', '--kind', 'threshold', '--metric', 'fd', '--op', '>', '--threshold', '50', '--strict')).toEqual({
      code: 2, out: '', err: "sluice alerts add: invalid alert rule: 'metric' names 'fd', which no process has reported and sluice/stats does not emit (strict=true refuses it); did you mean 'fds' or 'fd_limit'?\n"
    })
    // a rule from stdin
    const piped = spawnSync(sluiceBin, ['alerts', 'add', '-'], { input: JSON.stringify({ id: 'piped', name: 'heap reporting stopped', kind: 'no_data', metric: 'heap_used', for: '1m' }), env: { ...process.env, SLUICE_URL: up.url, SLUICE_NODE: process.execPath, SLUICE_DEBUG: '' }, encoding: 'utf8' })
    expect([piped.status, piped.stdout, piped.stderr]).toEqual([0, 'created piped                on   api      warning   no data from heap_used for 1m  (heap reporting stopped)\n', ''])
    expect(await cli('rm', 'piped')).toEqual({ code: 0, out: 'removed piped\n', err: '' })
    // API errors are printed as the server wrote them, every field at once
    expect(await cli('add', '--id', 'bad', '--kind', 'increase', '--metric', 'fds', '--op', '=>', '--threshold', 'lots')).toEqual({
      code: 2, out: '', err: "sluice alerts add: invalid alert rule: 'op' must be one of '>', '>=', '<', '<=', got \"=>\"; 'threshold' must be a number, got \"lots\"\n"
    })
    expect(await cli('rm', 'fd-typo')).toEqual({ code: 0, out: 'removed fd-typo\n', err: '' })
    expect(await cli('rm', 'fd-typo')).toEqual({ code: 2, out: '', err: "sluice alerts rm: no alert rule with id 'fd-typo'\n" })
    expect(await cli('history', '--since', 'a while')).toEqual({ code: 2, out: '', err: 'sluice alerts history: invalid query parameter \'since\': must be a duration ago (30s, 15m, 1h, 7d), an ISO time or epoch ms, got "a while"\n' })
  })

  it('each subcommand --help lists only what it honours', async () => {
    const add = await cli('add', '--help')
    const rm = await cli('rm', '--help')
    const history = await cli('history', '--help')
    expect([add.code, rm.code, history.code]).toEqual([0, 0, 0])
    const flags = (text: string): string[] => [...new Set(text.match(/--[a-z-]+/g))].sort()
    expect(flags(add.out)).toEqual(['--divide-by', '--for', '--host', '--id', '--kind', '--level', '--metric', '--name', '--op', '--q', '--resolve-threshold', '--service', '--severity', '--stale-after', '--strict', '--threshold', '--webhook', '--window'])
    expect(flags(rm.out)).toEqual([])
    expect(flags(history.out)).toEqual(['--json', '--limit', '--rule', '--since'])
  })

  it('firing_after_process_exit: an increase rule on fds fires while a real process leaks fds; when it exits its alerts resolve as stale, once each', async () => {
    const increase = { id: 'fds-grew', name: 'fds grew by more than 50 in 4s', kind: 'increase', metric: 'fds', window: '4s', op: '>', threshold: 50, stale_after: '8s', severity: 'critical', service: ['leaker'], webhook: receiver.url }
    const file = path.join(dataDir, 'fds-grew.json')
    fs.writeFileSync(file, JSON.stringify(increase))
    expect(await cli('add', file)).toEqual({ code: 0, out: 'created fds-grew             on   api      critical  increase(fds, 4s) > 50  (fds grew by more than 50 in 4s)\n', err: '' })
    expect(await cli('add', '--id', 'fds-many', '--name', 'more than 60 fds', '--kind', 'threshold', '--metric', 'fds', '--op', '>', '--threshold', '60', '--stale-after', '8s', '--service', 'leaker', '--webhook', receiver.url)).toEqual({
      code: 0, out: 'created fds-many             on   api      warning   fds > 60  (more than 60 fds)\n', err: ''
    })

    // 6 s steady (the 4 s window is covered before the leak), then 10 fds per 500 ms for 6 s, then exit
    const child = spawnFixture('fd-leaker.mjs', [path.join(dataDir, 'spool'), 'leaker', 'leak-host', '6000', '6000', '10'])
    const four = await waitFor('firing and stale-resolved webhooks of both rules', async () => receiver.received.length >= 4 ? receiver.received : undefined, 120_000, 200,
      () => `${receiver.received.length} webhooks; child stderr: ${child.stderr()}; sluice stderr: ${up.stderr().slice(-1500)}`)
    expect(await child.exited).toBe(0)
    // nothing more may come: several evaluation rounds after the stale resolutions
    await sleep(4000)
    expect(receiver.received.length).toBe(4)
    const of = (rule: string): Array<Record<string, unknown>> => four.map(r => r.body).filter(b => b.rule_id === rule)
    const states = await api<{ alerts: Array<{ rule_id: string, state: string, pid: number, last_sample: string }> }>(up.url, 'GET', '/v1/alerts?all=true')
    expect(states.body.alerts.map(a => [a.rule_id, a.state, a.pid])).toEqual([['fds-grew', 'resolved', child.pid], ['fds-many', 'resolved', child.pid]])
    const lastSample = Date.parse(states.body.alerts[0].last_sample)
    for (const rule of ['fds-grew', 'fds-many']) {
      const [firing, resolved] = of(rule)
      expect(firing).toMatchObject({ rule_id: rule, state: 'firing', service: 'leaker', host: 'leak-host', pid: child.pid, metric: rule === 'fds-grew' ? 'increase(fds, 4s)' : 'fds', reason: null })
      expect(firing.value as number).toBeGreaterThan(rule === 'fds-grew' ? 50 : 60)
      expect(resolved).toMatchObject({ rule_id: rule, state: 'resolved', previous_state: 'firing', service: 'leaker', host: 'leak-host', pid: child.pid, reason: 'stale' })
      // resolved at the group's last sample + stale_after: a time every evaluator derives alike
      expect(Date.parse(resolved.ts as string)).toBe(lastSample + 8000)
    }
    const [grewFiring, grewResolved] = of('fds-grew')
    expect(up.stderr().split('\n').filter(l => l.startsWith('sluice: alert ') && l.includes('rule fds-grew'))).toEqual([
      `sluice: alert firing: [critical] ${grewFiring.message as string} (rule fds-grew, transition ${grewFiring.transition_id as string})`,
      `sluice: alert resolved (stale): [critical] ${grewResolved.message as string} (rule fds-grew, transition ${grewResolved.transition_id as string})`
    ])

    // sluice alerts history prints the recorded transitions, newest first, with the reason
    const recorded = await api<{ transitions: Array<{ ts: string, to_state: string, severity: string, rule_id: string, host: string, service: string, pid: number, value: number, threshold: number, reason: string | null }> }>(up.url, 'GET', '/v1/alerts/history?rule=fds-grew&since=1h')
    expect(recorded.body.transitions.map(t => [t.to_state, t.reason])).toEqual([['resolved', 'stale'], ['firing', null]])
    const lines = recorded.body.transitions.map(t => `${t.ts} ${t.to_state.toUpperCase().padEnd(9)} critical  fds-grew             leak-host leaker pid ${child.pid} value ${Number(t.value.toPrecision(4))} threshold 50${t.reason !== null ? ' (stale)' : ''}`)
    expect(await cli('history', '--since', '1h', '--rule', 'fds-grew')).toEqual({ code: 0, out: `TRANSITIONS (2, newest first)\n${lines.join('\n')}\n`, err: '' })
    // both rules have seen data now
    expect(await cli('rules')).toEqual({ code: 0, out: 'RULES (2)\nfds-grew             on   api      critical  increase(fds, 4s) > 50  (fds grew by more than 50 in 4s)\nfds-many             on   api      warning   fds > 60  (more than 60 fds)\n', err: '' })
  })
})
