/**
 * The lab's log-based check (test/e2e/lab/checks.ts checkDhcpWarmUp) on sample daemon logs:
 * the check the lab runs against `serve` must fail when the warm-up did not happen.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDhcpWarmUp } from './lab/checks';

const line = (o: object): string => JSON.stringify({ level: 30, time: '2026-11-22T12:00:00.000Z', service: 'kickstand', ...o });

describe('lab check: DHCP warm-up', () => {
  it('passes on the warm-up line with exchanges', () => {
    const log = [line({ msg: 'kickstand starting' }), line({ component: 'dhcp', exchanges: 7998, ms: 1320, msg: 'dhcp warmed up over loopback before opening its sockets' })].join('\n');
    const c = checkDhcpWarmUp(log);
    assert.equal(c.ok, true, c.detail);
    assert.match(c.detail, /7998 exchanges/);
  });
  it('fails without the line, with zero exchanges, or on a line that is not JSON', () => {
    assert.equal(checkDhcpWarmUp(line({ msg: 'dhcp listening' })).ok, false);
    assert.equal(checkDhcpWarmUp(line({ exchanges: 0, msg: 'dhcp warmed up over loopback before opening its sockets' })).ok, false);
    assert.equal(checkDhcpWarmUp('INFO dhcp warmed up over loopback (pretty)').ok, false);
  });
});
