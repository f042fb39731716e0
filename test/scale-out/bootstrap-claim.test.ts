/**
 * A host's bootstrap runs on exactly one of two daemons sharing a PostgreSQL
 * (docs/scale-out.md, bootstrap/claim.ts): two buildDaemon() daemons, one installed host.
 * A's run is held at its SSH connection by a TCP listener that accepts and never speaks (a
 * stand-in for a node whose sshd hangs, named as such here); meanwhile B is asked to bootstrap
 * the same host and refuses with KS_CONFLICT without touching it; once A's run ended (failed:
 * no SSH banner), B may run it. No root; bounded by the 2 s SSH ready timeout.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDaemon, type Daemon } from '../../src/daemon';
import { silentLogger } from '../../src/log';
import { skipUnless } from '../helpers/env';
import { pgBinDir, postgresSkipReason, PrivatePostgres } from '../helpers/postgres';
import { installConfig } from '../install/harness';

const why = postgresSkipReason();

describe('bootstrap claimed in the database across two daemons', { skip: why }, () => {
  const server = new PrivatePostgres(pgBinDir()!);
  const scratch = mkdtempSync(join(tmpdir(), 'ks-pg-claim-'));
  before(() => server.start());
  after(async () => {
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('a host being bootstrapped through A is refused by B, then B may run it', async (t) => {
    if (skipUnless(t, { binaries: ['ssh-keygen'] })) return;
    // The silent "sshd" (stand-in): accepts, never sends its identification string.
    const held = new Set<Socket>();
    const silent = createServer((s) => held.add(s.on('close', () => held.delete(s))));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const sshPort = (silent.address() as { port: number }).port;
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(scratch, 'hostkey')]);
    const pin = readFileSync(join(scratch, 'hostkey.pub'), 'utf8').trim();

    const url = await server.createDatabase('claims');
    const daemon = (name: string): Daemon =>
      buildDaemon(
        installConfig({
          stateDir: join(scratch, name),
          store: { kind: 'postgres', url, daemonName: `site-${name}` },
          tftp: { enabled: false },
          api: { listen: '127.0.0.1:0' },
          bootstrap: {
            probe: { enabled: false },
            ssh: { port: sshPort, readyTimeoutMs: 2000 },
            stepRetries: 0,
          },
        }),
        { log: silentLogger() },
      );
    const a = daemon('a');
    const b = daemon('b');
    try {
      await a.start();
      await b.start();
      await a.registry.add({ name: 'node2', macs: ['52:54:00:00:40:01'], profile: 'rocky9', ipv4: '127.0.0.1' });
      await a.store.hosts.update('node2', { state: 'installed', sshHostKeys: [pin] });
      const bootstrap = async (d: Daemon, name: string) => {
        const token = readFileSync(join(scratch, name, 'api-token'), 'utf8').trim();
        const res = await fetch(`${d.api.url()}/api/v1/hosts/node2/bootstrap?wait=true`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
        });
        return (await res.json()) as { ok: boolean; error?: { code: string; message: string } };
      };
      const viaA = bootstrap(a, 'a');
      // A's run is at its SSH connection (the stand-in holds it): the claim is A's.
      for (let i = 0; i < 100 && held.size === 0; i += 1) await new Promise((r) => setTimeout(r, 50));
      assert.equal(held.size, 1, "A's run reached the node");
      const viaB = await bootstrap(b, 'b');
      assert.equal(viaB.error?.code, 'KS_CONFLICT', `B refused: ${JSON.stringify(viaB)}`);
      assert.match(viaB.error?.message ?? '', /runs on another daemon/);
      const resultA = await viaA;
      assert.equal(resultA.ok, false);
      assert.notEqual(resultA.error?.code, 'KS_CONFLICT', 'A ran the plan');
      const failed = (await a.store.events.list({ host: 'node2' })).filter((e) => e.kind === 'bootstrap.failed');
      assert.deepEqual(
        failed.map((e) => e.daemon),
        ['site-a'],
        'one run, on A',
      );
      // A's run ended and gave its claim up: B may bootstrap the host now.
      const again = await bootstrap(b, 'b');
      assert.notEqual(again.error?.code, 'KS_CONFLICT', `B runs it now: ${JSON.stringify(again)}`);
      const runs = (await a.store.events.list({ host: 'node2' })).filter((e) => e.kind === 'bootstrap.failed');
      assert.deepEqual(
        runs.map((e) => e.daemon),
        ['site-a', 'site-b'],
      );
    } finally {
      for (const s of held) s.destroy();
      silent.close();
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
