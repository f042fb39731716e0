/**
 * Unit tables for the pure parts of /images: Range parsing (RFC 9110 §14), multipart layout,
 * If-Range evaluation, MIME types and the URL-path jail check.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkUrlPath, isInside } from '../../src/http/assets/jail';
import { contentTypeFor } from '../../src/http/assets/mime';
import { planMultipart } from '../../src/http/assets/multipart';
import { coalesce, parseRange, type RangeDecision } from '../../src/http/assets/ranges';
import { ifRangeMatches, strongEtag } from '../../src/http/assets/validators';

const R = (...pairs: Array<[number, number]>): RangeDecision => ({
  kind: 'ranges',
  ranges: pairs.map(([start, end]) => ({ start, end })),
});

describe('parseRange (size 1000)', () => {
  const table: Array<[string, RangeDecision]> = [
    ['bytes=0-499', R([0, 499])],
    ['bytes=500-', R([500, 999])], // open-ended
    ['bytes=-200', R([800, 999])], // suffix
    ['bytes=-5000', R([0, 999])], // suffix longer than the file: whole file
    ['bytes=0-0', R([0, 0])],
    ['bytes=999-999', R([999, 999])],
    ['bytes=900-5000', R([900, 999])], // last-pos clamped
    ['BYTES = 0-1', R([0, 1])], // unit is case-insensitive
    ['bytes= 0-1 , 5-6 ', R([0, 1], [5, 6])], // OWS
    ['bytes=0-1,,5-6', R([0, 1], [5, 6])], // empty list element
    ['bytes=0-99,200-299', R([0, 99], [200, 299])],
    ['bytes=200-299,0-99', R([0, 99], [200, 299])], // sorted
    ['bytes=0-99,50-149', R([0, 149])], // overlapping: coalesced
    ['bytes=0-99,100-199', R([0, 199])], // adjacent: coalesced
    ['bytes=0-0,-1', R([0, 0], [999, 999])],
    ['bytes=0-1,1-3,2-9', R([0, 9])],
    ['bytes=5000-,0-1', R([0, 1])], // unsatisfiable member dropped
    ['bytes=1000-', { kind: 'unsatisfiable' }],
    ['bytes=1000-2000', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }], // §14.1.3: zero-length suffix
    ['bytes=1000-,2000-', { kind: 'unsatisfiable' }],
    ['bytes=5-2', { kind: 'ignore', reason: 'syntax' }], // last < first: invalid
    ['bytes=abc', { kind: 'ignore', reason: 'syntax' }],
    ['bytes=1-2-3', { kind: 'ignore', reason: 'syntax' }],
    ['bytes=-', { kind: 'ignore', reason: 'syntax' }],
    ['bytes=+1-2', { kind: 'ignore', reason: 'syntax' }],
    ['bytes=0x1-2', { kind: 'ignore', reason: 'syntax' }],
    ['bytes=', { kind: 'ignore', reason: 'syntax' }],
    ['bytes=,', { kind: 'ignore', reason: 'syntax' }],
    ['bytes 0-1', { kind: 'ignore', reason: 'syntax' }],
    ['bytes=9999999999999999-', { kind: 'ignore', reason: 'syntax' }], // > 15 digits
    ['items=0-3', { kind: 'ignore', reason: 'unit' }],
  ];
  for (const [header, want] of table) {
    it(`${JSON.stringify(header)} → ${want.kind}`, () => assert.deepEqual(parseRange(header, 1000), want));
  }

  it('an empty file satisfies no range', () => {
    assert.deepEqual(parseRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-1', 0), { kind: 'unsatisfiable' });
  });

  it('17 disjoint ranges exceed the default cap of 16 → ignore (200, never amplify)', () => {
    const h = 'bytes=' + Array.from({ length: 17 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',');
    assert.deepEqual(parseRange(h, 1000), { kind: 'ignore', reason: 'too-many' });
    assert.equal(parseRange(h, 1000, { maxRanges: 17 }).kind, 'ranges');
  });

  it('many overlapping ranges coalesce below the cap (Apache-killer shape: 0-,5-0,5-1,…)', () => {
    const h = 'bytes=0-,' + Array.from({ length: 40 }, (_, i) => `5-${i + 5}`).join(',');
    assert.deepEqual(parseRange(h, 1000), R([0, 999]));
  });

  it('1,300 specs → ignore without building 1,300 ranges (spec cap)', () => {
    const h = 'bytes=' + Array.from({ length: 1300 }, (_, i) => `${i}-${i}`).join(',');
    assert.deepEqual(parseRange(h, 100000), { kind: 'ignore', reason: 'too-many' });
  });

  it('coalesce output is sorted, disjoint and non-adjacent (property over random input)', () => {
    let seed = 7;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let t = 0; t < 500; t++) {
      const rs = Array.from({ length: 1 + rnd(10) }, () => {
        const a = rnd(200);
        return { start: a, end: a + rnd(30) };
      });
      const out = coalesce(rs);
      for (let i = 1; i < out.length; i++) assert.ok(out[i]!.start > out[i - 1]!.end + 1);
      const covered = (x: number, set: typeof rs): boolean => set.some((r) => r.start <= x && x <= r.end);
      for (let x = 0; x < 240; x++) assert.equal(covered(x, out), covered(x, rs));
    }
  });
});

describe('planMultipart', () => {
  it('lays out parts with exact length (RFC 9110 §14.6)', () => {
    const p = planMultipart(
      [
        { start: 0, end: 1 },
        { start: 5, end: 6 },
      ],
      10,
      'application/efi',
      'B',
    );
    assert.equal(p.contentType, 'multipart/byteranges; boundary=B');
    const heads = p.segments.filter((s): s is Buffer => Buffer.isBuffer(s)).map((b) => b.toString('latin1'));
    assert.deepEqual(heads, [
      '--B\r\nContent-Type: application/efi\r\nContent-Range: bytes 0-1/10\r\n\r\n',
      '\r\n--B\r\nContent-Type: application/efi\r\nContent-Range: bytes 5-6/10\r\n\r\n',
      '\r\n--B--\r\n',
    ]);
    assert.equal(p.length, heads.join('').length + 4);
  });
});

describe('If-Range (§13.1.5)', () => {
  const st = { dev: 1n, ino: 2n, size: 3n, mtimeNs: 1_700_000_000_123_456_789n, mtimeMs: 1_700_000_000_123n };
  const tag = strongEtag(st);
  const lm = new Date(1_700_000_000_000).toUTCString();
  const now = 1_700_000_100_000;
  it('strong ETag is quoted, not weak, and changes with each field', () => {
    assert.match(tag, /^"[A-Za-z0-9_-]+"$/);
    for (const k of ['dev', 'ino', 'size', 'mtimeNs'] as const)
      assert.notEqual(strongEtag({ ...st, [k]: st[k] + 1n }), tag);
  });
  const cases: Array<[string | undefined, boolean]> = [
    [undefined, true],
    [tag, true],
    [` ${tag} `, true],
    [`W/${tag}`, false], // weak never matches
    ['"stale"', false],
    [`"x", ${tag}`, false], // If-Range takes one validator, not a list
    [lm, true],
    [new Date(1_699_999_999_000).toUTCString(), false], // older date
    [new Date(1_700_000_001_000).toUTCString(), false], // newer date: not an exact match
    ['yesterday', false],
  ];
  for (const [h, want] of cases)
    it(`If-Range ${JSON.stringify(h)} → ${want}`, () => assert.equal(ifRangeMatches(h, tag, st, now), want));
  it('a Last-Modified less than 1 s old is weak: the date form never matches', () => {
    assert.equal(ifRangeMatches(lm, tag, st, 1_700_000_000_500), false);
  });
});

describe('MIME types', () => {
  const table: Array<[string, string]> = [
    ['ipxe.efi', 'application/efi'],
    ['undionly.kpxe', 'application/octet-stream'],
    ['boot.ipxe', 'text/plain; charset=utf-8'],
    ['rocky9/initrd.img', 'application/octet-stream'],
    ['rocky9/vmlinuz', 'application/octet-stream'],
    ['tree/.treeinfo', 'text/plain; charset=utf-8'],
    ['tree/repodata/repomd.xml', 'application/xml'],
    ['tree/EULA.html', 'text/plain; charset=utf-8'], // never HTML
    ['x.ISO', 'application/x-iso9660-image'],
  ];
  for (const [f, t] of table) it(`${f} → ${t}`, () => assert.equal(contentTypeFor(f), t));
});

describe('checkUrlPath', () => {
  const ok: Array<[string, string[]]> = [
    ['/ipxe.efi', ['ipxe.efi']],
    ['/rocky9/vmlinuz', ['rocky9', 'vmlinuz']],
    ['//rocky9//vmlinuz', ['rocky9', 'vmlinuz']],
    ['/a%20b', ['a b']],
    ['/tree/.treeinfo', ['tree', '.treeinfo']],
    ['/%252e%252e/x', ['%2e%2e', 'x']], // decoded once: a literal name, not a traversal
  ];
  for (const [p, segs] of ok) it(`accepts ${p}`, () => assert.deepEqual(checkUrlPath(p), { ok: true, segments: segs }));
  const bad: Array<[string, number, string]> = [
    ['/../x', 403, 'dot-segment'],
    ['/a/./b', 403, 'dot-segment'],
    ['/%2e%2e/x', 403, 'dot-segment'],
    ['/%2E%2E/x', 403, 'dot-segment'],
    ['/..%2fx', 403, 'encoded-slash'],
    ['/a%2f..%2f..%2fx', 403, 'encoded-slash'],
    ['/..%5cx', 403, 'backslash'],
    ['/a\\b', 403, 'backslash'],
    ['/a%00b', 400, 'nul'],
    ['/%c0%ae%c0%ae/x', 400, 'bad-encoding'], // overlong UTF-8
    ['/%zz', 400, 'bad-encoding'],
    ['/.env', 404, 'dotfile'],
    ['/sub/.hidden', 404, 'dotfile'],
    ['/%2eenv', 404, 'dotfile'],
    ['/sub/', 404, 'not-file'],
    ['/', 404, 'not-file'],
    ['/' + 'a/'.repeat(70) + 'b', 400, 'too-long'],
    ['/' + 'a'.repeat(5000), 400, 'too-long'],
  ];
  for (const [p, status, reason] of bad) {
    it(`refuses ${p.slice(0, 40)} (${status} ${reason})`, () =>
      assert.deepEqual(checkUrlPath(p), { ok: false, status, reason }));
  }
  it('isInside rejects the root itself and sibling prefixes', () => {
    assert.equal(isInside('/srv/images', '/srv/images'), false);
    assert.equal(isInside('/srv/images', '/srv/images-evil/x'), false);
    assert.equal(isInside('/srv/images', '/srv/images/x'), true);
  });
});
