/**
 * proxyDHCP beside a real dnsmasq on the same L2 segment (a bridge): the PXE client gets its
 * address from dnsmasq and its boot file from Kickstand (port 67 offer and port 4011 ACK);
 * a non-PXE client (udhcpc) is never answered by Kickstand.
 *
 *   lan ns: bridge ── dnsmasq ns 198.18.40.1 (addresses)
 *                 ├── kickstand ns 198.18.40.2 (proxy)
 *                 └── client ns (no address; PXE ROM emulation + tcpdump, then udhcpc)
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Opt } from '../../src/dhcp/constants';
import { getIp, getU8 } from '../../src/dhcp/options';
import { decodePacket, hardwareAddress, type DhcpPacket } from '../../src/dhcp/packet';
import { missing } from '../helpers/env';
import { Lab, uniqueTag, type Netns } from '../helpers/netns';
import { startDaemon } from './helpers/daemon';
import { readPcap } from './helpers/pcap';

const why = missing({ root: true, binaries: ['busybox', 'dnsmasq', 'tcpdump', 'ip'] });
const PXE_CLIENT = join(__dirname, 'fixtures/pxe-client.ts');
const TSX = require.resolve('tsx');

function waitFor(proc: ChildProcess, stream: 'stdout' | 'stderr', text: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${text}: ${buf}`)), ms);
    proc[stream]?.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes(text)) {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

describe('proxyDHCP beside dnsmasq', { skip: why }, () => {
  const lab = new Lab();
  after(async () => {
    await lab.cleanup();
  });

  it('PXE client: address from dnsmasq, boot file from Kickstand; non-PXE client never answered by Kickstand', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-dhcp-proxy-'));
    chmodSync(dir, 0o755);
    const tag = uniqueTag('kp');
    const lan = lab.addNamespace(`${tag}l`);
    const dns = lab.addNamespace(`${tag}d`);
    const ks = lab.addNamespace(`${tag}k`);
    const cli = lab.addNamespace(`${tag}c`);
    lan.exec('ip', ['link', 'add', 'br0', 'type', 'bridge']);
    lan.exec('ip', ['link', 'set', 'br0', 'up']);
    const plug = (ns: Netns, name: string, addr: string | null) => {
      lab.link(ns, `${tag}${name}0`, addr, lan, `${tag}${name}1`, null);
      lan.exec('ip', ['link', 'set', `${tag}${name}1`, 'master', 'br0']);
    };
    plug(dns, 'd', '198.18.40.1/24');
    plug(ks, 'k', '198.18.40.2/24');
    plug(cli, 'c', null);
    const ifc = `${tag}c0`;
    cli.exec('ip', ['route', 'add', 'default', 'dev', ifc]); // lets the emulator broadcast from 0.0.0.0

    const dnsmasq = lab.spawnIn(dns, 'dnsmasq', [
      '--conf-file=/dev/null',
      '--keep-in-foreground',
      '--log-facility=-',
      '--port=0',
      '-u',
      'nobody',
      `--interface=${tag}d0`,
      '--bind-interfaces',
      `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
      '--dhcp-range=198.18.40.100,198.18.40.150,255.255.255.0,10m',
      '--dhcp-option=3,198.18.40.1',
      '--no-ping',
    ]);
    await waitFor(dnsmasq, 'stderr', 'DHCP, IP range', 10_000);
    const daemon = await startDaemon(
      lab,
      ks,
      {
        dhcp: { mode: 'proxy', unknownHosts: 'discover' },
        network: {
          address: '198.18.40.2',
          subnet: '198.18.40.0/24',
          pool: { start: '198.18.40.200', end: '198.18.40.210' },
        },
      },
      dir,
    );
    const cap = join(dir, 'client.pcap');
    const tcpdump = lab.spawnIn(cli, 'tcpdump', [
      '-i',
      ifc,
      '-U',
      '-n',
      '-s',
      '0',
      '-w',
      cap,
      'udp port 67 or udp port 68 or udp port 4011',
    ]);
    await waitFor(tcpdump, 'stderr', 'listening on', 10_000);

    const pxeMac = '52:54:00:40:00:01';
    const xid = 0x4242;
    const emulate = (...args: string[]) =>
      cli.exec(process.execPath, ['--import', TSX, PXE_CLIENT, ...args], { timeoutMs: 20_000 });
    const captured = (): { src: string; p: DhcpPacket }[] =>
      readPcap(cap).flatMap((d) => {
        const r = decodePacket(d.payload);
        return r.ok && r.packet.op === 2 ? [{ src: d.src, p: r.packet }] : [];
      });

    emulate('discover', pxeMac, String(xid));
    const offersNow = () => captured().filter((x) => x.p.xid === xid && getU8(x.p.options, Opt.MESSAGE_TYPE) === 2);
    for (let i = 0; i < 100 && offersNow().length < 2; i += 1) await new Promise((r) => setTimeout(r, 100));
    const offers = offersNow();
    const fromDnsmasq = offers.find((x) => getIp(x.p.options, Opt.SERVER_ID) === '198.18.40.1');
    const fromKs = offers.find((x) => getIp(x.p.options, Opt.SERVER_ID) === '198.18.40.2');
    assert.ok(fromDnsmasq, 'dnsmasq offered an address');
    assert.ok(fromKs, `Kickstand sent a proxy offer; daemon: ${daemon.stderr()}`);
    assert.match(fromDnsmasq.p.yiaddr, /^198\.18\.40\.1\d\d$/);
    assert.equal(fromKs.p.yiaddr, '0.0.0.0', 'proxy offers no address');
    assert.equal(fromKs.p.file, 'undionly.kpxe');
    assert.equal(fromKs.p.siaddr, '198.18.40.2');
    assert.equal(fromKs.p.options.get(Opt.VENDOR_CLASS)?.toString(), 'PXEClient');
    assert.ok(fromKs.p.options.has(Opt.VENDOR_SPECIFIC), 'option 43');
    assert.equal(fromKs.p.options.get(97)?.length, 17, 'UUID echoed');

    const addr = fromDnsmasq.p.yiaddr;
    emulate('request', pxeMac, String(xid), addr, '198.18.40.1');
    const acked = () => captured().some((x) => x.p.xid === xid && getU8(x.p.options, Opt.MESSAGE_TYPE) === 5);
    for (let i = 0; i < 100 && !acked(); i += 1) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    const acks = captured().filter((x) => x.p.xid === xid && getU8(x.p.options, Opt.MESSAGE_TYPE) === 5);
    assert.ok(
      acks.some((x) => x.src === '198.18.40.1' && x.p.yiaddr === addr),
      'dnsmasq ACKed the address',
    );
    assert.ok(!acks.some((x) => x.src === '198.18.40.2'), 'Kickstand does not ACK a REQUEST meant for dnsmasq');

    cli.exec('ip', ['addr', 'add', `${addr}/24`, 'dev', ifc]);
    const out = emulate('bootserver', pxeMac, String(xid), addr, '198.18.40.2');
    const reply = JSON.parse(out.trim().split('\n')[0] ?? '{}') as { file?: string; yiaddr?: string; type?: number };
    assert.equal(reply.type, 5, 'ACK from the boot-server port 4011');
    assert.equal(reply.file, 'undionly.kpxe');
    assert.equal(reply.yiaddr, '0.0.0.0');
    cli.exec('ip', ['addr', 'del', `${addr}/24`, 'dev', ifc]);

    // A plain DHCP client on the same segment: dnsmasq serves it, Kickstand stays silent.
    const plainMac = '52:54:00:40:00:02';
    cli.exec('ip', ['link', 'set', ifc, 'address', plainMac]);
    const env = join(dir, 'udhcpc.env');
    const script = join(dir, 'udhcpc.sh');
    writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && env > ${env}\nexit 0\n`);
    chmodSync(script, 0o755);
    cli.exec('busybox', ['udhcpc', '-i', ifc, '-n', '-q', '-f', '-t', '5', '-T', '1', '-s', script], {
      timeoutMs: 20_000,
    });
    assert.ok(existsSync(env), 'udhcpc bound');
    assert.match(readFileSync(env, 'utf8'), /serverid=198\.18\.40\.1\n/);
    // tcpdump -U writes each packet as it comes, but a loaded machine may lag: poll (bounded).
    let toPlain = captured().filter((x) => hardwareAddress(x.p) === plainMac);
    for (let i = 0; i < 50 && toPlain.filter((x) => x.src === '198.18.40.1').length < 2; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      toPlain = captured().filter((x) => hardwareAddress(x.p) === plainMac);
    }
    await new Promise((r) => setTimeout(r, 1000)); // room for a (wrong) late reply from Kickstand
    toPlain = captured().filter((x) => hardwareAddress(x.p) === plainMac);
    assert.ok(toPlain.length >= 2, 'dnsmasq replies to the plain client were captured');
    assert.deepEqual(
      toPlain.filter((x) => x.src === '198.18.40.2'),
      [],
      'Kickstand never answers a non-PXE client',
    );
  });
});
