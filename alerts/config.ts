// Alerting configuration from the environment, validated once at start (a bad value is a
// one-line error naming it), frozen. Times in ms.
import fs from 'node:fs'
import { errors } from '../platform/errors.js'
import type { EvaluatorOptions } from './evaluator.js'
import { classifyAddress, parseAllowList, redactUrl } from './destination.js'

export type AlertsConfig = Pick<EvaluatorOptions, 'rulesFile' | 'builtins' | 'defaultWebhook' | 'evalIntervalMs' | 'maxRules' | 'notifier'>

function int (env: NodeJS.ProcessEnv, name: string, def: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return def
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min || n > max) throw errors.CONFIG_INVALID(name, raw, `expected a whole number ${min}-${max}`)
  return n
}

/** null when alerting is switched off (SLUICE_ALERTS=0). */
export function loadAlertsConfig (env: NodeJS.ProcessEnv = process.env): Readonly<AlertsConfig> | null {
  const onOff = (name: string, def: boolean): boolean => {
    const raw = env[name]
    if (raw === undefined || raw === '') return def
    if (raw === '1' || raw === 'true') return true
    if (raw === '0' || raw === 'false') return false
    throw errors.CONFIG_INVALID(name, raw, 'expected 1 or 0')
  }
  if (!onOff('SLUICE_ALERTS', true)) return null
  const rulesFile = env.SLUICE_ALERT_RULES === undefined || env.SLUICE_ALERT_RULES === '' ? null : env.SLUICE_ALERT_RULES
  if (rulesFile !== null && !fs.existsSync(rulesFile)) throw errors.CONFIG_INVALID('SLUICE_ALERT_RULES', rulesFile, 'no such file')
  const webhook = env.SLUICE_ALERT_WEBHOOK === undefined || env.SLUICE_ALERT_WEBHOOK === '' ? null : env.SLUICE_ALERT_WEBHOOK
  if (webhook !== null && !/^https?:\/\/[^\s]+$/.test(webhook)) throw errors.CONFIG_INVALID('SLUICE_ALERT_WEBHOOK', redactUrl(webhook), 'expected an http(s) URL')
  let policy
  try { policy = parseAllowList(env.SLUICE_ALERT_WEBHOOK_ALLOW ?? '') } catch (err) { throw errors.CONFIG_INVALID('SLUICE_ALERT_WEBHOOK_ALLOW', env.SLUICE_ALERT_WEBHOOK_ALLOW ?? '', (err as Error).message) }
  if (webhook !== null && !policy.any) {
    // an address written into the URL is checked now; a host name is checked before every send
    let host = ''
    try { host = new URL(webhook).hostname } catch { throw errors.CONFIG_INVALID('SLUICE_ALERT_WEBHOOK', redactUrl(webhook), 'expected an http(s) URL') }
    const bare = host.replace(/^\[|\]$/g, '')
    const cls = classifyAddress(bare)
    const allowed = cls === null || cls === 'public' || policy.hosts.has(bare) || policy.addresses.check(bare, bare.includes(':') ? 'ipv6' : 'ipv4')
    if (!allowed) throw errors.CONFIG_INVALID('SLUICE_ALERT_WEBHOOK', redactUrl(webhook), `'${host}' is a ${cls} address; allow it with SLUICE_ALERT_WEBHOOK_ALLOW`)
  }
  return Object.freeze({
    rulesFile,
    builtins: onOff('SLUICE_ALERT_DEFAULTS', false),
    defaultWebhook: webhook,
    /** evaluation period (default 1000 ms) */
    evalIntervalMs: int(env, 'SLUICE_ALERT_EVAL_MS', 1000, 100, 60_000),
    /** rules this server evaluates (API, rules file and built-in together; default 100) */
    maxRules: int(env, 'SLUICE_ALERT_MAX_RULES', 100, 1, 10_000),
    notifier: Object.freeze({
      /** where webhooks may go beyond public addresses (default: nowhere else) */
      policy,
      /** notifications waiting to be sent, per receiver; beyond it they are dropped and counted (default 1000) */
      queueCapacity: int(env, 'SLUICE_ALERT_QUEUE', 1000, 1, 1_000_000),
      /** per-attempt webhook timeout (default 5000 ms) */
      timeoutMs: int(env, 'SLUICE_ALERT_WEBHOOK_TIMEOUT_MS', 5000, 100, 120_000),
      /** attempts before a delivery is recorded as failed (default 5) */
      maxAttempts: int(env, 'SLUICE_ALERT_WEBHOOK_ATTEMPTS', 5, 1, 100),
      /** first retry delay, doubling per attempt (default 500 ms) */
      backoffMs: int(env, 'SLUICE_ALERT_WEBHOOK_BACKOFF_MS', 500, 10, 600_000)
    })
  })
}
