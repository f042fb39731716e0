/**
 * @module hosts/locate
 * Client address → host. A machine on the provisioning network is identified by the address
 * it talks from: its static reservation, else the bound, unexpired DHCP lease that holds the
 * address (lease MAC → host). Used to bind kickstart fetches and callbacks to the host's own
 * address (reliability I01: the MAC alone is no identity) and to put HTTP requests on the right
 * host's timeline. `X-Forwarded-For` is never consulted: the socket peer is the client.
 */
import type { Host } from '../model/host';
import type { Store } from '../store/store';

export interface Located {
  host: Host;
  /** How the address was matched. */
  via: 'static' | 'lease';
  /** The lease's MAC when matched by lease. */
  mac: string | null;
}

/** The IPv4 of a socket peer (`::ffff:198.18.0.5` → `198.18.0.5`); '' when unknown. */
export function peerAddress(remote: string | undefined): string {
  if (!remote) return '';
  return remote.startsWith('::ffff:') && remote.includes('.') ? remote.slice(7) : remote;
}

/** The host that owns `ip` right now, if any. */
export async function locateByIp(store: Store, ip: string, now = Date.now()): Promise<Located | undefined> {
  if (!ip) return undefined;
  const fixed = await store.hosts.getByIp(ip);
  if (fixed) return { host: fixed, via: 'static', mac: null };
  const lease = await store.leases.get(ip);
  if (!lease || lease.state !== 'bound' || lease.expiresAt <= now || !lease.mac) return undefined;
  const host = await store.hosts.getByMac(lease.mac);
  return host ? { host, via: 'lease', mac: lease.mac } : undefined;
}

/** Every address `host` holds now: its static reservation and the bound leases of its MACs. */
export async function addressesOf(store: Store, host: Host, now = Date.now()): Promise<string[]> {
  const out = new Set<string>();
  if (host.ipv4) out.add(host.ipv4);
  for (const mac of host.macs) {
    const l = await store.leases.findByMac(mac);
    if (l && l.state === 'bound' && l.expiresAt > now) out.add(l.ip);
  }
  return [...out];
}
