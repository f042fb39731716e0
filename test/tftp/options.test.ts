import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { negotiate } from '../../src/tftp/options';
import { toNetascii, netasciiSize } from '../../src/tftp/netascii';

const limits = { maxBlksize: 1468, maxWindowsize: 32 };

test('no options: no OACK, RFC 1350 defaults', () => {
  assert.deepEqual(negotiate([], limits, 100), { blksize: 512, windowsize: 1, timeoutMs: undefined, oack: null });
});

test('blksize: granted up to the cap, below 8 or non-numeric ignored (RFC 2348)', () => {
  assert.deepEqual(negotiate([['blksize', '1024']], limits, 1).oack, [['blksize', '1024']]);
  assert.equal(negotiate([['blksize', '65464']], limits, 1).blksize, 1468);
  assert.equal(negotiate([['blksize', '70000']], { ...limits, maxBlksize: 65464 }, 1).blksize, 65464);
  for (const v of ['7', '0', '-1', 'abc', '', ' 512', '1e3', '9999999']) {
    const n = negotiate([['blksize', v]], limits, 1);
    assert.equal(n.blksize, 512, v);
    assert.equal(n.oack, null, v);
  }
});

test('timeout 1..255 echoed, others ignored; tsize answered with the size (RFC 2349)', () => {
  assert.deepEqual(
    negotiate(
      [
        ['timeout', '3'],
        ['tsize', '0'],
      ],
      limits,
      4242,
    ),
    {
      blksize: 512,
      windowsize: 1,
      timeoutMs: 3000,
      oack: [
        ['timeout', '3'],
        ['tsize', '4242'],
      ],
    },
  );
  assert.equal(negotiate([['timeout', '0']], limits, 1).oack, null);
  assert.equal(negotiate([['timeout', '256']], limits, 1).oack, null);
  // a nonzero tsize in an RRQ is answered with the real size
  assert.deepEqual(negotiate([['tsize', '99']], limits, 5).oack, [['tsize', '5']]);
  // size unknown (streamed netascii): tsize left out
  assert.equal(negotiate([['tsize', '0']], limits, undefined).oack, null);
});

test('windowsize: min(asked, cap), 0 and 65536 ignored (RFC 7440); unknown options ignored', () => {
  assert.equal(negotiate([['windowsize', '16']], limits, 1).windowsize, 16);
  assert.deepEqual(negotiate([['windowsize', '64']], limits, 1).oack, [['windowsize', '32']]);
  assert.equal(negotiate([['windowsize', '0']], limits, 1).oack, null);
  assert.equal(negotiate([['windowsize', '65536']], limits, 1).oack, null);
  assert.deepEqual(
    negotiate(
      [
        ['multicast', ''],
        ['utimeout', '1'],
        ['blksize', '512'],
      ],
      limits,
      1,
    ).oack,
    [['blksize', '512']],
  );
});

test('property: granted values always inside the RFC ranges and the caps', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.constantFrom('blksize', 'windowsize', 'timeout', 'tsize', 'zz'), fc.string({ maxLength: 7 })),
      ),
      (opts) => {
        const n = negotiate(opts, limits, 10);
        assert.ok(n.blksize >= 8 && n.blksize <= 1468);
        assert.ok(n.windowsize >= 1 && n.windowsize <= 32);
        assert.ok(n.timeoutMs === undefined || (n.timeoutMs >= 1000 && n.timeoutMs <= 255000));
      },
    ),
  );
});

test('netascii: LF → CR LF, CR → CR NUL; chunked conversion equals whole conversion', () => {
  assert.equal(toNetascii(Buffer.from('a\nb\rc')).toString('latin1'), 'a\r\nb\r\0c');
  assert.equal(netasciiSize(Buffer.from('\r\n')), 4);
  const same = Buffer.from('plain');
  assert.equal(toNetascii(same), same);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 300 }), (bytes, cut) => {
      const b = Buffer.from(bytes);
      const k = Math.min(cut, b.length);
      const whole = toNetascii(b);
      const parts = Buffer.concat([toNetascii(b.subarray(0, k)), toNetascii(b.subarray(k))]);
      assert.deepEqual(parts, whole);
      assert.equal(whole.length, netasciiSize(b));
    }),
  );
});
