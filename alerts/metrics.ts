// Alerting's own metrics, created once per registry. The CLI creates them before the query
// API merges its registries for /metrics (a merge copies only metrics that exist by then).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

function create (registry: Registry) {
  const registers = [registry]
  return {
    depth: new Gauge({ name: 'sluice_alert_notify_queue_depth', help: 'Alert notifications waiting to be sent', registers }),
    dropped: new Counter({ name: 'sluice_alert_notifications_dropped_total', help: 'Alert notifications dropped because the notification queue was full', registers }),
    sent: new Counter({ name: 'sluice_alert_notifications_total', help: 'Alert notifications by outcome: delivered, failed, logged (no webhook), claimed_elsewhere', labelNames: ['outcome'], registers }),
    attempts: new Counter({ name: 'sluice_alert_webhook_attempts_total', help: 'Webhook POST attempts by result (ok, http_error, redirect, refused, timeout, network_error)', labelNames: ['result'], registers }),
    rounds: new Counter({ name: 'sluice_alert_evaluations_total', help: 'Alert evaluation rounds, by result', labelNames: ['result'], registers }),
    seconds: new Histogram({ name: 'sluice_alert_evaluation_seconds', help: 'Duration of one alert evaluation round', buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers }),
    transitions: new Counter({ name: 'sluice_alert_transitions_total', help: 'Alert state transitions, by new state', labelNames: ['to'], registers }),
    groupsDropped: new Counter({ name: 'sluice_alert_groups_dropped_total', help: 'Samples ignored because a rule already tracks maxGroupsPerRule groups', registers }),
    streamDrops: new Counter({ name: 'sluice_alert_stream_dropped_total', help: 'Transition events not sent to a /v1/alerts/stream client whose buffer was full', registers })
  }
}

export type AlertMetrics = ReturnType<typeof create>
const byRegistry = new WeakMap<Registry, AlertMetrics>()

export function alertMetrics (registry: Registry): AlertMetrics {
  let m = byRegistry.get(registry)
  if (m === undefined) { m = create(registry); byRegistry.set(registry, m) }
  return m
}
