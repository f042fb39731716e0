/**
 * Restart safety of the install flow: a host that reached `installing` is still there after
 * the daemon is killed with SIGKILL, its one-time token still authenticates the %post
 * callback, and afterwards the host boots from its local disk. SIGHUP and SIGTERM behave.
 * The machine is played by curl from 127.0.0.2 (its static address).
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify, parse } from 'yaml';
import { DaemonProcess, testConfig } from '../helpers/daemon';
import { skipUnless } from '../helpers/env';

const MAC = '52:54:00:00:09:01';
const HOST_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHl0Z3Jlc3RhcnR0ZXN0a2V5MDAwMDAwMDAwMDAwMDAw root@node9';

function machine(url: string, opts: { data?: string } = {}): { status: number; body: string } {
  const args = ['-sS', '--interface', '127.0.0.2', '-o', '-', '-w', '\n%{http_code}', url];
  if (opts.data !== undefined) args.push('--data-binary', opts.data);
  const out = execFileSync('curl', args, { encoding: 'utf8', timeout: 20_000 });
  const i = out.lastIndexOf('\n');
  return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
}

describe('install flow across daemon restarts', () => {
  const d = new DaemonProcess((dir) =>
    testConfig(dir, {
      network: { address: '127.0.0.1', subnet: '127.0.0.0/24', pool: { start: '127.0.0.100', end: '127.0.0.199' } },
      http: { listen: '127.0.0.1:0', publicUrl: 'http://127.0.0.1:1' },
    }),
  );
  after(() => d.cleanup());

  it('SIGKILL while installing: the install completes after restart, then local boot only', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    await d.start();
    assert.equal(d.cli(['host', 'add', 'node9', '--mac', MAC, '--profile', 'rocky9', '--ip', '127.0.0.2']).code, 0);
    const script = machine(`${d.machineUrl}/ipxe/${MAC.replace(/:/g, '-')}`);
    assert.equal(script.status, 200);
    const token = /\/ks\/([A-Za-z0-9_-]{43})/.exec(script.body)?.[1];
    assert.ok(token, script.body);
    assert.equal(machine(`${d.machineUrl}/ks/${token}`).status, 200);
    assert.ok(machine(`${d.machineUrl}/cb/${token}/installing`, { data: 'installing' }).status < 300);
    assert.equal((await d.api('GET', '/hosts/node9')).json.state, 'installing');

    await d.kill('SIGKILL');
    await d.start();
    assert.equal((await d.api('GET', '/hosts/node9')).json.state, 'installing', 'the state it really reached');
    const done = machine(`${d.machineUrl}/cb/${token}/installed`, { data: HOST_KEY + '\n' });
    assert.ok(done.status < 300, done.body);
    const host = (await d.api('GET', '/hosts/node9')).json;
    assert.equal(host.state, 'installed');
    assert.equal(host.netboot, false);
    assert.deepEqual(host.sshHostKeys, [HOST_KEY]);
    const next = machine(`${d.machineUrl}/ipxe/${MAC.replace(/:/g, '-')}`);
    assert.ok(!next.body.includes('/ks/'), 'no reinstall after the restart');
    assert.equal(machine(`${d.machineUrl}/ks/${token}`).status, 410, 'the token died with the install');
  });

  it('SIGHUP applies new profiles and keeps socket-bound keys until restart', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    if (!d.child || d.child.exitCode !== null) await d.start();
    const cfg = parse(readFileSync(d.configFile, 'utf8')) as {
      profiles: Record<string, object>;
      network: { leaseTime: number };
    };
    cfg.profiles.alma9 = { ...cfg.profiles.rocky9 };
    cfg.network.leaseTime = 7200;
    writeFileSync(d.configFile, stringify(cfg));
    d.child!.kill('SIGHUP');
    const deadline = Date.now() + 10_000;
    while (!d.log.includes('need a restart') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.match(d.log, /"keys":\["network"\].*config reloaded; these keys changed and need a restart/);
    assert.equal(d.cli(['host', 'add', 'alma1', '--mac', '52:54:00:00:09:02', '--profile', 'alma9']).code, 0);

    writeFileSync(d.configFile, 'network: [broken\n');
    d.child!.kill('SIGHUP');
    const deadline2 = Date.now() + 10_000;
    while (!d.log.includes('config reload refused') && Date.now() < deadline2)
      await new Promise((r) => setTimeout(r, 100));
    assert.match(d.log, /config reload refused; keeping the running config/);
    assert.equal((await fetch(`${d.machineUrl}/healthz`)).status, 200, 'still serving');
  });

  it('SIGTERM stops cleanly with exit code 0', async () => {
    if (!d.child || d.child.exitCode !== null) await d.start();
    const code = await d.kill('SIGTERM');
    assert.equal(code, 0);
    assert.match(d.log, /"msg":"stopped"/);
  });
});
