/**
 * @module config/production
 * The commented production configuration: what `kickstand init` writes for a segment, and the
 * idle template the Debian package installs as /etc/kickstand/kickstand.yaml until then (DHCP
 * off, no TFTP, the API on loopback: an unconfigured install serves nothing on the network).
 * Every path is absolute; docs/configuration.md describes every key.
 */

/** Where the Debian package puts things (packaging/build-deb.sh). */
export const PACKAGED_PATHS = {
  config: '/etc/kickstand/kickstand.yaml',
  stateDir: '/var/lib/kickstand',
  imagesDir: '/var/lib/kickstand/images',
  kickstartsDir: '/usr/share/kickstand/kickstarts',
} as const;

export interface ProductionSettings {
  /** The provisioning interface (a comment only: Kickstand binds by address). */
  interface: string;
  address: string;
  subnet: string;
  pool: { start: string; end: string };
  gateway: string | null;
  dns: readonly string[];
  mode: 'authoritative' | 'proxy';
  /** proxy: the DHCP server(s) found leasing on the segment. */
  servers: readonly string[];
  stateDir?: string;
  imagesDir?: string;
  kickstartsDir?: string;
  /** When and how it was made (first comment line). */
  generatedBy: string;
}

const list = (xs: readonly string[]): string => `[${xs.join(', ')}]`;

function paths(s: { stateDir?: string; imagesDir?: string; kickstartsDir?: string }): string {
  return `# Database (kickstand.db), API token (api-token, 0600) and keys. Created 0700.
stateDir: ${s.stateDir ?? PACKAGED_PATHS.stateDir}
# Boot assets served over TFTP and HTTP /images: iPXE loaders (kickstand images sync),
# kernels, initrds, install trees, the air-gapped k3s bundle (kickstand images import).
imagesDir: ${s.imagesDir ?? PACKAGED_PATHS.imagesDir}
# Kickstart templates (*.ks.hbs, snippets/). To change them, copy this folder to
# /etc/kickstand/kickstarts and point kickstartsDir there (package upgrades replace this one).
kickstartsDir: ${s.kickstartsDir ?? PACKAGED_PATHS.kickstartsDir}
`;
}

const TAIL = `install:
  tokenTtl: 14400            # seconds a one-time kickstart token lives
  timeout: 7200              # armed/installing longer than this → failed

# Template variables for every host (lowest precedence: global < profile < host).
vars:
  timezone: UTC
  keyboard: us
  lang: en_US.UTF-8

# What hosts install. One entry per OS; paths are relative to imagesDir. Example (the kernel,
# initrd and install tree come from the distribution's DVD or boot ISO, see images/README.md):
profiles: {}
#  rocky9:
#    kernel: rocky9/vmlinuz
#    initrd: rocky9/initrd.img
#    installTree: http://ADDRESS:8080/images/rocky9/tree
#    kickstart: rocky9.ks.hbs
#    kernelArgs: console=tty0 console=ttyS0,115200n8
#    vars:
#      # sha-512 crypt of the root password: openssl passwd -6
#      root_password_hash: "$6$…"
`;

/** The config `kickstand init` writes for a probed segment. */
export function renderProductionConfig(s: ProductionSettings): string {
  const proxy = s.mode === 'proxy';
  const modeNote = proxy
    ? `# proxy: ${s.servers.join(', ')} already leases addresses on this segment (found by kickstand
# init's DHCP probe). Kickstand answers PXE clients with boot information only (ports 67 and
# 4011) and leaves the addresses to that server.`
    : `# authoritative: no other DHCP server answered kickstand init's probe on ${s.interface}. Kickstand
# leases from network.pool, and only to registered hosts (dhcp.unknownHosts: ignore).`;
  return `# Kickstand configuration for ${s.interface} (${s.address} on ${s.subnet}).
# ${s.generatedBy}
# Every key is described in docs/configuration.md; after editing: systemctl reload kickstand
# (network, dhcp, tftp, http and paths need systemctl restart kickstand).

${paths(s)}
http:
  # What the machines on the segment fetch: iPXE scripts, kickstarts, callbacks, /images.
  listen: 0.0.0.0:8080
  publicUrl: null            # default http://${s.address}:8080

api:
  # The operator API (bearer token in stateDir/api-token), off the machines' network. Off
  # loopback it needs TLS: api.tls.cert / api.tls.key (kickstand api cert makes a pair).
  listen: 127.0.0.1:8081

log:
  level: info                # fatal | error | warn | info | debug | trace

# The provisioning segment on ${s.interface}.
network:
  address: ${s.address}          # Kickstand's own address: DHCP server id, next-server, URLs
  subnet: ${s.subnet}
  pool:                      # ${proxy ? 'not used in proxy mode (the other server leases)' : 'leased to registered hosts without a static ipv4'}
    start: ${s.pool.start}
    end: ${s.pool.end}
  gateway: ${s.gateway ?? 'null'}${s.gateway ? '' : '              # none found through ' + s.interface + '; DHCP option 3'}
  dns: ${list(s.dns)}${s.dns.length ? '' : '                    # DHCP option 6, e.g. [' + s.address + ']'}
  domain: null
  leaseTime: 3600            # seconds

${modeNote}
dhcp:
  mode: ${s.mode}${' '.repeat(Math.max(1, 19 - s.mode.length))}# authoritative | proxy | off
  port: 67
  proxyPort: 4011
  bind: 0.0.0.0              # broadcasts only reach a socket bound to 0.0.0.0
  unknownHosts: ignore       # ignore | discover (lease, record as discovered, boot local disk)

tftp:
  enabled: true
  listen: [${s.address}]
  port: 69

${TAIL}`;
}

/**
 * The template the Debian package installs: valid, absolute paths, and idle until the segment
 * is set (kickstand init --interface IF replaces it while it is unchanged).
 */
export function packagedConfig(): string {
  return `# Kickstand configuration (installed by the kickstand package, not yet set up).
# Run: kickstand init --interface IF   — it probes the segment on IF and replaces this file
# while it is unchanged. Until then Kickstand serves nothing on the network: DHCP off, no
# TFTP, the API on loopback only. docs/configuration.md describes every key.

${paths({})}
http:
  listen: 127.0.0.1:8080     # 0.0.0.0:8080 once the segment is set
  publicUrl: null

log:
  level: info

# The provisioning segment: placeholders from 198.18.0.0/15 (RFC 2544, never routed).
network:
  address: 198.18.0.1
  subnet: 198.18.0.0/24
  pool:
    start: 198.18.0.100
    end: 198.18.0.199
  gateway: null
  dns: []
  domain: null
  leaseTime: 3600

dhcp:
  mode: off                  # authoritative | proxy | off
  port: 67
  proxyPort: 4011
  bind: 0.0.0.0
  unknownHosts: ignore

tftp:
  enabled: false
  port: 69

${TAIL}`;
}
