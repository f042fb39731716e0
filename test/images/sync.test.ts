/**
 * images/sync: copying the iPXE loaders from Debian's `ipxe` package (the real files in
 * /usr/lib/ipxe) and checking what profiles need is present.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import { resolveConfig } from '../../src/config/load';
import { configSchema } from '../../src/config/schema';
import {
  checkProfiles,
  DEBIAN_IPXE_DIR,
  IPXE_LOADERS,
  localAssetPath,
  SECURE_BOOT_LOADERS_ARM64,
  syncLoaders,
} from '../../src/images/sync';
import { IN_CI } from '../helpers/env';

const dirs: string[] = [];
function temp(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'ks-images-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The Debian package is a prerequisite: skipped outside CI, a failure in CI. */
function needIpxePackage(t: TestContext): boolean {
  if (IPXE_LOADERS.every((n) => existsSync(path.join(DEBIAN_IPXE_DIR, n)))) return false;
  const why = 'needs the Debian package ipxe (/usr/lib/ipxe); .ci/run installs it';
  if (IN_CI) throw new Error(`prerequisite missing in CI: ${why}`);
  t.skip(why);
  return true;
}

describe('syncLoaders', () => {
  it('copies undionly.kpxe, ipxe.efi and snponly.efi from /usr/lib/ipxe, then reports unchanged', async (t) => {
    if (needIpxePackage(t)) return;
    const images = path.join(temp(), 'images');
    const first = await syncLoaders(images);
    assert.deepEqual(
      first.map((r) => [r.name, r.action]),
      IPXE_LOADERS.map((n) => [n, 'copied']),
    );
    for (const n of IPXE_LOADERS)
      assert.ok(readFileSync(path.join(images, n)).equals(readFileSync(path.join(DEBIAN_IPXE_DIR, n))));
    assert.deepEqual(readdirSync(images).sort(), [...IPXE_LOADERS].sort()); // no temp files left
    const second = await syncLoaders(images);
    assert.deepEqual(
      second.map((r) => r.action),
      ['unchanged', 'unchanged', 'unchanged'],
    );
  });

  it('replaces a stale loader; dry run writes nothing', async (t) => {
    if (needIpxePackage(t)) return;
    const images = temp();
    writeFileSync(path.join(images, 'ipxe.efi'), 'old');
    const dry = await syncLoaders(images, { dryRun: true });
    assert.equal(dry.find((r) => r.name === 'ipxe.efi')?.action, 'copied');
    assert.equal(readFileSync(path.join(images, 'ipxe.efi'), 'utf8'), 'old');
    await syncLoaders(images);
    assert.ok(readFileSync(path.join(images, 'ipxe.efi')).equals(readFileSync(path.join(DEBIAN_IPXE_DIR, 'ipxe.efi'))));
  });

  it('--secure-boot also copies shim and the signed network GRUB under the names shim loads', async () => {
    const src = temp();
    for (const n of IPXE_LOADERS) writeFileSync(path.join(src, n), n);
    writeFileSync(path.join(src, 'shimx64.efi.signed'), 'shim');
    writeFileSync(path.join(src, 'grubnetx64.efi.signed'), 'grub');
    const images = path.join(temp(), 'images');
    const res = await syncLoaders(images, {
      sourceDir: src,
      secureBoot: {
        'shimx64.efi': path.join(src, 'shimx64.efi.signed'),
        'grubx64.efi': path.join(src, 'grubnetx64.efi.signed'),
      },
    });
    assert.deepEqual(
      res.map((r) => [r.name, r.action]),
      [...IPXE_LOADERS.map((n) => [n, 'copied']), ['shimx64.efi', 'copied'], ['grubx64.efi', 'copied']],
    );
    assert.equal(readFileSync(path.join(images, 'grubx64.efi'), 'utf8'), 'grub');
  });

  it('--arm64 ROOT also copies the arm64 shim and GRUB from the packages unpacked under ROOT', async () => {
    const src = temp();
    for (const n of IPXE_LOADERS) writeFileSync(path.join(src, n), n);
    const root = temp();
    for (const [n, p] of Object.entries(SECURE_BOOT_LOADERS_ARM64)) {
      mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
      writeFileSync(path.join(root, p), n);
    }
    const images = path.join(temp(), 'images');
    const res = await syncLoaders(images, { sourceDir: src, arm64Root: root });
    assert.deepEqual(
      res.slice(IPXE_LOADERS.length).map((r) => [r.name, r.action]),
      [
        ['shimaa64.efi', 'copied'],
        ['grubaa64.efi', 'copied'],
      ],
    );
    assert.equal(readFileSync(path.join(images, 'grubaa64.efi'), 'utf8'), 'grubaa64.efi');
    const none = await syncLoaders(images, { sourceDir: src, arm64Root: temp() });
    assert.deepEqual(
      none.slice(IPXE_LOADERS.length).map((r) => r.action),
      ['missing', 'missing'],
    );
  });

  it('reports loaders missing from the source directory', async () => {
    const src = temp();
    writeFileSync(path.join(src, 'undionly.kpxe'), 'x');
    const res = await syncLoaders(path.join(temp(), 'images'), { sourceDir: src });
    assert.deepEqual(
      res.map((r) => r.action),
      ['copied', 'missing', 'missing'],
    );
  });
});

function config(imagesDir: string, profiles: Record<string, unknown>) {
  return resolveConfig(
    configSchema.parse({
      imagesDir,
      network: { address: '198.18.0.1', subnet: '198.18.0.0/24', pool: { start: '198.18.0.100', end: '198.18.0.199' } },
      profiles,
    }),
  );
}

const rocky = {
  kernel: 'rocky9/vmlinuz',
  initrd: 'rocky9/initrd.img',
  installTree: 'http://198.18.0.1:8080/images/rocky9/tree',
  kickstart: 'rocky9.ks.hbs',
};

describe('checkProfiles', () => {
  it('lists every missing loader, kernel, initrd and install tree', async () => {
    const images = temp();
    const problems = await checkProfiles(config(images, { rocky9: rocky }));
    const byField = new Map(problems.map((p) => [p.field, p]));
    assert.equal(byField.get('dhcp.loaders.bios')?.severity, 'error');
    assert.equal(byField.get('dhcp.loaders.uefi')?.severity, 'error');
    assert.equal(byField.get('dhcp.loaders.arm64')?.severity, 'warning');
    assert.equal(byField.get('profiles.rocky9.kernel')?.path, 'rocky9/vmlinuz');
    assert.equal(byField.get('profiles.rocky9.initrd')?.path, 'rocky9/initrd.img');
    assert.equal(byField.get('profiles.rocky9.installTree')?.path, 'rocky9/tree');
    assert.match(byField.get('dhcp.loaders.bios')?.fix ?? '', /kickstand images sync/);
  });

  it('is clean once the files are there (tree with .treeinfo)', async () => {
    const images = temp();
    for (const f of [
      'undionly.kpxe',
      'ipxe.efi',
      'ipxe-i386.efi',
      'ipxe-arm64.efi',
      'ipxe-arm32.efi',
      'rocky9/vmlinuz',
      'rocky9/initrd.img',
      'rocky9/tree/.treeinfo',
    ]) {
      mkdirSync(path.dirname(path.join(images, f)), { recursive: true });
      writeFileSync(path.join(images, f), 'x');
    }
    assert.deepEqual(await checkProfiles(config(images, { rocky9: rocky })), []);
  });

  it('a loader: grub profile needs shim and grubx64.efi in images/', async () => {
    const images = temp();
    const without = await checkProfiles(config(images, { rocky9: rocky }));
    assert.ok(!without.some((p) => p.field.startsWith('dhcp.grubLoaders')), 'no GRUB profile: not checked');
    const sb = await checkProfiles(config(images, { rocky9sb: { ...rocky, loader: 'grub' } }));
    assert.deepEqual(
      sb.filter((p) => p.field === 'dhcp.grubLoaders.uefi').map((p) => p.path),
      ['shimx64.efi', 'grubx64.efi'],
    );
    assert.match(sb.find((p) => p.path === 'shimx64.efi')!.fix, /images sync --secure-boot/);
  });

  it('an empty kernel file and a tree without metadata are problems', async () => {
    const images = temp();
    mkdirSync(path.join(images, 'rocky9', 'tree'), { recursive: true });
    writeFileSync(path.join(images, 'rocky9', 'vmlinuz'), '');
    const problems = await checkProfiles(config(images, { rocky9: rocky }));
    assert.ok(problems.some((p) => p.field === 'profiles.rocky9.kernel'));
    assert.match(
      problems.find((p) => p.field === 'profiles.rocky9.installTree')?.message ?? '',
      /neither \.treeinfo nor repodata/,
    );
  });

  it('external URLs are not checked; our own /images URLs map to files', () => {
    const c = config(temp(), {});
    assert.equal(localAssetPath('https://mirror.example/rocky/9/BaseOS/x86_64/os', c), null);
    assert.equal(localAssetPath('http://198.18.0.1:8080/images/rocky9/tree', c), 'rocky9/tree');
    assert.equal(localAssetPath('rocky9/vmlinuz', c), 'rocky9/vmlinuz');
    assert.equal(localAssetPath('/rocky9/vmlinuz', c), 'rocky9/vmlinuz');
  });
});
