/**
 * @module install/host-script
 * What a machine's own boot script or config is, for whichever loader asks: iPXE over HTTP
 * (`/ipxe/<mac>`, http/boot/ipxe-routes.ts) or the Secure Boot chain's GRUB over TFTP
 * (`grub/grub.cfg-01-<mac>`, install/grub-files.ts). boot/policy.ts decideScript decides; this
 * adds what the decision needs around it, the same for both loaders:
 *  - an unknown MAC is recorded as discovered (bounded and rate-limited, D08, G7);
 *  - an install carries the host's one-time token, so it is handed only to the host's own
 *    address (install/binding.ts; reliability I02: no harvesting tokens by MAC), and a token
 *    is issued when the host is armed but has none live (expired before the machine booted).
 * The callers render the answer in their loader's language and put it on the host's timeline.
 */
import { decideScript, type HostScriptDecision } from '../boot/policy';
import type { Logger } from '../log';
import { DiscoveredMacs } from '../model/discovered-macs';
import type { Host } from '../model/host';
import type { InstallToken } from '../model/token';
import type { Store } from '../store/store';
import type { AddressBinding } from './binding';
import type { InstallTokens } from './tokens';

export type HostScript =
  | { kind: 'discovered' }
  | { kind: 'refused'; host: Host; reason: string }
  | { kind: 'host'; host: Host; decision: HostScriptDecision; token: InstallToken | undefined };

export interface HostScriptDeps {
  store: Store;
  tokens: InstallTokens;
  binding: AddressBinding;
  log: Logger;
  /** dhcp.unknownHosts, read live. */
  unknownHosts: () => 'ignore' | 'discover';
}

export class HostScripts {
  // Unknown MACs already recorded: bounded and rate-limited like the DHCP server's (D08, G7).
  private readonly discovered = new DiscoveredMacs();

  constructor(private readonly deps: HostScriptDeps) {}

  /**
   * The script for the machine with `mac` asking from `ip`; `via` names the loader for the
   * timeline (`iPXE script`, `GRUB config`).
   */
  async resolve(mac: string, ip: string, via: string): Promise<HostScript> {
    const { store, tokens, binding } = this.deps;
    const host = await store.hosts.getByMac(mac);
    let token = host && (await tokens.liveFor(host.name));
    const d = decideScript(host, token, { unknownHosts: this.deps.unknownHosts() });
    if (d.kind === 'discovered') {
      if (d.record && this.discovered.admit(mac, Date.now())) {
        await store.events.append({
          mac,
          kind: 'host.discovered',
          message: `unknown machine ${mac} asked for its ${via} from ${ip}; booting it locally`,
          data: { ip, source: via.startsWith('GRUB') ? 'grub' : 'ipxe' },
        });
      }
      return { kind: 'discovered' };
    }
    const known = host!; // decideScript answers `discovered` exactly when there is no host
    if (d.kind === 'install') {
      const bound = await binding.check(known, ip, { firstUse: true });
      if (!bound.ok) {
        await store.events.append({
          host: known.name,
          mac,
          kind: 'http.refused',
          level: 'warn',
          message: `install ${via} refused: ${bound.reason}`,
          data: { ip, reason: bound.reason },
        });
        this.deps.log.warn({ host: known.name, ip, reason: bound.reason }, `install ${via} refused`);
        return { kind: 'refused', host: known, reason: bound.reason };
      }
      // Armed but no live token (expired before the machine booted, or lost): issue one now.
      if (!token) {
        token = await tokens.issue(known.name);
        await binding.check(known, ip, { firstUse: true });
      }
    }
    return { kind: 'host', host: known, decision: d, token };
  }
}
