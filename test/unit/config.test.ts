import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../platform/config.js'

describe('loadConfig', () => {
  it('defaults: embedded everything on loopback', () => {
    const c = loadConfig({}, {})
    expect(c).toEqual({
      topicPrefix: 'sluice.', kafkaBrokers: null, clickhouseUrl: null, clickhouseUser: 'default', clickhousePassword: '', clickhouseDatabase: 'sluice',
      dataDir: path.resolve('.sluice'), port: 7070, bind: '127.0.0.1', tokens: [], retentionDays: 30, partitions: 4,
      allowedHosts: [], requestTimeoutMs: 30_000
    })
    expect(Object.isFrozen(c)).toBe(true)
  })

  it('flags win over environment variables', () => {
    const c = loadConfig({ KAFKA_BROKERS: 'a:1', SLUICE_PORT: '1' }, { brokers: 'b:2,c:3', port: '8080' })
    expect(c.kafkaBrokers).toEqual(['b:2', 'c:3'])
    expect(c.port).toBe(8080)
  })

  it.each([
    [{ KAFKA_BROKERS: ',' }, 'KAFKA_BROKERS="," is invalid: expected host:port[,host:port…], e.g. 127.0.0.1:9092'],
    [{ KAFKA_BROKERS: 'a:1,b' }, 'KAFKA_BROKERS="a:1,b" is invalid: \'b\' is not host:port, e.g. 127.0.0.1:9092'],
    [{ CLICKHOUSE_URL: 'ftp://x' }, 'CLICKHOUSE_URL="ftp://x" is invalid: expected an http(s) URL such as http://127.0.0.1:8123'],
    [{ CLICKHOUSE_DATABASE: 'logs; DROP' }, 'CLICKHOUSE_DATABASE="logs; DROP" is invalid: expected an identifier ([A-Za-z_][A-Za-z0-9_]*)'],
    [{ SLUICE_PORT: '70000' }, 'SLUICE_PORT="70000" is invalid: expected a port number 0-65535'],
    [{ SLUICE_RETENTION_DAYS: '0' }, 'SLUICE_RETENTION_DAYS="0" is invalid: expected whole days, 1-3650'],
    [{ SLUICE_TOPIC_PREFIX: 'bad prefix' }, 'SLUICE_TOPIC_PREFIX="bad prefix" is invalid: expected letters, digits, . _ - (at most 100)'],
    [{ SLUICE_PARTITIONS: '0' }, 'SLUICE_PARTITIONS="0" is invalid: expected a number of partitions 1-1000'],
    [{ SLUICE_PARTITIONS: '3x' }, 'SLUICE_PARTITIONS="3x" is invalid: expected a number of partitions 1-1000'],
    [{ SLUICE_REQUEST_TIMEOUT_MS: '5s' }, 'SLUICE_REQUEST_TIMEOUT_MS="5s" is invalid: expected a whole number 100-3600000'],
    [{ SLUICE_MAX_TAILS_PER_CLIENT: '0' }, 'SLUICE_MAX_TAILS_PER_CLIENT="0" is invalid: expected a whole number 1-100000'],
    [{ SLUICE_ALLOWED_HOSTS: 'ok.example,bad host' }, 'SLUICE_ALLOWED_HOSTS="ok.example,bad host" is invalid: \'bad host\' is not a host name (comma-separated names, without port)'],
    [{ SLUICE_BIND: '10.0.0.1' }, 'SLUICE_BIND="10.0.0.1" is invalid: binding beyond loopback requires SLUICE_TOKENS (comma-separated bearer tokens)']
  ])('rejects %j with one line naming it', (env, message) => {
    expect(() => loadConfig(env, {})).toThrow(message)
    try { loadConfig(env, {}) } catch (err) { expect((err as { code: string }).code).toBe('SLUICE_ERR_CONFIG_INVALID') }
  })

  it('SLUICE_PARTITIONS sets the partitions of the logs topic', () => {
    expect(loadConfig({ SLUICE_PARTITIONS: '12' }, {}).partitions).toBe(12)
  })

  it('allows binding beyond loopback with tokens', () => {
    expect(loadConfig({ SLUICE_BIND: '0.0.0.0', SLUICE_TOKENS: 'a, b' }, {}).tokens).toEqual(['a', 'b'])
  })
})

describe('newClusterId (regression: a cluster id starting with "-" broke kafka-storage format)', () => {
  it('never starts with a dash and is 22 base64url characters', async () => {
    const { newClusterId } = await import('../../platform/kafka-launcher.js')
    for (let i = 0; i < 5000; i++) expect(newClusterId()).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{21}$/)
  })
})
