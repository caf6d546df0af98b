// ClickHouse I/O of alerting: rules, states, history, claims and delivery records, plus the
// two data reads (new stats samples, log-line counts). Every parameter is bound.
//
// Embedded chDB keeps per-query settings in its session, and the collector sets
// insert_deduplication_token on its inserts: every statement here therefore states the
// settings it relies on, and every insert carries its own token (an inherited one would make
// the server silently drop our rows as duplicates).
import type { ClickHouseClient } from '@clickhouse/client'
import { levelNum, type Level } from '../schemas/records.js'
import type { AlertState, GroupState, Transition } from './state.js'
import type { Rule, RuleBody } from './rules.js'

// ignore_data_skipping_indices: the timeline search sets it in the shared chDB session; a name no
// table has ignores nothing
const readSettings = { max_execution_time: 30, max_rows_to_read: '0', max_result_rows: '0', max_bytes_to_read: '0', result_overflow_mode: 'throw', ignore_data_skipping_indices: 'sluice_none' } as const

export interface StatsRow { service: string, host: string, pid: number, t: number, metric: string, value: number, ing: number }
export interface StoredRule { id: string, deleted: boolean, body: RuleBody }
export interface HistoryRow { transition_id: string, rule_id: string, rule_name: string, severity: string, service: string, host: string, pid: number, from_state: string, to_state: string, ts: string, since: string, value: number, threshold: number, message: string, reason: string | null }
export interface DeliveryRow { transition_id: string, rule_id: string, channel: string, target: string, owner: string, attempt: number, status: string, http_status: number, error: string, at: string }

/** Samples whose event time is older than this when ingested are not evaluated: the bound
 *  lets the stats read prune day partitions instead of scanning the table every round. */
export const maxLatenessMs = 3_600_000

function iso (ms: number): string { return new Date(ms).toISOString() }

function historyRow ({ ts_ms: ts, since_ms: since, ...h }: HistoryRow & { ts_ms: number, since_ms: number }): HistoryRow {
  return { ...h, pid: Number(h.pid), ts: iso(Number(ts)), since: iso(Number(since)), reason: h.reason === '' || h.reason === null ? null : h.reason }
}

/** the two ways the store talks to ClickHouse, every statement with its own settings */
interface StoreIo {
  db: string
  rows: <T>(query: string, params?: Record<string, unknown>) => Promise<T[]>
  insert: (table: string, values: object[], token: string) => Promise<void>
}

function storeIo (ch: ClickHouseClient, db: string): StoreIo {
  return {
    db,
    async rows<T> (query: string, params: Record<string, unknown> = {}): Promise<T[]> {
      const rs = await ch.query({ query, query_params: params, format: 'JSONEachRow', clickhouse_settings: readSettings })
      return await rs.json<T>()
    },
    async insert (table: string, values: object[], token: string): Promise<void> {
      if (values.length === 0) return
      await ch.insert({ table: `${db}.${table}`, values, format: 'JSONEachRow', clickhouse_settings: { insert_deduplicate: 1, insert_deduplication_token: token, max_execution_time: 30 } })
    }
  }
}

/** rules and the groups' states: what an evaluator loads at start and writes as it goes */
function ruleStateStore ({ db, rows, insert }: StoreIo) {
  return {
    async listRules (): Promise<StoredRule[]> {
      const r = await rows<{ id: string, deleted: number, body: string }>(`SELECT id, deleted, body FROM ${db}.alert_rules FINAL ORDER BY id`)
      return r.filter(x => Number(x.deleted) === 0).map(x => ({ id: x.id, deleted: false, body: JSON.parse(x.body) as RuleBody }))
    },
    async writeRule (id: string, body: RuleBody | null, version: number): Promise<void> {
      await insert('alert_rules', [{ id, version, deleted: body === null ? 1 : 0, body: body === null ? '' : JSON.stringify(body) }], `rule:${id}:${version}`)
    },

    async loadStates (): Promise<GroupState[]> {
      const r = await rows<{ rule_id: string, group_key: string, service: string, host: string, pid: number, state: string, since: number, last_ts: number, changed_at: number, value: number, transition_id: string }>(
        `SELECT rule_id, group_key, service, host, pid, state, toUnixTimestamp64Milli(since) AS since, toUnixTimestamp64Milli(last_ts) AS last_ts,
                toUnixTimestamp64Milli(changed_at) AS changed_at, value, transition_id
         FROM ${db}.alert_state FINAL`)
      return r.map(x => ({ ruleId: x.rule_id, key: x.group_key, service: x.service, host: x.host, pid: Number(x.pid), state: x.state as AlertState, since: Number(x.since), lastTs: Number(x.last_ts), changedAt: Number(x.changed_at), value: x.value, clearSince: null, transitionId: x.transition_id }))
    }
  }
}

/** transitions, the claims on them and their deliveries: who notified what, once */
function transitionStore ({ db, rows, insert }: StoreIo) {
  return {
    /** States and history of one evaluation round, written before anyone is notified. */
    async recordTransitions (ts: Transition[], states: GroupState[], rules: Map<string, Rule>, messages: Map<string, string>): Promise<void> {
      if (ts.length === 0) return
      const batchId = ts.map(t => t.id).join(',')
      await insert('alert_history', ts.map(t => {
        const rule = rules.get(t.ruleId)
        return { transition_id: t.id, rule_id: t.ruleId, rule_name: rule?.name ?? '', severity: rule?.severity ?? '', service: t.service, host: t.host, pid: t.pid, from_state: t.from, to_state: t.to, ts: iso(t.ts), since: iso(t.since), value: t.value, threshold: t.threshold, message: messages.get(t.id) ?? '', reason: t.reason ?? '' }
      }), `history:${batchId}`)
      await insert('alert_state', states.map(s => ({ rule_id: s.ruleId, group_key: s.key, service: s.service, host: s.host, pid: s.pid, state: s.state, since: iso(s.since), last_ts: iso(s.lastTs), changed_at: iso(s.changedAt), value: s.value, transition_id: s.transitionId ?? '' })), `state:${batchId}`)
    },

    /** Transitions persisted but never claimed (their evaluator died before notifying). */
    async unclaimedSince (sinceMs: number, limit: number): Promise<HistoryRow[]> {
      return (await rows<HistoryRow & { ts_ms: number, since_ms: number }>(
        `SELECT transition_id, rule_id, rule_name, severity, service, host, pid, from_state, to_state, toUnixTimestamp64Milli(ts) AS ts_ms, toUnixTimestamp64Milli(since) AS since_ms, value, threshold, message, reason
         FROM ${db}.alert_history FINAL
         WHERE ts >= fromUnixTimestamp64Milli({since:Int64}, 'UTC') AND to_state IN ('firing', 'resolved')
           AND transition_id NOT IN (SELECT transition_id FROM ${db}.alert_claims)
         ORDER BY ts LIMIT {limit:UInt32}`, { since: sinceMs, limit })).map(historyRow)
    },

    async claimOwner (transitionId: string): Promise<string | null> {
      const r = await rows<{ owner: string }>(`SELECT owner FROM ${db}.alert_claims WHERE transition_id = {id:String} ORDER BY claimed_at LIMIT 1`, { id: transitionId })
      return r[0]?.owner ?? null
    },
    /** Inserts a claim; the server keeps only the first insert with this token. */
    async insertClaim (transitionId: string, owner: string): Promise<void> {
      await insert('alert_claims', [{ transition_id: transitionId, owner }], `claim:${transitionId}`)
    },
    async recordDelivery (d: Omit<DeliveryRow, 'at'>): Promise<void> {
      await insert('alert_deliveries', [d], `delivery:${d.transition_id}:${d.channel}:${d.owner}:${d.attempt}:${d.status}`)
    },

    /** Transitions newest first; `sinceMs` bounds their time (ts) from below. */
    async history (limit: number, ruleId?: string, sinceMs?: number): Promise<HistoryRow[]> {
      const where = [...(ruleId !== undefined ? ['rule_id = {rule:String}'] : []), ...(sinceMs !== undefined ? ["ts >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')"] : [])]
      return (await rows<HistoryRow & { ts_ms: number, since_ms: number }>(
        `SELECT transition_id, rule_id, rule_name, severity, service, host, pid, from_state, to_state, toUnixTimestamp64Milli(ts) AS ts_ms, toUnixTimestamp64Milli(since) AS since_ms, value, threshold, message, reason
         FROM ${db}.alert_history FINAL ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY ts DESC, transition_id LIMIT {limit:UInt32}`, { limit, rule: ruleId ?? '', since: sinceMs ?? 0 })).map(historyRow)
    },
    async deliveries (limit: number, transitionId?: string): Promise<DeliveryRow[]> {
      return (await rows<DeliveryRow & { at_ms: number }>(
        `SELECT transition_id, rule_id, channel, target, owner, attempt, status, http_status, error, toUnixTimestamp64Milli(at) AS at_ms
         FROM ${db}.alert_deliveries ${transitionId !== undefined ? 'WHERE transition_id = {tid:String}' : ''}
         ORDER BY at DESC, attempt DESC LIMIT {limit:UInt32}`, { limit, tid: transitionId ?? '' })).map(({ at_ms: at, ...d }) => ({ ...d, attempt: Number(d.attempt), http_status: Number(d.http_status), at: iso(Number(at)) }))
    }
  }
}

/** the data alerts are evaluated on: stats samples, log-line counts, metric names */
function alertDataReads ({ db, rows }: StoreIo) {
  return {
    /** Every metric name the stats table holds (at most `limit`): what processes have reported. */
    async reportedMetrics (limit: number): Promise<string[]> {
      const r = await rows<{ metric: string }>(`SELECT DISTINCT metric FROM ${db}.stats ORDER BY metric LIMIT {limit:UInt32}`, { limit })
      return r.map(x => x.metric)
    },

    /** Stats rows ingested since `fromIngestMs`, oldest ingest first. */
    async statsSince (fromIngestMs: number, metrics: string[], limit: number, offset = 0): Promise<StatsRow[]> {
      const r = await rows<StatsRow>(
        `SELECT service, host, pid, toUnixTimestamp64Milli(ts) AS t, metric, value, toUnixTimestamp64Milli(ingested_at) AS ing
         FROM ${db}.stats
         WHERE ingested_at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND metric IN {metrics:Array(String)}
           AND ts >= fromUnixTimestamp64Milli({minTs:Int64}, 'UTC')
         ORDER BY ingested_at, t, service, host, pid, metric LIMIT {limit:UInt32} OFFSET {offset:UInt64}`, { from: fromIngestMs, minTs: fromIngestMs - maxLatenessMs, metrics, limit, offset })
      return r.map(x => ({ ...x, pid: Number(x.pid), t: Number(x.t), ing: Number(x.ing) }))
    },

    /** Distinct lines per (service, host, pid) in [from, to), for each filter at once (one
     *  scan for all log-rate rules): `n[i]` counts the lines matching filter i. */
    async logCounts (from: number, to: number, filters: Array<{ level: Level | null, q: string | null, services: string[], hosts: string[] }>, limit: number): Promise<Array<{ service: string, host: string, pid: number, n: number[] }>> {
      const params: Record<string, unknown> = { from, to, limit }
      const conds = filters.map((f, i) => {
        const c: string[] = []
        if (f.level !== null) { c.push(`level_num >= {lvl${i}:UInt8}`); params[`lvl${i}`] = levelNum[f.level] }
        if (f.q !== null) { c.push(`position(msg, {q${i}:String}) > 0`); params[`q${i}`] = f.q }
        if (f.services.length > 0) { c.push(`service IN {s${i}:Array(String)}`); params[`s${i}`] = f.services }
        if (f.hosts.length > 0) { c.push(`host IN {h${i}:Array(String)}`); params[`h${i}`] = f.hosts }
        return c.length === 0 ? '1' : `(${c.join(' AND ')})`
      })
      const r = await rows<{ service: string, host: string, pid: number, n: Array<number | string> }>(
        // each line of the window once (replayed lines not yet collapsed by ReplacingMergeTree
        // count once), then one countIf per filter; an OR of every filter in WHERE costs more
        // than it saves
        `SELECT service, host, pid, [${conds.map(c => `countIf(${c})`).join(', ')}] AS n
         FROM (SELECT service, host, pid, level_num, msg FROM ${db}.logs
               WHERE ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC')
               LIMIT 1 BY source, offset)
         GROUP BY service, host, pid HAVING arrayExists(x -> x > 0, n) ORDER BY service, host, pid LIMIT {limit:UInt32}`, params)
      return r.map(x => ({ service: x.service, host: x.host, pid: Number(x.pid), n: x.n.map(Number) }))
    },

    async now (): Promise<number> {
      const r = await rows<{ n: number }>('SELECT toUnixTimestamp64Milli(now64(3)) AS n')
      return Number(r[0].n)
    }
  }
}

export function createAlertStore (ch: ClickHouseClient, db: string) {
  const io = storeIo(ch, db)
  return { ...ruleStateStore(io), ...transitionStore(io), ...alertDataReads(io) }
}

export type AlertStore = ReturnType<typeof createAlertStore>
