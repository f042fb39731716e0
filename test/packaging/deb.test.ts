/**
 * The Debian package (packaging/build-deb.sh, `npm run package`) on a clean Debian 12 root: the
 * journey lab's mmdebstrap root filesystem (test/e2e/lab/rootfs.ts; built once and cached,
 * which the journey lab needs anyway), unpacked into a temporary directory and entered with
 * chroot in a private mount namespace. In it the test installs the package with dpkg, checks
 * the user, directories and conffile, runs `systemd-analyze verify` on the installed unit, runs
 * the installed `kickstand init` in a network namespace (198.18.61.0/24), starts the daemon
 * from the installed files the way the unit does (its User=, its one ambient capability and
 * no-new-privileges, through setpriv: no systemd runs as PID 1 in CI, so the unit's sandbox
 * itself is not exercised here) and asks /healthz. On that installed daemon it then follows
 * docs/operating.md: `kickstand images import` of a test ISO built here with xorriso (Rocky's
 * layout and .treeinfo; its kernel is the host's Debian kernel and its initrd the lab's
 * installer STAND-IN, not anaconda), `kickstand host import` of a CSV, and a real-firmware
 * machine (QEMU, SeaBIOS + the iPXE NIC ROM; test/e2e/lab/vm.ts) on a bridge into the daemon's
 * namespace PXE-boots from it: lease, iPXE script, the ISO's kernel and initrd over HTTP, the
 * kickstart, the stand-in's callbacks up to `installed`, then a second boot to the local disk.
 * `kickstand backup` and `restore --check` follow. Then an upgrade to a newer version keeps the
 * edited conffile and the state, remove keeps them, and purge removes them.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createHash } from 'node:crypto';
import { parseDocument, type Document } from 'yaml';
import type { HostEvent } from '../../src/model/event';
import type { Host } from '../../src/model/host';
import { packagedConfig } from '../../src/config/production';
import { VERSION } from '../../src/version';
import { REPO } from '../helpers/daemon';
import { missing, skipUnless } from '../helpers/env';
import { Lab, uniqueTag, type Netns } from '../helpers/netns';
import { debianRootfs, rootfsCacheDir } from '../e2e/lab/rootfs';
import { prepareAssets } from '../e2e/lab/assets';
import { checkInstalled, type MachineRecord } from '../e2e/lab/checks';
import { LOCAL_BOOT } from '../e2e/lab/lab';
import { LIMITS, type MachineDef } from '../e2e/lab/machines';
import { debianKernel } from '../e2e/lab/prereqs';
import { LabVm, labAccel } from '../e2e/lab/vm';

const NEED = {
  root: true,
  binaries: ['dpkg-deb', 'zstd', 'tar', 'unshare', 'chroot', 'ip', 'curl', 'xorriso', 'qemu-system-x86_64', 'busybox'],
};
const ADDR = '198.18.61.1';
/** The lab machine booted from the installed daemon (QEMU's 52:54:00 block; "6b:7d" is this test's). */
const PXE_MAC = '52:54:00:6b:7d:01';
/** The image and profile the test ISO becomes. */
const IMAGE = 'labiso';

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

/**
 * The package's recommended `xorriso` (what `apt install ./kickstand.deb` brings along; `images
 * import --iso` needs it) and the libraries it depends on, as .deb files of the host's installed
 * versions: from apt's cache, else `apt-get download`. The chroot has no apt lists, so dpkg
 * installs them there from these files.
 */
const XORRISO_DEBS = ['xorriso', 'libisoburn1', 'libburn4', 'libisofs6', 'libjte2', 'libreadline8', 'readline-common'];
function hostDebs(names: string[], dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return names.map((name) => {
    const version = execFileSync('dpkg-query', ['-W', '-f=${Version}', name], { encoding: 'utf8' }).trim();
    const arch = execFileSync('dpkg-query', ['-W', '-f=${Architecture}', name], { encoding: 'utf8' }).trim();
    const file = `${name}_${version.replace(/:/g, '%3a')}_${arch}.deb`;
    const cached = join('/var/cache/apt/archives', file);
    if (existsSync(cached)) return cached;
    execFileSync('apt-get', ['download', `${name}=${version}`], { cwd: dir, stdio: 'pipe', timeout: 120_000 });
    return join(dir, file);
  });
}

/**
 * A test ISO in the layout `images import` expects of a Rocky/Alma/RHEL DVD (productmd
 * .treeinfo with sha256 [checksums], images/pxeboot/vmlinuz and initrd.img, .discinfo), built
 * with xorriso. Its kernel is the host's Debian kernel and its initrd the lab's installer
 * STAND-IN (test/e2e/lab/assets.ts: not anaconda); its tree carries the stand-in's
 * MANIFEST.sha256 and the files it downloads and checks.
 */
function buildTestIso(dir: string, kver: string): string {
  const assets = prepareAssets(join(dir, 'assets'), kver);
  const tree = join(dir, 'iso-tree');
  mkdirSync(join(tree, 'images/pxeboot'), { recursive: true });
  execFileSync('cp', ['-a', `${join(assets.imagesDir, assets.tree)}/.`, tree]);
  copyFileSync(join(assets.imagesDir, assets.kernel), join(tree, 'images/pxeboot/vmlinuz'));
  copyFileSync(join(assets.imagesDir, assets.initrd), join(tree, 'images/pxeboot/initrd.img'));
  const sum = (rel: string): string =>
    `${rel} = sha256:${createHash('sha256')
      .update(readFileSync(join(tree, rel)))
      .digest('hex')}`;
  writeFileSync(
    join(tree, '.treeinfo'),
    `[checksums]
${['images/install.img', 'images/pxeboot/initrd.img', 'images/pxeboot/vmlinuz'].map(sum).join('\n')}

[general]
arch = x86_64
family = Kickstand lab
name = Kickstand lab 1
version = 1

[header]
type = productmd.treeinfo
version = 1.2

[images-x86_64]
initrd = images/pxeboot/initrd.img
kernel = images/pxeboot/vmlinuz

[release]
name = Kickstand lab (installer stand-in, not anaconda)
short = KsLab
version = 1

[stage2]
mainimage = images/install.img

[tree]
arch = x86_64
build_timestamp = 1714846379
platforms = x86_64
variants = BaseOS
`,
  );
  writeFileSync(join(tree, '.discinfo'), '1714846379.0\n1\nx86_64\n');
  const iso = join(dir, 'kickstand-lab.iso');
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', iso, '-V', 'KSLAB-1-x86_64', '-R', '-J', tree], {
    stdio: 'pipe',
    timeout: 120_000,
  });
  return iso;
}

/** Resolves when `log()` matches `re`; rejects when the process exits first or after `ms`. */
function waitLog(p: ChildProcess, log: () => string, re: RegExp, ms: number, what: string): Promise<void> {
  return new Promise<void>((ok, fail) => {
    const done = (e?: Error): void => {
      clearTimeout(timer);
      clearInterval(poll);
      p.off('exit', onExit);
      if (e) fail(e);
      else ok();
    };
    const onExit = (code: number | null): void => done(new Error(`daemon exited (${code}) before ${what}:\n${log()}`));
    const timer = setTimeout(() => done(new Error(`no ${what} in ${ms / 1000} s:\n${log()}`)), ms);
    const poll = setInterval(() => {
      if (re.test(log())) done();
    }, 100);
    p.once('exit', onExit);
  });
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
  let segment: Netns;
  let ifName = '';
  let daemon: ChildProcess | null = null;
  let log = '';
  let vm: LabVm | undefined;
  /** The walkthrough's commands in the order this test ran them (or their CI equivalent). */
  const ran: string[] = [];
  const runnable = (() => {
    try {
      return missing(NEED) === undefined;
    } catch {
      return false; // in CI each test fails through skipUnless
    }
  })();

  /** Edits the installed /etc/kickstand/kickstand.yaml as an operator would (comments kept). */
  const editConfig = (edit: (doc: Document) => void): void => {
    const file = join(root, 'etc/kickstand/kickstand.yaml');
    const doc = parseDocument(readFileSync(file, 'utf8'));
    edit(doc);
    writeFileSync(file, doc.toString());
  };

  /**
   * `systemctl start kickstand` without systemd: the installed unit's ExecStart as its User=
   * kickstand with AmbientCapabilities=CAP_NET_BIND_SERVICE and NoNewPrivileges=yes (setpriv),
   * chrooted into the root, in the segment's namespace; resolves when it says it is ready.
   */
  const startDaemon = async (): Promise<void> => {
    const unit = readFileSync(join(root, 'lib/systemd/system/kickstand.service'), 'utf8');
    assert.deepEqual(directive(unit, 'AmbientCapabilities'), ['CAP_NET_BIND_SERVICE']);
    const exec = directive(unit, 'ExecStart')[0]!;
    const setpriv = [
      'setpriv --reuid kickstand --regid kickstand --init-groups --no-new-privs',
      '--inh-caps -all,+net_bind_service --ambient-caps -all,+net_bind_service --bounding-set -all,+net_bind_service',
    ].join(' ');
    log = '';
    const d = lab.spawnIn(ns, 'unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-ec',
      `mount --bind /dev "$0/dev"; mount -t proc proc "$0/proc"; mount --bind /sys "$0/sys"
       exec chroot "$0" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 ${setpriv} ${exec}`,
      root,
    ]);
    daemon = d;
    d.stdout!.setEncoding('utf8').on('data', (x: string) => (log += x));
    d.stderr!.setEncoding('utf8').on('data', (x: string) => (log += x));
    await waitLog(d, () => log, /"msg":"kickstand ready"/, 60_000, '"kickstand ready"');
  };

  /** `systemctl stop kickstand`: SIGTERM (the unit's default KillSignal), then it must say it stopped. */
  const stopDaemon = async (): Promise<void> => {
    const d = daemon!;
    assert.ok(d.exitCode === null && d.signalCode === null, `the daemon had already exited:\n${log}`);
    const stopped = new Promise<boolean>((r) => {
      const t = setTimeout(() => r(false), 60_000);
      d.once('exit', () => (clearTimeout(t), r(true)));
    });
    d.kill('SIGTERM');
    assert.ok(await stopped, `the daemon did not stop within 60 s of SIGTERM:\n${log.slice(-4000)}`);
    assert.match(log, /"msg":"stopped"/, log);
  };

  /** The installed CLI as root in the chroot, in the daemon's namespace (where its API listens). */
  const kickstand = (args: string, timeoutMs?: number): string => inRoot(root, `kickstand ${args}`, ns, timeoutMs);

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
    // The segment: a bridge in the other namespace with the veth's far end and the lab
    // machine's tap (topology.ts's layout), no address on it: only the daemon serves here.
    segment = lab.addNamespace(`${tag}p`);
    ifName = `${tag}a`;
    lab.link(ns, ifName, `${ADDR}/24`, segment, `${tag}b`, null);
    segment.exec('ip', ['link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    segment.exec('ip', ['link', 'set', 'br0', 'up']);
    segment.exec('ip', ['link', 'set', `${tag}b`, 'master', 'br0']);
    segment.exec('ip', ['tuntap', 'add', 'dev', 'tap0', 'mode', 'tap']);
    segment.exec('ip', ['link', 'set', 'tap0', 'master', 'br0', 'up']);
  });

  after(async () => {
    vm?.kill();
    if (daemon?.pid !== undefined && daemon.exitCode === null) daemon.kill('SIGKILL');
    await lab.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('installs: the user, /var/lib/kickstand 0700, the idle conffile, the app and its runtime', (t) => {
    if (skipUnless(t, NEED)) return;
    ran.push(`apt install ./kickstand_${VERSION}_amd64.deb`);
    inRoot(root, 'dpkg -i /tmp/kickstand.deb');
    // `apt install ./kickstand.deb` also brings the recommended xorriso: here dpkg installs it.
    mkdirSync(join(root, 'tmp/debs'), { recursive: true });
    for (const d of hostDebs(XORRISO_DEBS, join(work, 'debs'))) copyFileSync(d, join(root, 'tmp/debs', basename(d)));
    inRoot(root, 'dpkg -i /tmp/debs/*.deb');
    assert.match(inRoot(root, 'dpkg-deb -f /tmp/kickstand.deb Recommends'), /\bxorriso\b/);
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
    ran.push('systemd-analyze verify /lib/systemd/system/kickstand.service');
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
    ran.push('kickstand init --interface IF');
    const init = inRoot(root, `kickstand init --interface ${ifName} --probe-timeout 1 2>&1`, ns);
    assert.match(init, /no DHCP server answered/, init);
    assert.match(init, /wrote \/etc\/kickstand\/kickstand\.yaml \(replaced the packaged template\)/, init);
    // No ipxe in this root: init says how to get the loaders, and goes on.
    assert.match(init, /apt-get install ipxe, then kickstand images sync/, init);
    assert.match(init, /next:\n {2}systemctl enable --now kickstand /, init);
    const config = readFileSync(join(root, 'etc/kickstand/kickstand.yaml'), 'utf8');
    assert.match(config, new RegExp(`address: ${ADDR.replace(/\./g, '\\.')} `));
    assert.match(config, /mode: authoritative/);

    // The operator's own kickstarts (docs/operating.md "Install"): the shipped folder copied to
    // /etc/kickstand/kickstarts, kickstartsDir pointed there. The lab's kickstart is added: the
    // machine below boots the installer STAND-IN, which runs lab.ks.hbs's %pre and %post.
    ran.push('cp -r /usr/share/kickstand/kickstarts /etc/kickstand/kickstarts');
    inRoot(root, 'cp -r /usr/share/kickstand/kickstarts /etc/kickstand/kickstarts');
    copyFileSync(join(REPO, 'test/e2e/lab/lab.ks.hbs'), join(root, 'etc/kickstand/kickstarts/lab.ks.hbs'));
    editConfig((doc) => doc.set('kickstartsDir', '/etc/kickstand/kickstarts'));

    ran.push('systemctl enable --now kickstand');
    await startDaemon();
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
  });

  it('on the installed daemon: images import of a test ISO, host import of a CSV, a SeaBIOS + iPXE machine installs (installer stand-in)', async (t) => {
    if (skipUnless(t, NEED)) return;
    const t0 = Date.now();
    const kver = debianKernel();
    assert.ok(kver, 'a Debian kernel with its modules in /boot (linux-image-amd64): the ISO carries it');
    const iso = buildTestIso(work, kver);
    copyFileSync(iso, join(root, 'root/kickstand-lab.iso'));

    // docs/operating.md "Importing an OS": the ISO, verified against its .treeinfo, into the
    // installed imagesDir, and profile IMAGE created with the lab's kickstart.
    ran.push('kickstand images import NAME --iso FILE --kickstart lab.ks.hbs');
    const lines = kickstand(
      `images import ${IMAGE} --iso /root/kickstand-lab.iso --kickstart lab.ks.hbs --json`,
      300_000,
    )
      .trim()
      .split('\n');
    const done = JSON.parse(lines.at(-1)!) as { event: string; profile: string };
    assert.equal(done.event, 'done', lines.join('\n'));
    assert.equal(done.profile, 'created', lines.join('\n'));
    for (const f of ['vmlinuz', 'initrd.img', 'tree/.treeinfo', 'tree/MANIFEST.sha256'])
      assert.ok(existsSync(join(root, `var/lib/kickstand/images/${IMAGE}/${f}`)), f);
    // The serial console for the lab to read (the stand-in's lines); panic=1 ends a dead VM fast.
    editConfig((doc) => doc.setIn(['profiles', IMAGE, 'kernelArgs'], 'console=ttyS0,115200n8 quiet panic=1'));
    ran.push('systemctl reload kickstand');
    daemon!.kill('SIGHUP'); // systemctl reload kickstand (the unit's ExecReload)
    await waitLog(daemon!, () => log, /"msg":"config reloaded"/, 30_000, '"config reloaded"');

    // docs/operating.md "Registering many hosts": a CSV, dry run first, then all rows at once.
    writeFileSync(
      join(root, 'root/hosts.csv'),
      [
        'name,macs,profile,role,ipv4,netboot,var.timezone,var.keyboard,var.lang',
        `pxe1,${PXE_MAC},${IMAGE},agent,,true,UTC,us,en_US.UTF-8`,
        `rack2,52:54:00:6b:7d:02,${IMAGE},agent,198.18.61.20,,UTC,us,en_US.UTF-8`,
        `rack3,"52:54:00:6b:7d:03;52:54:00:6b:7d:13",${IMAGE},server,,false,UTC,us,en_US.UTF-8`,
        '',
      ].join('\n'),
    );
    ran.push('kickstand host import hosts.csv --dry-run');
    const dry = kickstand('host import /root/hosts.csv --dry-run');
    assert.deepEqual(JSON.parse(kickstand('host list --json')), [], `the dry run wrote nothing:\n${dry}`);
    ran.push('kickstand host import hosts.csv');
    const imported = kickstand('host import /root/hosts.csv');
    ran.push('kickstand host list');
    const hosts = JSON.parse(kickstand('host list --json')) as Host[];
    assert.deepEqual(hosts.map((h) => h.name).sort(), ['pxe1', 'rack2', 'rack3'], imported);
    assert.equal(hosts.find((h) => h.name === 'pxe1')!.state, 'armed', imported);
    assert.equal(hosts.find((h) => h.name === 'rack3')!.netboot, false, imported);

    // Boot: real firmware (SeaBIOS + the iPXE ROM of the e1000, Debian's ipxe-qemu) on the
    // segment's bridge, as the labs run it (test/e2e/lab/vm.ts). Boot 1 must install and power
    // off; boot 2 must boot the local disk.
    const def: MachineDef = {
      name: 'pxe1',
      kind: 'bios',
      mac: PXE_MAC,
      registered: true,
      firmware: 'SeaBIOS + iPXE NIC ROM (e1000)',
    };
    const events = (): HostEvent[] => JSON.parse(kickstand('host events pxe1 --json --limit 1000')) as HostEvent[];
    const nextId = (): number => Math.max(0, ...events().map((e) => e.id)) + 1;
    vm = new LabVm({ name: def.name, kind: def.kind, mac: def.mac, tap: 'tap0' }, segment.name, work, labAccel());
    ran.push('kickstand host events NODE');
    const bootStartIds = [nextId()];
    const tBoot = Date.now();
    vm.start();
    const installExit = await vm.waitExit(LIMITS.installBootMs);
    if (installExit === 'timeout') vm.kill();
    const installSeconds = (Date.now() - tBoot) / 1000;
    bootStartIds.push(nextId());
    vm.start();
    const localBootLine = await vm.waitLine(LOCAL_BOOT, LIMITS.localBootMs);
    vm.kill();
    await vm.waitExit(10_000);
    ran.push('kickstand host show NODE');
    const record: MachineRecord = {
      def,
      bootStartIds,
      console: vm.lines,
      installExit,
      localBootLine,
      host: JSON.parse(kickstand('host show pxe1 --json')) as Host,
    };
    const all = events();
    const checks = checkInstalled(record, all);
    // The kernel and initrd are the ISO's, served from the installed imagesDir.
    const assets = all.filter((e) => e.kind === 'http.asset').map((e) => JSON.stringify(e.data));
    for (const f of ['vmlinuz', 'initrd.img'])
      checks.push({
        machine: 'pxe1',
        step: `ISO ${f}`,
        ok: assets.some((a) => a.includes(`${IMAGE}/${f}`)),
        detail: assets.join(' | ') || 'no http.asset events',
      });
    const report = checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.step}: ${c.detail.slice(0, 140)}`).join('\n');
    process.stderr.write(
      `# pxe1 from the installed daemon (installer STAND-IN, not anaconda): install boot ${installSeconds.toFixed(0)} s, whole step ${((Date.now() - t0) / 1000).toFixed(0)} s\n${report}\n`,
    );
    assert.deepEqual(
      checks.filter((c) => !c.ok).map((c) => c.step),
      [],
      `${report}\n--- console, last 40 lines ---\n${vm.tail(40).join('\n')}\n--- daemon log, last 4000 chars ---\n${log.slice(-4000)}`,
    );
  });

  it('kickstand backup while the installed daemon runs; restore into an empty state directory', async (t) => {
    if (skipUnless(t, NEED)) return;
    ran.push('kickstand backup /root/kickstand-backup.tar');
    kickstand('backup /root/kickstand-backup.tar');
    assert.equal(inRoot(root, 'stat -c %a /root/kickstand-backup.tar').trim(), '600');
    ran.push('kickstand restore --check /root/kickstand-backup.tar');
    const check = kickstand('restore --check /root/kickstand-backup.tar');
    ran.push('systemctl stop kickstand');
    await stopDaemon();
    ran.push('kickstand restore --state-dir EMPTY_DIR /root/kickstand-backup.tar');
    const restored = inRoot(root, 'kickstand restore --state-dir /root/restored /root/kickstand-backup.tar 2>&1');
    for (const f of ['kickstand.db', 'api-token'])
      assert.ok(existsSync(join(root, 'root/restored', f)), `${f} restored:\n${check}\n${restored}`);
    assert.equal(
      readFileSync(join(root, 'root/restored/api-token'), 'utf8'),
      readFileSync(join(root, 'var/lib/kickstand/api-token'), 'utf8'),
    );
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
    ran.push('apt install ./kickstand_NEWER_amd64.deb');
    inRoot(root, 'dpkg -i /tmp/next.deb');
    assert.equal(inRoot(root, "dpkg-query -W -f='${Version}' kickstand"), `${VERSION}+kpk1`);
    assert.ok(existsSync(join(root, 'usr/lib/kickstand/UPGRADED')));
    assert.equal(readFileSync(conf, 'utf8'), edited, 'the edited conffile is kept');
    assert.deepEqual(readFileSync(join(root, 'var/lib/kickstand/kickstand.db')), db, 'the database is kept');
    assert.equal(readFileSync(join(root, 'var/lib/kickstand/api-token'), 'utf8'), token, 'the API token is kept');
    assert.equal(inRoot(root, 'stat -c "%a %U" /var/lib/kickstand').trim(), '700 kickstand');

    ran.push('apt remove kickstand');
    inRoot(root, 'dpkg -r kickstand');
    assert.equal(existsSync(join(root, 'usr/bin/kickstand')), false);
    assert.equal(existsSync(join(root, 'usr/lib/kickstand/dist')), false);
    assert.equal(readFileSync(conf, 'utf8'), edited, 'remove keeps the config');
    assert.ok(existsSync(join(root, 'var/lib/kickstand/kickstand.db')), 'remove keeps the state');

    ran.push('apt purge kickstand');
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

  it('ran the walkthrough of docs/operating.md ("What CI runs"), command by command, in its order', (t) => {
    if (skipUnless(t, NEED)) return;
    const doc = readFileSync(join(REPO, 'docs/operating.md'), 'utf8');
    const block = /<!-- ci-walkthrough:[^>]*-->\n```sh\n([\s\S]*?)\n```/.exec(doc);
    assert.ok(block, 'docs/operating.md has the ci-walkthrough block');
    const documented = block[1]!
      .split('\n')
      .map((l) => l.replace(/\s+#.*$/, '').trim())
      .filter((l) => l !== '');
    assert.deepEqual(ran, documented);
  });
});
