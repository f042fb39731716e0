/**
 * The lab's log-based check (test/e2e/lab/checks.ts checkDhcpWarmUp) on sample daemon logs:
 * the check the lab runs against `serve` must fail when the warm-up did not happen.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDhcpWarmUp, checkOneAddress } from './lab/checks';

const line = (o: object): string =>
  JSON.stringify({ level: 30, time: '2026-11-22T12:00:00.000Z', service: 'kickstand', ...o });

describe('lab check: DHCP warm-up', () => {
  it('passes on the warm-up line with exchanges', () => {
    const log = [
      line({ msg: 'kickstand starting' }),
      line({
        component: 'dhcp',
        exchanges: 7998,
        ms: 1320,
        msg: 'dhcp warmed up over loopback before opening its sockets',
      }),
    ].join('\n');
    const c = checkDhcpWarmUp(log);
    assert.equal(c.ok, true, c.detail);
    assert.match(c.detail, /7998 exchanges/);
  });
  it('fails without the line, with zero exchanges, or on a line that is not JSON', () => {
    assert.equal(checkDhcpWarmUp(line({ msg: 'dhcp listening' })).ok, false);
    assert.equal(
      checkDhcpWarmUp(line({ exchanges: 0, msg: 'dhcp warmed up over loopback before opening its sockets' })).ok,
      false,
    );
    assert.equal(checkDhcpWarmUp('INFO dhcp warmed up over loopback (pretty)').ok, false);
  });
});

describe('lab check: one address across PXE ROM → iPXE', () => {
  const def = {
    name: 'uefi',
    kind: 'uefi-pxe' as const,
    mac: '52:54:00:6b:73:02',
    registered: true,
    firmware: 'OVMF',
    chain: true,
  };
  const ev = (id: number, boot: string, ip: string) => ({
    id,
    ts: '',
    host: 'uefi',
    mac: def.mac,
    kind: 'dhcp.ack',
    level: 'info' as const,
    message: `leased ${ip}`,
    data: { ip, boot },
  });
  const rec = { def, bootStartIds: [1, 100], console: [] };
  const row = (ip: string, clientId: string | null) => ({ ip, mac: def.mac, clientId, state: 'bound' });
  const result = (events: ReturnType<typeof ev>[], leases: ReturnType<typeof row>[]) =>
    Object.fromEntries(checkOneAddress(rec, events, leases).map((c) => [c.step, c.ok]));

  it('passes when the firmware and iPXE got the same address and one lease row holds it', () => {
    assert.deepEqual(
      result(
        [ev(2, 'loader', '198.18.77.101'), ev(5, 'script', '198.18.77.101')],
        [row('198.18.77.101', '015254006b7302')],
      ),
      { 'ROM → iPXE DHCP': true, 'one address': true },
    );
  });
  it('fails on two addresses, two lease rows, or a boot without the iPXE exchange', () => {
    assert.equal(
      result(
        [ev(2, 'loader', '198.18.77.101'), ev(5, 'script', '198.18.77.102')],
        [row('198.18.77.101', null), row('198.18.77.102', '015254006b7302')],
      )['one address'],
      false,
    );
    assert.equal(
      result(
        [ev(2, 'loader', '198.18.77.101'), ev(5, 'script', '198.18.77.101')],
        [row('198.18.77.101', null), row('198.18.77.102', '015254006b7302')],
      )['one address'],
      false,
    );
    assert.equal(result([ev(2, 'loader', '198.18.77.101')], [row('198.18.77.101', null)])['ROM → iPXE DHCP'], false);
    assert.equal(
      result([ev(2, 'loader', '198.18.77.101'), ev(150, 'script', '198.18.77.101')], [row('198.18.77.101', null)])[
        'ROM → iPXE DHCP'
      ],
      false,
      'an exchange of the second boot does not count',
    );
  });
});
