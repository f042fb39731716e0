/**
 * @module install/binding
 * Binds an install to the host's own network address (reliability I01). A request that
 * carries a host's install token — its iPXE install script, its kickstart, its callbacks — is
 * honoured only from an address the host holds: its static reservation or a bound lease of one
 * of its MACs (hosts/locate.ts).
 *
 * When the host holds no address Kickstand knows of (proxyDHCP mode: another server leases),
 * the address that fetched the host's install script is recorded once per install and later
 * requests must come from it. That is weaker (first come, first bound; see
 * docs/install-flow.md) — give such hosts a static `ipv4` to get the strict binding.
 */
import { addressesOf } from '../hosts/locate';
import type { Host } from '../model/host';
import type { Store } from '../store/store';

export type BindingResult = { ok: true; via: 'address' | 'first-fetch' } | { ok: false; reason: string };

const key = (host: string) => `install.bootAddress.${host}`;

export class AddressBinding {
  constructor(private readonly store: Store) {}

  /**
   * Is `ip` the host's address? With `firstUse` (the install script fetch) and no known
   * address, `ip` becomes the install's bound address.
   */
  async check(host: Host, ip: string, opts: { firstUse?: boolean } = {}): Promise<BindingResult> {
    const known = await addressesOf(this.store, host);
    if (known.length > 0) {
      return known.includes(ip)
        ? { ok: true, via: 'address' }
        : { ok: false, reason: `request from ${ip}, but ${host.name} holds ${known.join(', ')}` };
    }
    const recorded = await this.store.settings.get(key(host.name));
    if (recorded !== undefined) {
      return recorded === ip
        ? { ok: true, via: 'first-fetch' }
        : { ok: false, reason: `request from ${ip}, but this install is bound to ${recorded}` };
    }
    if (opts.firstUse) {
      await this.store.settings.set(key(host.name), ip);
      return { ok: true, via: 'first-fetch' };
    }
    return { ok: false, reason: `${host.name} holds no known address and has not fetched its install script` };
  }

  /** Forgets the first-fetch address (a new install starts: arm, or the install ended). */
  async reset(host: string): Promise<void> {
    await this.store.settings.delete(key(host));
  }
}
