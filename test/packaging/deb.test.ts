/**
 * The Debian package (packaging/build-deb.sh, `npm run package`) on a clean Debian 12 root: the
 * journey lab's mmdebstrap root filesystem (test/e2e/lab/rootfs.ts; built once and cached,
 * which the journey lab needs anyway), unpacked into a temporary directory and entered with
 * chroot in a private mount namespace. In it the test installs the package with dpkg, checks
 * the user, directories and conffile, runs `systemd-analyze verify` on the installed unit, runs
 * the installed `kickstand init` in a network namespace (198.18.61.0/24), starts the daemon
 * from the installed files the way the unit does (its User=, its one ambient capability and
 * no-new-privileges, through setpriv: no systemd runs as PID 1 in CI, so the unit's sandbox
 * itself is not exercised here) and asks /healthz. Then an upgrade to a newer version keeps the
 * edited conffile and the state, remove keeps them, and purge removes them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packagedConfig } from '../../src/config/production';
import { VERSION } from '../../src/version';
import { REPO } from '../helpers/daemon';
import { missing, skipUnless } from '../helpers/env';
import { Lab, uniqueTag, type Netns } from '../helpers/netns';
import { debianRootfs, rootfsCacheDir } from '../e2e/lab/rootfs';

const NEED = { root: true, binaries: ['dpkg-deb', 'zstd', 'tar', 'unshare', 'chroot', 'ip', 'curl'] };
const ADDR = '198.18.61.1';

/** Runs `script` (sh) in the chroot `root`, in a private mount namespace, optionally in netns `ns`. */
function inRoot(root: string, script: string, ns?: Netns, timeoutMs = 120_000): string {
  const enter = [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-ec',
    // /dev, /proc and /sys for dpkg's scripts and Node; the mounts die with the namespace.
    `mount --bind /dev "$0/dev"; mount -t proc proc "$0/proc"; mount --bind /sys "$0/sys"
     exec chroot "$0" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 sh -ec "$1"`,
    root,
    script,
  ];
  const argv = ns ? ['ip', 'netns', 'exec', ns.name, ...enter] : enter;
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: timeoutMs, stdio: 'pipe' });
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`in the chroot: ${script}\n${x.message}\n${x.stdout ?? ''}${x.stderr ?? ''}`);
  }
}

/**
 * A clean Debian 12 root filesystem tarball: any the lab has cached (whichever version of its
 * build script made it, it is a plain mmdebstrap Debian 12), else the lab's own, built now. A
 * cached one is never rebuilt here: building removes the other versions, which another
 * checkout's lab may be using.
 */
function cleanDebianRoot(): string {
  const dir = rootfsCacheDir();
  const cached = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => /^rootfs-[0-9a-f]{16}\.tar\.zst$/.test(f))
        .map((f) => join(dir, f))
        .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
    : [];
  return cached[0] ?? debianRootfs((s) => process.stderr.write(`${s}\n`)).path;
}

/** A directive's values in a unit file. */
function directive(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

describe('Debian package on a clean Debian 12 root', () => {
  const lab = new Lab();
  let work = '';
  let root = '';
  let deb = '';
  let ns: Netns;
  let ifName = '';
  let daemon: ChildProcess | null = null;
  const runnable = (() => {
    try {
      return missing(NEED) === undefined;
    } catch {
      return false; // in CI each test fails through skipUnless
    }
  })();

  before(() => {
    if (!runnable) return;
    work = mkdtempSync(join(tmpdir(), 'kpk-deb-'));
    const t0 = Date.now();
    deb = execFileSync('bash', [join(REPO, 'packaging/build-deb.sh'), join(work, 'out')], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 15 * 60_000,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
      .trim()
      .split('\n')
      .pop()!;
    const built = (Date.now() - t0) / 1000;
    const rootfs = cleanDebianRoot();
    root = join(work, 'root');
    execFileSync('mkdir', ['-p', root]);
    // The boot-only parts (kernel, modules, GRUB, firmware) are left out: nothing here boots.
    execFileSync(
      'tar',
      ['--zstd', '-xf', rootfs, '-C', root, '--exclude=./usr/lib/modules', '--exclude=./boot'].concat([
        '--exclude=./usr/lib/grub',
        '--exclude=./usr/lib/firmware',
      ]),
      { timeout: 10 * 60_000 },
    );
    copyFileSync(deb, join(root, 'tmp/kickstand.deb'));
    process.stderr.write(
      `# package built in ${built.toFixed(0)} s (${(statSync(deb).size / 1048576).toFixed(1)} MiB); root from ${rootfs}\n`,
    );
    const tag = uniqueTag('kpk');
    ns = lab.addNamespace(`${tag}n`);
    const peer = lab.addNamespace(`${tag}p`);
    ifName = `${tag}a`;
    lab.link(ns, ifName, `${ADDR}/24`, peer, `${tag}b`, '198.18.61.2/24');
  });

  after(async () => {
    if (daemon?.pid !== undefined && daemon.exitCode === null) daemon.kill('SIGKILL');
    await lab.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('installs: the user, /var/lib/kickstand 0700, the idle conffile, the app and its runtime', (t) => {
    if (skipUnless(t, NEED)) return;
    inRoot(root, 'dpkg -i /tmp/kickstand.deb');
    const user = inRoot(root, 'getent passwd kickstand').trim().split(':');
    assert.equal(user[0], 'kickstand');
    assert.ok(Number(user[2]) < 1000, `a system uid: ${user[2]}`);
    assert.equal(user[5], '/var/lib/kickstand');
    assert.equal(user[6], '/usr/sbin/nologin');
    assert.equal(inRoot(root, 'stat -c "%a %U %G" /var/lib/kickstand').trim(), '700 kickstand kickstand');
    assert.equal(inRoot(root, 'stat -c "%a %U" /var/lib/kickstand/images').trim(), '755 root');
    assert.equal(readFileSync(join(root, 'etc/kickstand/kickstand.yaml'), 'utf8'), packagedConfig());
    assert.match(
      inRoot(root, "dpkg-query -W -f='${Conffiles}' kickstand"),
      /\/etc\/kickstand\/kickstand\.yaml [0-9a-f]{32}/,
    );
    assert.equal(inRoot(root, 'kickstand --version').trim(), VERSION);
    assert.match(inRoot(root, 'kickstand --help'), /init \[options\]/);
    // Nothing of the build machine leaks in: the app runs on its own runtime, from /usr/lib.
    assert.equal(existsSync(join(root, 'usr/bin/node')), false, 'the clean root has no node of its own');
    assert.ok(existsSync(join(root, 'usr/lib/kickstand/build/Release/kickstand_native.node')));
    assert.ok(
      existsSync(join(root, 'usr/lib/kickstand/node_modules/better-sqlite3/build/Release/better_sqlite3.node')),
    );
    assert.equal(existsSync(join(root, 'usr/lib/kickstand/node_modules/typescript')), false, 'no dev dependencies');
    assert.ok(existsSync(join(root, 'usr/lib/kickstand/console/index.html')), 'the web console (docs/console.md)');
    assert.equal(existsSync(join(root, 'usr/lib/kickstand/node_modules/playwright-core')), false, 'no browser driver');
  });

  it('the installed unit passes systemd-analyze verify', (t) => {
    if (skipUnless(t, NEED)) return;
    const out = inRoot(root, 'systemd-analyze verify /lib/systemd/system/kickstand.service 2>&1; echo "rc=$?"');
    const problems = out.split('\n').filter((l) => l.includes('kickstand.service'));
    assert.deepEqual(problems, [], out);
    assert.match(out, /rc=0\s*$/, out);
    const unit = readFileSync(join(root, 'lib/systemd/system/kickstand.service'), 'utf8');
    assert.equal(
      unit,
      readFileSync(join(REPO, 'systemd/kickstand.service'), 'utf8'),
      'the unit as tested in test/systemd',
    );
    assert.deepEqual(directive(unit, 'User'), ['kickstand']);
    assert.deepEqual(directive(unit, 'ExecStart'), [
      '/usr/bin/kickstand serve --config /etc/kickstand/kickstand.yaml --state-dir /var/lib/kickstand',
    ]);
  });

  it('kickstand init on the segment replaces the idle template; the daemon starts as the unit starts it', async (t) => {
    if (skipUnless(t, NEED)) return;
    const init = inRoot(root, `kickstand init --interface ${ifName} --probe-timeout 1 2>&1`, ns);
    assert.match(init, /no DHCP server answered/, init);
    assert.match(init, /wrote \/etc\/kickstand\/kickstand\.yaml \(replaced the packaged template\)/, init);
    // No ipxe in this root: init says how to get the loaders, and goes on.
    assert.match(init, /apt-get install ipxe, then kickstand images sync/, init);
    assert.match(init, /next:\n {2}systemctl enable --now kickstand /, init);
    const config = readFileSync(join(root, 'etc/kickstand/kickstand.yaml'), 'utf8');
    assert.match(config, new RegExp(`address: ${ADDR.replace(/\./g, '\\.')} `));
    assert.match(config, /mode: authoritative/);

    // ExecStart as User=kickstand with AmbientCapabilities=CAP_NET_BIND_SERVICE and
    // NoNewPrivileges=yes, from the installed unit.
    const unit = readFileSync(join(root, 'lib/systemd/system/kickstand.service'), 'utf8');
    assert.deepEqual(directive(unit, 'AmbientCapabilities'), ['CAP_NET_BIND_SERVICE']);
    const exec = directive(unit, 'ExecStart')[0]!;
    const setpriv = [
      'setpriv --reuid kickstand --regid kickstand --init-groups --no-new-privs',
      '--inh-caps -all,+net_bind_service --ambient-caps -all,+net_bind_service --bounding-set -all,+net_bind_service',
    ].join(' ');
    daemon = lab.spawnIn(ns, 'unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-ec',
      `mount --bind /dev "$0/dev"; mount -t proc proc "$0/proc"; mount --bind /sys "$0/sys"
       exec chroot "$0" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 ${setpriv} ${exec}`,
      root,
    ]);
    let log = '';
    daemon.stdout!.setEncoding('utf8').on('data', (d: string) => (log += d));
    daemon.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`daemon not ready in 60 s:\n${log}`)), 60_000);
      const check = (): void => {
        if (/"msg":"kickstand ready"/.test(log)) {
          clearTimeout(timer);
          ok();
        }
      };
      daemon!.stderr!.on('data', check);
      daemon!.stdout!.on('data', check);
      daemon!.once('exit', (code) => {
        clearTimeout(timer);
        fail(new Error(`daemon exited (${code}) before ready:\n${log}`));
      });
    });
    const health = ns.exec('curl', ['-sS', '--max-time', '10', `http://${ADDR}:8080/healthz`]);
    assert.match(health, /"ok":true/, health);
    // DHCP (67) and TFTP (69) bound by the unprivileged user through its one capability.
    const udp = ns.exec('ss', ['-Hulnp']);
    assert.match(udp, /0\.0\.0\.0:67\b/, udp);
    assert.match(udp, new RegExp(`${ADDR.replace(/\./g, '\\.')}:69\\b`), udp);
    const owner = inRoot(root, 'stat -c "%U %a" /var/lib/kickstand/api-token /var/lib/kickstand/kickstand.db');
    assert.deepEqual(owner.trim().split('\n'), ['kickstand 600', 'kickstand 600']);
    const token = readFileSync(join(root, 'var/lib/kickstand/api-token'), 'utf8').trim();
    // The API answers on its own listener (loopback) with the token the daemon generated in
    // the state directory; the machine listener has no API. The header goes on stdin (-H @-),
    // so a failure message never shows the token.
    ns.exec('curl', ['-fsS', '--max-time', '10', '-H', '@-', 'http://127.0.0.1:8081/api/v1/hosts'], {
      input: `Authorization: Bearer ${token}\n`,
    });
    const onMachines = ns.exec('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--max-time',
      '10',
      `http://${ADDR}:8080/api/v1/hosts`,
    ]);
    assert.equal(onMachines, '404', 'no operator API on the machine listener');
    const stopped = new Promise((r) => daemon!.once('exit', r));
    daemon.kill('SIGTERM');
    await stopped;
    assert.match(log, /"msg":"stopped"/, log);
  });

  it('an upgrade keeps the edited conffile and the state; remove keeps them; purge removes them', (t) => {
    if (skipUnless(t, NEED)) return;
    const conf = join(root, 'etc/kickstand/kickstand.yaml');
    writeFileSync(conf, readFileSync(conf, 'utf8').replace('level: info ', 'level: debug'));
    const edited = readFileSync(conf, 'utf8');
    const db = readFileSync(join(root, 'var/lib/kickstand/kickstand.db'));
    const token = readFileSync(join(root, 'var/lib/kickstand/api-token'), 'utf8');
    // The next version: the same package with a higher version and a changed app file.
    const x = join(work, 'next');
    execFileSync('dpkg-deb', ['-R', deb, x]);
    const control = join(x, 'DEBIAN/control');
    writeFileSync(control, readFileSync(control, 'utf8').replace(/^Version: .*$/m, `Version: ${VERSION}+kpk1`));
    writeFileSync(join(x, 'usr/lib/kickstand/UPGRADED'), 'next\n');
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zzstd', '-z1', '--build', x, join(root, 'tmp/next.deb')], {
      stdio: 'ignore',
    });
    inRoot(root, 'dpkg -i /tmp/next.deb');
    assert.equal(inRoot(root, "dpkg-query -W -f='${Version}' kickstand"), `${VERSION}+kpk1`);
    assert.ok(existsSync(join(root, 'usr/lib/kickstand/UPGRADED')));
    assert.equal(readFileSync(conf, 'utf8'), edited, 'the edited conffile is kept');
    assert.deepEqual(readFileSync(join(root, 'var/lib/kickstand/kickstand.db')), db, 'the database is kept');
    assert.equal(readFileSync(join(root, 'var/lib/kickstand/api-token'), 'utf8'), token, 'the API token is kept');
    assert.equal(inRoot(root, 'stat -c "%a %U" /var/lib/kickstand').trim(), '700 kickstand');

    inRoot(root, 'dpkg -r kickstand');
    assert.equal(existsSync(join(root, 'usr/bin/kickstand')), false);
    assert.equal(existsSync(join(root, 'usr/lib/kickstand/dist')), false);
    assert.equal(readFileSync(conf, 'utf8'), edited, 'remove keeps the config');
    assert.ok(existsSync(join(root, 'var/lib/kickstand/kickstand.db')), 'remove keeps the state');

    inRoot(root, 'dpkg --purge kickstand');
    assert.equal(existsSync(join(root, 'etc/kickstand')), false, 'purge removes /etc/kickstand');
    assert.equal(existsSync(join(root, 'var/lib/kickstand')), false, 'purge removes /var/lib/kickstand');
    assert.equal(existsSync(join(root, 'usr/lib/kickstand')), false);
    assert.match(
      inRoot(root, "dpkg-query -W -f='${db:Status-Abbrev}' kickstand 2>&1 || true"),
      /^un|no packages found matching kickstand/,
    );
    // Debian leaves system users in place (files elsewhere may still carry the uid).
    assert.match(inRoot(root, 'getent passwd kickstand'), /^kickstand:/);
  });
});
