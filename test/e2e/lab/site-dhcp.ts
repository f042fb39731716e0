/**
 * @module test/e2e/lab/site-dhcp
 * The site's own DHCP server for the proxy lab: a real dnsmasq (Debian dnsmasq-base) in a
 * namespace of its own, plugged into the lab bridge, leasing the lab pool and nothing else (no
 * PXE, no TFTP, no DNS). Kickstand runs beside it in proxy mode and must never lease.
 *
 *   netns <tag>-dh : "dh0" 198.18.<third>.2 (veth peer "vd0" on the lab bridge), dnsmasq
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { started } from './started';
import { deleteNamespace, type LabNet } from './topology';

export interface SiteDhcp {
  ns: string;
  ip: string;
  /** dnsmasq's lease file, parsed ("expiry mac ip hostname client-id" per line). */
  leases(): Array<{ mac: string; ip: string }>;
  /** Kills dnsmasq (by our PID) and deletes the namespace, synchronously. */
  killNow(): void;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
}

export async function startSiteDhcp(net: LabNet, workDir: string): Promise<SiteDhcp> {
  const ns = `${net.tag}-dh`;
  const addr = net.serverIp.replace(/\.1$/, '.2');
  const dir = join(workDir, 'dnsmasq');
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777); // dnsmasq rewrites its lease file after dropping to "nobody"
  const leaseFile = join(dir, 'dnsmasq.leases');
  let proc: ChildProcess | undefined;
  const site: SiteDhcp = {
    ns,
    ip: addr,
    leases() {
      if (!existsSync(leaseFile)) return [];
      return readFileSync(leaseFile, 'utf8')
        .split('\n')
        .map((l) => l.split(' '))
        .filter((f) => f.length >= 3)
        .map((f) => ({ mac: f[1]!, ip: f[2]! }));
    },
    killNow() {
      if (proc?.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
        try {
          process.kill(proc.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      deleteNamespace(ns);
    },
  };
  try {
    ip(['netns', 'add', ns]);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    ip(['link', 'add', 'vd0', 'netns', net.vmNs, 'type', 'veth', 'peer', 'name', 'dh0', 'netns', ns]);
    ip(['-n', net.vmNs, 'link', 'set', 'vd0', 'master', net.bridge, 'up']);
    ip(['-n', ns, 'addr', 'add', `${addr}/${net.prefix}`, 'dev', 'dh0']);
    ip(['-n', ns, 'link', 'set', 'dh0', 'up']);
    const p = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        'dnsmasq',
        '--conf-file=/dev/null',
        '--keep-in-foreground',
        '--log-facility=-',
        '--log-dhcp',
        '--port=0',
        '-u',
        'nobody',
        '--interface=dh0',
        '--bind-interfaces',
        `--dhcp-leasefile=${leaseFile}`,
        `--dhcp-range=${net.poolStart},${net.poolEnd},255.255.255.0,10m`,
        '--no-ping',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc = p;
    await started(p, 'dnsmasq', /DHCP, IP range/);
    return site;
  } catch (e) {
    site.killNow();
    throw e;
  }
}
