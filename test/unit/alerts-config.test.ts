// Alerting configuration and the rules file: validated once, a bad value is one exact line.
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadAlertsConfig } from '../../alerts/config.js'
import { loadRulesFile } from '../../alerts/rules.js'
import { tempDir } from '../helpers/env.js'

describe('alerting configuration', () => {
  it('has documented defaults and can be switched off', () => {
    const { notifier: { policy, ...notifier }, ...rest } = loadAlertsConfig({})!
    expect({ ...rest, notifier }).toEqual({ rulesFile: null, builtins: false, defaultWebhook: null, evalIntervalMs: 1000, maxRules: 100, notifier: { queueCapacity: 1000, timeoutMs: 5000, maxAttempts: 5, backoffMs: 500 } })
    expect([policy!.any, [...policy!.hosts], policy!.text]).toEqual([false, [], ''])
    expect(loadAlertsConfig({ SLUICE_ALERTS: '0' })).toBeNull()
  })

  it.each([
    [{ SLUICE_ALERT_QUEUE: '0' }, 'SLUICE_ALERT_QUEUE="0" is invalid: expected a whole number 1-1000000'],
    [{ SLUICE_ALERT_EVAL_MS: 'fast' }, 'SLUICE_ALERT_EVAL_MS="fast" is invalid: expected a whole number 100-60000'],
    [{ SLUICE_ALERT_DEFAULTS: 'yes' }, 'SLUICE_ALERT_DEFAULTS="yes" is invalid: expected 1 or 0'],
    [{ SLUICE_ALERT_WEBHOOK: 'hooks.example/x' }, 'SLUICE_ALERT_WEBHOOK="hooks.example/x" is invalid: expected an http(s) URL'],
    [{ SLUICE_ALERT_RULES: '/nonexistent/rules.json' }, 'SLUICE_ALERT_RULES="/nonexistent/rules.json" is invalid: no such file'],
    [{ SLUICE_ALERT_MAX_RULES: '0' }, 'SLUICE_ALERT_MAX_RULES="0" is invalid: expected a whole number 1-10000'],
    [{ SLUICE_ALERT_WEBHOOK_ALLOW: '10.0.0.0/33' }, 'SLUICE_ALERT_WEBHOOK_ALLOW="10.0.0.0/33" is invalid: \'10.0.0.0/33\' is not a CIDR such as 10.0.0.0/8 or fd00::/8'],
    [{ SLUICE_ALERT_WEBHOOK_ALLOW: 'hooks.example, under_score!' }, 'SLUICE_ALERT_WEBHOOK_ALLOW="hooks.example, under_score!" is invalid: \'under_score!\' is not a host name, IP address, CIDR or *'],
    // a refused default webhook is a start-up error, its credentials redacted in the message
    [{ SLUICE_ALERT_WEBHOOK: 'http://ops:hunter2@[::1]:9/x?token=s3cret' }, 'SLUICE_ALERT_WEBHOOK="http://***@[::1]:9/x?token=***" is invalid: \'[::1]\' is a loopback address; allow it with SLUICE_ALERT_WEBHOOK_ALLOW']
  ])('rejects %o', (env, message) => {
    expect(() => loadAlertsConfig(env)).toThrow(message)
  })

  it('accepts a refused default webhook once it is allowed', () => {
    expect(loadAlertsConfig({ SLUICE_ALERT_WEBHOOK: 'http://127.0.0.1:9/x', SLUICE_ALERT_WEBHOOK_ALLOW: '127.0.0.0/8' })!.defaultWebhook).toBe('http://127.0.0.1:9/x')
    expect(loadAlertsConfig({ SLUICE_ALERT_WEBHOOK: 'http://10.1.2.3/x', SLUICE_ALERT_WEBHOOK_ALLOW: '*' })!.defaultWebhook).toBe('http://10.1.2.3/x')
  })

  it('names the rule and the field of a bad rules file', () => {
    const file = path.join(tempDir('alerts-config'), 'rules.json')
    fs.writeFileSync(file, JSON.stringify([{ id: 'a', name: 'a', kind: 'no_data', for: '1m' }, { id: 'b', name: 'b', kind: 'threshold', metric: 'fds', op: '>', threshold: 1, for: 'soon' }]))
    expect(() => loadRulesFile(file)).toThrow(`SLUICE_ALERT_RULES="${file}" is invalid: rule #2: invalid alert rule: 'for' must be a duration like 30s, 5m or 1h, got "soon"`)
    fs.writeFileSync(file, JSON.stringify([{ name: 'a', kind: 'no_data', for: '1m' }]))
    expect(() => loadRulesFile(file)).toThrow(`SLUICE_ALERT_RULES="${file}" is invalid: rule #1: invalid alert rule: 'id' is required in a rules file`)
    fs.writeFileSync(file, '{ "rules": ')
    expect(() => loadRulesFile(file)).toThrow(`SLUICE_ALERT_RULES="${file}" is invalid: cannot read a JSON rules file: Unexpected end of JSON input`)
  })
})
