// Where a webhook may go. Every address a webhook host resolves to is classified; anything but a
// public address (loopback, private, link-local, unspecified, …) is refused unless the operator
// allows it with SLUICE_ALERT_WEBHOOK_ALLOW (host names, IPs, CIDRs, or `*`). Checked when a
// rule is written and again before every send (DNS can change); the send connects only to the
// addresses that were checked. Also: how a webhook URL is shown (credentials redacted).
import dns from 'node:dns/promises'
import net from 'node:net'

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'reserved'

const special: Array<[AddressClass, string, number, 'ipv4' | 'ipv6']> = [
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '100.64.0.0', 10, 'ipv4'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['reserved', '198.18.0.0', 15, 'ipv4'],
  ['multicast', '224.0.0.0', 4, 'ipv4'],
  ['reserved', '240.0.0.0', 4, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['private', 'fc00::', 7, 'ipv6'],
  ['multicast', 'ff00::', 8, 'ipv6'],
  // NAT64 and 6to4 carry an IPv4 address the gateway may turn into a private one
  ['reserved', '64:ff9b::', 96, 'ipv6'],
  ['reserved', '2002::', 16, 'ipv6']
]
const specialLists = special.map(([cls, addr, prefix, type]) => { const b = new net.BlockList(); b.addSubnet(addr, prefix, type); return [cls, b] as const })

/** Class of an IP address (IPv4-mapped IPv6 counts as its IPv4 address); `null` if not an IP. */
export function classifyAddress (address: string): AddressClass | null {
  const ip = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  const family = net.isIP(ip)
  if (family === 0) return null
  const type = family === 4 ? 'ipv4' : 'ipv6'
  for (const [cls, list] of specialLists) if (list.check(ip, type)) return cls
  return 'public'
}

export interface DestinationPolicy {
  /** true when SLUICE_ALERT_WEBHOOK_ALLOW is `*` */
  readonly any: boolean
  readonly hosts: ReadonlySet<string>
  readonly addresses: net.BlockList
  readonly text: string
}

/** Parses SLUICE_ALERT_WEBHOOK_ALLOW; throws a message saying which entry is wrong. */
export function parseAllowList (raw: string): DestinationPolicy {
  const hosts = new Set<string>()
  const addresses = new net.BlockList()
  let any = false
  for (const entry of raw.split(',').map(s => s.trim().toLowerCase()).filter(s => s !== '')) {
    if (entry === '*') { any = true; continue }
    const bare = entry.startsWith('[') && entry.endsWith(']') ? entry.slice(1, -1) : entry
    const slash = bare.indexOf('/')
    if (slash !== -1) {
      const ip = bare.slice(0, slash)
      const prefix = Number(bare.slice(slash + 1))
      const family = net.isIP(ip)
      if (family === 0 || !/^\d{1,3}$/.test(bare.slice(slash + 1)) || prefix > (family === 4 ? 32 : 128)) throw new Error(`'${entry}' is not a CIDR such as 10.0.0.0/8 or fd00::/8`)
      addresses.addSubnet(ip, prefix, family === 4 ? 'ipv4' : 'ipv6')
    } else if (net.isIP(bare) !== 0) {
      addresses.addAddress(bare, net.isIP(bare) === 4 ? 'ipv4' : 'ipv6')
    } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(bare)) {
      hosts.add(bare)
    } else {
      throw new Error(`'${entry}' is not a host name, IP address, CIDR or *`)
    }
  }
  return Object.freeze({ any, hosts, addresses, text: raw })
}

export const denyAllPrivate: DestinationPolicy = parseAllowList('')

function allowedAddress (policy: DestinationPolicy, address: string): boolean {
  const cls = classifyAddress(address)
  if (cls === 'public') return true
  const family = net.isIP(address)
  return family !== 0 && policy.addresses.check(address, family === 4 ? 'ipv4' : 'ipv6')
}

export interface Resolved { addresses: Array<{ address: string, family: number }> }
export type Verdict = { ok: true, resolved: Resolved } | { ok: false, reason: string, unresolved?: boolean }

/** Resolves a webhook's host (every address) and checks each against the policy. The reason
 *  names the host and the class only: it never depends on whether anything listens there. */
export async function checkDestination (policy: DestinationPolicy, url: URL): Promise<Verdict> {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
  let addresses: Array<{ address: string, family: number }>
  if (net.isIP(host) !== 0) addresses = [{ address: host, family: net.isIP(host) }]
  else {
    try { addresses = await dns.lookup(host, { all: true, verbatim: true }) } catch (err) {
      return { ok: false, reason: `host '${host}' does not resolve (${(err as { code?: string }).code ?? 'lookup failed'})`, unresolved: true }
    }
  }
  if (policy.any || policy.hosts.has(host.toLowerCase())) return { ok: true, resolved: { addresses } }
  for (const a of addresses) {
    if (!allowedAddress(policy, a.address)) {
      const cls = classifyAddress(a.address) ?? 'reserved'
      const via = a.address === host ? '' : ` (resolves to ${a.address})`
      return { ok: false, reason: `destination '${url.hostname}'${via} is a ${cls} address; allow it with SLUICE_ALERT_WEBHOOK_ALLOW` }
    }
  }
  return { ok: true, resolved: { addresses } }
}

/** A webhook URL as shown anywhere (API, delivery rows, logs): user:password and query-string
 *  values become `***`; the URL itself is still used for sending. */
export function redactUrl (raw: string): string {
  let u: URL
  try { u = new URL(raw) } catch { return raw.replace(/\/\/[^/@]*@/, '//***@').replace(/\?.*$/, '?***') }
  const auth = u.username !== '' || u.password !== '' ? '***@' : ''
  const query = u.search === '' ? '' : '?' + [...u.searchParams.keys()].map(k => `${encodeURIComponent(k)}=***`).join('&')
  return `${u.protocol}//${auth}${u.host}${u.pathname}${query}`
}
