/**
 * Every shipped kickstart, rendered through the real renderer for a pool (DHCP) and a static
 * host in each k3s role, makes a node Kickstand's bootstrap can join: the packages its
 * preflight and k3s need, firewalld open to the mesh, exactly one install disk. The %pre and
 * %post scripts run as rendered, against a fake /sys and stub tools (KICKSTAND_SYSROOT).
 *
 * With KS_PYKICKSTART=<pykickstart work tree> the renderings (with the %pre's include file
 * inlined) are also checked by pykickstart's `ksvalidator -v RHEL9` (docs/kickstarts.md).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema, type Config } from '../../src/config/schema';
import type { Host } from '../../src/model/host';
import { parseKickstart } from '../../src/render/kickstart-check';
import { sectionBodies, sectionBody } from '../install/harness';
import { fixtureHosts, makeRenderer, OPERATOR_KEYS, renderConfig, TEST_K3S_CIDRS, TOKEN } from './fixtures';

const run = promisify(execFile);
// Static hosts also name their disk and carry operator keys (one sshkey per user: pykickstart).
const STATIC_VARS = { install_disk: 'vda', ssh_authorized_keys: OPERATOR_KEYS.join(';'), ...TEST_K3S_CIDRS };
const CASES = [
  // k3s pod/service networks inside 198.18.0.0/15 (test addresses only; the shipped defaults are k3s's)
  { name: 'pool-server', role: 'server', ipv4: null, vars: TEST_K3S_CIDRS },
  { name: 'pool-agent', role: 'agent', ipv4: null, vars: TEST_K3S_CIDRS },
  { name: 'static-server', role: 'server', ipv4: '198.18.0.31', vars: STATIC_VARS },
  { name: 'static-agent', role: 'agent', ipv4: '198.18.0.32', vars: STATIC_VARS },
] as const;
const NEEDED_PACKAGES = ['wireguard-tools', 'iproute', 'tar', 'curl', 'container-selinux', 'firewalld'];
const INCLUDE = '/tmp/kickstand-disk.ks';

/** Command lines (first word, whole line) of a kickstart's command section. */
function commands(ks: string): string[] {
  const layout = parseKickstart(ks);
  const lines = ks.split('\n');
  return layout.lines
    .filter((l) => l.role === 'command' && l.head !== '' && !l.head.startsWith('#'))
    .map((l) => lines[l.line - 1]!);
}

function packages(ks: string): string[] {
  const layout = parseKickstart(ks);
  return layout.lines
    .filter((l) => l.role === 'packages')
    .map((l) => l.head)
    .filter((h) => h !== '' && !h.startsWith('#'));
}

/** Config with `bootstrap` overridden (for the built-in variables). */
function configWith(bootstrap: Record<string, unknown>): Config {
  const base = renderConfig();
  const c = configSchema.parse({
    http: base.http,
    network: base.network,
    vars: base.vars,
    profiles: base.profiles,
    bootstrap,
  });
  return { ...c, source: null } as Config;
}

async function renderAll(
  config = renderConfig(),
  vars: Record<string, string> = {},
): Promise<Map<string, { host: Host; ks: string; template: string }>> {
  const { renderer, templates } = makeRenderer({ config });
  config.profiles.shipped = { ...config.profiles.rocky9! };
  const { registry, store } = await fixtureHosts(config);
  const out = new Map<string, { host: Host; ks: string; template: string }>();
  try {
    for (const template of templates.names()) {
      for (const [i, c] of CASES.entries()) {
        config.profiles.shipped = { ...config.profiles.rocky9!, kickstart: template };
        const host = await registry.add({
          name: `${c.name}-${out.size}`,
          macs: [`52:54:00:cc:00:0${i}`],
          profile: 'shipped',
          role: c.role,
          ipv4: c.ipv4,
          vars: { ...c.vars, ...vars },
          netboot: false,
        });
        out.set(`${template} ${c.name}`, { host, ks: await renderer.render(host, TOKEN), template });
        await registry.remove(host.name);
      }
    }
  } finally {
    await store.close();
  }
  return out;
}

/** A fake sysfs under `root`: /sys/block/<name> → /sys/devices/<path>/block/<name>. */
function addDisk(
  root: string,
  name: string,
  o: { path?: string; removable?: 0 | 1; ro?: 0 | 1; size?: number; device?: boolean } = {},
): void {
  const dev = join(root, 'sys/devices', o.path ?? 'pci0000:00/0000:00:1f.2', 'block', name);
  mkdirSync(dev, { recursive: true });
  writeFileSync(join(dev, 'removable'), `${o.removable ?? 0}\n`);
  writeFileSync(join(dev, 'ro'), `${o.ro ?? 0}\n`);
  writeFileSync(join(dev, 'size'), `${o.size ?? 500118192}\n`);
  if (o.device !== false) mkdirSync(join(dev, 'device'));
  mkdirSync(join(root, 'sys/block'), { recursive: true });
  symlinkSync(dev, join(root, 'sys/block', name));
}

describe('shipped kickstarts: cluster-ready defaults', () => {
  let scratch: string;
  let renders: Map<string, { host: Host; ks: string; template: string }>;
  let n = 0;
  const newRoot = (): string => {
    const r = join(scratch, `root-${n++}`);
    mkdirSync(join(r, 'tmp'), { recursive: true });
    return r;
  };

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'ks-shipped-'));
    renders = await renderAll();
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  /** Runs the %pre that writes the include file; resolves to {code, include, stderr}. */
  async function runDiskPre(ks: string, root: string): Promise<{ code: number; include: string; stderr: string }> {
    try {
      const r = await run('sh', ['-c', sectionBody(ks, '%pre', INCLUDE)], {
        env: { ...process.env, KICKSTAND_SYSROOT: root },
      });
      return { code: 0, include: readFileSync(join(root, INCLUDE), 'utf8'), stderr: r.stderr };
    } catch (e) {
      const err = e as { code: number; stderr: string };
      return {
        code: err.code,
        include: existsSync(join(root, INCLUDE)) ? readFileSync(join(root, INCLUDE), 'utf8') : '',
        stderr: err.stderr,
      };
    }
  }

  /** Runs the node %post with stub tools; resolves to the calls they logged. */
  async function runNodePost(ks: string, root: string): Promise<string[]> {
    const bin = join(root, 'stub-bin');
    const log = join(root, 'calls.log');
    mkdirSync(bin, { recursive: true });
    for (const tool of ['firewall-offline-cmd', 'rpm', 'restorecon']) {
      writeFileSync(join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> '${log}'\n`);
      chmodSync(join(bin, tool), 0o755);
    }
    // curl: log, and create the -o file
    writeFileSync(
      join(bin, 'curl'),
      `#!/bin/sh\necho "curl $*" >> '${log}'\nwhile [ $# -gt 0 ]; do if [ "$1" = -o ]; then : > "$2"; fi; shift; done\n`,
    );
    chmodSync(join(bin, 'curl'), 0o755);
    const body = sectionBody(ks, '%post', 'set -eu');
    await run('sh', ['-c', body], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, KICKSTAND_SYSROOT: root },
    });
    return existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [];
  }

  it('renders every shipped template for pool and static hosts of both roles, structurally sound', () => {
    assert.ok(renders.size >= CASES.length);
    for (const [name, { ks }] of renders) {
      const layout = parseKickstart(ks);
      assert.deepEqual(layout.problems, [], name);
      assert.deepEqual(layout.sections, ['%packages', '%pre', '%pre', '%post', '%post'], name);
    }
  });

  it('%packages holds what the bootstrap preflight and k3s need', () => {
    for (const [name, { ks }] of renders) {
      const pkgs = packages(ks);
      for (const p of NEEDED_PACKAGES) assert.ok(pkgs.includes(p), `${name}: %packages lacks ${p}`);
    }
  });

  it("never touches every disk: the command section %includes the %pre's one-disk choice", () => {
    for (const [name, { ks }] of renders) {
      const cmds = commands(ks);
      assert.ok(cmds.includes(`%include ${INCLUDE}`), `${name}: no %include ${INCLUDE}`);
      assert.ok(
        !cmds.some((l) => /^(clearpart|ignoredisk)\b/.test(l)),
        `${name}: disk commands outside the include: ${cmds.join(' | ')}`,
      );
      assert.ok(
        sectionBodies(ks, '%pre').some((b) => b.includes(INCLUDE)),
        `${name}: no %pre writes ${INCLUDE}`,
      );
    }
  });

  it('opens the mesh port on the provisioning side; SELinux enforcing by default', () => {
    for (const [name, { ks }] of renders) {
      const cmds = commands(ks);
      assert.ok(
        cmds.includes('firewall --enabled --service=ssh --port=51820:udp'),
        `${name}: ${cmds.filter((l) => l.startsWith('firewall')).join()}`,
      );
      assert.ok(cmds.includes('selinux --enforcing'), name);
      assert.equal(cmds.filter((l) => l.startsWith('sshkey ')).length, 1, `${name}: one sshkey per user (pykickstart)`);
    }
  });

  it('the node %post puts the mesh interface in its own zone with the k3s ports of the role', async () => {
    for (const [name, { ks, host }] of renders) {
      const calls = await runNodePost(ks, newRoot());
      const zone = calls.filter((c) => c.startsWith('firewall-offline-cmd'));
      assert.ok(zone.includes('firewall-offline-cmd --new-zone=kickstand-mesh'), name);
      assert.ok(zone.includes('firewall-offline-cmd --zone=kickstand-mesh --add-interface=wg0'), name);
      const ports = zone.filter((c) => c.includes('--add-port=')).map((c) => c.split('--add-port=')[1]);
      const want =
        host.role === 'server' ? ['6443/tcp', '2379-2380/tcp', '10250/tcp', '8472/udp'] : ['10250/tcp', '8472/udp'];
      assert.deepEqual(ports, want, name);
      assert.ok(
        zone.includes(`firewall-offline-cmd --zone=trusted --add-source=${TEST_K3S_CIDRS.k3s_cluster_cidr}`),
        name,
      );
      assert.ok(
        zone.includes(`firewall-offline-cmd --zone=trusted --add-source=${TEST_K3S_CIDRS.k3s_service_cidr}`),
        name,
      );
      assert.ok(!calls.some((c) => c.startsWith('rpm')), `${name}: no k3s-selinux RPM without k3s_selinux_rpm_url`);
      assert.match(ks, /no k3s_selinux_rpm_url, so k3s-selinux is not installed here/, name);
    }
  });

  it('writes a NetworkManager drop-in that leaves the mesh interface unmanaged', async () => {
    const { ks } = renders.get('rocky9.ks.hbs pool-agent')!;
    const root = newRoot();
    await runNodePost(ks, root);
    assert.equal(
      readFileSync(join(root, 'etc/NetworkManager/conf.d/kickstand-mesh.conf'), 'utf8'),
      '[keyfile]\nunmanaged-devices=interface-name:wg0\n',
    );
  });

  describe('install disk (%pre)', () => {
    let pool: string;
    let pinned: string;
    before(async () => {
      pool = renders.get('rocky9.ks.hbs pool-agent')!.ks;
      pinned = (await renderAll(renderConfig(), { install_disk: 'sdb' })).get('rocky9.ks.hbs static-server')!.ks;
    });

    it('picks the only fixed, writable, non-USB disk with a device', async () => {
      const root = newRoot();
      addDisk(root, 'nvme0n1', { path: 'pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0' });
      addDisk(root, 'sdb', { path: 'pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/host6/target6:0:0/6:0:0:0' });
      addDisk(root, 'sr0', { removable: 1 });
      addDisk(root, 'mmcblk0boot0', { ro: 1 });
      addDisk(root, 'loop0', { device: false, path: 'virtual' });
      addDisk(root, 'sdc', { size: 0, path: 'pci0000:00/0000:00:17.0/ata3' });
      const r = await runDiskPre(pool, root);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.include, 'ignoredisk --only-use=nvme0n1\nclearpart --all --initlabel --drives=nvme0n1\n');
    });

    it('refuses when several disks qualify, naming them', async () => {
      const root = newRoot();
      addDisk(root, 'sda', { path: 'pci0000:00/0000:00:17.0/ata1' });
      addDisk(root, 'sdb', { path: 'pci0000:00/0000:00:17.0/ata2' });
      const r = await runDiskPre(pool, root);
      assert.equal(r.code, 1);
      assert.equal(r.include, '');
      assert.match(r.stderr, /2 candidate install disks \(sda sdb\): set the var install_disk/);
    });

    it('refuses when no disk qualifies', async () => {
      const root = newRoot();
      addDisk(root, 'sr0', { removable: 1 });
      const r = await runDiskPre(pool, root);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /0 candidate install disks/);
    });

    it('with install_disk, uses that disk among several; refuses one that is not there', async () => {
      const root = newRoot();
      addDisk(root, 'sda', { path: 'pci0000:00/0000:00:17.0/ata1' });
      addDisk(root, 'sdb', { path: 'pci0000:00/0000:00:17.0/ata2' });
      const r = await runDiskPre(pinned, root);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.include, 'ignoredisk --only-use=sdb\nclearpart --all --initlabel --drives=sdb\n');
      const empty = newRoot();
      addDisk(empty, 'sda', { path: 'pci0000:00/0000:00:17.0/ata1' });
      const missing = await runDiskPre(pinned, empty);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /install_disk sdb is not a disk of this machine/);
    });

    it('resolves a /dev/disk/by-id name to the kernel name', async () => {
      const ks = (await renderAll(renderConfig(), { install_disk: 'disk/by-id/nvme-SAMSUNG_1' })).get(
        'rocky9.ks.hbs pool-server',
      )!.ks;
      const root = newRoot();
      addDisk(root, 'nvme0n1', { path: 'pci0000:00/nvme/nvme0' });
      addDisk(root, 'nvme1n1', { path: 'pci0000:00/nvme/nvme1' });
      mkdirSync(join(root, 'dev/disk/by-id'), { recursive: true });
      writeFileSync(join(root, 'dev/nvme1n1'), '');
      symlinkSync('../../nvme1n1', join(root, 'dev/disk/by-id/nvme-SAMSUNG_1'));
      const r = await runDiskPre(ks, root);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.include, 'ignoredisk --only-use=nvme1n1\nclearpart --all --initlabel --drives=nvme1n1\n');
    });
  });

  it('profile vars: k3s-selinux from the bundle, SELinux mode, AppStream repo', async () => {
    const vars = {
      k3s_selinux_rpm_url: 'k3s/v1.30.4+k3s1/x86_64/k3s-selinux-1.6-1.el9.noarch.rpm',
      selinux: 'permissive',
      appstream_url: 'http://198.18.0.1:8080/images/rocky9/tree/AppStream',
    };
    const { ks } = (await renderAll(renderConfig(), vars)).get('rocky9.ks.hbs static-server')!;
    const cmds = commands(ks);
    assert.ok(cmds.includes(`selinux --'permissive'`));
    assert.ok(cmds.includes(`repo --name=AppStream --baseurl='${vars.appstream_url}'`));
    assert.ok(
      !commands(renders.get('rocky9.ks.hbs static-server')!.ks).some((l) => l.startsWith('repo ')),
      'no repo line without appstream_url',
    );
    const calls = await runNodePost(ks, newRoot());
    const curl = calls.find((c) => c.startsWith('curl '));
    assert.ok(
      curl?.endsWith(` http://198.18.0.1:8080/images/${vars.k3s_selinux_rpm_url}`),
      `bundle path resolved under /images/: ${curl}`,
    );
    assert.ok(
      calls.some((c) => /^rpm -U --replacepkgs .*\/tmp\/kickstand-k3s-selinux\.rpm$/.test(c)),
      calls.join('\n'),
    );
  });

  it('built-ins follow the bootstrap config: mesh port and interface, k3s off, mesh off', async () => {
    const moved = await renderAll(
      configWith({ mesh: { listenPort: 51999, interface: 'wg7' }, k3s: { apiPort: 7443 } }),
    );
    const server = moved.get('rocky9.ks.hbs pool-server')!.ks;
    assert.ok(commands(server).includes('firewall --enabled --service=ssh --port=51999:udp'));
    assert.match(server, /^firewall-offline-cmd --zone=kickstand-mesh --add-interface='wg7'$/m);
    assert.match(server, /^firewall-offline-cmd --zone=kickstand-mesh --add-port='7443\/tcp'$/m);

    const noK3s = (await renderAll(configWith({ k3s: { enabled: false } }))).get('rocky9.ks.hbs pool-server')!.ks;
    assert.match(noK3s, /--add-interface='wg0'/);
    assert.doesNotMatch(noK3s, /--add-port=|--add-source=/);

    const noMesh = (await renderAll(configWith({ mesh: { enabled: false } }))).get('rocky9.ks.hbs pool-server')!.ks;
    assert.ok(commands(noMesh).includes('firewall --enabled --service=ssh'));
    assert.doesNotMatch(noMesh, /firewall-offline-cmd/);
  });

  // pykickstart is not packaged for Debian 12 nor on npm, so CI cannot run this: it is an
  // opt-in check (docs/kickstarts.md says how and records the last result), not a skipped test.
  const py = process.env.KS_PYKICKSTART;
  if (py)
    it('pykickstart ksvalidator -v RHEL9 accepts every rendering (KS_PYKICKSTART=<work tree>)', async (t) => {
      const dir = join(scratch, 'ksvalidator');
      mkdirSync(dir);
      const files: string[] = [];
      for (const [name, { ks }] of renders) {
        const root = newRoot();
        addDisk(root, 'vda', { path: 'pci0000:00/0000:00:04.0/virtio2' });
        const { include } = await runDiskPre(ks, root);
        const file = join(dir, `${name.replace(/[^A-Za-z0-9.-]+/g, '_')}.ks`);
        // the include file inlined where anaconda reads it (after %pre ran)
        writeFileSync(file, ks.replace(`%include ${INCLUDE}\n`, include));
        files.push(file);
      }
      const out = execFileSync('python3', [join(py, 'tools/ksvalidator.py'), '-v', 'RHEL9', ...files], {
        env: { ...process.env, PYTHONPATH: py },
        encoding: 'utf8',
      });
      t.diagnostic(out.trim());
    });
});
