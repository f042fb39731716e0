import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalMac, parseMac } from '../../src/model/mac';
import { validateHostName, validateVars } from '../../src/model/host';
import { canTransition, checkTransition, TRANSITIONS } from '../../src/model/host-state';
import { HOST_STATES } from '../../src/model/host';
import { intToIp, ipToInt, parseCidr, inSubnet } from '../../src/model/ipv4';
import { DiscoveredMacs } from '../../src/model/discovered-macs';

describe('MAC addresses', () => {
  const cases: Array<[string, string | undefined]> = [
    ['52:54:00:aa:bb:01', '52:54:00:aa:bb:01'],
    ['52-54-00-AA-BB-01', '52:54:00:aa:bb:01'],
    ['5254.00aa.bb01', '52:54:00:aa:bb:01'],
    [' 52:54:00:AA:bb:01 ', '52:54:00:aa:bb:01'],
    ['52:54:00:aa:bb', undefined],
    ['52:54:00:aa:bb:01:02', undefined],
    ['52:54-00:aa:bb:01', undefined],
    ['zz:54:00:aa:bb:01', undefined],
    ['525400aabb01', undefined],
    ['', undefined],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} → ${want ?? 'refused'}`, () => assert.equal(parseMac(input), want));
  }
  it('names the field and the fix when refusing', () => {
    assert.throws(() => canonicalMac('nope', 'macs[1]'), {
      code: 'KS_INVALID_MAC',
      field: 'macs[1]',
      fix: /aa:bb:cc:dd:ee:ff/,
    });
  });
});

describe('host names (RFC 1123 labels)', () => {
  for (const ok of ['node1', 'a', 'rack-12-u3', 'x'.repeat(63)])
    it(`accepts ${ok.slice(0, 12)}`, () => assert.equal(validateHostName(ok), ok));
  for (const bad of ['', '-a', 'a-', 'Node1', 'a_b', 'a.b', 'x'.repeat(64), 'nöde']) {
    it(`refuses ${JSON.stringify(bad.slice(0, 12))}`, () =>
      assert.throws(() => validateHostName(bad), { code: 'KS_INVALID_HOSTNAME', field: 'name' }));
  }
});

describe('template vars', () => {
  it('accepts single-line printable values', () => {
    assert.deepEqual(validateVars({ tz: 'Europe/Paris', pw: '$6$a/b=c&d<e>\'f"g`h' }), {
      tz: 'Europe/Paris',
      pw: '$6$a/b=c&d<e>\'f"g`h',
    });
  });
  for (const [name, vars] of [
    ['newline', { a: 'x\n%post' }],
    ['carriage return', { a: 'x\r' }],
    ['NUL', { a: 'x\u0000' }],
    ['escape', { a: '\u001b[31m' }],
    ['C1 control', { a: '\u0085' }],
    ['line separator', { a: '\u2028' }],
    ['non-string', { a: 1 }],
    ['bad key', { 'a-b': 'x' }],
    ['reserved key constructor', { constructor: 'x' }],
    ['reserved key toString', { toString: 'x' }],
    ['reserved key __proto__', JSON.parse('{"__proto__": "x"}')],
  ] as const) {
    it(`refuses ${name}`, () => assert.throws(() => validateVars(vars), { code: 'KS_INVALID_VAR' }));
  }
});

describe('host state machine', () => {
  it('every state has a way out and every target is a state', () => {
    for (const s of HOST_STATES) {
      assert.ok(TRANSITIONS[s].length > 0, s);
      for (const t of TRANSITIONS[s]) assert.ok(HOST_STATES.includes(t), `${s} → ${t}`);
    }
  });
  it('allows the install path and refuses skipping ahead', () => {
    for (const [a, b] of [
      ['registered', 'armed'],
      ['armed', 'installing'],
      ['installing', 'installed'],
      ['installed', 'bootstrapping'],
      ['bootstrapping', 'ready'],
      ['ready', 'armed'],
      ['failed', 'armed'],
    ] as const) {
      assert.ok(canTransition(a, b), `${a} → ${b}`);
    }
    for (const [a, b] of [
      ['registered', 'installed'],
      ['registered', 'ready'],
      ['ready', 'installed'],
      ['installed', 'installing'],
      ['armed', 'ready'],
    ] as const) {
      assert.throws(() => checkTransition('n', a, b), { code: 'KS_ILLEGAL_TRANSITION' }, `${a} → ${b}`);
    }
  });
});

describe('IPv4 subnets', () => {
  it('parses CIDR and tests membership', () => {
    const s = parseCidr('198.18.0.77/24')!;
    assert.deepEqual(s, { network: '198.18.0.0', prefix: 24, mask: '255.255.255.0', broadcast: '198.18.0.255' });
    assert.ok(inSubnet('198.18.0.200', s));
    assert.ok(!inSubnet('198.18.1.1', s));
    assert.equal(parseCidr('198.18.0.0/33'), undefined);
    assert.equal(parseCidr('198.18.0/24'), undefined);
  });
});

describe('IPv4 integers (also the DHCP hot path)', () => {
  it('converts both ways at the edges', () => {
    for (const [ip, n] of [
      ['0.0.0.0', 0],
      ['198.18.0.1', 0xc6120001],
      ['255.255.255.255', 0xffffffff],
      ['198.19.3.40', 0xc6130328],
    ] as const) {
      assert.equal(ipToInt(ip), n, ip);
      assert.equal(intToIp(n), ip, String(n));
    }
  });
});

describe('discovered MACs (bounded, rate-limited)', () => {
  const mac = (i: number): string =>
    `52:54:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

  it('admits a MAC once', () => {
    const d = new DiscoveredMacs(10, 5);
    assert.equal(d.admit(mac(1), 1000), true);
    assert.equal(d.admit(mac(1), 1001), false);
    assert.equal(d.has(mac(1)), true);
  });

  it('admits at most perSecond new MACs a second; refused ones come back later and are counted once', () => {
    const d = new DiscoveredMacs(100, 3);
    const got = [1, 2, 3, 4, 5].map((i) => d.admit(mac(i), 5_000));
    assert.deepEqual(got, [true, true, true, false, false]);
    assert.equal(d.has(mac(4)), false, 'a refused MAC is not remembered');
    assert.equal(d.takeSuppressed(), 0, 'the second is not over yet');
    assert.equal(d.admit(mac(4), 6_000), true);
    assert.equal(d.takeSuppressed(), 2);
    assert.equal(d.takeSuppressed(), 0);
  });

  it('forgets the oldest past its capacity', () => {
    const d = new DiscoveredMacs(3, 100);
    for (let i = 0; i < 4; i += 1) d.admit(mac(i), 1000);
    assert.equal(d.size, 3);
    assert.equal(d.has(mac(0)), false);
    assert.equal(d.has(mac(3)), true);
  });
});
