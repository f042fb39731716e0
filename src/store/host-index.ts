/**
 * @module store/host-index
 * An in-memory index of the host registry by MAC and by reserved IPv4 address, for the DHCP hot
 * path (one lookup per packet, one per candidate pool address) where a SQLite `get` each time
 * cost more than the rest of the lookup work, and a PostgreSQL round trip would make every
 * packet wait on the network. Every store offers one as {@link HostLookup}: loaded at open,
 * updated by the store's own acknowledged host writes ({@link trackWrite}). A write made by
 * another daemon sharing the same PostgreSQL arrives by LISTEN/NOTIFY (store/postgres/host-feed.ts).
 *
 * Entries are frozen copies: what the DHCP server reads cannot be changed behind the store's back.
 */
import { ErrorCode, KickstandError } from '../errors';
import type { Host } from '../model/host';
import { ipToInt } from '../model/ipv4';

/** Synchronous host lookups, current with every acknowledged write of the store that owns them. */
export interface HostLookup {
  /** The host owning canonical `mac`, if any. */
  byMac(mac: string): Host | undefined;
  /** The host with static reservation `ip` (an unsigned 32-bit integer), if any. */
  byIp(ip: number): Host | undefined;
}

export class HostIndex implements HostLookup {
  private names = new Map<string, Host>();
  private macs = new Map<string, Host>();
  private ips = new Map<number, Host>();

  byMac(mac: string): Host | undefined {
    return this.macs.get(mac);
  }

  byIp(ip: number): Host | undefined {
    return this.ips.get(ip);
  }

  /** The indexed host named `name`, if any. */
  named(name: string): Host | undefined {
    return this.names.get(name);
  }

  get size(): number {
    return this.names.size;
  }

  /** Replaces the whole index (start-up, or after a write whose outcome is uncertain). */
  reset(hosts: readonly Host[]): void {
    this.names = new Map();
    this.macs = new Map();
    this.ips = new Map();
    for (const h of hosts) this.put(h);
  }

  /** Adds or replaces the host named `h.name` (its old MACs and address are dropped). */
  put(h: Host): void {
    this.remove(h.name);
    const e: Host = Object.freeze({
      ...h,
      macs: Object.freeze([...h.macs]) as string[],
      vars: Object.freeze({ ...h.vars }),
      sshHostKeys: Object.freeze([...h.sshHostKeys]) as string[],
    });
    this.names.set(e.name, e);
    for (const m of e.macs) this.macs.set(m, e);
    if (e.ipv4 !== null) this.ips.set(ipToInt(e.ipv4), e);
  }

  remove(name: string): void {
    const old = this.names.get(name);
    if (old === undefined) return;
    this.names.delete(name);
    for (const m of old.macs) if (this.macs.get(m) === old) this.macs.delete(m);
    if (old.ipv4 !== null) {
      const n = ipToInt(old.ipv4);
      if (this.ips.get(n) === old) this.ips.delete(n);
    }
  }
}

/**
 * Resolves like `write`, applying its result to the index first (`apply`). A refusal (duplicate
 * MAC, conflict, not found …) was rolled back and changes nothing; any other failure may or may
 * not have reached the database, so the index is rebuilt from the rows (`reload`) before the
 * write's own error propagates.
 */
export function trackWrite<T>(
  write: Promise<T>,
  apply: (v: T) => void,
  reload: () => void | Promise<void>,
): Promise<T> {
  return write.then(
    (v) => {
      apply(v);
      return v;
    },
    async (err: unknown) => {
      if (!(err instanceof KickstandError) || err.code === ErrorCode.STORE_FAILED) {
        try {
          await reload();
        } catch {
          // the database is closed or broken: the write's own error is what the caller needs
        }
      }
      throw err;
    },
  );
}
