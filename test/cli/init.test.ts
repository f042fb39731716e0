/**
 * `kickstand init --interface IF` (src/cli/commands/init.ts): the pool it proposes, the configs
 * it writes, and — in network namespaces on 198.18.0.0/15 — its DHCP probe of a segment with
 * no DHCP server (authoritative), with a real dnsmasq leasing on it (proxy, naming it) and with
 * a dnsmasq in proxyDHCP mode (another PXE service: a warning naming it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load';
import { packagedConfig, renderProductionConfig, PACKAGED_PATHS } from '../../src/config/production';
import { probeDiscover } from '../../src/dhcp/probe';
import { decodePacket } from '../../src/dhcp/packet';
import { defaultGateway, proposePool } from '../../src/init/segment';
import { nextCommands } from '../../src/cli/commands/init';
import { cliArgv, REPO } from '../helpers/daemon';
import { IN_CI, missing, skipUnless } from '../helpers/env';
import { Lab, uniqueTag, type Netns } from '../helpers/netns';

function load(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'kpk-cfg-'));
  try {
    writeFileSync(join(dir, 'k.yaml'), text);
    return loadConfig({ file: join(dir, 'k.yaml'), env: {} });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('init: pool, configs, next commands', () => {
  it('proposes a pool in the half of the subnet that holds neither Kickstand nor the gateway', () => {
    assert.deepEqual(proposePool('198.18.0.0/24', '198.18.0.1', null), {
      start: '198.18.0.128',
      end: '198.18.0.254',
      size: 127,
    });
    assert.deepEqual(proposePool('198.18.0.0/24', '198.18.0.200', '198.18.0.254'), {
      start: '198.18.0.1',
      end: '198.18.0.127',
      size: 127,
    });
    // Large subnets: at most 200 addresses, at the top.
    assert.deepEqual(proposePool('198.18.0.0/16', '198.18.0.1', '198.18.0.254'), {
      start: '198.18.255.55',
      end: '198.18.255.254',
      size: 200,
    });
    // A /30 leaves one address beside Kickstand's.
    assert.deepEqual(proposePool('198.18.0.0/30', '198.18.0.1', null), {
      start: '198.18.0.2',
      end: '198.18.0.2',
      size: 1,
    });
  });

  it('reads the default gateway through the interface from /proc/net/route', () => {
    const table = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t010012C6\t0003\t0\t0\t0\t00000000\t0\t0\t0',
      'eth1\t000012C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
    ].join('\n');
    assert.equal(defaultGateway(table, 'eth0'), '198.18.0.1');
    assert.equal(defaultGateway(table, 'eth1'), null);
  });

  it('writes configs that load, with absolute paths; the packaged one serves nothing on the network', () => {
    const idle = load(packagedConfig());
    assert.equal(idle.dhcp.mode, 'off');
    assert.equal(idle.tftp.enabled, false);
    assert.equal(idle.http.listen, '127.0.0.1:8080');
    assert.equal(idle.stateDir, PACKAGED_PATHS.stateDir);
    assert.equal(idle.imagesDir, PACKAGED_PATHS.imagesDir);
    assert.equal(idle.kickstartsDir, PACKAGED_PATHS.kickstartsDir);
    for (const line of packagedConfig()
      .split('\n')
      .filter((l) => /^(stateDir|imagesDir|kickstartsDir):/.test(l)))
      assert.match(line, /: \//, line);

    const proxy = load(
      renderProductionConfig({
        interface: 'eno2',
        address: '198.18.0.5',
        subnet: '198.18.0.0/24',
        pool: { start: '198.18.0.128', end: '198.18.0.254' },
        gateway: '198.18.0.254',
        dns: [],
        mode: 'proxy',
        servers: ['198.18.0.2'],
        generatedBy: 'test',
      }),
    );
    assert.equal(proxy.dhcp.mode, 'proxy');
    assert.equal(proxy.dhcp.port, 67);
    assert.equal(proxy.dhcp.bind, '0.0.0.0');
    assert.deepEqual(proxy.tftp.listen, ['198.18.0.5']);
    assert.equal(proxy.network.gateway, '198.18.0.254');
    assert.equal(proxy.http.publicUrl, 'http://198.18.0.5:8080');
    assert.deepEqual(proxy.profiles, {});
  });

  it('the probe is a broadcast PXE DISCOVER from the interface MAC', () => {
    const mac = Buffer.from([0x52, 0x54, 0, 0xaa, 0xbb, 1]);
    const d = decodePacket(probeDiscover(mac, 0x1234));
    assert.ok(d.ok);
    assert.equal(d.packet.xid, 0x1234);
    assert.equal(d.packet.flags, 0x8000);
    assert.equal(d.packet.options.get(53)![0], 1);
    assert.match(d.packet.options.get(60)!.toString(), /^PXEClient:Arch:00000/);
    assert.deepEqual(d.packet.chaddr.subarray(0, 6), mac);
  });

  it('names systemctl for the packaged config and --config otherwise', () => {
    assert.deepEqual(
      nextCommands('/etc/kickstand/kickstand.yaml').map(([c]) => c),
      ['systemctl enable --now kickstand', 'kickstand images check', 'kickstand host import hosts.csv --dry-run'],
    );
    assert.equal(nextCommands('/srv/k.yaml')[0]![0], 'kickstand serve --config /srv/k.yaml');
    assert.equal(nextCommands('/srv/k.yaml')[1]![0], 'kickstand --config /srv/k.yaml images check');
  });
});

/** missing() without its CI throw: the tests themselves fail in CI (skipUnless). */
function missingQuietly(need: Parameters<typeof missing>[0]): string | undefined {
  try {
    return missing(need);
  } catch (e) {
    return (e as Error).message;
  }
}

interface InitJson {
  address: string;
  subnet: string;
  proposed: string;
  mode: string;
  pool: { start: string; end: string } | null;
  probe: { answers: Array<{ server: string; offered: string | null }> };
  wrote: boolean;
  replaced: string | null;
  images: Array<{ name: string; action: string }>;
  warnings: string[];
  next: string[];
}

describe('init on a segment (network namespaces, dnsmasq)', () => {
  const lab = new Lab();
  let dir = '';
  let ks: Netns;
  let site: Netns;
  let ifName = '';
  let siteIf = '';
  const need = { root: true, binaries: ['dnsmasq', 'ip'] };
  // Namespaces are made once, when this host can run the tests; each test says why it cannot.
  const runnable = missingQuietly(need) === undefined;

  before(() => {
    if (!runnable) return;
    dir = mkdtempSync(join(tmpdir(), 'kpk-init-'));
    const tag = uniqueTag('kpk');
    ks = lab.addNamespace(`${tag}k`);
    site = lab.addNamespace(`${tag}s`);
    ifName = `${tag}a`;
    siteIf = `${tag}b`;
    lab.link(ks, ifName, '198.18.60.1/24', site, siteIf, '198.18.60.2/24');
  });
  after(async () => {
    await lab.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const init = (args: string[]): { code: number; stdout: string; stderr: string } => {
    const r = spawnSync('ip', ['netns', 'exec', ks.name, process.execPath, ...cliArgv(), ...args], {
      cwd: REPO,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, KICKSTAND_CONFIG: undefined },
    });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  it('alone on the segment: proposes authoritative with a pool, writes the config, syncs the loaders', (t) => {
    if (skipUnless(t, need)) return;
    // Debian's ipxe (.ci/debian-packages) is what images sync copies.
    if (!existsSync('/usr/lib/ipxe/undionly.kpxe')) {
      if (IN_CI) assert.fail('prerequisite missing in CI: /usr/lib/ipxe (apt-get install ipxe)');
      return t.skip('needs Debian ipxe (/usr/lib/ipxe)');
    }
    const file = join(dir, 'alone.yaml');
    const images = join(dir, 'images');
    const r = init(['--config', file, 'init', '--interface', ifName, '--probe-timeout', '1', '--images-dir', images]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /no DHCP server answered/);
    assert.match(r.stdout, /authoritative: Kickstand leases 198\.18\.60\.128 – 198\.18\.60\.254 \(127 addresses\)/);
    assert.match(r.stdout, new RegExp(`next:\\n  kickstand serve --config ${file} `));
    const c = loadConfig({ file, env: {} });
    assert.equal(c.dhcp.mode, 'authoritative');
    assert.equal(c.network.address, '198.18.60.1');
    assert.equal(c.network.subnet, '198.18.60.0/24');
    assert.deepEqual(c.network.pool, { start: '198.18.60.128', end: '198.18.60.254' });
    assert.deepEqual(c.tftp.listen, ['198.18.60.1']);
    assert.equal(statSync(file).mode & 0o777, 0o644);
    for (const l of ['undionly.kpxe', 'ipxe.efi', 'snponly.efi'])
      assert.deepEqual(readFileSync(join(images, l)), readFileSync(join('/usr/lib/ipxe', l)), l);

    // Never overwritten without --force; with it the old file is kept as .bak.
    writeFileSync(file, readFileSync(file, 'utf8') + '# edited by the operator\n');
    const again = init(['--config', file, 'init', '--interface', ifName, '--probe-timeout', '1']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists; init leaves it alone \[--config\] \(KS_CONFLICT\)\n {2}fix: pass --force/);
    assert.match(readFileSync(file, 'utf8'), /# edited by the operator\n$/);
    const forced = init(['--config', file, 'init', '--interface', ifName, '--probe-timeout', '1', '--force', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((JSON.parse(forced.stdout) as InitJson).replaced, `${file}.bak`);
    assert.match(readFileSync(`${file}.bak`, 'utf8'), /# edited by the operator\n$/);
    assert.doesNotMatch(readFileSync(file, 'utf8'), /edited by the operator/);
  });

  it("replaces the package's untouched template without --force", (t) => {
    if (skipUnless(t, need)) return;
    const file = join(dir, 'packaged.yaml');
    writeFileSync(file, packagedConfig());
    const r = init(['--config', file, 'init', '--interface', ifName, '--probe-timeout', '1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as InitJson;
    assert.equal(out.replaced, 'packaged template');
    assert.equal(loadConfig({ file, env: {} }).dhcp.mode, 'authoritative');
    assert.equal(existsSync(`${file}.bak`), false);
  });

  /** Starts dnsmasq on the site end of the segment with `mode` arguments; resolves when it serves DHCP. */
  async function startDnsmasq(mode: string[]): Promise<{ child: ChildProcess; log: () => string }> {
    const child = lab.spawnIn(site, 'dnsmasq', [
      '--conf-file=/dev/null',
      '--keep-in-foreground',
      '--log-facility=-',
      '--log-dhcp',
      '--port=0',
      `--interface=${siteIf}`,
      '--bind-interfaces',
      `--dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
      '--no-ping',
      ...mode,
    ]);
    let log = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`dnsmasq did not start in 10 s: ${log}`)), 10_000);
      const check = (): void => {
        if (/DHCP, sockets bound/.test(log)) {
          clearTimeout(timer);
          ok();
        }
      };
      child.stderr!.on('data', check);
      child.once('exit', (code) => fail(new Error(`dnsmasq exited (${code}): ${log}`)));
    });
    return { child, log: () => log };
  }

  /** init with `args`, asynchronously: dnsmasq's log pipe must keep draining while init probes. */
  function initAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((ok) => {
      const c = spawn('ip', ['netns', 'exec', ks.name, process.execPath, ...cliArgv(), ...args], {
        cwd: REPO,
        env: { ...process.env, KICKSTAND_CONFIG: undefined },
      });
      let stdout = '';
      let stderr = '';
      c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      c.on('close', (code) => ok({ code, stdout, stderr }));
    });
  }

  async function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await gone;
  }

  it('beside a dnsmasq that leases: proposes proxy mode and names that server', async (t) => {
    if (skipUnless(t, need)) return;
    const dnsmasq = await startDnsmasq(['--dhcp-range=198.18.60.50,198.18.60.90,255.255.255.0,10m']);
    try {
      const file = join(dir, 'proxy.yaml');
      const r = await initAsync(
        ['--config', file, 'init', '--interface', ifName, '--probe-timeout', '1.5'].concat([
          '--images-dir',
          join(dir, 'images'),
          '--json',
        ]),
      );
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as InitJson;
      assert.equal(out.proposed, 'proxy');
      assert.equal(out.mode, 'proxy');
      assert.equal(out.pool, null);
      assert.equal(out.probe.answers.length, 1, JSON.stringify(out.probe));
      assert.equal(out.probe.answers[0]!.server, '198.18.60.2');
      assert.match(out.probe.answers[0]!.offered!, /^198\.18\.60\.(5\d|[6-8]\d|90)$/);
      assert.match(dnsmasq.log(), /DHCPOFFER\(/, 'dnsmasq logged its offer');
      const c = loadConfig({ file, env: {} });
      assert.equal(c.dhcp.mode, 'proxy');
      assert.match(readFileSync(file, 'utf8'), /# proxy: 198\.18\.60\.2 already leases addresses on this segment/);
    } finally {
      await stop(dnsmasq.child);
    }
  });

  it('beside another PXE service (dnsmasq proxyDHCP, no addresses): authoritative, and a warning naming it', async (t) => {
    if (skipUnless(t, need)) return;
    const dnsmasq = await startDnsmasq(['--dhcp-range=198.18.60.0,proxy', '--pxe-service=x86PC,Boot,undionly']);
    try {
      const r = await initAsync(
        ['--config', join(dir, 'pxe.yaml'), 'init', '--interface', ifName].concat([
          '--probe-timeout',
          '1.5',
          '--dry-run',
          '--json',
        ]),
      );
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as InitJson;
      assert.equal(out.proposed, 'authoritative');
      assert.equal(out.wrote, false);
      assert.deepEqual(
        out.probe.answers.map((a) => [a.server, a.offered]),
        [['198.18.60.2', null]],
      );
      assert.ok(
        out.warnings.some((w) =>
          /another PXE service answers on this segment: 198\.18\.60\.2 answered PXE clients/.test(w),
        ),
        out.warnings.join('\n'),
      );
      assert.equal(existsSync(join(dir, 'pxe.yaml')), false, '--dry-run writes nothing');
    } finally {
      await stop(dnsmasq.child);
    }
  });
});
