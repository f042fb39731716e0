/**
 * The firmware lab's checks (test/e2e/lab/firmware-checks.ts) on recorded consoles and
 * timelines: each must fail when its path is broken — Secure Boot off, a file of the signed
 * chain not fetched from Kickstand, the unsigned loader not refused, or the arm64 machine
 * running anything but the arm64 chain, kernel and stand-in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HostEvent } from '../../src/model/event';
import type { MachineRecord } from './lab/checks';
import { checkFirmware } from './lab/firmware-checks';
import { FIRMWARE_MACHINES } from './lab/machines';

const sb = FIRMWARE_MACHINES.find((m) => m.name === 'sb')!;
const sbipxe = FIRMWARE_MACHINES.find((m) => m.name === 'sbipxe')!;
const http = FIRMWARE_MACHINES.find((m) => m.name === 'http')!;
const arm = FIRMWARE_MACHINES.find((m) => m.name === 'arm')!;
const CHAIN = [
  'shimx64.efi',
  'grubx64.efi',
  '/grub/grub.cfg',
  '/grub/grub.cfg-01-52:54:00:6b:76:01',
  '/lab/vmlinuz',
  '/lab/initrd.img',
];

const tftp = (paths: string[], mac: string): HostEvent[] =>
  paths.map((path, i) => ({
    id: i + 1,
    ts: '2026-12-07T12:00:00.000Z',
    host: null,
    mac,
    kind: 'tftp.done',
    level: 'info',
    message: 'transfer complete',
    data: { path },
  }));

const record = (def: MachineRecord['def'], lines: string[]): MachineRecord => ({
  def,
  bootStartIds: [1, 100],
  console: [`----- ${def.name}: power on (boot 1) -----`, ...lines, `----- ${def.name}: power on (boot 2) -----`],
});

const result = (r: MachineRecord, ev: HostEvent[], step: string) => checkFirmware(r, ev).find((c) => c.step === step)!;

describe('firmware lab checks', () => {
  const on = ['EFI stub: UEFI Secure Boot is enabled.', '[    0.000000] secureboot: Secure boot enabled'];
  it('Secure Boot on: passes on the kernel line, fails without it', () => {
    assert.equal(result(record(sb, on), tftp(CHAIN, sb.mac), 'Secure Boot on').ok, true);
    const off = record(sb, ['[    0.000000] secureboot: Secure boot disabled']);
    assert.equal(result(off, tftp(CHAIN, sb.mac), 'Secure Boot on').ok, false);
  });
  it('signed chain: every file from Kickstand in the install boot, else it names what is missing', () => {
    assert.equal(result(record(sb, on), tftp(CHAIN, sb.mac), 'signed chain').ok, true);
    const noHost = result(
      record(sb, on),
      tftp(
        CHAIN.filter((p) => !p.includes('cfg-01')),
        sb.mac,
      ),
      'signed chain',
    );
    assert.equal(noHost.ok, false);
    assert.match(noHost.detail, /GRUB host config/);
    const ipxeOnly = result(record(sb, on), tftp(['ipxe.efi'], sb.mac), 'signed chain');
    assert.equal(ipxeOnly.ok, false);
  });
  it('unsigned refused: Access Denied after ipxe.efi; fails when iPXE ran or nothing was refused', () => {
    const nbp = '  NBP filename is ipxe.efi';
    const denied = 'BdsDxe: failed to load Boot0001 "UEFI PXEv4 (MAC:5254006B7602)" from PciRoot(0x0): Access Denied';
    assert.equal(result(record(sbipxe, [nbp, denied]), [], 'unsigned refused').ok, true);
    assert.equal(
      result(record(sbipxe, [nbp, 'iPXE initialising devices...ok', denied]), [], 'unsigned refused').ok,
      false,
    );
    assert.equal(result(record(sbipxe, [nbp]), [], 'unsigned refused').ok, false);
  });
  it('arm64: shimaa64 from AAVMF, the arm64 kernel banner and the stand-in on aarch64; else it fails', () => {
    const chain = [
      'shimaa64.efi',
      'grubaa64.efi',
      '/grub/grub.cfg',
      '/grub/grub.cfg-01-52:54:00:6b:76:04',
      '/lab/arm64/vmlinuz',
      '/lab/arm64/initrd.img',
    ];
    const nbp = '  NBP filename is shimaa64.efi';
    const banner =
      '[    0.000000] Linux version 6.1.0-57-arm64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP Debian';
    const standin = 'standin: started, kernel 6.1.0-57-arm64 aarch64';
    assert.equal(result(record(arm, [nbp, banner, standin]), tftp(chain, arm.mac), 'arm64').ok, true);
    assert.equal(result(record(arm, [nbp, banner, standin]), tftp(chain, arm.mac), 'signed chain').ok, true);
    // an amd64 kernel or stand-in, or the x64 loader, is not the arm64 path
    const amd = [nbp, banner.replace('-arm64', '-amd64'), standin.replace('-arm64 aarch64', '-amd64 x86_64')];
    assert.equal(result(record(arm, amd), tftp(chain, arm.mac), 'arm64').ok, false);
    assert.equal(result(record(arm, [nbp, banner]), tftp(chain, arm.mac), 'arm64').ok, false);
    const x64 = ['  NBP filename is shimx64.efi', banner, standin];
    assert.equal(result(record(arm, x64), tftp(chain, arm.mac), 'arm64').ok, false);
    assert.equal(result(record(arm, [nbp, banner, standin]), tftp(CHAIN, arm.mac), 'signed chain').ok, false);
  });
  it('HTTP boot: http-boot answer, ipxe.efi over HTTP, no TFTP, no PXE; each broken path fails', () => {
    const ev = (over: Partial<HostEvent>[]): HostEvent[] =>
      over.map((o, i) => ({
        id: i + 1,
        ts: '2026-12-07T12:00:00.000Z',
        host: 'http',
        mac: http.mac,
        kind: 'dhcp.ack',
        level: 'info',
        message: 'x',
        data: {},
        ...o,
      }));
    const good = ev([
      { kind: 'dhcp.ack', data: { boot: 'http-boot' } },
      { kind: 'http.asset', data: { path: 'ipxe.efi' } },
    ]);
    const lines = ['>>Start HTTP Boot over IPv4....', '  URI: http://198.18.80.1:8080/images/ipxe.efi'];
    assert.equal(result(record(http, lines), good, 'HTTP boot').ok, true);
    const viaTftp = [...good, ...ev([{ id: 9, kind: 'tftp.done', data: { path: 'ipxe.efi' } }])];
    assert.equal(result(record(http, lines), viaTftp, 'HTTP boot').ok, false);
    assert.equal(result(record(http, ['>>Start PXE over IPv4.', ...lines]), good, 'HTTP boot').ok, false);
    assert.equal(result(record(http, lines), good.slice(1), 'HTTP boot').ok, false);
  });
});
