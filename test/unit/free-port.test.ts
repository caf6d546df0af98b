// Regression: a 3-broker cluster test's broker, SIGKILLed and restarted on its port 20 s later,
// exited with code 1. Its port came from the kernel's ephemeral range (listen on port 0), where
// clients retrying the dead broker get their own local ports and can even connect to themselves
// on it; listening ports are now drawn below that range.
import fs from 'node:fs'
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { ephemeralLow, freePort } from '../../platform/kafka-launcher.js'

describe('freePort', () => {
  it('gives free ports below the ephemeral range (not all the same one), each one listenable', async () => {
    const low = ephemeralLow()
    const ports = await Promise.all(Array.from({ length: 20 }, async () => await freePort()))
    expect(new Set(ports).size).toBeGreaterThan(1)
    for (const p of ports) {
      expect(p).toBeGreaterThanOrEqual(Math.min(20_000, low - 1000))
      expect(p).toBeLessThan(low)
    }
    const p = ports[0]
    const srv = net.createServer()
    await new Promise<void>((resolve, reject) => { srv.once('error', reject); srv.listen(p, '127.0.0.1', resolve) })
    expect((srv.address() as net.AddressInfo).port).toBe(p)
    await new Promise<void>(resolve => srv.close(() => resolve()))
  })

  it('reads the start of the ephemeral range from the kernel', () => {
    const fromKernel = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    expect(ephemeralLow()).toBe(fromKernel)
  })
})
