/**
 * @module test/e2e/lab/topology
 * The lab network: two namespaces created for this run only.
 *
 *   netns <tag>-vm : bridge "br0", one tap per VM (QEMU runs here), and "vk0" (veth) on br0
 *   netns <tag>-ks : "ks0" (veth peer) with Kickstand's address; Kickstand runs here
 *
 * Addresses come from 198.18.0.0/15 only (RFC 2544 benchmarking range; test rules). The bridge
 * and the taps carry no address: the VMs get theirs from Kickstand's DHCP. `destroy()` is
 * synchronous so it can run from an `exit` handler; it kills what was started in the
 * namespaces (by PID, from `ip netns pids`) and deletes them (which removes every link).
 */
import { execFileSync } from 'node:child_process';
import { uniqueTag } from '../../helpers/netns';

export interface LabNet {
  tag: string;
  vmNs: string;
  ksNs: string;
  /** Kickstand's interface in ksNs. */
  ksIf: string;
  serverIp: string;
  prefix: number;
  subnet: string;
  poolStart: string;
  poolEnd: string;
  /** Tap names in vmNs, one per VM, in order. */
  taps: string[];
  bridge: string;
  destroy(): void;
}

function run(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
}

/** Kill every process left inside `ns` (only namespaces this lab made), then delete it. */
export function deleteNamespace(ns: string): void {
  try {
    for (const p of run(['netns', 'pids', ns]).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  } catch {
    /* namespace already gone */
  }
  try {
    run(['netns', 'del', ns]);
  } catch {
    /* already deleted */
  }
}

/**
 * Creates the namespaces, bridge, taps and veth. `third` is the third octet of the lab subnet
 * 198.18.<third>.0/24 (inside our own namespaces any value is private to this run); `tagPrefix`
 * starts the namespace names (the firmware lab uses its own, `ksf`).
 */
export function createLabNet(vmCount: number, third = 77, tagPrefix = 'ksl'): LabNet {
  const tag = uniqueTag(tagPrefix);
  const vmNs = `${tag}-vm`;
  const ksNs = `${tag}-ks`;
  const base = `198.18.${third}`;
  const created: string[] = [];
  const net: LabNet = {
    tag,
    vmNs,
    ksNs,
    ksIf: 'ks0',
    serverIp: `${base}.1`,
    prefix: 24,
    subnet: `${base}.0/24`,
    poolStart: `${base}.100`,
    poolEnd: `${base}.199`,
    taps: Array.from({ length: vmCount }, (_, i) => `tap${i}`),
    bridge: 'br0',
    destroy() {
      for (const ns of created.splice(0).reverse()) deleteNamespace(ns);
    },
  };
  try {
    for (const ns of [vmNs, ksNs]) {
      run(['netns', 'add', ns]);
      created.push(ns);
      run(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // A bridge without STP forwards at once (no 15 s listening/learning delay for the ROMs).
    run(['-n', vmNs, 'link', 'add', net.bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    run(['-n', vmNs, 'link', 'set', net.bridge, 'up']);
    run(['link', 'add', 'vk0', 'netns', vmNs, 'type', 'veth', 'peer', 'name', net.ksIf, 'netns', ksNs]);
    run(['-n', vmNs, 'link', 'set', 'vk0', 'master', net.bridge, 'up']);
    run(['-n', ksNs, 'addr', 'add', `${net.serverIp}/${net.prefix}`, 'dev', net.ksIf]);
    run(['-n', ksNs, 'link', 'set', net.ksIf, 'up']);
    for (const tap of net.taps) {
      run(['-n', vmNs, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
      run(['-n', vmNs, 'link', 'set', tap, 'master', net.bridge, 'up']);
    }
  } catch (e) {
    net.destroy();
    throw e;
  }
  return net;
}
