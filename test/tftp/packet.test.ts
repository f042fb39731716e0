import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_REQUEST_BYTES,
  decodePacket,
  encodeAck,
  encodeData,
  encodeError,
  encodeOack,
  encodeRequest,
  peekAck,
  printable,
} from '../../src/tftp/packet';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('golden: RRQ with options decodes (names lower-cased, first duplicate wins)', () => {
  // 00 01 "pxelinux.0" 00 "OCTET" 00 "BlkSize" 00 "1468" 00 "tsize" 00 "0" 00 "blksize" 00 "9" 00
  const raw = Buffer.concat([
    hex('0001'),
    Buffer.from('pxelinux.0\0OCTET\0BlkSize\x001468\0tsize\x000\0blksize\x009\0', 'latin1'),
  ]);
  assert.deepEqual(decodePacket(raw), {
    op: 'RRQ',
    filename: 'pxelinux.0',
    mode: 'octet',
    options: [
      ['blksize', '1468'],
      ['tsize', '0'],
    ],
  });
});

test('golden: encoders produce the RFC 1350/2347 bytes', () => {
  assert.equal(
    encodeRequest('RRQ', 'a.bin', 'octet', [['blksize', '1468']]).toString('hex'),
    '0001612e62696e006f6374657400626c6b73697a65003134363800',
  );
  assert.equal(encodeAck(1).toString('hex'), '00040001');
  assert.equal(encodeAck(65536).toString('hex'), '00040000');
  assert.equal(encodeData(2, Buffer.from('hi')).toString('hex'), '000300026869');
  assert.equal(
    encodeError(1, 'File not found').toString('hex'),
    '00050001' + Buffer.from('File not found').toString('hex') + '00',
  );
  assert.equal(
    encodeOack([
      ['tsize', '3'],
      ['windowsize', '16'],
    ]).toString('hex'),
    '0006' + Buffer.from('tsize\x003\0windowsize\x0016\0', 'latin1').toString('hex'),
  );
});

test('golden: DATA block numbers wrap at 65536 (block-number rollover)', () => {
  assert.equal(encodeData(65535, Buffer.alloc(0)).toString('hex'), '0003ffff');
  assert.equal(encodeData(65536, Buffer.alloc(0)).toString('hex'), '00030000');
  assert.equal(encodeData(65537, Buffer.from([9])).toString('hex'), '0003000109');
});

test('DATA, ACK, ERROR and OACK decode; peekAck matches decode', () => {
  assert.deepEqual(decodePacket(hex('0003 0007 aabb')), { op: 'DATA', block: 7, data: hex('aabb') });
  assert.deepEqual(decodePacket(hex('0004 ffff')), { op: 'ACK', block: 65535 });
  assert.equal(peekAck(hex('0004 ffff')), 65535);
  assert.equal(peekAck(hex('0003 0001')), -1);
  assert.equal(peekAck(hex('0004 00')), -1);
  assert.deepEqual(decodePacket(Buffer.from('\0\x05\0\x02no way\0', 'latin1')), {
    op: 'ERROR',
    code: 2,
    message: 'no way',
  });
  // ERROR without the terminating NUL: tolerated (OpenTFTP CVE-2008-2161 class)
  assert.deepEqual(decodePacket(Buffer.from('\0\x05\0\x00abc', 'latin1')), { op: 'ERROR', code: 0, message: 'abc' });
  assert.deepEqual(decodePacket(Buffer.from('\0\x06tsize\x0042\0', 'latin1')), {
    op: 'OACK',
    options: [['tsize', '42']],
  });
});

test('malformed input yields typed failures, never throws', () => {
  const cases: Array<[Buffer, string]> = [
    [hex(''), 'short'],
    [hex('00'), 'short'],
    [hex('0003 00'), 'short'],
    [hex('0004'), 'short'],
    [hex('0005 00'), 'short'],
    [hex('0009 0000'), 'opcode'],
    [Buffer.from('\0\x01file', 'latin1'), 'unterminated'],
    [Buffer.from('\0\x01file\0octet', 'latin1'), 'unterminated'],
    [Buffer.from('\0\x01\0octet\0', 'latin1'), 'filename'],
    [Buffer.concat([hex('0001 ff fe 00'), Buffer.from('octet\0')]), 'filename'],
    [Buffer.from('\0\x01f\0\0', 'latin1'), 'mode'],
    [Buffer.concat([hex('0001'), Buffer.alloc(MAX_REQUEST_BYTES, 0x61), hex('00')]), 'too_long'],
  ];
  for (const [buf, reason] of cases) {
    const r = decodePacket(buf);
    assert.equal(r.op, 'INVALID', buf.toString('hex'));
    if (r.op === 'INVALID') assert.equal(r.reason, reason, buf.toString('hex'));
  }
});

test('request options: unterminated last option, name without value and empty padding are ignored', () => {
  const r = decodePacket(Buffer.from('\0\x01f\0octet\0blksize\x001024\0tsize', 'latin1'));
  assert.deepEqual(r, { op: 'RRQ', filename: 'f', mode: 'octet', options: [['blksize', '1024']] });
  const r2 = decodePacket(Buffer.from('\0\x01f\0octet\0blksize\x001024\0tsize\0', 'latin1'));
  assert.deepEqual(r2, { op: 'RRQ', filename: 'f', mode: 'octet', options: [['blksize', '1024']] });
  const r3 = decodePacket(Buffer.from('\0\x01f\0octet\0\0\0\0', 'latin1'));
  assert.deepEqual(r3, { op: 'RRQ', filename: 'f', mode: 'octet', options: [] });
});

test('property: decodePacket never throws on arbitrary bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
      const r = decodePacket(Buffer.from(bytes));
      assert.equal(typeof r.op, 'string');
    }),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.uint8Array({ maxLength: 600 }), (op, body) => {
      const buf = Buffer.concat([Buffer.from([0, op]), Buffer.from(body)]);
      assert.equal(typeof decodePacket(buf).op, 'string');
    }),
    { numRuns: 3000 },
  );
});

test('property: RRQ round-trips through encodeRequest/decodePacket', () => {
  const name = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes('\0'));
  const optName = fc.constantFrom('blksize', 'tsize', 'timeout', 'windowsize', 'x-vendor');
  fc.assert(
    fc.property(
      name,
      fc.uniqueArray(fc.tuple(optName, fc.nat({ max: 99999 }).map(String)), { selector: (t) => t[0], maxLength: 5 }),
      (f, opts) => {
        const buf = encodeRequest('RRQ', f, 'octet', opts);
        const r = decodePacket(buf);
        if (buf.length > MAX_REQUEST_BYTES) return assert.equal(r.op, 'INVALID');
        assert.deepEqual(r, { op: 'RRQ', filename: f, mode: 'octet', options: opts });
      },
    ),
  );
});

test('printable strips control characters and truncates (log safety)', () => {
  assert.equal(printable('a\nb\x1b[31mc', 100), 'a?b?[31mc');
  assert.equal(printable('x'.repeat(20), 5), 'xxxxx...');
  assert.equal(encodeError(0, 'x'.repeat(1000)).length, 4 + 203 + 1);
});
