/**
 * BMC config validation, the public (password-free) view, address parsing, ResetType choice and
 * ipmitool output/failure mapping: pure functions, no BMC needed.
 */
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parseBmcAddress, publicBmcConfig, validateBmcConfig, type BmcConfig } from '../../src/bmc';
import { parsePowerStatus } from '../../src/bmc/ipmi';
import { ipmitoolArgs, ipmitoolFailure } from '../../src/bmc/ipmitool';
import { pickResetType } from '../../src/bmc/reset-type';
import { ErrorCode, KickstandError } from '../../src/errors';

const base: BmcConfig = { type: 'ipmi', address: '198.18.0.10', username: 'admin', password: 'Pw-Canary-123' };

function rejectsField(input: BmcConfig, field: string): void {
  assert.throws(
    () => validateBmcConfig(input),
    (e: unknown) =>
      e instanceof KickstandError &&
      e.code === ErrorCode.INVALID_INPUT &&
      e.field === field &&
      !e.message.includes(input.password ?? '\u0000') &&
      (e.fix ?? '').length > 0,
  );
}

test('parseBmcAddress: host, host:port, [v6]:port, Redfish URL prefixes and default ports', () => {
  assert.deepEqual(parseBmcAddress('198.18.0.10', 'ipmi'), { scheme: 'https', host: '198.18.0.10', port: 623 });
  assert.deepEqual(parseBmcAddress('bmc-node1.example:6230', 'ipmi'), {
    scheme: 'https',
    host: 'bmc-node1.example',
    port: 6230,
  });
  assert.deepEqual(parseBmcAddress('[2001:db8::10]:8443', 'redfish'), {
    scheme: 'https',
    host: '2001:db8::10',
    port: 8443,
  });
  assert.deepEqual(parseBmcAddress('198.18.0.10', 'redfish'), { scheme: 'https', host: '198.18.0.10', port: 443 });
  assert.deepEqual(parseBmcAddress('http://127.0.0.1:8000/', 'redfish'), {
    scheme: 'http',
    host: '127.0.0.1',
    port: 8000,
  });
  assert.deepEqual(parseBmcAddress('HTTPS://bmc1', 'redfish'), { scheme: 'https', host: 'bmc1', port: 443 });
});

test('parseBmcAddress refuses option-like, path-carrying and malformed addresses (they reach an argv or a URL)', () => {
  for (const bad of [
    '-oProxyCommand=x',
    'bmc;id',
    'a b',
    'user@bmc',
    'bmc/redfish',
    '2001:db8::1',
    'bmc:0',
    'bmc:70000',
    'bmc:12x',
    '',
    '[zz]:1',
  ]) {
    assert.throws(
      () => parseBmcAddress(bad, 'redfish'),
      (e: unknown) => e instanceof KickstandError && e.field === 'bmc.address',
      bad,
    );
  }
  assert.throws(() => parseBmcAddress('https://bmc1', 'ipmi'), /no URL scheme/);
});

test('validateBmcConfig: per-type limits, fields named, password never echoed', () => {
  assert.deepEqual(validateBmcConfig({ ...base, address: ' 198.18.0.10:623 ' }), {
    ...base,
    address: '198.18.0.10:623',
  });
  rejectsField({ ...base, type: 'amt' as never }, 'bmc.type');
  rejectsField({ ...base, username: '' }, 'bmc.username');
  rejectsField({ ...base, username: 'a-seventeen-chars' }, 'bmc.username'); // IPMI: 16 bytes
  rejectsField({ ...base, password: 'x'.repeat(21) }, 'bmc.password'); // IPMI v2.0: 20 bytes
  rejectsField({ ...base, password: 'line\nbreak' }, 'bmc.password');
  rejectsField({ ...base, systemId: '1' }, 'bmc.systemId');
  rejectsField({ ...base, insecureTls: true }, 'bmc.insecureTls');
  rejectsField({ ...base, ipmiCipherSuite: 0 as never }, 'bmc.ipmiCipherSuite'); // cipher zero: no auth
  rejectsField({ ...base, type: 'redfish', ipmiCipherSuite: 17 }, 'bmc.ipmiCipherSuite');
  rejectsField({ ...base, type: 'redfish', systemId: '../Managers/1' }, 'bmc.systemId');
  assert.equal(
    validateBmcConfig({ ...base, type: 'redfish', password: 'x'.repeat(40), systemId: 'System.Embedded.1' }).systemId,
    'System.Embedded.1',
  );
});

test('publicBmcConfig drops the password (what the API returns and the CLI prints)', () => {
  const pub = publicBmcConfig({ ...base, type: 'redfish', systemId: '1', insecureTls: true });
  assert.deepEqual(pub, {
    type: 'redfish',
    address: '198.18.0.10',
    username: 'admin',
    systemId: '1',
    insecureTls: true,
    passwordSet: true,
  });
  assert.ok(!JSON.stringify(pub).includes(base.password));
});

test('pickResetType: best advertised match, first preference when nothing is advertised, error when none fits', () => {
  assert.equal(pickResetType('cycle', undefined), 'PowerCycle');
  assert.equal(pickResetType('cycle', ['On', 'ForceOff', 'ForceRestart']), 'ForceRestart');
  assert.equal(pickResetType('on', ['ForceOn']), 'ForceOn');
  assert.equal(pickResetType('reset', ['PowerCycle', 'ForceRestart']), 'ForceRestart');
  assert.throws(
    () => pickResetType('soft', ['On', 'ForceOff']),
    (e: unknown) => e instanceof KickstandError && e.code === ErrorCode.BMC_FAILED,
  );
});

test('ipmitool: argv carries -E and never the password; output and failures are mapped', () => {
  const t = {
    endpoint: { scheme: 'https' as const, host: '198.18.0.10', port: 623 },
    username: 'admin',
    password: 'Pw-Canary-123',
  };
  const argv = ipmitoolArgs(t, ['chassis', 'power', 'status']);
  assert.ok(argv.includes('-E') && !argv.some((a) => a.includes(t.password)));
  assert.equal(parsePowerStatus('Chassis Power is on\n'), 'on');
  assert.equal(parsePowerStatus('Chassis Power is off\n'), 'off');
  assert.equal(parsePowerStatus('garbage'), 'unknown');
  const e = ipmitoolFailure(
    Object.assign(new Error('x'), { code: 1 }),
    'Unable to Get Channel Cipher Suites\nError: Unable to establish IPMI v2 / RMCP+ session (password Pw-Canary-123)\n',
    t,
    'chassis power status',
    1000,
  );
  assert.equal(e.code, ErrorCode.BMC_FAILED);
  assert.match(e.message, /Unable to establish IPMI v2 \/ RMCP\+ session/);
  assert.ok(!e.message.includes(t.password) && !e.message.includes('Cipher Suites'));
  assert.match(e.fix ?? '', /user name and password/);
});
