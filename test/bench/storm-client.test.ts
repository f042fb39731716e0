/**
 * The pure parts of the standalone boot-storm client (bench/storm-client.ts,
 * docs/install-flow.md "Boot storm benchmark"): its DHCP requests as Kickstand's own DHCP
 * reads them, its reading of the iPXE scripts Kickstand serves, and its report arithmetic.
 * No sockets: the client's network half runs in bench/bootstorm.sh --standalone only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainScript, discoveredScript, installScript, localBootScript } from '../../src/boot/ipxe';
import { MessageType, Opt } from '../../src/dhcp/constants';
import { decodePacket } from '../../src/dhcp/packet';
import { bootClientOf } from '../../src/dhcp/pxe';
import { kickstartUrl } from '../../src/render/context';
import {
  markdown,
  median,
  parseRunFile,
  percentile,
  type ClientRecord,
  type RunRecord,
} from '../../bench/storm/report';
import { dhcpRequest, type SimulatedNic } from '../../bench/storm/requests';
import { expandSettings, kickstartArg, planScript } from '../../bench/storm/script';

const BASE = 'http://198.18.40.1';
const MAC = '02:62:73:01:00:05';
const nic: SimulatedNic = { mac: Buffer.from([2, 0x62, 0x73, 1, 0, 5]), uuid: Buffer.alloc(16, 7) };
const vars = { mac: MAC, ip: '198.19.40.17', platform: 'pcbios' };

function decoded(b: Buffer) {
  const r = decodePacket(b);
  assert.ok(r.ok, 'the request decodes');
  return r.packet;
}

describe('bench/storm/requests: the simulated machine as Kickstand reads it', () => {
  it('the PXE ROM personality is a BIOS PXE client, not iPXE, without a client identifier', () => {
    const p = decoded(
      dhcpRequest({ nic, type: MessageType.DISCOVER, xid: 9, secs: 0, giaddr: '198.19.40.1', ipxe: false }),
    );
    const c = bootClientOf(p);
    assert.equal(c.firmware, 'bios');
    assert.equal(c.pxe, true);
    assert.equal(c.ipxe, false);
    assert.equal(c.mac, MAC);
    assert.equal(p.giaddr, '198.19.40.1');
    assert.equal(p.options.has(Opt.CLIENT_ID), false);
    assert.equal(p.options.get(Opt.MESSAGE_TYPE)?.[0], MessageType.DISCOVER);
  });

  it('the iPXE personality is iPXE (user class and 175) with client identifier 01:MAC', () => {
    const sid = Buffer.from([198, 18, 40, 1]);
    const p = decoded(
      dhcpRequest({
        nic,
        type: MessageType.REQUEST,
        xid: 10,
        secs: 1,
        giaddr: '198.19.40.1',
        ipxe: true,
        requested: { ip: '198.19.40.17', serverId: sid },
      }),
    );
    const c = bootClientOf(p);
    assert.equal(c.ipxe, true);
    assert.deepEqual(c.userClass, ['iPXE']);
    assert.deepEqual(p.options.get(Opt.CLIENT_ID), Buffer.concat([Buffer.from([1]), nic.mac]));
    assert.deepEqual(p.options.get(Opt.SERVER_ID), sid);
    assert.deepEqual(p.options.get(Opt.REQUESTED_IP), Buffer.from([198, 19, 40, 17]));
  });
});

describe('bench/storm/script: the next fetch of the scripts Kickstand serves', () => {
  it('/boot.ipxe chains to the per-host script by the hyphenated MAC', () => {
    assert.deepEqual(planScript(chainScript(BASE), `${BASE}/boot.ipxe`, vars), {
      kind: 'chain',
      url: `${BASE}/ipxe/02-62-73-01-00-05`,
    });
  });

  it("an armed host's script: kernel, initrd and the kickstart URL with its token", () => {
    const text = installScript({
      host: 'bs-01-0005',
      profile: 'storm',
      mac: MAC,
      kernelUrl: `${BASE}/images/vmlinuz`,
      initrdUrl: `${BASE}/images/initrd.img`,
      kickstartUrl: kickstartUrl(BASE, 'tok123'),
      installTree: `${BASE}/images/tree`,
      kernelArgs: 'console=ttyS0',
    });
    const plan = planScript(text, `${BASE}/ipxe/02-62-73-01-00-05`, vars);
    assert.equal(plan.kind, 'boot');
    assert.ok(plan.kind === 'boot');
    assert.equal(plan.kernel, `${BASE}/images/vmlinuz`);
    assert.deepEqual(plan.initrds, [`${BASE}/images/initrd.img`]);
    assert.equal(kickstartArg(plan.args), `${BASE}/ks/tok123`);
  });

  it('a local-boot or unknown-MAC script is "local", with the script\'s own words as the reason', () => {
    const local = planScript(localBootScript('bs-01-0005', 'state installed'), `${BASE}/ipxe/x`, vars);
    assert.deepEqual(local, {
      kind: 'local',
      reason: 'Kickstand: bs-01-0005: state installed, booting the local disk',
    });
    assert.equal(planScript(discoveredScript(MAC), `${BASE}/ipxe/x`, vars).kind, 'local');
  });

  it('a body that is not an iPXE script is invalid; settings expand like iPXE', () => {
    assert.equal(planScript('<html>\nkernel /vmlinuz\nboot\n', `${BASE}/x`, vars).kind, 'invalid');
    assert.equal(expandSettings('${netX/mac:hexraw}/${net0/ip}/${nope}', vars), '026273010005/198.19.40.17/');
  });
});

describe('bench/storm/report: percentiles and tables', () => {
  it('nearest-rank percentiles and medians', () => {
    const v = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    assert.equal(percentile(v, 50), 5);
    assert.equal(percentile(v, 95), 10);
    assert.equal(percentile([], 50), undefined);
    assert.equal(median([4, undefined, 1, 3, 2]), 2.5);
  });

  it('one row per N, the median over runs, failures listed with their reason', () => {
    const client = (i: number, ok: boolean, kernel: number): ClientRecord => ({
      kind: 'client',
      i,
      mac: `02:62:73:01:00:0${i}`,
      ok,
      ...(ok ? { bootMs: 1000 + i } : { failedStep: 'tftp' as const, error: 'TFTP error 0: server busy' }),
      steps: ok
        ? { dhcp_rom: 5, tftp: 50, dhcp_ipxe: 4, script: 3, kernel, initrd: 100, kickstart: 2 }
        : { dhcp_rom: 5 },
      endMs: 1000,
      dhcpRetransmits: 0,
      dhcpNaks: 0,
      tftpRetransmits: ok ? 0 : 6,
    });
    const run = (r: string, allDoneS: number, failed: number): RunRecord => ({
      kind: 'run',
      label: 'kickstand',
      n: 2,
      run: r,
      allDoneS,
      failed,
      strayDhcp: 0,
      clientCpuS: 0.5,
      startedAt: '00:10:00',
    });
    const file = (lines: object[]) => lines.map((l) => JSON.stringify(l)).join('\n');
    const a = parseRunFile(file([client(0, true, 10), client(1, true, 30), run('1', 1.0, 0)]));
    const b = parseRunFile(file([client(0, true, 20), client(1, false, 0), run('2', 3.0, 1)]));
    assert.ok(a && b);
    assert.equal(parseRunFile(file([client(0, true, 10)])), undefined, 'no run line: not finished');
    const md = markdown([a, b]);
    assert.match(md, /\| kickstand \| 2 \| 2 \| 2\.00 \(1\.00-3\.00\) \| 1\.00 \/ 1\.00 \| 0,1 \| 0\.50 \|/);
    // kernel: run 1 p50 10 / p95 30, run 2 20 / 20 -> medians 15.0 / 25.0
    assert.match(md, /\| 15\.0 \/ 25\.0 \|/);
    assert.match(md, /\| kickstand \| 2 \| 2 \| 02:62:73:01:00:01 \| tftp \| TFTP error 0: server busy \|/);
  });
});
