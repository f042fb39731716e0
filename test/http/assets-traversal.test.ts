/**
 * /images jail with a real curl (`--path-as-is`, so curl sends the path unnormalised):
 * encoded and plain traversal, NUL, backslash, overlong UTF-8, dotfiles, and symlinks inside
 * the root that point at a canary outside it (send alone would serve those, deps.md §3).
 */
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { skipUnless } from '../helpers/env';
import { curl, removeDir, startAssets, tempDir, type Harness } from './assets-harness';

const CANARY = 'CANARY-7f3a-outside-the-images-root';
let h: Harness | undefined;
let dir = '';
let root = '';

function H(): Harness {
  assert.ok(h, 'server not started');
  return h;
}

before(async () => {
  dir = tempDir('jail');
  root = path.join(dir, 'images');
  mkdirSync(path.join(root, 'sub'), { recursive: true });
  mkdirSync(path.join(root, 'tree', 'repodata'), { recursive: true });
  mkdirSync(path.join(dir, 'images-evil'), { recursive: true });
  writeFileSync(path.join(dir, 'canary.txt'), CANARY);
  writeFileSync(path.join(dir, 'images-evil', 'canary.txt'), CANARY);
  writeFileSync(path.join(root, 'ok.bin'), 'inside');
  writeFileSync(path.join(root, '.env'), CANARY);
  writeFileSync(path.join(root, 'sub', '.hidden'), CANARY);
  writeFileSync(path.join(root, 'tree', '.treeinfo'), '[general]\n');
  writeFileSync(path.join(root, '%2e%2e'), 'a literal name');
  symlinkSync(path.join(dir, 'canary.txt'), path.join(root, 'escape-link')); // absolute, outward
  symlinkSync('../canary.txt', path.join(root, 'sub', 'rel-link')); // relative, outward
  symlinkSync(dir, path.join(root, 'dir-link')); // directory, outward
  symlinkSync('../images-evil/canary.txt', path.join(root, 'sibling-link')); // sibling prefix
  symlinkSync('.env', path.join(root, 'to-dotfile')); // inside, but at a dotfile
  symlinkSync('ok.bin', path.join(root, 'inside-link')); // inside: fine
  h = await startAssets(root, dir);
});
after(async () => {
  await h?.close();
  removeDir(dir);
});

const refused: Array<[string, number]> = [
  ['/../canary.txt', 403],
  ['/sub/../../canary.txt', 403],
  ['/%2e%2e/canary.txt', 403],
  ['/%2E%2E/canary.txt', 403],
  ['/.%2e/canary.txt', 403],
  ['/%2e%2e%2fcanary.txt', 403],
  ['/..%2fcanary.txt', 403],
  ['/sub%2f..%2f..%2fcanary.txt', 403],
  ['/..%5ccanary.txt', 403],
  ['/..\\canary.txt', 403],
  ['/ok.bin%00.txt', 400],
  ['/%00', 400],
  ['/%c0%ae%c0%ae/canary.txt', 400],
  ['/%e0%80%ae%e0%80%ae/canary.txt', 400],
  ['/%zz', 400],
  ['/.env', 404],
  ['/%2eenv', 404],
  ['/sub/.hidden', 404],
  ['/escape-link', 404],
  ['/sub/rel-link', 404],
  ['/dir-link/canary.txt', 404],
  ['/sibling-link', 404],
  ['/to-dotfile', 404],
  ['//etc/passwd', 404],
  ['/%2fetc%2fpasswd', 403],
  ['/sub/', 404],
  ['/sub', 404],
  ['/', 404],
  ['/nope.bin', 404],
];

describe('/images jail with curl --path-as-is', () => {
  for (const [p, status] of refused) {
    it(`${p} → ${status}, no canary, no root path`, async (t) => {
      if (skipUnless(t, { binaries: ['curl'] })) return;
      const r = await curl(H(), p, ['--path-as-is']);
      assert.equal(r.status, status);
      const body = r.body.toString('latin1');
      assert.ok(!body.includes(CANARY), 'canary leaked');
      assert.ok(!body.includes(dir), 'root path disclosed');
    });
  }

  it('every refusal above was counted and reported, none served the canary', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const leaks = H().served.filter((e) => e.status === 200 && e.bytes === CANARY.length);
    assert.deepEqual(leaks, []);
    assert.match(await H().metrics.metrics(), /kickstand_http_asset_refused_total\{reason="outside-root"\} [1-9]/);
  });

  const allowed: Array<[string, string]> = [
    ['/ok.bin', 'inside'],
    ['/inside-link', 'inside'], // a symlink that stays inside is fine
    ['/tree/.treeinfo', '[general]\n'], // Anaconda's install-tree metadata
    ['/%252e%252e', 'a literal name'], // decoded once: a file called "%2e%2e"
    ['//ok.bin', 'inside'], // empty segments collapse
  ];
  for (const [p, body] of allowed) {
    it(`${p} → 200`, async (t) => {
      if (skipUnless(t, { binaries: ['curl'] })) return;
      const r = await curl(H(), p, ['--path-as-is']);
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), body);
    });
  }
});
