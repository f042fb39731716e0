/**
 * The open-file cache behind /images: revalidation after validMs (injected clock), jail
 * re-checked on revalidation, LRU bound, idle close, and no descriptor closed while borrowed.
 * Real files and descriptors (/proc/self/fd).
 */
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createOpenFileCache, SMALL_BODY_BYTES, type OpenFile } from '../../src/http/assets/open-files';

let dir = '';
let root = '';
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ks-openfiles-'));
  root = path.join(realpathSync(dir), 'images');
  mkdirSync(root);
  for (let i = 0; i < 5; i++) writeFileSync(path.join(root, `f${i}`), `file ${i}`);
  writeFileSync(path.join(dir, 'canary'), 'CANARY');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Descriptors of this process open on files under `root`: counting only those keeps the test
 * independent of whatever else the process opens or closes meanwhile (a whole-process count
 * was off by one in a CI run).
 */
const fds = (): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(root + path.sep);
    } catch {
      return false; // closed between readdir and readlink (the directory's own fd, say)
    }
  }).length;
function content(f: OpenFile): string {
  const b = Buffer.alloc(f.size);
  readSync(f.fd, b, 0, f.size, 0);
  return b.toString();
}
async function get(c: ReturnType<typeof createOpenFileCache>, name: string): Promise<OpenFile> {
  const f = await c.acquire(root, [name]);
  assert.ok(f.ok, `acquire ${name}`);
  return f;
}

describe('open-file cache', () => {
  it('reuses one descriptor within validMs; a replaced file is opened anew after it', async () => {
    let t = 0;
    const c = createOpenFileCache({ validMs: 1000, now: () => t });
    const a = await get(c, 'f0');
    c.release(a);
    const b = await get(c, 'f0');
    assert.equal(b.fd, a.fd);
    c.release(b);
    writeFileSync(path.join(root, 'f0.new'), 'new 0!');
    renameSync(path.join(root, 'f0.new'), path.join(root, 'f0'));
    t = 500;
    const stillOld = await get(c, 'f0');
    assert.equal(content(stillOld), 'file 0'); // old bytes with the old ETag: consistent
    c.release(stillOld);
    t = 1500;
    const fresh = await get(c, 'f0');
    assert.equal(content(fresh), 'new 0!');
    assert.notEqual(fresh.etag, a.etag);
    c.release(fresh);
    c.clear();
  });

  it('revalidation re-runs the jail: a file swapped for an outward symlink is refused', async () => {
    let t = 0;
    const c = createOpenFileCache({ validMs: 1000, now: () => t });
    c.release(await get(c, 'f1'));
    unlinkSync(path.join(root, 'f1'));
    symlinkSync(path.join(dir, 'canary'), path.join(root, 'f1'));
    t = 2000;
    const r = await c.acquire(root, ['f1']);
    assert.deepEqual(r, { ok: false, status: 404, reason: 'outside-root' });
    c.clear();
  });

  it('holds at most maxEntries descriptors, and never closes one that is borrowed', async () => {
    await new Promise((r) => setTimeout(r, 50)); // earlier tests' asynchronous closes
    const base = fds();
    const c = createOpenFileCache({ maxEntries: 2 });
    const held = await get(c, 'f2'); // borrowed, then pushed out of the LRU by two others
    c.release(await get(c, 'f3'));
    c.release(await get(c, 'f4'));
    assert.equal(content(held), 'file 2'); // still readable: eviction waited for the release
    assert.ok(fds() <= base + 3);
    c.release(held);
    await new Promise((r) => setTimeout(r, 50)); // fs.close is asynchronous
    assert.ok(fds() <= base + 2, `fds ${fds()} base ${base}`);
    c.clear();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(fds(), base);
  });

  it('closes entries idle for idleMs at the next acquire', async () => {
    let t = 0;
    await new Promise((r) => setTimeout(r, 50));
    const base = fds();
    const c = createOpenFileCache({ idleMs: 60_000, now: () => t });
    c.release(await get(c, 'f3'));
    t = 61_000;
    c.release(await get(c, 'f4')); // sweeps f3
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(fds(), base + 1);
    c.clear();
  });

  it('keeps the bytes of a small file with its entry, of the inode its validators describe', async () => {
    let t = 0;
    const c = createOpenFileCache({ validMs: 1000, now: () => t });
    writeFileSync(path.join(root, 'big'), Buffer.alloc(SMALL_BODY_BYTES + 1, 7));
    const big = await get(c, 'big');
    assert.equal(big.body, null, 'a file above SMALL_BODY_BYTES is pumped from its descriptor');
    c.release(big);
    writeFileSync(path.join(root, 'small'), 'small v1');
    const a = await get(c, 'small');
    assert.equal(a.body?.toString(), 'small v1');
    c.release(a);
    writeFileSync(path.join(root, 'small.new'), 'small v2, longer');
    renameSync(path.join(root, 'small.new'), path.join(root, 'small'));
    t = 500;
    const stillOld = await get(c, 'small');
    assert.equal(stillOld.body?.toString(), 'small v1'); // old bytes with the old ETag
    assert.equal(stillOld.etag, a.etag);
    c.release(stillOld);
    t = 1500;
    const fresh = await get(c, 'small');
    assert.equal(fresh.body?.toString(), 'small v2, longer');
    assert.equal(fresh.size, fresh.body?.length);
    c.release(fresh);
    c.clear();
  });
});
