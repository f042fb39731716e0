/**
 * @module render/context
 * The variables a host's templates see. Precedence (docs/kickstarts.md): global `vars` <
 * profile `vars` < host `vars` < built-in facts (hostname, addresses, URLs, keys), so a var can
 * never rename a host or redirect its callbacks. Every value is re-validated as one printable
 * line (config vars are not checked at registration) and the result is a plain object built
 * without ever assigning through `__proto__`.
 */
import { ErrorCode, KickstandError } from '../errors';
import { parseAuthorizedKeys, parsePublicKey } from '../model/ssh-key';
import { validateVars, type Host } from '../model/host';
import { parseCidr } from '../model/ipv4';
import type { ProfileConfig } from '../config/sections/profiles';
import type { BootstrapConfig } from '../config/sections/bootstrap';
import type { TemplateContext } from './templates';

export interface NetworkFacts {
  subnet: string;
  gateway: string | null;
  dns: readonly string[];
  domain: string | null;
}

/** What the bootstrapper will need open on the node (bootstrap config; null when disabled). */
export interface ClusterFacts {
  mesh: { port: number; interface: string } | null;
  /** The k3s API port, or null when the k3s join is off (then no k3s ports are opened). */
  k3sApiPort: number | null;
}

export function clusterFacts(b: BootstrapConfig): ClusterFacts {
  const mesh = b.mesh.enabled ? { port: b.mesh.listenPort, interface: b.mesh.interface } : null;
  // The k3s join runs over the mesh only (bootstrap/steps.ts): no mesh, no k3s.
  return { mesh, k3sApiPort: mesh !== null && b.k3s.enabled ? b.k3s.apiPort : null };
}

/**
 * Ports a k3s node of `role` accepts from the other nodes, as `port/proto` (k3s docs,
 * "Inbound Rules for K3s Nodes": 6443 API and 2379-2380 embedded etcd on servers, 10250
 * kubelet and 8472 flannel VXLAN on every node). Roles other than server/agent join no cluster.
 */
export function k3sMeshPorts(role: string, c: ClusterFacts): string[] {
  if (c.k3sApiPort === null) return [];
  if (role === 'server') return [`${c.k3sApiPort}/tcp`, '2379-2380/tcp', '10250/tcp', '8472/udp'];
  if (role === 'agent') return ['10250/tcp', '8472/udp'];
  return [];
}

export interface ContextInput {
  host: Host;
  profile: ProfileConfig;
  globalVars: Readonly<Record<string, string>>;
  network: NetworkFacts;
  publicUrl: string;
  /** The install token to put in URLs (or a mask such as `<token>` for a dry run). */
  token: string;
  /** Kickstand's bootstrap public key (`ssh-ed25519 AAAA…`), or null if not available. */
  bootstrapKey: string | null;
  cluster: ClusterFacts;
}

/** Names Kickstand sets itself; a var of the same name is shadowed. */
export const BUILTIN_VARS = [
  'hostname',
  'fqdn',
  'domain',
  'mac',
  'profile',
  'role',
  'ipv4',
  'netmask',
  'gateway',
  'nameservers',
  'install_tree',
  'kickstand_url',
  'kickstart_url',
  'callback_installing_url',
  'callback_installed_url',
  'bootstrap_authorized_key',
  'authorized_keys',
  'mesh_port',
  'mesh_interface',
  'k3s_mesh_ports',
] as const;

// Names that would reach Object.prototype members in a naive lookup: refused outright.
const RESERVED = new Set(['__proto__', 'constructor', 'prototype', ...Object.getOwnPropertyNames(Object.prototype)]);

/** Var names whose values are secrets (masked by `host render` unless --show-secrets). */
export const SECRET_VAR = /(password|passwd|secret|token)/i;

export function kickstartUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/ks/${token}`;
}

export function callbackUrl(publicUrl: string, token: string, kind: 'installing' | 'installed'): string {
  return `${publicUrl}/cb/${token}/${kind}`;
}

/** Install tree / asset URL: absolute http(s) URLs as they are, other paths under /images/. */
export function assetUrl(publicUrl: string, path: string): string {
  return /^https?:\/\//.test(path) ? path : `${publicUrl}/images/${path.replace(/^\/+/, '')}`;
}

/** Merged vars, global < profile < host, each validated as a single printable line. */
export function mergedVars(input: Pick<ContextInput, 'host' | 'profile' | 'globalVars'>): Map<string, string> {
  const out = new Map<string, string>();
  const layers: Array<[string, Readonly<Record<string, string>>]> = [
    ['vars', input.globalVars],
    [`profiles.${input.host.profile}.vars`, input.profile.vars],
    ['vars', input.host.vars],
  ];
  for (const [field, layer] of layers) {
    const checked = validateVars({ ...layer }, field);
    for (const [k, v] of Object.entries(checked)) {
      if (RESERVED.has(k))
        throw new KickstandError(ErrorCode.INVALID_VAR, `var name ${k} is reserved`, {
          field: `${field}.${k}`,
          fix: 'pick another name',
        });
      out.set(k, v);
    }
  }
  return out;
}

/** Builds the template context for `input.host`. */
export function buildContext(input: ContextInput): TemplateContext {
  const { host, network, publicUrl, token } = input;
  const vars = mergedVars(input);
  const cidr = parseCidr(network.subnet);
  const netmask = cidr?.mask ?? '';
  let bootstrap = '';
  if (input.bootstrapKey !== null) {
    const k = parsePublicKey(input.bootstrapKey);
    if (!k.ok)
      throw new KickstandError(
        ErrorCode.INTERNAL,
        `Kickstand's bootstrap public key is not an OpenSSH key: ${k.reason}`,
      );
    bootstrap = k.key;
  }
  const builtins: Array<[string, string | readonly string[]]> = [
    ['hostname', host.name],
    ['domain', network.domain ?? ''],
    ['fqdn', network.domain ? `${host.name}.${network.domain}` : host.name],
    ['mac', host.macs[0] ?? ''],
    ['profile', host.profile],
    ['role', host.role],
    ['ipv4', host.ipv4 ?? ''],
    ['netmask', netmask],
    ['gateway', network.gateway ?? ''],
    ['nameservers', network.dns.join(',')],
    ['install_tree', assetUrl(publicUrl, input.profile.installTree)],
    ['kickstand_url', publicUrl],
    ['kickstart_url', kickstartUrl(publicUrl, token)],
    ['callback_installing_url', callbackUrl(publicUrl, token, 'installing')],
    ['callback_installed_url', callbackUrl(publicUrl, token, 'installed')],
    ['authorized_keys', parseAuthorizedKeys(vars.get('ssh_authorized_keys') ?? '', 'vars.ssh_authorized_keys')],
    ['mesh_port', input.cluster.mesh ? String(input.cluster.mesh.port) : ''],
    ['mesh_interface', input.cluster.mesh?.interface ?? ''],
    ['k3s_mesh_ports', k3sMeshPorts(host.role, input.cluster)],
  ];
  if (bootstrap) builtins.push(['bootstrap_authorized_key', bootstrap]);
  const entries: Array<[string, string | readonly string[]]> = [...vars.entries()].filter(
    ([k]) => !(BUILTIN_VARS as readonly string[]).includes(k),
  );
  // Object.fromEntries defines own data properties (no __proto__ setter).
  return Object.fromEntries([...entries, ...builtins]);
}

/** The same context with every secret var value replaced by a mask. */
export function maskSecrets(ctx: TemplateContext): TemplateContext {
  return Object.fromEntries(
    Object.entries(ctx).map(([k, v]) => [k, typeof v === 'string' && SECRET_VAR.test(k) && v !== '' ? '********' : v]),
  );
}
