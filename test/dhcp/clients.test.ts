/**
 * Real DHCP clients (busybox udhcpc, ISC dhclient) against the daemon in network namespaces
 * (198.18.0.0/15 only). The daemon is the real server with the SQLite store on a file.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite';
import { missing } from '../helpers/env';
import { Lab, uniqueTag, type Netns } from '../helpers/netns';
import { startDaemon, type Daemon } from './helpers/daemon';

const NEED = { root: true, binaries: ['busybox', 'dhclient', 'ip'] };
const why = missing(NEED);

const MACS = {
  udhcpc: '52:54:00:10:00:01',
  pxeUefi: '52:54:00:10:00:02',
  pxeBios: '52:54:00:10:00:03',
  ipxe: '52:54:00:10:00:04',
  dhclient: '52:54:00:10:00:05',
  notArmed: '52:54:00:10:00:06',
};

describe('real clients against the daemon (authoritative)', { skip: why }, () => {
  const lab = new Lab();
  const dir = mkdtempSync(join(tmpdir(), 'ks-dhcp-cli-'));
  let srv: Netns;
  let cli: Netns;
  let ifc: string;
  let daemon: Daemon;

  before(async () => {
    const tag = uniqueTag('kd');
    srv = lab.addNamespace(`${tag}s`);
    cli = lab.addNamespace(`${tag}c`);
    ifc = `${tag}c0`;
    lab.link(srv, `${tag}s0`, '198.18.10.1/24', cli, ifc, null);
    // Hosts registered before the daemon starts (it reads the registry per request anyway).
    const store = openSqliteStore(join(dir, 'kickstand.db'));
    const host = (name: string, mac: string, netboot = true) =>
      store.hosts.create({
        name,
        macs: [mac],
        profile: 'default',
        role: 'worker',
        ipv4: null,
        vars: {},
        netboot,
        state: netboot ? 'armed' : 'registered',
      });
    await host('udhcpc', MACS.udhcpc);
    await host('pxe-uefi', MACS.pxeUefi);
    await host('pxe-bios', MACS.pxeBios);
    await host('ipxe', MACS.ipxe);
    await host('dhclient', MACS.dhclient);
    await host('resting', MACS.notArmed, false);
    await host('reserved', '52:54:00:10:00:07');
    await store.close();
    daemon = await startDaemon(
      lab,
      srv,
      {
        dhcp: { mode: 'authoritative' },
        network: {
          address: '198.18.10.1',
          subnet: '198.18.10.0/24',
          pool: { start: '198.18.10.100', end: '198.18.10.150' },
          gateway: '198.18.10.1',
          dns: ['198.18.10.1'],
          domain: 'lab.test',
          leaseTime: 600,
        },
      },
      dir,
    );
  });
  after(async () => {
    await lab.cleanup();
  });

  /** Runs udhcpc once with MAC `mac`; returns the env its script saw on `bound`. */
  function udhcpc(mac: string, extra: string[]): Record<string, string> {
    cli.exec('ip', ['link', 'set', ifc, 'address', mac]);
    const out = join(dir, `udhcpc-${mac.replace(/:/g, '')}.env`);
    const script = join(dir, `udhcpc-${mac.replace(/:/g, '')}.sh`);
    writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && env > ${out}\nexit 0\n`);
    chmodSync(script, 0o755);
    cli.exec('busybox', ['udhcpc', '-i', ifc, '-n', '-q', '-f', '-t', '5', '-T', '1', '-s', script, ...extra], {
      timeoutMs: 20_000,
    });
    assert.ok(existsSync(out), `udhcpc did not bind; daemon stderr: ${daemon.stderr()}`);
    return Object.fromEntries(
      readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  }

  it('udhcpc binds a pool address with router, mask, DNS, domain and lease time; the lease is in the store', async () => {
    const env = udhcpc(MACS.udhcpc, ['-O', 'domain']);
    assert.match(env.ip!, /^198\.18\.10\.(1[0-4]\d|150)$/);
    assert.equal(env.router, '198.18.10.1');
    assert.equal(env.subnet, '255.255.255.0');
    assert.equal(env.dns?.trim(), '198.18.10.1');
    assert.equal(env.domain, 'lab.test');
    assert.equal(env.lease, '600');
    assert.equal(env.serverid, '198.18.10.1');
    const store = openSqliteStore(daemon.db);
    try {
      const l = await store.leases.get(env.ip!);
      assert.equal(l?.state, 'bound');
      assert.equal(l?.mac, MACS.udhcpc);
      const ev = await store.events.list({ host: 'udhcpc' });
      assert.ok(
        ev.some((e) => e.kind === 'dhcp.ack'),
        'dhcp.ack on the host timeline',
      );
    } finally {
      await store.close();
    }
  });

  it('PXE vendor class with arch 7 (udhcpc -V PXEClient:Arch:00007… + option 93) gets the UEFI loader', () => {
    const env = udhcpc(MACS.pxeUefi, [
      '-V',
      'PXEClient:Arch:00007:UNDI:003016',
      '-x',
      '0x5d:0007',
      '-O',
      '66',
      '-O',
      '67',
    ]);
    assert.equal(env.boot_file, 'ipxe.efi');
    assert.equal(env.siaddr, '198.18.10.1');
  });

  it('PXE BIOS arch 0 gets undionly.kpxe', () => {
    const env = udhcpc(MACS.pxeBios, ['-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000']);
    assert.equal(env.boot_file, 'undionly.kpxe');
  });

  it('user class iPXE gets the boot.ipxe script URL (no chain loop)', () => {
    const env = udhcpc(MACS.ipxe, ['-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x4d:69505845']);
    assert.equal(env.boot_file, 'http://198.18.0.1:8080/boot.ipxe');
  });

  it('a registered host that is not armed gets an address and no boot file', () => {
    const env = udhcpc(MACS.notArmed, ['-V', 'PXEClient:Arch:00007:UNDI:003016']);
    assert.match(env.ip!, /^198\.18\.10\./);
    assert.equal(env.boot_file, undefined);
  });

  it('dhclient binds and records the PXE boot options in its lease', () => {
    cli.exec('ip', ['link', 'set', ifc, 'address', MACS.dhclient]);
    const conf = join(dir, 'dhclient.conf');
    writeFileSync(
      conf,
      'send vendor-class-identifier "PXEClient:Arch:00000:UNDI:002001";\n' +
        'request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, host-name, tftp-server-name, bootfile-name;\n',
    );
    const leases = join(dir, 'dhclient.leases');
    try {
      cli.exec(
        'dhclient',
        ['-4', '-1', '-v', '-cf', conf, '-lf', leases, '-pf', join(dir, 'dhclient.pid'), '-sf', '/bin/true', ifc],
        { timeoutMs: 30_000 },
      );
    } finally {
      // -1 without -d leaves a daemonised dhclient; stop it by the PID it wrote.
      try {
        const pid = Number(readFileSync(join(dir, 'dhclient.pid'), 'utf8'));
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch {
        /* not running */
      }
    }
    const lease = readFileSync(leases, 'utf8');
    assert.match(lease, /fixed-address 198\.18\.10\.\d+;/);
    assert.match(lease, /filename "undionly\.kpxe";/);
    assert.match(lease, /option routers 198\.18\.10\.1;/);
    assert.match(lease, /option dhcp-server-identifier 198\.18\.10\.1;/);
    assert.match(lease, /option host-name "dhclient";/);
  });

  it('survives garbage datagrams sent over the wire and still serves the next client (G3 liveness)', () => {
    cli.exec('ip', ['addr', 'add', '198.18.10.250/24', 'dev', ifc]);
    try {
      const js =
        "const s=require('dgram').createSocket('udp4');let n=0;const bad=[Buffer.alloc(0),Buffer.alloc(300,255),Buffer.concat([Buffer.from([1,1,6,0]),Buffer.alloc(232),Buffer.from([99,130,83,99,53,200,1])])];" +
        "s.bind(0,()=>{for(const b of bad)s.send(b,67,'198.18.10.1',()=>{if(++n===bad.length)s.close()})})";
      cli.exec(process.execPath, ['-e', js]);
    } finally {
      cli.exec('ip', ['addr', 'del', '198.18.10.250/24', 'dev', ifc]);
    }
    const env = udhcpc(MACS.udhcpc, []);
    assert.match(env.ip!, /^198\.18\.10\./);
    assert.equal(daemon.proc.exitCode, null, 'daemon still running');
  });
});
