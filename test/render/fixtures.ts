/**
 * Fixture hosts and a renderer over the shipped kickstarts/ for the render tests. Hosts go
 * through the real registry (validation at registration) on a real in-memory store.
 */
import { resolve } from 'node:path';
import { resolveConfig } from '../../src/config/load';
import { configSchema, type Config } from '../../src/config/schema';
import { HostRegistry } from '../../src/hosts/registry';
import { silentLogger, type Logger } from '../../src/log';
import type { Host } from '../../src/model/host';
import { clusterFacts } from '../../src/render/context';
import { KickstartRenderer } from '../../src/render/kickstart';
import { TemplateSet } from '../../src/render/templates';
import { openSqliteStore } from '../../src/store/sqlite';
import type { Store } from '../../src/store/store';

/** k3s pod and service networks for the golden hosts: 198.18.0.0/15 only, as every test address. */
export const TEST_K3S_CIDRS = { k3s_cluster_cidr: '198.19.128.0/17', k3s_service_cidr: '198.19.64.0/18' };
export const KICKSTARTS = resolve(__dirname, '../../kickstarts');
export const BOOTSTRAP_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl kickstand-bootstrap';
export const OPERATOR_KEYS = [
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKu4cL9+ccDL/vZ8+xeO1uQmi+Blg3TzjqRxlp3J2m1F alice@ops',
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMKTdI3rJwz+qLaoFdA+UMo/VglrAwf8Iha2Snpqzabb bob@ops',
];
export const TOKEN = 'T0k3n_fixture-0123456789abcdefghijklmnopqrs'; // 43 chars, base64url
export const ROOT_HASH =
  '$6$kickstand$Jp0hY3GvPzQ.ZyM1dQmC7xJm2W1p4bXrVZ3mV3lI7b0a8uJ0fU9n6m5kLrQ3zT2yXwV1uS0tR9qP8oN7mL6kJ.';

export function renderConfig(): Config {
  const c = configSchema.parse({
    http: { publicUrl: 'http://198.18.0.1:8080' },
    network: {
      address: '198.18.0.1',
      subnet: '198.18.0.0/24',
      pool: { start: '198.18.0.100', end: '198.18.0.199' },
      gateway: '198.18.0.1',
      dns: ['198.18.0.1', '198.18.0.2'],
      domain: 'lab.example',
    },
    vars: { timezone: 'Europe/Paris', keyboard: 'fr', lang: 'fr_FR.UTF-8' },
    profiles: {
      rocky9: {
        kernel: 'rocky9/vmlinuz',
        initrd: 'rocky9/initrd.img',
        installTree: 'rocky9/tree',
        kickstart: 'rocky9.ks.hbs',
        kernelArgs: 'console=tty0 console=ttyS0,115200n8',
        vars: { root_password_hash: ROOT_HASH },
      },
    },
  });
  return resolveConfig(c);
}

export function makeRenderer(
  opts: { dir?: string; log?: Logger; bootstrapKey?: string | null; config?: Config } = {},
): { renderer: KickstartRenderer; templates: TemplateSet; config: Config } {
  const config = opts.config ?? renderConfig();
  const templates = new TemplateSet(() => opts.dir ?? KICKSTARTS, opts.log ?? silentLogger());
  const renderer = new KickstartRenderer({
    templates,
    config: () => ({
      profiles: config.profiles,
      vars: config.vars,
      network: config.network,
      publicUrl: config.http.publicUrl,
      cluster: clusterFacts(config.bootstrap),
    }),
    bootstrapPublicKey: async () => (opts.bootstrapKey === undefined ? BOOTSTRAP_KEY : opts.bootstrapKey),
  });
  return { renderer, templates, config };
}

export async function fixtureHosts(
  config = renderConfig(),
): Promise<{ store: Store; registry: HostRegistry; hosts: Record<string, Host> }> {
  const store = openSqliteStore(':memory:');
  const registry = new HostRegistry(store, config);
  const hosts: Record<string, Host> = {
    static: await registry.add({
      name: 'node-static',
      macs: ['52:54:00:aa:00:01', '52:54:00:aa:00:02'],
      profile: 'rocky9',
      role: 'server',
      ipv4: '198.18.0.21',
      // Cluster networks inside the test range (the shipped defaults are k3s's 10.42/10.43).
      vars: { install_disk: 'nvme0n1', ssh_authorized_keys: OPERATOR_KEYS.join(';'), ...TEST_K3S_CIDRS },
    }),
    dhcp: await registry.add({
      name: 'node-dhcp',
      macs: ['52:54:00:aa:00:03'],
      profile: 'rocky9',
      vars: { root_password_hash: '', timezone: 'America/New_York', ...TEST_K3S_CIDRS },
    }),
  };
  return { store, registry, hosts };
}
