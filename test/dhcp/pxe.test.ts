import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decideBoot } from '../../src/boot/policy';
import { MessageType as T } from '../../src/dhcp/constants';
import { debugString, decodePacket, encodePacket, type DhcpPacket } from '../../src/dhcp/packet';
import { bootClientOf, userClasses } from '../../src/dhcp/pxe';
import { maxReplyLength } from '../../src/dhcp/reply';
import { replyDestination, type RouteContext } from '../../src/dhcp/reply-route';
import { decodeSubOptions, linkSelection, relayOrigin } from '../../src/dhcp/suboptions';
import { GOLDEN } from '../fixtures/dhcp/golden';
import { request } from './helpers/harness';

const pkt = (b: Buffer): DhcpPacket => {
  const r = decodePacket(b);
  assert.ok(r.ok);
  return r.packet;
};

describe('dhcp/pxe: BootClient facts', () => {
  it('UEFI PXE ROM DISCOVER (golden): arch 7, uefi-x64, pxe, UUID', () => {
    const c = bootClientOf(pkt(GOLDEN[0]!.bytes));
    assert.equal(c.arch, 7);
    assert.equal(c.firmware, 'uefi-x64');
    assert.equal(c.pxe, true);
    assert.equal(c.ipxe, false);
    assert.equal(c.uuid, 'a1a2a3a4b1b2c1c2d1d2010203040506');
  });
  it('iPXE REQUEST (golden): user class iPXE and option 175', () => {
    const c = bootClientOf(pkt(GOLDEN[1]!.bytes));
    assert.equal(c.ipxe, true);
    assert.deepEqual(c.userClass, ['iPXE']);
  });
  it('option 175 alone marks iPXE', () => {
    assert.equal(
      bootClientOf(pkt(request({ type: T.DISCOVER, mac: '52:54:00:00:00:01', options: [[175, [1, 1, 1]]] }))).ipxe,
      true,
    );
  });
  it('arch from the vendor class when option 93 is missing (udhcpc -V PXEClient:Arch:00007…)', () => {
    const c = bootClientOf(
      pkt(request({ type: T.DISCOVER, mac: '52:54:00:00:00:01', options: [[60, 'PXEClient:Arch:00007:UNDI:003016']] })),
    );
    assert.equal(c.arch, 7);
    assert.equal(c.firmware, 'uefi-x64');
  });
  it('no option 93 and no arch in option 60: BIOS (old ROMs)', () => {
    const c = bootClientOf(pkt(request({ type: T.DISCOVER, mac: '52:54:00:00:00:01', options: [[60, 'PXEClient']] })));
    assert.equal(c.arch, undefined);
    assert.equal(c.firmware, 'bios');
  });
  it('HTTPClient vendor class and HTTP-boot arch 16', () => {
    const c = bootClientOf(
      pkt(
        request({
          type: T.DISCOVER,
          mac: '52:54:00:00:00:01',
          options: [
            [60, 'HTTPClient:Arch:00016:UNDI:003001'],
            [93, [0, 16]],
          ],
        }),
      ),
    );
    assert.equal(c.httpBoot, true);
    assert.equal(c.pxe, false);
    assert.equal(c.firmware, 'uefi-x64');
  });
  it('option 93 of odd length is ignored; vendor class text is bounded and printable', () => {
    const c = bootClientOf(
      pkt(
        request({
          type: T.DISCOVER,
          mac: '52:54:00:00:00:01',
          options: [
            [93, [7]],
            [60, 'PXEClient\x00\x01' + 'x'.repeat(200)],
          ],
        }),
      ),
    );
    assert.equal(c.arch, undefined);
    assert.equal(c.vendorClass!.length, 64);
    assert.match(c.vendorClass!, /^[\x20-\x7e]+$/);
  });
  it('RFC 3004 user class list and bare strings', () => {
    assert.deepEqual(userClasses(Buffer.from('\x04iPXE\x03foo', 'latin1')), ['iPXE', 'foo']);
    assert.deepEqual(userClasses(Buffer.from('iPXE')), ['iPXE']);
    assert.deepEqual(userClasses(undefined), []);
  });
});

describe('dhcp/suboptions', () => {
  it('option 82 link selection; malformed sub-options read as undefined', () => {
    assert.equal(linkSelection(Buffer.from([1, 1, 9, 5, 4, 198, 18, 65, 0])), '198.18.65.0');
    assert.equal(linkSelection(Buffer.from([5, 9, 1])), undefined);
    assert.equal(decodeSubOptions(Buffer.from([1, 5, 0]), false), undefined);
    assert.deepEqual([...decodeSubOptions(Buffer.from([0, 6, 1, 8, 255, 9]), true)!], [[6, Buffer.from([8])]]);
  });

  it('relay origin for the timeline: giaddr, circuit id as text or hex, remote id; none unrelayed', () => {
    const opt82 = Buffer.from([1, 3, 0x72, 0x6c, 0x30, 2, 2, 0x00, 0xff]);
    assert.deepEqual(relayOrigin('198.18.81.1', opt82), { giaddr: '198.18.81.1', circuitId: 'rl0', remoteId: '00ff' });
    assert.deepEqual(relayOrigin('198.18.81.1', undefined), { giaddr: '198.18.81.1' });
    assert.deepEqual(relayOrigin('198.18.81.1', Buffer.from([1, 9, 1])), { giaddr: '198.18.81.1' });
    assert.equal(relayOrigin('0.0.0.0', opt82), undefined);
  });
});

describe('dhcp/reply-route: RFC 2131 §4.1 destination (D11)', () => {
  const ctx: RouteContext = {
    broadcast: '198.18.0.255',
    serverPort: 67,
    clientPort: 68,
    from: { address: '198.18.0.50', port: 68 },
    viaPxePort: false,
  };
  const req = (o: { giaddr?: string; ciaddr?: string; flags?: number }) =>
    pkt(request({ type: T.REQUEST, mac: '52:54:00:00:00:01', ...o }));
  const rep = (type: number) => pkt(request({ type, mac: '52:54:00:00:00:01' }));
  const cases: [string, DhcpPacket, DhcpPacket, RouteContext, { address: string; port: number }][] = [
    [
      'giaddr set → relay port 67',
      req({ giaddr: '198.18.64.1', ciaddr: '198.18.64.9' }),
      rep(T.ACK),
      ctx,
      { address: '198.18.64.1', port: 67 },
    ],
    [
      'giaddr set, NAK → relay port 67',
      req({ giaddr: '198.18.64.1' }),
      rep(T.NAK),
      ctx,
      { address: '198.18.64.1', port: 67 },
    ],
    [
      'NAK, no giaddr → broadcast even with ciaddr',
      req({ ciaddr: '198.18.0.9' }),
      rep(T.NAK),
      ctx,
      { address: '198.18.0.255', port: 68 },
    ],
    [
      'ciaddr set → unicast to ciaddr',
      req({ ciaddr: '198.18.0.9' }),
      rep(T.ACK),
      ctx,
      { address: '198.18.0.9', port: 68 },
    ],
    [
      'broadcast flag → subnet broadcast',
      req({ flags: 0x8000 }),
      rep(T.OFFER),
      ctx,
      { address: '198.18.0.255', port: 68 },
    ],
    [
      'flag clear, no ciaddr → subnet broadcast (no ARP injection in Node)',
      req({}),
      rep(T.OFFER),
      ctx,
      { address: '198.18.0.255', port: 68 },
    ],
    [
      'request on 4011 → back to the sender',
      req({ ciaddr: '198.18.0.9' }),
      rep(T.ACK),
      { ...ctx, viaPxePort: true, from: { address: '198.18.0.9', port: 4011 } },
      { address: '198.18.0.9', port: 4011 },
    ],
  ];
  for (const [name, q, r, c, want] of cases) it(name, () => assert.deepEqual(replyDestination(q, r, c), want));
});

describe('firmware captures from QEMU (test/fixtures/dhcp/captures/*.bin): facts and boot decision', () => {
  const dir = join(__dirname, '../fixtures/dhcp/captures');
  const cfg = {
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
    unknownHosts: 'discover' as const,
  };
  const armed = { name: 'n', netboot: true };
  const cases: [string, { arch: number | undefined; pxe: boolean; ipxe: boolean }, string][] = [
    ['ipxe-bios-discover.bin', { arch: 0, pxe: true, ipxe: true }, 'script'],
    ['ipxe-bios-request.bin', { arch: 0, pxe: true, ipxe: true }, 'script'],
    ['ipxe-uefi-discover.bin', { arch: 7, pxe: true, ipxe: true }, 'script'],
    ['ipxe-uefi-request.bin', { arch: 7, pxe: true, ipxe: true }, 'script'],
    ['ovmf-pxe-discover.bin', { arch: 7, pxe: true, ipxe: false }, 'loader:ipxe.efi'],
    ['ovmf-pxe-request.bin', { arch: 7, pxe: true, ipxe: false }, 'loader:ipxe.efi'],
    ['ipxe-userclass-discover.bin', { arch: 7, pxe: true, ipxe: true }, 'script'],
    ['ipxe-userclass-request.bin', { arch: 7, pxe: true, ipxe: true }, 'script'],
    ['udhcpc-installer-discover.bin', { arch: undefined, pxe: false, ipxe: false }, 'local'],
  ];
  for (const [file, facts, want] of cases) {
    it(`${file}: arch ${facts.arch}, pxe ${facts.pxe}, iPXE ${facts.ipxe} → ${want}; round-trips`, () => {
      const p = pkt(readFileSync(join(dir, file)));
      const c = bootClientOf(p);
      assert.deepEqual({ arch: c.arch, pxe: c.pxe, ipxe: c.ipxe }, facts);
      const d = decideBoot(c, armed, cfg);
      assert.equal(d.kind === 'loader' ? `loader:${d.file}` : d.kind, want);
      const e = encodePacket(p, 1500);
      assert.ok(e.ok);
      assert.equal(debugString(pkt(e.bytes)), debugString(p));
    });
  }
  it('OVMF REQUEST asks for 65280-byte messages; replies stay within one Ethernet MTU', () => {
    assert.equal(maxReplyLength(pkt(readFileSync(join(dir, 'ovmf-pxe-request.bin')))), 1472);
    assert.equal(maxReplyLength(pkt(readFileSync(join(dir, 'ovmf-pxe-discover.bin')))), 1472 - 28);
  });
});
