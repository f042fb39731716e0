/**
 * @module hosts/reimage
 * Immutable rebuild of one host: leave the mesh (every peer updated), record the cluster
 * removal, re-arm netboot through the state machine (which issues a new one-time install
 * token), and optionally have the BMC boot from the network once and power-cycle.
 * Everything that can be checked is checked before anything changes. The next netboot
 * reinstalls exactly once: the installed callback disarms netboot again.
 */
import { ErrorCode, KickstandError, invalid } from '../errors';
import type { BmcClient } from '../bmc/types';
import type { BmcConfig } from '../model/bmc-settings';
import type { Host } from '../model/host';
import { checkTransition } from '../model/host-state';
import type { Logger } from '../log';
import type { Store } from '../store/store';
import type { HostRegistry } from './registry';

export interface ReimageDeps {
  registry: HostRegistry;
  store: Store;
  log: Logger;
  /** Removes the host from the WireGuard mesh and updates every peer (bootstrapper). */
  leaveMesh?: (host: Host) => Promise<void>;
  /** Builds a BMC client for a host's settings (src/bmc). */
  bmcClient?: (cfg: BmcConfig) => BmcClient;
}

export interface ReimageOptions {
  powerCycle?: boolean;
  /** Why (recorded as the transition's cause). */
  cause?: string;
}

export async function reimage(deps: ReimageDeps, name: string, opts: ReimageOptions = {}): Promise<Host> {
  const host = await deps.registry.require(name);
  if (host.state === 'armed') {
    throw new KickstandError(ErrorCode.ILLEGAL_TRANSITION, `host ${name} is already armed: its next netboot installs`, {
      field: 'state',
      fix: `boot it from the network (kickstand host power ${name} cycle, if it has a BMC), or disarm it with kickstand host set ${name} --no-netboot`,
    });
  }
  checkTransition(name, host.state, 'armed');
  let bmc: BmcClient | undefined;
  if (opts.powerCycle) {
    const cfg = await deps.store.bmc.get(name);
    if (!cfg || !deps.bmcClient) {
      throw invalid(
        ErrorCode.INVALID_INPUT,
        'powerCycle',
        `host ${name} has no BMC configured`,
        `set one with kickstand host bmc ${name} --type ipmi|redfish --address … --user …, or reimage without --power-cycle and reboot it by hand`,
      );
    }
    bmc = deps.bmcClient(cfg);
  }
  const log = deps.log.child({ host: name });

  if (deps.leaveMesh) await deps.leaveMesh(host);
  if (host.state === 'ready' || host.state === 'bootstrapping' || host.state === 'installed') {
    await deps.store.events.append({
      host: name,
      kind: 'cluster.removed',
      message: `left the cluster records for reimage (role ${host.role}); delete its Node object with kubectl if the cluster still lists it`,
      data: { role: host.role },
    });
  }
  const armed = await deps.registry.transition(name, 'armed', opts.cause ?? 'reimage requested', { sshHostKeys: [] });
  log.info({ from: host.state }, 'host re-armed for reimage');

  if (bmc) {
    await bmcStep(deps, name, 'boot device: network, next boot only', () => bmc.bootOncePxe());
    await bmcStep(deps, name, 'power cycle', () => bmc.power('cycle'));
  }
  return armed;
}

async function bmcStep(deps: ReimageDeps, host: string, what: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
    await deps.store.events.append({ host, kind: 'bmc.command', message: what });
  } catch (err) {
    await deps.store.events.append({
      host,
      kind: 'bmc.command',
      level: 'error',
      message: `${what} failed: ${(err as Error).message}`,
    });
    throw err;
  }
}
