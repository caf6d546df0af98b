// Where a webhook may go: the address classifier (every spelling of loopback and private a URL
// or a DNS answer can carry), the allow list, and how a webhook URL is shown.
import { describe, expect, it } from 'vitest'
import { checkDestination, classifyAddress, parseAllowList, redactUrl } from '../../alerts/destination.js'

describe('webhook destinations', () => {
  // URL spellings are normalised by the WHATWG parser first (as every send does): decimal,
  // hex, octal and short IPv4 forms all become dotted quads
  it.each([
    ['http://127.0.0.1/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://0x7f000001/', 'loopback'],
    ['http://017700000001/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://[::1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://[::ffff:7f00:1]/', 'loopback'],
    ['http://[::ffff:10.1.2.3]/', 'private'],
    ['http://0.0.0.0/', 'unspecified'],
    ['http://0/', 'unspecified'],
    ['http://[::]/', 'unspecified'],
    ['http://10.20.30.40/', 'private'],
    ['http://172.16.0.1/', 'private'],
    ['http://172.31.255.255/', 'private'],
    ['http://192.168.1.1/', 'private'],
    ['http://100.64.0.1/', 'private'],
    ['http://[fd00::1]/', 'private'],
    ['http://169.254.169.254/', 'link-local'],
    ['http://[fe80::1]/', 'link-local'],
    ['http://224.0.0.1/', 'multicast'],
    ['http://255.255.255.255/', 'reserved'],
    ['http://[64:ff9b::a00:1]/', 'reserved'],
    ['http://172.32.0.1/', 'public'],
    ['http://8.8.8.8/', 'public'],
    ['http://[2606:4700::1111]/', 'public'],
    ['http://hooks.example/', null]
  ])('%s is %s', (url, cls) => {
    expect(classifyAddress(new URL(url).hostname)).toBe(cls)
  })

  it('refuses loopback, private and localhost unless allowed, naming the host and the class', async () => {
    const none = parseAllowList('')
    expect(await checkDestination(none, new URL('http://2130706433:8080/x'))).toEqual({ ok: false, reason: "destination '127.0.0.1' is a loopback address; allow it with SLUICE_ALERT_WEBHOOK_ALLOW" })
    expect(await checkDestination(none, new URL('http://[::ffff:169.254.169.254]/'))).toEqual({ ok: false, reason: "destination '[::ffff:a9fe:a9fe]' is a link-local address; allow it with SLUICE_ALERT_WEBHOOK_ALLOW" })
    const localhost = await checkDestination(none, new URL('http://localhost:9/'))
    expect(localhost.ok).toBe(false)
    expect(localhost.ok ? '' : localhost.reason).toMatch(/^destination 'localhost' \(resolves to (127\.0\.0\.1|::1)\) is a loopback address; allow it with SLUICE_ALERT_WEBHOOK_ALLOW$/)
    expect(await checkDestination(none, new URL('http://8.8.8.8/'))).toEqual({ ok: true, resolved: { addresses: [{ address: '8.8.8.8', family: 4 }] } })
  })

  it('allows what the allow list names: IPs, CIDRs, host names, or everything', async () => {
    const ok = async (allow: string, url: string): Promise<boolean> => (await checkDestination(parseAllowList(allow), new URL(url))).ok
    expect(await ok('127.0.0.1', 'http://127.0.0.1:9/')).toBe(true)
    expect(await ok('127.0.0.1', 'http://127.0.0.2:9/')).toBe(false)
    expect(await ok('127.0.0.1', 'http://[::ffff:127.0.0.1]:9/')).toBe(true)
    expect(await ok('10.0.0.0/8, fd00::/8', 'http://10.9.8.7/')).toBe(true)
    expect(await ok('10.0.0.0/8, fd00::/8', 'http://[fd12::1]/')).toBe(true)
    expect(await ok('10.0.0.0/8, fd00::/8', 'http://192.168.0.1/')).toBe(false)
    expect(await ok('localhost', 'http://localhost:9/')).toBe(true)
    expect(await ok('*', 'http://[::1]:9/')).toBe(true)
  })

  it('redacts user:password and query-string values, keeps the rest', () => {
    expect(redactUrl('https://ops:hunter2@hooks.example:8443/a/b?token=s3cret&x=1')).toBe('https://***@hooks.example:8443/a/b?token=***&x=***')
    expect(redactUrl('https://ops@hooks.example/a')).toBe('https://***@hooks.example/a')
    expect(redactUrl('http://hooks.example/a')).toBe('http://hooks.example/a')
  })
})
