/**
 * @module dhcp/hosts
 * Registered-host lookups of the DHCP server: by MAC (every request) and by reserved address
 * (every candidate pool address). The store's in-memory {@link HostLookup} answers them
 * synchronously when it has one (embedded SQLite: kept current by every host write, so a
 * reservation added or removed is seen by the next packet); otherwise each lookup is a store
 * query. Callers await only when the answer is a promise.
 */
import type { Host } from '../model/host';
import type { Store } from '../store/store';
import { intToIp } from './options';

export interface DhcpHosts {
  byMac(mac: string): Host | undefined | Promise<Host | undefined>;
  /** The host reserving `ip` (unsigned 32-bit integer), if any. */
  byIp(ip: number): Host | undefined | Promise<Host | undefined>;
}

export function dhcpHostsOf(store: Pick<Store, 'hosts' | 'hostLookup'>): DhcpHosts {
  if (store.hostLookup !== undefined) return store.hostLookup;
  const repo = store.hosts;
  return { byMac: (mac) => repo.getByMac(mac), byIp: (ip) => repo.getByIp(intToIp(ip)) };
}
