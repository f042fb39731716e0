/**
 * images/k3s-import and k3s-bundle: `kickstand images import k3s DIR` on a stand-in release
 * (test/helpers/k3s-release.ts: the real layout and real SHA-256s of small stand-in files, not
 * k3s). Tampering, a missing checksum line and a missing file are refused with their code and
 * the file named; nothing lands in imagesDir then; --force replaces; the bootstrap's bundle
 * choice (resolveBundle) names the fix when there is nothing, or too much, to choose from.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { importK3s } from '../../src/images/k3s-import';
import { importedVersions, readBundle, resolveBundle } from '../../src/images/k3s-bundle';
import { isKickstandError, type KickstandError } from '../../src/errors';
import { main } from '../../src/cli/main';
import { sha256, standinK3sRelease } from '../helpers/k3s-release';

const V = 'v1.31.4+k3s1';
const dirs: string[] = [];
function temp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'ks-k3s-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function refused(p: Promise<unknown>, code: string): Promise<KickstandError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isKickstandError(e), `not a KickstandError: ${(e as Error).message}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

/** imagesDir holds nothing of the import: no bundle and no staging directory left behind. */
function nothingImported(images: string): void {
  const v = path.join(images, 'k3s', V);
  assert.deepEqual(existsSync(v) ? readdirSync(v) : [], []);
}

describe('kickstand images import k3s (stand-in release)', () => {
  it('imports the binary, images tarball, install.sh, sums and SELinux RPM into k3s/<version>/<arch>/ with their hashes', async () => {
    const src = temp();
    const images = temp();
    const rel = standinK3sRelease(src, V, { selinuxRpm: true });
    const done = await importK3s(images, rel.dir);
    assert.equal(done.length, 1);
    const dir = path.join(images, 'k3s', V, 'amd64');
    assert.equal(done[0]!.dir, dir);
    assert.deepEqual(readdirSync(dir).sort(), [
      'bundle.json',
      'install.sh',
      'k3s',
      'k3s-airgap-images-amd64.tar.zst',
      'k3s-selinux-1.6-1.el9.noarch.rpm',
      'sha256sum-amd64.txt',
    ]);
    assert.equal(statSync(path.join(dir, 'k3s')).mode & 0o777, 0o755);
    assert.equal(statSync(path.join(dir, 'install.sh')).mode & 0o777, 0o644);
    const b = (await readBundle(images, V, 'amd64'))!;
    assert.equal(b.version, V);
    assert.equal(b.binary.sha256, rel.sums['k3s']);
    assert.equal(b.images.name, 'k3s-airgap-images-amd64.tar.zst');
    assert.equal(b.images.sha256, rel.sums['k3s-airgap-images-amd64.tar.zst']);
    assert.equal(b.installSh.sha256, sha256(readFileSync(path.join(rel.dir, 'install.sh'))));
    assert.deepEqual(
      b.selinuxRpms.map((r) => r.name),
      ['k3s-selinux-1.6-1.el9.noarch.rpm'],
    );
    for (const f of [b.binary, b.images, b.installSh, b.sums, ...b.selinuxRpms])
      assert.equal(sha256(readFileSync(path.join(dir, f.name))), f.sha256, f.name);
    assert.deepEqual(await importedVersions(images), [V]);
    assert.deepEqual(readdirSync(path.join(images, 'k3s', V)), ['amd64'], 'no staging directory left');
  });

  it('arm64: k3s-arm64 is verified under its release name and stored as k3s; the version comes from --version when the DIR name has none', async () => {
    const images = temp();
    const rel = standinK3sRelease(temp(), V, { arches: ['amd64', 'arm64'], name: 'downloads' });
    await refused(importK3s(images, rel.dir), 'KS_INVALID_INPUT');
    const done = await importK3s(images, rel.dir, { version: V });
    assert.deepEqual(
      done.map((d) => d.arch),
      ['amd64', 'arm64'],
    );
    assert.equal(sha256(readFileSync(path.join(images, 'k3s', V, 'arm64', 'k3s'))), rel.sums['k3s-arm64']);
    assert.equal((await readBundle(images, V, 'arm64'))!.images.name, 'k3s-airgap-images-arm64.tar.zst');
  });

  for (const file of ['k3s', 'k3s-airgap-images-amd64.tar.zst']) {
    it(`a changed byte in ${file} is refused (KS_CHECKSUM_MISMATCH, file, expected and actual hash)`, async () => {
      const images = temp();
      const rel = standinK3sRelease(temp(), V);
      const p = path.join(rel.dir, file);
      const bytes = readFileSync(p);
      bytes[5] = bytes[5]! ^ 1;
      writeFileSync(p, bytes);
      const e = await refused(importK3s(images, rel.dir), 'KS_CHECKSUM_MISMATCH');
      assert.ok(e.message.includes(file), e.message);
      assert.ok(e.message.includes(rel.sums[file]!), 'expected hash named');
      assert.ok(e.message.includes(sha256(bytes)), 'actual hash named');
      assert.match(e.fix ?? '', /download .* again/);
      nothingImported(images);
    });
  }

  it('a file with no line in sha256sum-<arch>.txt is refused (KS_BUNDLE_INCOMPLETE), not skipped', async () => {
    const images = temp();
    const rel = standinK3sRelease(temp(), V);
    const sums = path.join(rel.dir, 'sha256sum-amd64.txt');
    writeFileSync(
      sums,
      readFileSync(sums, 'utf8')
        .split('\n')
        .filter((l) => !l.endsWith('  k3s'))
        .join('\n'),
    );
    const e = await refused(importK3s(images, rel.dir), 'KS_BUNDLE_INCOMPLETE');
    assert.match(e.message, /sha256sum-amd64\.txt has no line for k3s$/);
    nothingImported(images);
  });

  for (const file of ['k3s', 'k3s-airgap-images-amd64.tar.zst', 'install.sh', 'sha256sum-amd64.txt']) {
    it(`a missing ${file} is refused (KS_BUNDLE_INCOMPLETE, the file named)`, async () => {
      const images = temp();
      const rel = standinK3sRelease(temp(), V);
      unlinkSync(path.join(rel.dir, file));
      const e = await refused(importK3s(images, rel.dir, { arches: ['amd64'] }), 'KS_BUNDLE_INCOMPLETE');
      assert.ok(e.message.includes(file.replace(/\.tar\.zst$/, '')), e.message);
      assert.ok(e.fix, 'a fix is given');
      nothingImported(images);
    });
  }

  it('an imported version is replaced only with --force (KS_BUNDLE_EXISTS otherwise, the old bundle untouched)', async () => {
    const images = temp();
    await importK3s(images, standinK3sRelease(temp(), V).dir);
    const first = (await readBundle(images, V, 'amd64'))!;
    const second = standinK3sRelease(temp(), V, { tag: ' second' });
    await refused(importK3s(images, second.dir), 'KS_BUNDLE_EXISTS');
    assert.deepEqual(await readBundle(images, V, 'amd64'), first);
    const done = await importK3s(images, second.dir, { force: true });
    assert.equal(done[0]!.replaced, true);
    assert.equal((await readBundle(images, V, 'amd64'))!.binary.sha256, second.sums['k3s']);
    assert.notEqual(second.sums['k3s'], first.binary.sha256);
    assert.deepEqual(
      readdirSync(path.join(images, 'k3s', V)),
      ['amd64'],
      'the old bundle and the staging directory are gone',
    );
  });

  it('the CLI: `kickstand images import k3s DIR` imports into the config imagesDir; a tampered file exits 1 naming the code', async () => {
    const root = temp();
    const images = path.join(root, 'images');
    const cfg = path.join(root, 'kickstand.yaml');
    writeFileSync(
      cfg,
      `stateDir: ${root}/state\nimagesDir: ${images}\nnetwork: { address: 198.18.5.1, subnet: 198.18.5.0/24, pool: { start: 198.18.5.100, end: 198.18.5.199 } }\nprofiles: {}\n`,
    );
    const rel = standinK3sRelease(root, V);
    const err: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    const out = process.stdout.write.bind(process.stdout);
    process.stderr.write = (s: string) => (err.push(String(s)), true);
    process.stdout.write = () => true;
    try {
      assert.equal(
        await main(['node', 'kickstand', '--config', cfg, 'images', 'import', 'k3s', rel.dir]),
        0,
        err.join(''),
      );
      assert.ok(existsSync(path.join(images, 'k3s', V, 'amd64', 'k3s')));
      appendFileSync(path.join(rel.dir, 'k3s'), 'x');
      assert.equal(
        await main([
          'node',
          'kickstand',
          '--config',
          cfg,
          'images',
          'import',
          'k3s',
          rel.dir,
          '--k3s-version',
          'v1.31.5+k3s1',
        ]),
        1,
      );
      assert.match(err.join(''), /KS_CHECKSUM_MISMATCH/);
    } finally {
      process.stderr.write = write;
      process.stdout.write = out;
    }
  });
});

describe('the bootstrap’s bundle choice (resolveBundle)', () => {
  it('none imported: KS_K3S_NO_BUNDLE "no k3s bundle imported: run kickstand images import k3s DIR"', async () => {
    const e = await refused(resolveBundle(temp(), null, 'amd64'), 'KS_K3S_NO_BUNDLE');
    assert.match(e.message, /no k3s bundle imported .*: run kickstand images import k3s DIR/);
  });

  it('one imported: chosen without bootstrap.k3s.version; several: the version must be set; a missing arch or version is named', async () => {
    const images = temp();
    await importK3s(images, standinK3sRelease(temp(), V).dir);
    assert.equal((await resolveBundle(images, null, 'amd64')).version, V);
    const e1 = await refused(resolveBundle(images, null, 'arm64'), 'KS_K3S_NO_BUNDLE');
    assert.match(e1.message, /imported without arm64/);
    const e2 = await refused(resolveBundle(images, 'v1.30.0+k3s1', 'amd64'), 'KS_K3S_NO_BUNDLE');
    assert.match(e2.message, /v1\.30\.0\+k3s1 .* is not imported \(imported: v1\.31\.4\+k3s1\)/);
    await importK3s(images, standinK3sRelease(temp(), 'v1.32.0+k3s1').dir);
    const e3 = await refused(resolveBundle(images, null, 'amd64'), 'KS_K3S_NO_BUNDLE');
    assert.equal(e3.field, 'bootstrap.k3s.version');
    assert.match(e3.message, /several k3s versions are imported \(v1\.31\.4\+k3s1, v1\.32\.0\+k3s1\)/);
    assert.equal((await resolveBundle(images, 'v1.32.0+k3s1', 'amd64')).version, 'v1.32.0+k3s1');
  });
});
