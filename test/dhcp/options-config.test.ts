/**
 * Configured DHCP options: the codec (RFC 3397 domain search, typed values), validation at
 * config load (errors name file, key and fix), and the layering host > profile > scope > global
 * through the real server and store (in-memory socket). Real clients: options-wire.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load';
import { LiveConfig } from '../../src/config/live';
import { networkSchema } from '../../src/config/sections/network';
import { MessageType as T, Opt } from '../../src/dhcp/constants';
import { decodeDomainSearch, encodeDomainSearch, encodeTypedValue, getText, getU16 } from '../../src/dhcp/options';
import { request, startHarness, type Harness } from './helpers/harness';

/** Offset of the options field (after the magic cookie, RFC 2131 §3). */
const OPTIONS_AT = 240;

const dir = mkdtempSync(join(tmpdir(), 'ks-dhcpopt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('option 119 codec (RFC 3397)', () => {
  it('encodes the RFC 3397 §2 example with compression, byte for byte', () => {
    // RFC 3397 §2: "eng.apple.com." and "marketing.apple.com." — the second ends in a pointer to offset 4.
    const v = encodeDomainSearch(['eng.apple.com', 'marketing.apple.com']);
    const expected = Buffer.concat([
      Buffer.from([3]),
      Buffer.from('eng'),
      Buffer.from([5]),
      Buffer.from('apple'),
      Buffer.from([3]),
      Buffer.from('com'),
      Buffer.from([0, 9]),
      Buffer.from('marketing'),
      Buffer.from([0xc0, 0x04]),
    ]);
    assert.equal(v.toString('hex'), expected.toString('hex'));
    assert.deepEqual(decodeDomainSearch(v), ['eng.apple.com', 'marketing.apple.com']);
  });

  it('round-trips a whole repeated name (a bare pointer), case-insensitive suffixes and a trailing dot', () => {
    const v = encodeDomainSearch(['lab.example.com.', 'Example.COM', 'other.org']);
    assert.deepEqual(decodeDomainSearch(v), ['lab.example.com', 'example.com', 'other.org']);
    assert.equal(v.length, 17 + 2 + 11, 'example.com is one pointer');
  });

  it('refuses malformed values: a forward pointer, a pointer loop, a label past the end', () => {
    assert.equal(decodeDomainSearch(Buffer.from([0xc0, 0x00])), undefined);
    assert.equal(decodeDomainSearch(Buffer.from([1, 0x61, 0xc0, 0x00])), undefined);
    assert.equal(decodeDomainSearch(Buffer.from([5, 0x61])), undefined);
  });

  it('splits a list longer than 255 bytes over several option 119 instances (RFC 3396 §7) that decode back', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `zone${i}.datacenter-${i}.example.net`);
    const v = encodeDomainSearch(names);
    assert.ok(v.length > 255);
    assert.deepEqual(decodeDomainSearch(v), names);
  });
});

describe('typed option values', () => {
  it('encodes every type in RFC 2132 §2 form', () => {
    const hex = (t: Parameters<typeof encodeTypedValue>[0], v: unknown) => encodeTypedValue(t, v).toString('hex');
    assert.equal(hex('ip', '198.18.0.5'), 'c6120005');
    assert.equal(hex('ips', ['198.18.0.5', '198.18.0.6']), 'c6120005c6120006');
    assert.equal(hex('u8', 200), 'c8');
    assert.equal(hex('u16', 1500), '05dc');
    assert.equal(hex('u32', 4294967295), 'ffffffff');
    assert.equal(hex('i32', -1), 'ffffffff');
    assert.equal(hex('bool', true), '01');
    assert.equal(hex('bool', false), '00');
    assert.equal(hex('string', 'ks'), '6b73');
    assert.equal(hex('hex', '01:a0:FF'), '01a0ff');
    assert.equal(hex('domains', ['a.b']), '0161016200');
  });
});

const BASE = `
network:
  address: 198.18.0.1
  subnet: 198.18.0.0/24
  pool: { start: 198.18.0.100, end: 198.18.0.199 }
`;

function load(name: string, extra: string) {
  const f = join(dir, name);
  writeFileSync(f, BASE + extra);
  return { file: f, run: () => loadConfig({ file: f, env: {} }) };
}

function problems(name: string, extra: string): { file: string; text: string } {
  const { file, run } = load(name, extra);
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return { file, text: e.message };
  }
  assert.fail('the config loaded');
}

describe('option sets at config load', () => {
  it('loads every level', () => {
    const { run } = load(
      'ok.yaml',
      `  options:
    ntp: [198.18.0.1]
    mtu: 9000
    domainSearch: [lab.example.com, example.com]
dhcp:
  options:
    hostname: fqdn
    custom:
      - { code: 224, type: string, value: global, name: site-tag }
  hostOptions:
    node1: { mtu: 1500, custom: [{ code: 225, type: hex, value: "01:02" }] }
profiles:
  p1:
    kernel: a/vmlinuz
    initrd: a/initrd.img
    installTree: a/tree
    kickstart: a.ks.hbs
    dhcpOptions: { ntp: [198.18.0.2] }
`,
    );
    const c = run();
    assert.deepEqual(c.network.options.ntp, ['198.18.0.1']);
    assert.equal(c.dhcp.options.hostname, 'fqdn');
    assert.equal(c.dhcp.hostOptions.node1?.mtu, 1500);
    assert.deepEqual(c.profiles.p1?.dhcpOptions.ntp, ['198.18.0.2']);
  });

  it('a reload that changes profile DHCP options says they need a restart', () => {
    const profile = (ntp: string) =>
      `profiles:\n  p1: { kernel: a/vmlinuz, initrd: a/initrd.img, installTree: a/tree, kickstart: a.ks.hbs, dhcpOptions: { ntp: [${ntp}] } }\n`;
    const live = new LiveConfig(load('r1.yaml', profile('198.18.0.2')).run());
    assert.deepEqual(live.reload(load('r2.yaml', profile('198.18.0.2')).run()), []);
    assert.deepEqual(live.reload(load('r3.yaml', profile('198.18.0.3')).run()), ['profiles.*.dhcpOptions']);
  });

  it('refuses reserved codes naming the file, the key and what to use instead', () => {
    const { file, text } = problems(
      'reserved.yaml',
      `dhcp:
  options:
    custom:
      - { code: 53, type: u8, value: 1 }
      - { code: 42, type: ips, value: [198.18.0.1] }
      - { code: 51, type: u32, value: 60 }
`,
    );
    assert.ok(text.includes(file), text);
    assert.match(text, /dhcp\.options\.custom\.0\.code: option 53 cannot be defined here: the DHCP message type/);
    assert.match(text, /dhcp\.options\.custom\.1\.code: option 42 .*set NTP servers with `ntp`/);
    assert.match(text, /dhcp\.options\.custom\.2\.code: option 51 .*leaseTime/);
    assert.match(text, /site-specific options use codes 224-254/);
  });

  it('refuses values that do not fit their type, at every level, with the key', () => {
    const { text } = problems(
      'values.yaml',
      `  options:
    mtu: 40
    custom: [{ code: 224, type: u8, value: 300 }]
dhcp:
  relayed:
    - subnet: 198.18.1.0/24
      pool: { start: 198.18.1.10, end: 198.18.1.20 }
      options: { ntp: [not-an-ip] }
  hostOptions:
    node1: { domainSearch: ["bad..name"] }
    Not_A_Host: { mtu: 1500 }
profiles:
  p1:
    kernel: a/vmlinuz
    initrd: a/initrd.img
    installTree: a/tree
    kickstart: a.ks.hbs
    dhcpOptions:
      custom:
        - { code: 230, type: ip, value: 198.18.0.300 }
        - { code: 230, type: hex, value: "zz" }
`,
    );
    assert.match(text, /network\.options\.mtu: the MTU is at least 68/);
    assert.match(text, /network\.options\.custom\.0\.value: a u8 value is an integer from 0 to 255/);
    assert.match(text, /dhcp\.relayed\.0\.options\.ntp\.0: not an IPv4 address/);
    assert.match(text, /dhcp\.hostOptions\.node1\.domainSearch\.0: not a DNS name/);
    assert.match(text, /dhcp\.hostOptions\.Not_A_Host: is not a host name/);
    assert.match(text, /profiles\.p1\.dhcpOptions\.custom\.0\.value: an ip value is one IPv4 address/);
    assert.match(text, /profiles\.p1\.dhcpOptions\.custom\.1\.value: a hex value/);
    assert.match(text, /profiles\.p1\.dhcpOptions\.custom\.1\.code: option 230 is already defined at custom\.0/);
  });
});

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('layering on the reply (host > profile > scope > global)', () => {
  const network = networkSchema.parse({
    address: '198.18.0.1',
    subnet: '198.18.0.0/24',
    pool: { start: '198.18.0.100', end: '198.18.0.109' },
    domain: 'lab.example',
    options: { mtu: 1400, custom: [{ code: 225, type: 'string', value: 'scope' }] },
  });
  const start = () =>
    startHarness({
      network,
      dhcp: {
        options: {
          mtu: 1300,
          ntp: ['198.18.0.9'],
          custom: [
            { code: 224, type: 'string', value: 'global' },
            { code: 225, type: 'string', value: 'global' },
          ],
        },
        hostOptions: { n2: { hostname: 'fqdn', custom: [{ code: 226, type: 'u8', value: 7 }] } },
      },
      profiles: {
        big: { dhcpOptions: { mtu: 9000, hostname: 'off', custom: [{ code: 226, type: 'u8', value: 1 }] } },
      },
    });
  const add = (name: string, mac: string, profile: string) =>
    h!.store.hosts.create({
      name,
      macs: [mac],
      profile,
      role: 'worker',
      ipv4: null,
      vars: {},
      netboot: false,
      state: 'registered',
    });
  const offer = async (mac: string, prl?: number[]) => {
    const [r] = await h!.ask(request({ type: T.DISCOVER, mac, options: prl ? [[55, prl]] : [] }));
    assert.ok(r, 'an OFFER');
    return r.packet.options;
  };

  it('an unregistered-profile host gets scope over global; an unknown client gets no host name', async () => {
    h = await start();
    await add('n0', '52:54:00:20:00:00', 'default');
    const o = await offer('52:54:00:20:00:00');
    assert.equal(getU16(o, Opt.INTERFACE_MTU), 1400, 'scope mtu over global');
    assert.equal(o.get(Opt.NTP_SERVERS)?.toString('hex'), 'c6120009', 'global ntp');
    assert.equal(getText(o, 224), 'global');
    assert.equal(getText(o, 225), 'scope');
    assert.equal(getText(o, Opt.HOSTNAME), 'n0', 'hostname: name by default');
  });

  it('profile over scope, host over profile, and the host-name policy per level', async () => {
    h = await start();
    await add('n1', '52:54:00:20:00:01', 'big');
    await add('n2', '52:54:00:20:00:02', 'big');
    const o1 = await offer('52:54:00:20:00:01');
    assert.equal(getU16(o1, Opt.INTERFACE_MTU), 9000, 'profile mtu over scope');
    assert.equal(o1.get(226)?.[0], 1, 'profile custom option');
    assert.equal(o1.has(Opt.HOSTNAME), false, 'profile hostname: off');
    const o2 = await offer('52:54:00:20:00:02');
    assert.equal(getU16(o2, Opt.INTERFACE_MTU), 9000);
    assert.equal(o2.get(226)?.[0], 7, 'host custom option over the profile one');
    assert.equal(getText(o2, Opt.HOSTNAME), 'n2.lab.example', 'host hostname: fqdn over the profile off');
  });

  it('requested options are always sent; unrequested ones only while they fit in 576 bytes', async () => {
    const long = (code: number) => ({ code, type: 'hex' as const, value: 'ab'.repeat(120) });
    h = await startHarness({
      network,
      dhcp: { options: { custom: [long(230), long(231), long(232)] } },
    });
    await add('n3', '52:54:00:20:00:03', 'default');
    const [plain] = await h.ask(request({ type: T.DISCOVER, mac: '52:54:00:20:00:03' }));
    assert.ok(plain);
    const sent = [230, 231, 232].filter((c) => plain.packet.options.has(c));
    assert.deepEqual(sent, [230, 231], 'two of three 122-byte options fit in the 307-byte options field');
    assert.equal(plain.bytes[OPTIONS_AT], Opt.MESSAGE_TYPE, 'unrequested options never spill: no option 52 first');
    assert.ok(plain.bytes.length <= 548);
    const [asked] = await h.ask(
      request({ type: T.DISCOVER, mac: '52:54:00:20:00:03', options: [[55, [1, 3, 230, 231, 232]]] }),
    );
    assert.ok(asked);
    const o = asked.packet.options;
    assert.ok(o.has(230) && o.has(231) && o.has(232), 'all three requested options are sent');
    assert.deepEqual(
      [...asked.bytes.subarray(OPTIONS_AT, OPTIONS_AT + 3)],
      [Opt.OVERLOAD, 1, 1],
      'spilled into the file field (RFC 2132 §9.3)',
    );
    assert.ok(asked.bytes.length <= 548);
  });
});
