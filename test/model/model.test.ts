import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalMac, parseMac } from '../../src/model/mac';
import { validateHostName, validateVars } from '../../src/model/host';
import { canTransition, checkTransition, TRANSITIONS } from '../../src/model/host-state';
import { HOST_STATES } from '../../src/model/host';
import { parseCidr, inSubnet } from '../../src/model/ipv4';

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
    assert.throws(() => canonicalMac('nope', 'macs[1]'), { code: 'KS_INVALID_MAC', field: 'macs[1]', fix: /aa:bb:cc:dd:ee:ff/ });
  });
});

describe('host names (RFC 1123 labels)', () => {
  for (const ok of ['node1', 'a', 'rack-12-u3', 'x'.repeat(63)]) it(`accepts ${ok.slice(0, 12)}`, () => assert.equal(validateHostName(ok), ok));
  for (const bad of ['', '-a', 'a-', 'Node1', 'a_b', 'a.b', 'x'.repeat(64), 'nöde']) {
    it(`refuses ${JSON.stringify(bad.slice(0, 12))}`, () => assert.throws(() => validateHostName(bad), { code: 'KS_INVALID_HOSTNAME', field: 'name' }));
  }
});

describe('template vars', () => {
  it('accepts single-line printable values', () => {
    assert.deepEqual(validateVars({ tz: 'Europe/Paris', pw: '$6$a/b=c&d<e>\'f"g`h' }), { tz: 'Europe/Paris', pw: '$6$a/b=c&d<e>\'f"g`h' });
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
    for (const [a, b] of [['registered', 'armed'], ['armed', 'installing'], ['installing', 'installed'], ['installed', 'bootstrapping'], ['bootstrapping', 'ready'], ['ready', 'armed'], ['failed', 'armed']] as const) {
      assert.ok(canTransition(a, b), `${a} → ${b}`);
    }
    for (const [a, b] of [['registered', 'installed'], ['registered', 'ready'], ['ready', 'installed'], ['installed', 'installing'], ['armed', 'ready']] as const) {
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
