/**
 * `kickstand images import NAME --iso FILE | --tree DIR|URL` through the real CLI. The ISOs are
 * built here with xorriso in the layout of a Rocky 9 DVD (.treeinfo with [checksums] sha256,
 * .discinfo, images/pxeboot/, images/install.img, BaseOS/ and AppStream/ repodata); the kernel,
 * initrd and packages are random bytes standing in for the real ones (the checks only hash them).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../src/config/load';
import { missing } from '../helpers/env';
import { cliArgv, REPO, runCli, testConfig, type CliResult } from '../helpers/daemon';

function runCliAsync(args: string[]): Promise<CliResult> {
  return new Promise((ok) => {
    const p = spawn(process.execPath, [...cliArgv(), ...args], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => ok({ code: code ?? -1, stdout, stderr }));
  });
}

const why = missing({ binaries: ['xorriso', 'script'] });

const FILES: Record<string, number> = {
  'images/pxeboot/vmlinuz': 70_000,
  'images/pxeboot/initrd.img': 300_000,
  'images/install.img': 200_000,
  'images/efiboot.img': 20_000,
  'BaseOS/repodata/repomd.xml': 3_000,
  'BaseOS/Packages/b/bash-5.1.8-9.el9.x86_64.rpm': 50_000,
  'AppStream/repodata/repomd.xml': 3_000,
};
const CHECKSUMMED = ['images/efiboot.img', 'images/install.img', 'images/pxeboot/initrd.img', 'images/pxeboot/vmlinuz'];

/** A tree like a Rocky 9.4 DVD's, with a productmd 1.2 .treeinfo. */
function makeTree(root: string, tamper?: string): void {
  for (const [p, n] of Object.entries(FILES)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), randomBytes(n));
  }
  const sums = CHECKSUMMED.map(
    (p) =>
      `${p} = sha256:${createHash('sha256')
        .update(readFileSync(join(root, p)))
        .digest('hex')}`,
  ).join('\n');
  writeFileSync(
    join(root, '.treeinfo'),
    `[checksums]
${sums}

[general]
; WARNING.0 = This section provides compatibility with pre-productmd treeinfos.
; WARNING.1 = Read productmd documentation for details about new format.
arch = x86_64
family = Rocky Linux
name = Rocky Linux 9.4
packagedir = AppStream/Packages
platforms = x86_64,xen
repository = AppStream
timestamp = 1714846379
variant = AppStream
variants = AppStream,BaseOS
version = 9.4

[header]
type = productmd.treeinfo
version = 1.2

[images-x86_64]
efiboot.img = images/efiboot.img
initrd = images/pxeboot/initrd.img
kernel = images/pxeboot/vmlinuz

[images-xen]
initrd = images/pxeboot/initrd.img
kernel = images/pxeboot/vmlinuz

[release]
name = Rocky Linux
short = Rocky
version = 9.4

[stage2]
mainimage = images/install.img

[tree]
arch = x86_64
build_timestamp = 1714846379
platforms = x86_64,xen
variants = AppStream,BaseOS

[variant-AppStream]
id = AppStream
name = AppStream
packages = AppStream/Packages
repository = AppStream
type = variant
uid = AppStream

[variant-BaseOS]
id = BaseOS
name = BaseOS
packages = BaseOS/Packages
repository = BaseOS
type = variant
uid = BaseOS
`,
  );
  writeFileSync(join(root, '.discinfo'), '1714846379.365217\n9.4\nx86_64\n');
  if (tamper) writeFileSync(join(root, tamper), randomBytes(FILES[tamper]!)); // after the checksums
}

function makeIso(dir: string, name: string, tamper?: string): { iso: string; tree: string } {
  const tree = join(dir, `${name}-tree`);
  makeTree(tree, tamper);
  const iso = join(dir, `${name}.iso`);
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', iso, '-V', 'Rocky-9-4-x86_64-dvd', '-R', '-J', tree], {
    stdio: 'pipe',
  });
  return { iso, tree };
}

describe('images import NAME --iso | --tree', { skip: why }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ks-osimport-'));
  const cfg = join(dir, 'kickstand.yaml');
  const images = join(dir, 'images');
  let good: { iso: string; tree: string };
  let server: Server;
  let base = '';

  before(async () => {
    writeFileSync(cfg, '# production config\n' + stringify(testConfig(dir)));
    good = makeIso(dir, 'good');
    server = createServer((req, res) => {
      const f = join(good.tree, decodeURIComponent(req.url!.split('?')[0]!));
      if (!f.startsWith(good.tree) || !existsSync(f)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200).end(readFileSync(f));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--iso: extracts without root, verifies every [checksums] file, installs kernel/initrd/tree and creates the profile', () => {
    const r = runCli(['--config', cfg, 'images', 'import', 'rocky94', '--iso', good.iso, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(events[0]?.phase, 'extract');
    const verified = events.filter((e) => e.phase === 'verify' && e.done === e.total);
    assert.equal(verified.length, 1, 'a final verify event');
    assert.equal(verified[0]?.total, CHECKSUMMED.length);
    const done = events.at(-1)!;
    assert.equal(done.event, 'done');
    assert.equal(done.release, 'Rocky Linux 9.4');
    assert.equal(done.profile, 'created');
    assert.deepEqual(
      readFileSync(join(images, 'rocky94/vmlinuz')),
      readFileSync(join(good.tree, 'images/pxeboot/vmlinuz')),
    );
    assert.deepEqual(
      readFileSync(join(images, 'rocky94/initrd.img')),
      readFileSync(join(good.tree, 'images/pxeboot/initrd.img')),
    );
    assert.ok(existsSync(join(images, 'rocky94/tree/.treeinfo')));
    assert.ok(existsSync(join(images, 'rocky94/tree/BaseOS/Packages/b/bash-5.1.8-9.el9.x86_64.rpm')));
    const text = readFileSync(cfg, 'utf8');
    assert.ok(text.startsWith('# production config'), 'the file keeps its comments');
    const c = loadConfig({ file: cfg, env: {} });
    assert.deepEqual(
      { ...c.profiles.rocky94, vars: undefined, dhcpOptions: undefined, loader: undefined },
      {
        kernel: 'rocky94/vmlinuz',
        initrd: 'rocky94/initrd.img',
        installTree: 'rocky94/tree',
        kickstart: 'rocky9.ks.hbs',
        kernelArgs: '',
        vars: undefined,
        dhcpOptions: undefined,
        loader: undefined,
      },
    );
  });

  it('refuses a tampered ISO naming the file, and leaves the previous import as it was', () => {
    const bad = makeIso(dir, 'bad', 'images/pxeboot/vmlinuz');
    const before = readFileSync(join(images, 'rocky94/vmlinuz'));
    const r = runCli(['--config', cfg, 'images', 'import', 'rocky94', '--iso', bad.iso]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /images\/pxeboot\/vmlinuz: SHA-256 [0-9a-f]{64} does not match \.treeinfo.*KS_CHECKSUM_MISMATCH/,
    );
    assert.deepEqual(readFileSync(join(images, 'rocky94/vmlinuz')), before);
    assert.deepEqual(
      execFileSync('ls', ['-A', images], { encoding: 'utf8' })
        .split('\n')
        .filter((n) => n.startsWith('.')),
      [],
      'no staging left behind',
    );
  });

  it('--tree DIR updates an existing profile (kickstart and vars kept); --tree URL points inst.repo at the URL', async () => {
    const doc = parse(readFileSync(cfg, 'utf8')) as { profiles: Record<string, Record<string, unknown>> };
    doc.profiles.rocky94!.vars = { disk: '/dev/vda' };
    writeFileSync(cfg, stringify(doc));
    let r = runCli(['--config', cfg, 'images', 'import', 'rocky94', '--tree', good.tree]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imported Rocky Linux 9\.4 \(x86_64\).*4 files verified/);
    assert.match(r.stdout, /profile rocky94: updated/);
    let c = loadConfig({ file: cfg, env: {} });
    assert.equal(c.profiles.rocky94?.vars.disk, '/dev/vda');

    // The tree's HTTP server runs in this process: the CLI must not block its event loop.
    r = await runCliAsync(['--config', cfg, 'images', 'import', 'remote94', '--tree', `${base}/`, '--json']);
    assert.equal(r.code, 0, r.stderr);
    c = loadConfig({ file: cfg, env: {} });
    assert.equal(c.profiles.remote94?.installTree, base);
    assert.deepEqual(
      readFileSync(join(images, 'remote94/vmlinuz')),
      readFileSync(join(good.tree, 'images/pxeboot/vmlinuz')),
    );
    assert.equal(existsSync(join(images, 'remote94/tree')), false, 'a URL tree is not copied');
  });

  it('on a terminal: a progress bar (stderr); --no-profile leaves the config alone', () => {
    // util-linux `script` gives the CLI a pseudo-terminal.
    const argv = [
      process.execPath,
      ...cliArgv(),
      '--config',
      cfg,
      'images',
      'import',
      'plain94',
      '--tree',
      good.tree,
      '--no-profile',
    ];
    const out = execFileSync('script', ['-qec', argv.map((a) => `'${a}'`).join(' ') + ' 2>&1', '/dev/null'], {
      cwd: REPO,
      encoding: 'utf8',
      env: { ...process.env, COLUMNS: '120' },
    });
    assert.match(out, /verifying \[#{30}\] 100% 4\/4/);
    assert.match(out, /profile plain94: unchanged/);
    assert.equal(loadConfig({ file: cfg, env: {} }).profiles.plain94, undefined);
    assert.ok(existsSync(join(images, 'plain94/tree/.treeinfo')));
  });

  it('names the fix for a missing source or both', () => {
    const r = runCli(['--config', cfg, 'images', 'import', 'x1', '--iso', good.iso, '--tree', good.tree]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /needs exactly one of --iso FILE or --tree DIR\|URL/);
  });
});
