/**
 * The two serving paths agree: the direct path (unconditional GET/HEAD, open-file cache) and
 * the send path (forced with directPath: false) answer every range case with the same status,
 * headers and bytes, using a real curl. Plus a small boot storm (20 concurrent downloads,
 * some aborted): every completed body byte-exact, descriptors back to baseline.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { skipUnless } from '../helpers/env';
import { curl, parseMultipart, removeDir, startAssets, tempDir, type CurlResult, type Harness } from './assets-harness';

const SIZE = 2 * 1024 * 1024 + 777;
const data = randomBytes(SIZE);
const BIG = 64 * 1024 * 1024; // far more than loopback socket buffers hold
let direct: Harness | undefined;
let viaSend: Harness | undefined;
let dir = '';

before(async () => {
  dir = tempDir('paths');
  const root = path.join(dir, 'images');
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'vmlinuz'), data);
  writeFileSync(path.join(root, 'empty.bin'), '');
  writeFileSync(path.join(root, 'big.bin'), Buffer.alloc(BIG, 7));
  direct = await startAssets(root, dir);
  viaSend = await startAssets(root, dir, { directPath: false });
});
after(async () => {
  await direct?.close();
  await viaSend?.close();
  removeDir(dir);
});

const VARYING = new Set(['date', 'connection', 'keep-alive']);
function comparable(r: CurlResult): { status: number; headers: Record<string, string>; body: string[] } {
  const headers: Record<string, string> = {};
  for (const [k, v] of r.headers)
    if (!VARYING.has(k)) headers[k] = k === 'content-type' ? v.replace(/boundary=\S+/, 'boundary=*') : v;
  const ct = r.headers.get('content-type') ?? '';
  const body = ct.startsWith('multipart/byteranges')
    ? parseMultipart(ct, r.body).map((p) => `${p.contentRange} ${p.contentType} ${p.body.toString('base64')}`)
    : [r.body.toString('base64')];
  return { status: r.status, headers, body };
}

const cases: Array<[string, string[]]> = [
  ['plain GET', []],
  ['HEAD', ['-I']],
  ['HEAD with Range', ['-I', '-r', '0-9']],
  ['single', ['-r', '100-199']],
  ['suffix', ['-r', '-1000']],
  ['open-ended', ['-r', '2097000-']],
  ['overlapping', ['-r', '0-99,50-149']],
  ['multiple', ['-r', '0-0,1048576-1048600,-3']],
  ['past the cap', ['-r', Array.from({ length: 17 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',')]],
  ['invalid', ['-H', 'Range: bytes=9-2']],
  ['416', ['-r', `${SIZE}-`]],
  ['stale If-Range', ['-r', '0-9', '-H', 'If-Range: "old"']],
];

describe('direct path ≡ send path (curl)', () => {
  for (const [name, args] of cases) {
    it(name, async (t) => {
      if (skipUnless(t, { binaries: ['curl'] })) return;
      assert.ok(direct && viaSend);
      const a = comparable(await curl(direct, '/vmlinuz', args));
      const b = comparable(await curl(viaSend, '/vmlinuz', args));
      assert.deepEqual(a, b);
    });
  }
  it('empty file, GET and Range', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    assert.ok(direct && viaSend);
    for (const args of [[], ['-r', '0-']])
      assert.deepEqual(
        comparable(await curl(direct, '/empty.bin', args)),
        comparable(await curl(viaSend, '/empty.bin', args)),
      );
  });
  it('If-Range with the current strong ETag is honoured by both', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    assert.ok(direct && viaSend);
    const tag = (await curl(direct, '/vmlinuz', ['-I'])).headers.get('etag') ?? '';
    assert.equal(tag, (await curl(viaSend, '/vmlinuz', ['-I'])).headers.get('etag'));
    const a = await curl(direct, '/vmlinuz', ['-r', '5-9', '-H', `If-Range: ${tag}`]);
    assert.equal(a.status, 206);
    assert.deepEqual(
      comparable(a),
      comparable(await curl(viaSend, '/vmlinuz', ['-r', '5-9', '-H', `If-Range: ${tag}`])),
    );
  });
});

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** One curl download; resolves with its exit code. */
function download(url: string, out: string): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn('curl', ['-sS', '--max-time', '30', '-o', out, url], { stdio: 'ignore' });
    p.on('close', (code) => resolve(code ?? -1));
  });
}

/**
 * A reader that takes the first 64 KiB, stops reading for 300 ms and hangs up, mid-body: the
 * file is far larger than what the kernel buffers on loopback, so the server is really blocked
 * on it (curl --limit-rate cannot do this: it reads whatever the kernel already holds).
 */
function stalledReader(base: string, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(base + urlPath);
    const sock = connect(Number(url.port), url.hostname, () =>
      sock.write(`GET ${url.pathname} HTTP/1.1\r\nHost: x\r\n\r\n`),
    );
    let got = 0;
    sock.on('data', (c: Buffer) => {
      got += c.length;
      if (got < 64 * 1024 || sock.isPaused()) return;
      sock.pause();
      setTimeout(() => {
        sock.destroy();
        resolve(got);
      }, 300);
    });
    sock.on('error', reject);
  });
}

describe('boot storm (G16, CI size)', () => {
  it('15 concurrent downloads and 5 readers that stall and hang up: completed bodies byte-exact, descriptors back to baseline', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    assert.ok(direct);
    const h = direct;
    const { readFileSync } = await import('node:fs');
    const baseline = openFds();
    const jobs = Array.from({ length: 20 }, (_, i) => {
      const out = path.join(dir, `storm-${i}`);
      if (i % 4 === 0)
        return stalledReader(h.base, '/big.bin').then((got) => ({ i, out, cut: true, code: got < BIG ? 0 : -1 }));
      return download(`${h.base}/vmlinuz`, out).then((code) => ({ i, out, cut: false, code }));
    });
    const results = await Promise.all(jobs);
    for (const r of results) {
      assert.equal(r.code, 0, `download ${r.i}${r.cut ? ' (stalled reader got the whole body)' : ''}`);
      if (!r.cut) assert.ok(readFileSync(r.out).equals(data), `download ${r.i} byte-exact`);
    }
    // Abandoned responses release their descriptors (and sendfile threads): at most the cached
    // descriptors of the two files stay open.
    const deadline = Date.now() + 5000;
    while (openFds() > baseline + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(openFds() <= baseline + 2, `fds ${openFds()} vs baseline ${baseline}`);
  });
});
