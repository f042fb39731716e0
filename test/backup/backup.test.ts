/**
 * `kickstand backup` / `kickstand restore` through the real CLI against a running `kickstand
 * serve` under write load (API host creations, bounded in count and time): the snapshot is
 * consistent (every host acknowledged before the backup began is in it), a host mid-install
 * keeps its lease and its live install token, an installed host keeps its pinned SSH keys, the
 * API token and bootstrap key come back, and a daemon started on the restored state directory
 * accepts the old API token. Refusals: a non-empty state dir, a tampered file (named), a foreign
 * format version.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { readTar, writeTar } from '../../src/backup/tar';
import { openSqliteStore } from '../../src/store/sqlite';
import { cliArgv, DaemonProcess, REPO, runCli, testConfig } from '../helpers/daemon';

const PINNED = ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBackupRestorePinnedKeyOfDoneHost0000000 root@done'];
const MID_MAC = '52:54:00:40:00:01';
const MID_IP = '198.18.0.150';
const LOAD_MAX_HOSTS = 400;
const LOAD_MAX_MS = 20_000;

function runCliAsync(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const p = spawn(process.execPath, [...cliArgv(), ...args], {
      cwd: REPO,
      env: { ...process.env, KICKSTAND_CONFIG: undefined },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => ok({ code, stdout, stderr }));
  });
}

describe('backup and restore under load', () => {
  const d = new DaemonProcess();
  const archive = join(d.dir, 'kickstand-backup.tar');
  const restoredCfg = join(d.dir, 'restored.yaml');
  const restoredState = join(d.dir, 'restored-state');
  let midToken = '';
  let ackedBeforeBackup: string[] = [];
  let ackedTotal = 0;

  before(async () => {
    mkdirSync(d.stateDir, { recursive: true, mode: 0o700 });
    const store = openSqliteStore(join(d.stateDir, 'kickstand.db'));
    const now = Date.now();
    await store.hosts.create({
      name: 'mid',
      macs: [MID_MAC],
      profile: 'rocky9',
      role: 'worker',
      ipv4: null,
      vars: {},
      netboot: true,
      state: 'installing',
    });
    midToken = 'mid-install-token-0123456789abcdef';
    await store.tokens.issue({ token: midToken, host: 'mid', issuedAt: now, expiresAt: now + 4 * 3600_000 });
    await store.leases.put({
      ip: MID_IP,
      mac: MID_MAC,
      clientId: null,
      hostname: 'mid',
      state: 'bound',
      expiresAt: now + 3600_000,
      updatedAt: now,
    });
    const done = await store.hosts.create({
      name: 'done',
      macs: ['52:54:00:40:00:02'],
      profile: 'rocky9',
      role: 'worker',
      ipv4: null,
      vars: {},
      netboot: false,
      state: 'installed',
    });
    await store.hosts.update('done', { sshHostKeys: PINNED }, done.version);
    await store.close();
    await d.start(); // generates the API token and the bootstrap key pair
    writeFileSync(restoredCfg, stringify({ ...testConfig(d.dir), stateDir: restoredState }));
  });
  after(async () => {
    await d.cleanup();
  });

  it('takes a consistent snapshot while hosts are being created', async () => {
    const acked: { name: string; at: number }[] = [];
    let stop = false;
    const t0 = Date.now();
    const load = (async () => {
      for (let i = 0; i < LOAD_MAX_HOSTS && !stop && Date.now() - t0 < LOAD_MAX_MS; i += 1) {
        const name = `load${i}`;
        const mac = `52:54:00:41:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
        const r = await d.api('POST', '/hosts', { name, macs: [mac], profile: 'rocky9' });
        assert.equal(r.status, 201, JSON.stringify(r.json));
        acked.push({ name, at: Date.now() });
      }
    })();
    while (acked.length < 20) await new Promise((r) => setTimeout(r, 20));
    const started = Date.now();
    const b = await runCliAsync(['--config', d.configFile, 'backup', archive, '--json']);
    stop = true;
    await load;
    assert.equal(b.code, 0, b.stderr);
    ackedBeforeBackup = acked.filter((a) => a.at < started).map((a) => a.name);
    ackedTotal = acked.length;
    assert.ok(ackedBeforeBackup.length >= 20);
    const manifest = JSON.parse(b.stdout) as { version: number; files: { name: string }[] };
    assert.equal(manifest.version, 1);
    assert.deepEqual(manifest.files.map((f) => f.name).sort(), [
      'api-token',
      'bootstrap_ed25519',
      'bootstrap_ed25519.pub',
      'kickstand.db',
      // the key that seals BMC passwords: without it the restored passwords are unreadable
      'secrets.key',
    ]);
    assert.equal(statSync(archive).mode & 0o777, 0o600, 'the archive holds secrets');
  });

  it('refuses a non-empty state directory, naming it and the fix', () => {
    const r = runCli(['--config', d.configFile, 'restore', archive]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`state directory ${d.stateDir} is not empty.*KS_STATE_NOT_EMPTY`));
    assert.match(r.stderr, /fix: restore into an empty directory/);
  });

  it('refuses a tampered archive naming the file, and a foreign format version', () => {
    const entries = readTar(readFileSync(archive));
    const tampered = entries.map((e) =>
      e.name === 'api-token' ? { ...e, data: Buffer.from('attacker-token-000000000000\n') } : e,
    );
    const bad = join(d.dir, 'tampered.tar');
    writeFileSync(bad, writeTar(tampered));
    let r = runCli(['--config', restoredCfg, 'restore', bad]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tampered\.tar: api-token does not match its SHA-256 in the manifest.*KS_BACKUP_INVALID/);
    assert.equal(existsSync(restoredState), false, 'nothing written');

    const m = JSON.parse(entries[0]!.data.toString()) as Record<string, unknown>;
    const future = join(d.dir, 'future.tar');
    writeFileSync(
      future,
      writeTar([{ ...entries[0]!, data: Buffer.from(JSON.stringify({ ...m, version: 2 })) }, ...entries.slice(1)]),
    );
    r = runCli(['--config', restoredCfg, 'restore', future]);
    assert.match(r.stderr, /backup format version 2 \(this Kickstand reads version 1\)/);

    // An entry outside the state files, even listed in the manifest with its right hash, is
    // refused: restore never writes a name it does not know (no path out of the state dir).
    const evil = { name: '../escape', mode: 0o644, data: Buffer.from('x\n') };
    const listed = {
      ...m,
      files: [
        ...(m.files as object[]),
        {
          name: evil.name,
          size: 2,
          mode: 0o644,
          sha256: createHash('sha256').update(evil.data).digest('hex'),
        },
      ],
    };
    const escape = join(d.dir, 'escape.tar');
    writeFileSync(
      escape,
      writeTar([{ ...entries[0]!, data: Buffer.from(JSON.stringify(listed)) }, ...entries.slice(1), evil]),
    );
    r = runCli(['--config', restoredCfg, 'restore', escape]);
    assert.match(r.stderr, /escape\.tar: "\.\.\/escape" is not a file a Kickstand backup holds.*KS_BACKUP_INVALID/);
    assert.equal(existsSync(restoredState), false, 'nothing written');

    const cut = join(d.dir, 'cut.tar');
    writeFileSync(cut, readFileSync(archive).subarray(0, 4096));
    r = runCli(['--config', restoredCfg, 'restore', cut]);
    assert.match(r.stderr, /cut\.tar: not a readable backup archive/);
  });

  it('restores into an empty dir: lease and live token of the host mid-install, pinned keys, secrets, every acknowledged host', async () => {
    const r = runCli(['--config', restoredCfg, 'restore', archive]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(restoredState).mode & 0o777, 0o700);
    assert.equal(statSync(join(restoredState, 'api-token')).mode & 0o777, 0o600);
    assert.equal(
      readFileSync(join(restoredState, 'api-token'), 'utf8'),
      readFileSync(join(d.stateDir, 'api-token'), 'utf8'),
    );
    assert.equal(
      readFileSync(join(restoredState, 'bootstrap_ed25519'), 'utf8'),
      readFileSync(join(d.stateDir, 'bootstrap_ed25519'), 'utf8'),
    );
    const store = openSqliteStore(join(restoredState, 'kickstand.db'));
    try {
      const lease = await store.leases.get(MID_IP);
      assert.equal(lease?.mac, MID_MAC);
      assert.equal(lease?.state, 'bound');
      const tok = await store.tokens.get(midToken);
      assert.equal(tok?.host, 'mid');
      assert.equal(tok?.revokedAt, null, 'the install token is still live');
      assert.equal((await store.hosts.get('mid'))?.state, 'installing');
      assert.deepEqual((await store.hosts.get('done'))?.sshHostKeys, PINNED);
      const names = new Set((await store.hosts.list()).map((h) => h.name));
      const missing = ackedBeforeBackup.filter((n) => !names.has(n));
      assert.deepEqual(missing, [], 'every host acknowledged before the backup began is in it');
      const loadHosts = [...names].filter((n) => n.startsWith('load')).length;
      assert.ok(loadHosts <= ackedTotal, `${loadHosts} load hosts restored, ${ackedTotal} acknowledged`);
    } finally {
      await store.close();
    }
  });

  it('a daemon on the restored state accepts the old API token and serves the restored hosts', async () => {
    await d.kill('SIGTERM');
    const again = new DaemonProcess(() => ({ ...testConfig(d.dir), stateDir: restoredState }));
    try {
      await again.start();
      const token = readFileSync(join(d.stateDir, 'api-token'), 'utf8').trim();
      const res = await fetch(`${again.url}/api/v1/hosts/done`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      const host = (await res.json()) as { state: string; sshHostKeys: string[] };
      assert.equal(host.state, 'installed');
      assert.deepEqual(host.sshHostKeys, PINNED);
    } finally {
      await again.cleanup();
    }
  });
});
