/**
 * /images with a real curl: RFC 9110 range cases (single, suffix, open-ended, invalid,
 * multiple, overlapping, capped), If-Range, conditional requests, HEAD, 416, resume.
 * Bodies are compared byte for byte with the file; multipart bodies are parsed and checked.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { skipUnless } from '../helpers/env';
import { curl, parseMultipart, run, removeDir, startAssets, tempDir, type Harness } from './assets-harness';

const SIZE = 3 * 1024 * 1024 + 12345; // spans several 1 MiB pump chunks, odd tail
const data = randomBytes(SIZE);
let h: Harness | undefined;
let dir = '';

const slice = (a: number, b: number): Buffer => data.subarray(a, b + 1);
function H(): Harness {
  assert.ok(h, 'server not started');
  return h;
}

before(async () => {
  dir = tempDir('rfc');
  const root = path.join(dir, 'images');
  mkdirSync(path.join(root, 'rocky9'), { recursive: true });
  writeFileSync(path.join(root, 'rocky9', 'initrd.img'), data);
  writeFileSync(path.join(root, 'ipxe.efi'), data.subarray(0, 5000));
  writeFileSync(path.join(root, 'empty.bin'), '');
  writeFileSync(path.join(root, 'dated.bin'), data.subarray(0, 100));
  utimesSync(path.join(root, 'dated.bin'), new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));
  h = await startAssets(root, dir, { maxRanges: 16 });
});
after(async () => {
  await h?.close();
  removeDir(dir);
});

describe('/images ranges with curl', () => {
  it('GET whole file: 200, byte-exact, validators, Accept-Ranges', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const r = await curl(H(), '/rocky9/initrd.img');
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(data));
    assert.equal(r.headers.get('content-length'), String(SIZE));
    assert.equal(r.headers.get('accept-ranges'), 'bytes');
    assert.match(r.headers.get('etag') ?? '', /^"[A-Za-z0-9_-]+"$/); // strong
    assert.ok(r.headers.has('last-modified'));
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    const ev = H().served.find((e) => e.path === 'rocky9/initrd.img' && e.status === 200);
    assert.deepEqual(ev, {
      path: 'rocky9/initrd.img',
      remoteAddress: '127.0.0.1',
      status: 200,
      bytes: SIZE,
      range: null,
    });
  });

  const single: Array<[string, number, number]> = [
    ['0-99', 0, 99],
    ['-500', SIZE - 500, SIZE - 1], // suffix
    [`${SIZE - 700}-`, SIZE - 700, SIZE - 1], // open-ended
    ['1048570-2097160', 1048570, 2097160], // crosses pump chunk boundaries
    [`100-${SIZE + 1000}`, 100, SIZE - 1], // last-pos past EOF: clamped
    ['0-99,50-149', 0, 149], // overlapping → coalesced into one range
  ];
  for (const [spec, a, b] of single) {
    it(`Range bytes=${spec} → 206 ${a}-${b}`, async (t) => {
      if (skipUnless(t, { binaries: ['curl'] })) return;
      const r = await curl(H(), '/rocky9/initrd.img', ['-r', spec]);
      assert.equal(r.status, 206);
      assert.equal(r.headers.get('content-range'), `bytes ${a}-${b}/${SIZE}`);
      assert.equal(r.headers.get('content-length'), String(b - a + 1));
      assert.ok(r.body.equals(slice(a, b)));
    });
  }

  it('anaconda-style: header first, then the rest from byte N; joined = the file', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const N = 96 * 1024;
    const head = await curl(H(), '/rocky9/initrd.img', ['-H', `Range: bytes=0-${N - 1}`]);
    const rest = await curl(H(), '/rocky9/initrd.img', ['-H', `Range: bytes=${N}-`]);
    assert.equal(head.status, 206);
    assert.equal(rest.status, 206);
    assert.ok(Buffer.concat([head.body, rest.body]).equals(data));
  });

  it('curl -C - resumes a cut download byte-exactly', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const out = path.join(dir, 'resume.img');
    writeFileSync(out, data.subarray(0, 1_234_567));
    const r = await curl(H(), '/rocky9/initrd.img', ['-C', '-'], out);
    assert.equal(r.status, 206);
    assert.ok(readFileSync(out).equals(data));
  });

  for (const [spec, why] of [
    ['bytes=5-2', 'last < first'],
    ['bytes=abc', 'not a range'],
    ['items=0-3', 'unknown unit'],
  ] as const) {
    it(`invalid Range ${spec} (${why}) → 200 whole file`, async (t) => {
      if (skipUnless(t, { binaries: ['curl'] })) return;
      const r = await curl(H(), '/rocky9/initrd.img', ['-H', `Range: ${spec}`]);
      assert.equal(r.status, 200);
      assert.ok(r.body.equals(data));
    });
  }

  for (const spec of [`${SIZE}-`, `${SIZE + 10}-${SIZE + 20}`, '-0', `${SIZE}-,${SIZE + 5}-`]) {
    it(`unsatisfiable bytes=${spec} → 416 with Content-Range bytes */size`, async (t) => {
      if (skipUnless(t, { binaries: ['curl'] })) return;
      const r = await curl(H(), '/rocky9/initrd.img', ['-H', `Range: bytes=${spec}`]);
      assert.equal(r.status, 416);
      assert.equal(r.headers.get('content-range'), `bytes */${SIZE}`);
    });
  }

  it('Range on an empty file → 416 bytes */0; plain GET → 200 empty', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const r = await curl(H(), '/empty.bin', ['-r', '0-']);
    assert.equal(r.status, 416);
    assert.equal(r.headers.get('content-range'), 'bytes */0');
    const g = await curl(H(), '/empty.bin');
    assert.equal(g.status, 200);
    assert.equal(g.headers.get('content-length'), '0');
    assert.equal(g.body.length, 0);
  });

  it('multiple ranges → 206 multipart/byteranges, parsed and byte-exact', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const r = await curl(H(), '/ipxe.efi', ['-r', '4000-4099,0-9,-5,5-14']); // out of order, overlapping, suffix
    assert.equal(r.status, 206);
    assert.equal(r.headers.get('content-length'), String(r.body.length));
    assert.equal(r.headers.has('content-range'), false);
    const parts = parseMultipart(r.headers.get('content-type') ?? '', r.body);
    assert.deepEqual(
      parts.map((p) => p.contentRange),
      ['bytes 0-14/5000', 'bytes 4000-4099/5000', 'bytes 4995-4999/5000'],
    );
    const src = data.subarray(0, 5000);
    for (const p of parts) {
      const [a, b] = p.contentRange.slice(6).split('/')[0]!.split('-').map(Number) as [number, number];
      assert.equal(p.contentType, 'application/efi');
      assert.ok(p.body.equals(src.subarray(a, b + 1)));
    }
  });

  it('multipart across chunk boundaries of a 3 MiB file is byte-exact', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const r = await curl(H(), '/rocky9/initrd.img', ['-r', '0-0,1048000-2100000,3000000-']);
    assert.equal(r.status, 206);
    const parts = parseMultipart(r.headers.get('content-type') ?? '', r.body);
    assert.equal(parts.length, 3);
    assert.ok(parts[1]!.body.equals(slice(1048000, 2100000)));
    assert.ok(parts[2]!.body.equals(slice(3000000, SIZE - 1)));
  });

  it('16 ranges (the cap) → multipart with 16 parts; 17 → 200 whole file, no amplification', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const spec = (n: number): string => Array.from({ length: n }, (_, i) => `${i * 100}-${i * 100 + 9}`).join(',');
    const at = await curl(H(), '/ipxe.efi', ['-r', spec(16)]);
    assert.equal(at.status, 206);
    assert.equal(parseMultipart(at.headers.get('content-type') ?? '', at.body).length, 16);
    const past = await curl(H(), '/ipxe.efi', ['-r', spec(17)]);
    assert.equal(past.status, 200);
    assert.ok(past.body.equals(data.subarray(0, 5000)));
  });

  it('1,000 overlapping ranges (CVE-2011-3192 shape) → at most the file once', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const spec = '0-,' + Array.from({ length: 999 }, (_, i) => `5-${i + 5}`).join(',');
    const r = await curl(H(), '/rocky9/initrd.img', ['-H', `Range: bytes=${spec}`]);
    assert.ok(r.status === 200 || r.status === 206, `status ${r.status}`);
    assert.ok(r.body.length <= SIZE, `body ${r.body.length} > file ${SIZE}`);
    assert.ok(r.body.equals(data));
  });
});

describe('/images validators with curl', () => {
  async function etagOf(p: string): Promise<string> {
    return (await curl(H(), p, ['-I'])).headers.get('etag') ?? '';
  }

  it('If-Range with the current ETag → 206; stale or weak ETag → 200 whole file', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const tag = await etagOf('/rocky9/initrd.img');
    const cur = await curl(H(), '/rocky9/initrd.img', ['-r', '10-19', '-H', `If-Range: ${tag}`]);
    assert.equal(cur.status, 206);
    assert.ok(cur.body.equals(slice(10, 19)));
    for (const v of ['"stale-etag"', `W/${tag}`]) {
      const r = await curl(H(), '/rocky9/initrd.img', ['-r', '10-19', '-H', `If-Range: ${v}`]);
      assert.equal(r.status, 200, v);
      assert.ok(r.body.equals(data));
    }
  });

  it('If-Range with a stale ETag and several ranges → 200 whole file', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const r = await curl(H(), '/ipxe.efi', ['-r', '0-1,10-11', '-H', 'If-Range: "old"']);
    assert.equal(r.status, 200);
    assert.ok(r.body.equals(data.subarray(0, 5000)));
  });

  it('If-Range with the Last-Modified date → 206; an older date → 200', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const lm = (await curl(H(), '/dated.bin', ['-I'])).headers.get('last-modified') ?? '';
    assert.equal(lm, 'Tue, 02 Jan 2024 03:04:05 GMT');
    assert.equal((await curl(H(), '/dated.bin', ['-r', '0-9', '-H', `If-Range: ${lm}`])).status, 206);
    assert.equal(
      (await curl(H(), '/dated.bin', ['-r', '0-9', '-H', 'If-Range: Mon, 01 Jan 2024 00:00:00 GMT'])).status,
      200,
    );
  });

  it('If-None-Match current → 304 (even with Range); If-Match stale → 412', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const tag = await etagOf('/ipxe.efi');
    const nm = await curl(H(), '/ipxe.efi', ['-H', `If-None-Match: ${tag}`, '-r', '0-1,5-6']);
    assert.equal(nm.status, 304);
    assert.equal(nm.body.length, 0);
    const m = await curl(H(), '/ipxe.efi', ['-H', 'If-Match: "nope"', '-r', '0-1']);
    assert.equal(m.status, 412);
    const ok = await curl(H(), '/ipxe.efi', ['-H', `If-Match: ${tag}`, '-r', '0-1']);
    assert.equal(ok.status, 206);
  });

  it('HEAD → 200 with the full Content-Length and no body; Range is ignored on HEAD', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const url = `${H().base}/rocky9/initrd.img`;
    // HEAD then a GET on the same keep-alive connection: a stray body would corrupt the GET.
    const out = await run([
      '-sS',
      '--max-time',
      '20',
      '-I',
      '-r',
      '0-9',
      url,
      '--next',
      '-sS',
      '--max-time',
      '20',
      '-r',
      '20-29',
      url,
    ]);
    const text = out.toString('latin1');
    const headEnd = text.indexOf('\r\n\r\n') + 4;
    const head = text.slice(0, headEnd);
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.match(head, new RegExp(`\r\nContent-Length: ${SIZE}\r\n`, 'i'));
    assert.doesNotMatch(head, /content-range/i);
    assert.ok(out.subarray(headEnd).equals(slice(20, 29)), 'the GET after HEAD got exactly its 10 bytes');
  });

  it('a replaced file (atomic rename): validators always match the bytes; new ETag after the cache window', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const f = path.join(dir, 'images', 'swap.bin');
    writeFileSync(f, 'aaaa');
    const before = await curl(H(), '/swap.bin');
    assert.equal(before.body.toString(), 'aaaa');
    writeFileSync(`${f}.new`, 'bbbb'); // same size, new inode
    renameSync(`${f}.new`, f);
    const soon = await curl(H(), '/swap.bin'); // may still come from the cached descriptor
    const soonOld = soon.body.toString() === 'aaaa';
    assert.equal(soon.headers.get('etag') === before.headers.get('etag'), soonOld, 'ETag and bytes from the same file');
    await new Promise((r) => setTimeout(r, 1100)); // openFileValidMs default 1000
    const later = await curl(H(), '/swap.bin', ['-r', '0-1', '-H', `If-Range: ${before.headers.get('etag')}`]);
    assert.equal(later.status, 200, 'stale If-Range → whole new file');
    assert.equal(later.body.toString(), 'bbbb');
    assert.notEqual(later.headers.get('etag'), before.headers.get('etag'));
  });

  it('POST → 405 with Allow: GET, HEAD', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const r = await curl(H(), '/ipxe.efi', ['-X', 'POST']);
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
  });

  it('metrics count multipart and ignored range requests', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const text = await H().metrics.metrics();
    assert.match(text, /kickstand_http_asset_ranges_total\{kind="multipart"\} [1-9]/);
    assert.match(text, /kickstand_http_asset_ranges_total\{kind="ignored"\} [1-9]/);
    assert.match(text, /kickstand_http_asset_body_bytes_total [1-9]/);
  });
});
