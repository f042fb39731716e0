/**
 * @module bootstrap/k3s
 * The k3s join. Roles come from the registry: the first `server` initialises the cluster
 * (`--cluster-init`, embedded etcd), further servers join it with `--server`, agents with
 * K3S_URL. The node IP is the mesh address and flannel runs over the mesh interface.
 *
 * The cluster token is Kickstand's secret (reliability.md §0 item 3, S07): it is read by the
 * node script from stdin into K3S_TOKEN for the installer's environment only — never on argv,
 * never in the kickstart, a log line, an event or an API response. Idempotence: the node keeps
 * a marker with the hash of the invocation (token excluded); the same invocation is not re-run.
 *
 * The installer is either an imported bundle served by Kickstand (k3s-fetch.ts: fetched,
 * checked against the import's SHA-256s, run with INSTALL_K3S_SKIP_DOWNLOAD=true; the marker
 * hash includes the version, architecture and hashes, so a new bundle re-runs the join) or,
 * opted in with bootstrap.k3s.source: internet, installCommand (get.k3s.io by default).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SettingRepo } from '../store/store';
import { fetchAndInstallLines, type BundleFetch } from './k3s-fetch';
import { quote } from './shell';

export const TOKEN_SETTING = 'k3s.token';
export const INIT_SERVER_SETTING = 'k3s.init-server';

export interface K3sSettings {
  extraArgs: readonly string[];
  apiPort: number;
  meshInterface: string;
  nodeStateDir: string;
}

/** How the node gets k3s: bootstrap.k3s.source. */
export type K3sInstaller = { source: 'internet'; command: string } | { source: 'bundle'; fetch: BundleFetch };

export interface K3sInvocation {
  role: 'server' | 'agent';
  /** k3s arguments after the installer (`server --cluster-init --node-ip …`). */
  args: string[];
  /** K3S_URL for agents, else null. */
  url: string | null;
}

/** The cluster token, generated once (256 bits) and kept in the settings store. */
export async function clusterToken(settings: SettingRepo): Promise<string> {
  const cur = await settings.get(TOKEN_SETTING);
  if (cur) return cur;
  const t = randomBytes(32).toString('hex');
  await settings.set(TOKEN_SETTING, t);
  return (await settings.get(TOKEN_SETTING)) ?? t;
}

/** What a node with `role` and mesh address runs; `initServer` is the first server's mesh address (null: this node initialises). */
export function invocation(
  role: 'server' | 'agent',
  nodeIp: string,
  initServerIp: string | null,
  s: K3sSettings,
): K3sInvocation {
  const common = ['--node-ip', nodeIp, '--flannel-iface', s.meshInterface, ...s.extraArgs];
  const url = initServerIp === null ? null : `https://${initServerIp}:${s.apiPort}`;
  if (role === 'server') {
    return {
      role,
      args: url === null ? ['server', '--cluster-init', ...common] : ['server', '--server', url, ...common],
      url: null,
    };
  }
  return { role, args: ['agent', ...common], url };
}

/** Hash of what makes a join different (never the token). */
export function invocationId(inv: K3sInvocation, installer: K3sInstaller): string {
  const what =
    installer.source === 'internet'
      ? [installer.command, inv.args, inv.url]
      : [
          'bundle',
          installer.fetch.version,
          installer.fetch.arch,
          installer.fetch.binary.sha256,
          installer.fetch.images.sha256,
          installer.fetch.installSh.sha256,
          inv.args,
          inv.url,
        ];
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 32);
}

/**
 * The node script (token on stdin, first line). The marker records a finished join, so a
 * re-run with the same invocation changes nothing.
 */
export function joinScript(inv: K3sInvocation, s: K3sSettings, installer: K3sInstaller): string {
  const marker = `${s.nodeStateDir}/k3s-join`;
  const id = invocationId(inv, installer);
  const args = inv.args.map(quote).join(' ');
  return [
    'set -eu',
    'umask 077',
    `marker=${quote(marker)}; want=${quote(id)}`,
    'if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ]; then echo changed=0; exit 0; fi',
    'IFS= read -r K3S_TOKEN',
    'export K3S_TOKEN',
    inv.url === null ? 'unset K3S_URL || true' : `export K3S_URL=${quote(inv.url)}`,
    ...(installer.source === 'internet'
      ? [`${installer.command} ${args} </dev/null`]
      : fetchAndInstallLines(installer.fetch, s.nodeStateDir, args)),
    'mkdir -p "$(dirname "$marker")"',
    'printf "%s\\n" "$want" > "$marker"',
    'echo changed=1',
  ].join('\n');
}
