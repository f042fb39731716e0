/**
 * The sendfile(2) body path (src/http/assets/sendfile.ts, native/sendfile.c) against the copy
 * path of the same router (sendfile: false), with real curl and raw sockets: byte-exact bodies,
 * keep-alive and pipelining on the socket handed to the native thread, multipart with large
 * parts, abandoned and stalled readers, a file that shrinks under a transfer, and server stop.
 * Every case checks that no sendfile thread (and no duplicated descriptor) is left behind.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { native } from '../../src/native';
import { IN_CI, skipUnless } from '../helpers/env';
import { curl, parseMultipart, removeDir, startAssets, tempDir, type Harness } from './assets-harness';

const BIG = 40 * 1024 * 1024 + 12_345;
const big = randomBytes(BIG);
let dir = '';
let root = '';
let sf: Harness | undefined;
let copy: Harness | undefined;

before(async () => {
  dir = tempDir('sendfile');
  root = path.join(dir, 'images');
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'initrd.img'), big);
  sf = await startAssets(root, dir);
  copy = await startAssets(root, dir, { sendfile: false });
});
after(async () => {
  await sf?.close();
  await copy?.close();
  removeDir(dir);
});

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function sendfileBytes(h: Harness): Promise<number> {
  const m = await h.metrics.getSingleMetric('kickstand_http_asset_sendfile_bytes_total')?.get();
  return m?.values[0]?.value ?? 0;
}

function jobs(): number {
  return native()?.sendfileJobs() ?? 0;
}

/** Waits (bounded) until no sendfile thread runs; returns how many still do. */
async function settled(): Promise<number> {
  const deadline = Date.now() + 5000;
  while (jobs() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  return jobs();
}

function needs(t: TestContext, binaries: string[] = []): boolean {
  return skipUnless(t, { native: true, binaries });
}

/** A server of its own over a copy of the big file as images/x.img (tests that change or stop it). */
async function withOwnServer(tag: string, fn: (h: Harness, imagesRoot: string) => Promise<void>): Promise<void> {
  const own = tempDir(tag);
  try {
    const r = path.join(own, 'images');
    mkdirSync(r);
    writeFileSync(path.join(r, 'x.img'), big);
    await fn(await startAssets(r, own), r);
  } finally {
    removeDir(own);
  }
}

/** Raw HTTP/1.1 exchange: writes `request`, collects bytes until `until(buffer)` or the socket ends. */
function exchange(h: Harness, request: string, until: (b: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const url = new URL(h.base);
    const chunks: Buffer[] = [];
    let len = 0;
    const sock: Socket = connect(Number(url.port), url.hostname, () => sock.write(request));
    const done = (): void => {
      sock.destroy();
      resolve(Buffer.concat(chunks, len));
    };
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      len += c.length;
      if (until(Buffer.concat(chunks, len))) done();
    });
    sock.on('end', done);
    sock.on('error', reject);
    sock.setTimeout(30_000, () => reject(new Error('exchange timed out')));
  });
}

/** Splits `n` consecutive Content-Length responses; null while incomplete. */
function responses(buf: Buffer, n: number): Array<{ head: string; body: Buffer }> | null {
  const out: Array<{ head: string; body: Buffer }> = [];
  let at = 0;
  while (out.length < n) {
    const end = buf.indexOf('\r\n\r\n', at);
    if (end < 0) return null;
    const head = buf.subarray(at, end).toString('latin1');
    const m = /content-length:\s*(\d+)/i.exec(head);
    const size = m ? Number(m[1]) : 0;
    if (buf.length < end + 4 + size) return null;
    out.push({ head, body: buf.subarray(end + 4, end + 4 + size) });
    at = end + 4 + size;
  }
  return out;
}

describe('sendfile body path', () => {
  it('the addon is built and loaded in CI', (t) => {
    if (!IN_CI) return t.skip('only required in CI (.ci/run sets KICKSTAND_NATIVE_REQUIRED=1)');
    assert.ok(native(), 'native addon must load in CI');
  });

  it('a whole large file and single ranges: byte-exact, sent by sendfile, same as the copy path', async (t) => {
    if (needs(t, ['curl'])) return;
    assert.ok(sf && copy);
    const before = await sendfileBytes(sf);
    const whole = await curl(sf, '/initrd.img');
    assert.equal(whole.status, 200);
    assert.equal(sha(whole.body), sha(big));
    for (const r of ['0-65535', '1000000-30000000', `${BIG - 70_000}-`, '-100000']) {
      const a = await curl(sf, '/initrd.img', ['-r', r]);
      const b = await curl(copy, '/initrd.img', ['-r', r]);
      assert.equal(a.status, 206, r);
      assert.equal(a.headers.get('content-range'), b.headers.get('content-range'), r);
      assert.ok(a.body.equals(b.body), `range ${r} byte-exact`);
    }
    assert.ok((await sendfileBytes(sf)) - before >= BIG, 'the whole file went through sendfile');
    assert.equal(await sendfileBytes(copy), 0, 'sendfile: false never uses it');
    assert.equal(await settled(), 0);
  });

  it('multipart/byteranges with large parts matches the copy path', async (t) => {
    if (needs(t, ['curl'])) return;
    assert.ok(sf && copy);
    const spec = '0-99,200000-700000,5000000-5100000,-300000';
    const a = await curl(sf, '/initrd.img', ['-r', spec]);
    const b = await curl(copy, '/initrd.img', ['-r', spec]);
    assert.equal(a.status, 206);
    const pa = parseMultipart(a.headers.get('content-type') ?? '', a.body);
    const pb = parseMultipart(b.headers.get('content-type') ?? '', b.body);
    assert.equal(pa.length, 4);
    assert.deepEqual(
      pa.map((p) => [p.contentRange, sha(p.body)]),
      pb.map((p) => [p.contentRange, sha(p.body)]),
    );
    assert.equal(await settled(), 0);
  });

  it('keep-alive: two requests on one connection, and two pipelined in one write, come back whole and in order', async (t) => {
    if (needs(t)) return;
    assert.ok(sf);
    const req = (range: string): string =>
      `GET /images/initrd.img HTTP/1.1\r\nHost: x\r\nRange: bytes=${range}\r\n\r\n`;
    const pipelined = await exchange(sf, req('0-999999') + req('2000000-4999999'), (b) => responses(b, 2) !== null);
    const [r1, r2] = responses(pipelined, 2) ?? [];
    assert.ok(r1 && r2);
    assert.match(r1.head, /^HTTP\/1\.1 206/);
    assert.ok(r1.body.equals(big.subarray(0, 1_000_000)), 'first pipelined body');
    assert.match(r2.head, /^HTTP\/1\.1 206/);
    assert.ok(r2.body.equals(big.subarray(2_000_000, 5_000_000)), 'second pipelined body');
    assert.equal(await settled(), 0);
  });

  it('a reader that stalls and hangs up frees its thread and descriptors', async (t) => {
    if (needs(t)) return;
    assert.ok(sf);
    const fds = readdirSync('/proc/self/fd').length;
    const url = new URL(sf.base);
    const got = await new Promise<number>((resolve, reject) => {
      const sock = connect(Number(url.port), url.hostname, () =>
        sock.write('GET /images/initrd.img HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      let n = 0;
      sock.on('data', (c: Buffer) => {
        n += c.length;
        if (n < 256 * 1024 || sock.isPaused()) return;
        sock.pause(); // the kernel buffers fill; the native thread waits in poll(POLLOUT)
        setTimeout(() => {
          assert.equal(jobs(), 1, 'one sendfile thread is blocked on the stalled reader');
          sock.destroy();
          resolve(n);
        }, 400);
      });
      sock.on('error', reject);
    });
    assert.ok(got < BIG);
    assert.equal(await settled(), 0, 'the thread ended after the hang-up');
    const deadline = Date.now() + 3000;
    while (readdirSync('/proc/self/fd').length > fds && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 25));
    assert.ok(readdirSync('/proc/self/fd').length <= fds, 'duplicated descriptors closed');
  });

  it('a file that shrinks under the transfer cuts the response (never pads it)', async (t) => {
    if (needs(t)) return;
    await withOwnServer('shrink', async (h, r) => {
      try {
        const url = new URL(h.base);
        const body = await new Promise<{ n: number; ended: boolean }>((resolve, reject) => {
          const sock = connect(Number(url.port), url.hostname, () =>
            sock.write('GET /images/x.img HTTP/1.1\r\nHost: x\r\n\r\n'),
          );
          let n = 0;
          let stalled = false;
          sock.on('data', (c: Buffer) => {
            n += c.length;
            if (n < 256 * 1024 || stalled) return;
            stalled = true; // once: the socket buffers fill, the thread blocks mid-file
            sock.pause();
            setTimeout(() => {
              truncateSync(path.join(r, 'x.img'), 4 * 1024 * 1024);
              sock.resume();
            }, 200);
          });
          sock.on('close', () => resolve({ n, ended: true }));
          sock.on('error', reject);
        });
        assert.ok(body.n < BIG, `the client saw a cut (${body.n} bytes of ${BIG})`);
        assert.equal(await settled(), 0);
      } finally {
        await h.close();
      }
    });
  });

  it('stopping the server while a transfer is blocked ends the thread', async (t) => {
    if (needs(t)) return;
    await withOwnServer('stop', async (h) => {
      const url = new URL(h.base);
      const sock = connect(Number(url.port), url.hostname, () =>
        sock.write('GET /images/x.img HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      sock.on('error', () => undefined);
      await new Promise<void>((resolve) => {
        let n = 0;
        sock.on('data', (c: Buffer) => {
          n += c.length;
          if (n >= 256 * 1024 && !sock.isPaused()) {
            sock.pause();
            setTimeout(resolve, 300);
          }
        });
      });
      assert.equal(jobs(), 1);
      await h.close();
      assert.equal(await settled(), 0, 'closeAllConnections cancelled the blocked job');
      sock.destroy();
    });
  });

  it('the copy fallback is byte-exact too (curl, whole file)', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    assert.ok(copy);
    const out = path.join(dir, 'copy.out');
    const r = await curl(copy, '/initrd.img', [], out);
    assert.equal(r.status, 200);
    assert.equal(sha(readFileSync(out)), sha(big));
  });
});
