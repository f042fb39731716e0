/**
 * Configured DHCP options on the wire: `kickstand serve` in a network namespace (198.18.0.0/15
 * only), read back by the real clients busybox udhcpc and ISC dhclient. Layering:
 * host (dhcp.hostOptions) > profile > scope (network.options) > global (dhcp.options).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite';
import { missing } from '../helpers/env';
import { Lab, uniqueTag, type Netns } from '../helpers/netns';
import { startDaemon, type Daemon } from './helpers/daemon';

const why = missing({ root: true, binaries: ['busybox', 'dhclient', 'ip'] });

const UDHCPC_MAC = '52:54:00:30:00:01';
const DHCLIENT_MAC = '52:54:00:30:00:02';

describe('configured DHCP options read by real clients', { skip: why }, () => {
  const lab = new Lab();
  const dir = mkdtempSync(join(tmpdir(), 'ks-dhcp-opts-'));
  let srv: Netns;
  let cli: Netns;
  let ifc: string;
  let daemon: Daemon;

  before(async () => {
    const tag = uniqueTag('kd1');
    srv = lab.addNamespace(`${tag}s`);
    cli = lab.addNamespace(`${tag}c`);
    ifc = `${tag}c0`;
    lab.link(srv, `${tag}s0`, '198.18.12.1/24', cli, ifc, null);
    const store = openSqliteStore(join(dir, 'kickstand.db'));
    for (const [name, mac, profile] of [
      ['opt-udhcpc', UDHCPC_MAC, 'jumbo'],
      ['opt-dhclient', DHCLIENT_MAC, 'default'],
    ] as const)
      await store.hosts.create({
        name,
        macs: [mac],
        profile,
        role: 'worker',
        ipv4: null,
        vars: {},
        netboot: false,
        state: 'registered',
      });
    await store.close();
    daemon = await startDaemon(
      lab,
      srv,
      {
        dhcp: {
          mode: 'authoritative',
          options: {
            ntp: ['198.18.12.9'],
            mtu: 1400,
            custom: [
              { code: 224, type: 'string', value: 'global-tag' },
              { code: 225, type: 'u32', value: 3000000000 },
            ],
          },
          hostOptions: {
            'opt-dhclient': { hostname: 'fqdn', custom: [{ code: 224, type: 'string', value: 'host-tag' }] },
          },
        },
        network: {
          address: '198.18.12.1',
          subnet: '198.18.12.0/24',
          pool: { start: '198.18.12.100', end: '198.18.12.150' },
          gateway: '198.18.12.1',
          domain: 'lab.example.com',
          leaseTime: 600,
          options: { domainSearch: ['lab.example.com', 'example.com', 'dc1.example.com'], ntp: ['198.18.12.2'] },
        },
        profiles: {
          jumbo: {
            kernel: 'x/vmlinuz',
            initrd: 'x/initrd.img',
            installTree: 'x/tree',
            kickstart: 'rocky9.ks.hbs',
            dhcpOptions: { mtu: 9000 },
          },
        },
      },
      dir,
    );
  });
  after(async () => {
    await lab.cleanup();
  });

  it('udhcpc: NTP from the scope over global, MTU from the profile, search list (compressed), host name, custom options', () => {
    cli.exec('ip', ['link', 'set', ifc, 'address', UDHCPC_MAC]);
    const out = join(dir, 'udhcpc.env');
    const script = join(dir, 'udhcpc.sh');
    writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && env > ${out}\nexit 0\n`);
    chmodSync(script, 0o755);
    const ask = ['ntpsrv', 'mtu', 'search', 'hostname', '224', '225'].flatMap((o) => ['-O', o]);
    cli.exec('busybox', ['udhcpc', '-i', ifc, '-n', '-q', '-f', '-t', '5', '-T', '1', '-s', script, ...ask], {
      timeoutMs: 20_000,
    });
    assert.ok(existsSync(out), `udhcpc did not bind; daemon stderr: ${daemon.stderr()}`);
    const env = Object.fromEntries(
      readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    assert.equal(env.ntpsrv?.trim(), '198.18.12.2', 'scope ntp over global');
    assert.equal(env.mtu, '9000', 'profile mtu over global');
    assert.equal(env.search?.trim(), 'lab.example.com example.com dc1.example.com');
    assert.equal(env.hostname, 'opt-udhcpc');
    assert.equal(env.opt224, Buffer.from('global-tag').toString('hex'));
    assert.equal(env.opt225, 'b2d05e00');
  });

  it('dhclient: the host level wins (custom option, fqdn host name); global MTU; every option in its lease', () => {
    cli.exec('ip', ['link', 'set', ifc, 'address', DHCLIENT_MAC]);
    const conf = join(dir, 'dhclient.conf');
    writeFileSync(
      conf,
      'option ks-tag code 224 = text;\noption ks-number code 225 = unsigned integer 32;\n' +
        'request subnet-mask, routers, domain-name, host-name, ntp-servers, interface-mtu, domain-search, ks-tag, ks-number;\n',
    );
    const leases = join(dir, 'dhclient.leases');
    try {
      cli.exec(
        'dhclient',
        ['-4', '-1', '-v', '-cf', conf, '-lf', leases, '-pf', join(dir, 'dhclient.pid'), '-sf', '/bin/true', ifc],
        { timeoutMs: 30_000 },
      );
    } finally {
      try {
        const pid = Number(readFileSync(join(dir, 'dhclient.pid'), 'utf8'));
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch {
        /* not running */
      }
    }
    const lease = readFileSync(leases, 'utf8');
    assert.match(lease, /option ntp-servers 198\.18\.12\.2;/);
    assert.match(lease, /option interface-mtu 1400;/);
    assert.match(lease, /option domain-search "lab\.example\.com\.", "example\.com\.", "dc1\.example\.com\.";/);
    assert.match(lease, /option host-name "opt-dhclient\.lab\.example\.com";/);
    assert.match(lease, /option ks-tag "host-tag";/);
    assert.match(lease, /option ks-number 3000000000;/);
  });
});
