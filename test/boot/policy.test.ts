import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firmwareFor, type BootClient } from '../../src/boot/firmware';
import {
  decideBoot,
  decideScript,
  type BootDecision,
  type BootPolicyConfig,
  type PolicyHost,
  type ScriptDecision,
  type ScriptHost,
} from '../../src/boot/policy';

const cfg: BootPolicyConfig = {
  loaders: {
    bios: 'undionly.kpxe',
    uefi: 'ipxe.efi',
    uefi32: 'ipxe-i386.efi',
    arm64: 'ipxe-arm64.efi',
    arm32: 'ipxe-arm32.efi',
  },
  nextServer: '198.18.0.1',
  publicUrl: 'http://198.18.0.1:8080',
  httpBootPath: '/images',
  unknownHosts: 'ignore',
};

function client(over: Partial<BootClient>): BootClient {
  const arch = over.arch;
  return {
    mac: '52:54:00:00:00:01',
    arch,
    firmware: firmwareFor(arch),
    pxe: true,
    httpBoot: false,
    ipxe: false,
    vendorClass: undefined,
    userClass: [],
    uuid: undefined,
    ...over,
  };
}
const armed: PolicyHost = { name: 'node1', netboot: true };
const notArmed: PolicyHost = { name: 'node2', netboot: false };
const loader = (file: string): BootDecision => ({ kind: 'loader', file, nextServer: '198.18.0.1' });

const CASES: {
  name: string;
  client: BootClient;
  host: PolicyHost | undefined;
  cfg?: Partial<BootPolicyConfig>;
  want: BootDecision | BootDecision['kind'];
}[] = [
  {
    name: 'BIOS PXE (arch 0), armed → undionly.kpxe',
    client: client({ arch: 0 }),
    host: armed,
    want: loader('undionly.kpxe'),
  },
  {
    name: 'old BIOS ROM without option 93, armed → undionly.kpxe',
    client: client({ arch: undefined }),
    host: armed,
    want: loader('undionly.kpxe'),
  },
  { name: 'UEFI x64 arch 7, armed → ipxe.efi', client: client({ arch: 7 }), host: armed, want: loader('ipxe.efi') },
  { name: 'UEFI x64 arch 9, armed → ipxe.efi', client: client({ arch: 9 }), host: armed, want: loader('ipxe.efi') },
  {
    name: 'UEFI IA32 arch 6, armed → ipxe-i386.efi',
    client: client({ arch: 6 }),
    host: armed,
    want: loader('ipxe-i386.efi'),
  },
  {
    name: 'UEFI x64 with snponly.efi configured',
    client: client({ arch: 7 }),
    host: armed,
    cfg: { loaders: { ...cfg.loaders, uefi: 'snponly.efi' } },
    want: loader('snponly.efi'),
  },
  {
    name: 'ARM64 UEFI arch 11, armed → ipxe-arm64.efi',
    client: client({ arch: 11 }),
    host: armed,
    want: loader('ipxe-arm64.efi'),
  },
  {
    name: 'iPXE running (user class), armed → boot.ipxe script (no chain loop)',
    client: client({ arch: 0, ipxe: true }),
    host: armed,
    want: { kind: 'script', url: 'http://198.18.0.1:8080/boot.ipxe' },
  },
  {
    name: 'iPXE running on UEFI, armed → boot.ipxe script',
    client: client({ arch: 7, ipxe: true }),
    host: armed,
    want: { kind: 'script', url: 'http://198.18.0.1:8080/boot.ipxe' },
  },
  {
    name: 'publicUrl with trailing slash',
    client: client({ ipxe: true }),
    host: armed,
    cfg: { publicUrl: 'http://198.18.0.1:8080/' },
    want: { kind: 'script', url: 'http://198.18.0.1:8080/boot.ipxe' },
  },
  {
    name: 'UEFI HTTP boot x64 (arch 16) → HTTP URL of ipxe.efi',
    client: client({ arch: 16, pxe: false, httpBoot: true }),
    host: armed,
    want: { kind: 'http-boot', url: 'http://198.18.0.1:8080/images/ipxe.efi' },
  },
  {
    name: 'UEFI HTTP boot ARM64 (arch 19) → HTTP URL of ipxe-arm64.efi',
    client: client({ arch: 19, pxe: false, httpBoot: true }),
    host: armed,
    want: { kind: 'http-boot', url: 'http://198.18.0.1:8080/images/ipxe-arm64.efi' },
  },
  {
    name: 'registered, not armed → local (one-shot netboot)',
    client: client({ arch: 7 }),
    host: notArmed,
    want: 'local',
  },
  {
    name: 'registered, not armed, iPXE running → per-host script URL (serves the local-boot script)',
    client: client({ arch: 7, ipxe: true }),
    host: notArmed,
    want: { kind: 'script', url: 'http://198.18.0.1:8080/boot.ipxe' },
  },
  { name: 'unknown MAC, unknownHosts=ignore → ignore', client: client({ arch: 7 }), host: undefined, want: 'ignore' },
  {
    name: 'unknown non-PXE client, unknownHosts=ignore → ignore',
    client: client({ pxe: false }),
    host: undefined,
    want: 'ignore',
  },
  {
    name: 'unknown MAC, unknownHosts=discover → loader (then the not-registered script)',
    client: client({ arch: 0 }),
    host: undefined,
    cfg: { unknownHosts: 'discover' },
    want: loader('undionly.kpxe'),
  },
  {
    name: 'unknown MAC in iPXE, discover → boot.ipxe (records discovery, boots local)',
    client: client({ ipxe: true }),
    host: undefined,
    cfg: { unknownHosts: 'discover' },
    want: { kind: 'script', url: 'http://198.18.0.1:8080/boot.ipxe' },
  },
  {
    name: 'armed host renewing from its OS (no PXE class) → local',
    client: client({ pxe: false }),
    host: armed,
    want: 'local',
  },
  { name: 'unknown architecture (arch 2, Itanium) → local', client: client({ arch: 2 }), host: armed, want: 'local' },
  // The Secure Boot chain (docs/firmware.md): hosts of a `loader: grub` profile get shim.
  ...(() => {
    const grub: Partial<BootPolicyConfig> = {
      grubLoaders: { uefi: 'shimx64.efi', arm64: 'shimaa64.efi' },
      grubProfiles: new Set(['sb']),
    };
    const sbHost: PolicyHost = { name: 'sb1', netboot: true, profile: 'sb' };
    return [
      {
        name: 'GRUB profile, UEFI x64 PXE (arch 7), armed → shimx64.efi',
        client: client({ arch: 7 }),
        host: sbHost,
        cfg: grub,
        want: loader('shimx64.efi'),
      },
      {
        name: 'GRUB profile, UEFI ARM64 PXE (arch 11), armed → shimaa64.efi',
        client: client({ arch: 11 }),
        host: sbHost,
        cfg: grub,
        want: loader('shimaa64.efi'),
      },
      {
        name: 'GRUB profile, BIOS (arch 0) → iPXE (no Secure Boot on BIOS)',
        client: client({ arch: 0 }),
        host: sbHost,
        cfg: grub,
        want: loader('undionly.kpxe'),
      },
      {
        name: 'GRUB profile, not armed → local (no loader at all)',
        client: client({ arch: 7 }),
        host: { ...sbHost, netboot: false },
        cfg: grub,
        want: 'local' as const,
      },
      {
        name: 'other profile on the same daemon, UEFI x64 → ipxe.efi',
        client: client({ arch: 7 }),
        host: { ...sbHost, profile: 'plain' },
        cfg: grub,
        want: loader('ipxe.efi'),
      },
      {
        name: 'unknown machine (discover), UEFI x64 → ipxe.efi (no profile to pick GRUB)',
        client: client({ arch: 7 }),
        host: undefined,
        cfg: { ...grub, unknownHosts: 'discover' as const },
        want: loader('ipxe.efi'),
      },
    ];
  })(),
];

describe('boot policy: decideBoot', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const got = decideBoot(c.client, c.host, { ...cfg, ...c.cfg });
      if (typeof c.want === 'string') assert.equal(got.kind, c.want);
      else assert.deepEqual(got, c.want);
    });
  }
});

const SCRIPT_CASES: {
  name: string;
  host: ScriptHost | undefined;
  fetchedAt?: number | null;
  unknownHosts?: 'ignore' | 'discover';
  want: ScriptDecision;
}[] = [
  {
    name: 'armed, live token not fetched → install',
    host: { state: 'armed', netboot: true },
    fetchedAt: null,
    want: { kind: 'install' },
  },
  {
    name: 'armed, no live token yet → install (the route issues one)',
    host: { state: 'armed', netboot: true },
    want: { kind: 'install' },
  },
  {
    name: 'armed, kickstart already fetched → local until re-armed (I05)',
    host: { state: 'armed', netboot: true },
    fetchedAt: 5,
    want: { kind: 'local', reason: 'its kickstart was already fetched (install ran; re-arm to reinstall)' },
  },
  {
    name: 'registered, netboot off → local',
    host: { state: 'registered', netboot: false },
    want: { kind: 'local', reason: 'state registered, netboot off' },
  },
  {
    name: 'installing (netboot still on) → local, never a second install script',
    host: { state: 'installing', netboot: true },
    fetchedAt: null,
    want: { kind: 'local', reason: 'state installing' },
  },
  {
    name: 'ready → local',
    host: { state: 'ready', netboot: false },
    want: { kind: 'local', reason: 'state ready, netboot off' },
  },
  {
    name: 'armed state but netboot off → local',
    host: { state: 'armed', netboot: false },
    want: { kind: 'local', reason: 'state armed, netboot off' },
  },
  {
    name: 'unknown MAC, unknownHosts=discover → not-registered script, recorded',
    host: undefined,
    unknownHosts: 'discover',
    want: { kind: 'discovered', record: true },
  },
  {
    name: 'unknown MAC, unknownHosts=ignore → not-registered script, not recorded',
    host: undefined,
    unknownHosts: 'ignore',
    want: { kind: 'discovered', record: false },
  },
];

describe('boot policy: decideScript (the iPXE script over HTTP)', () => {
  for (const c of SCRIPT_CASES) {
    it(c.name, () => {
      const token = c.fetchedAt === undefined ? undefined : { fetchedAt: c.fetchedAt };
      assert.deepEqual(decideScript(c.host, token, { unknownHosts: c.unknownHosts ?? 'discover' }), c.want);
    });
  }
});

describe('boot firmware: RFC 4578 arch → firmware', () => {
  const table: [number | undefined, string][] = [
    [0, 'bios'],
    [undefined, 'bios'],
    [6, 'uefi-ia32'],
    [7, 'uefi-x64'],
    [9, 'uefi-x64'],
    [10, 'uefi-arm32'],
    [11, 'uefi-arm64'],
    [16, 'uefi-x64'],
    [19, 'uefi-arm64'],
    [2, 'unknown'],
    [65535, 'unknown'],
  ];
  for (const [arch, fw] of table) it(`arch ${arch} → ${fw}`, () => assert.equal(firmwareFor(arch), fw));
});
