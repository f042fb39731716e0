/**
 * A real relay (ISC dhcrelay) between two namespaces: the client behind it gets an address
 * from the relayed subnet; replies go to the relay (giaddr) on port 67.
 *
 *   client ns ── 198.18.21.0/24 ── relay ns (dhcrelay) ── 198.18.20.0/24 ── server ns (daemon)
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite';
import { missing } from '../helpers/env';
import { Lab, uniqueTag } from '../helpers/netns';
import { startDaemon } from './helpers/daemon';

const why = missing({ root: true, binaries: ['busybox', 'dhcrelay', 'ip'] });

describe('relayed client (dhcrelay)', { skip: why }, () => {
  const lab = new Lab();
  after(async () => {
    await lab.cleanup();
  });

  it('udhcpc behind dhcrelay gets an address in the relayed subnet, recorded in the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-dhcp-relay-'));
    const tag = uniqueTag('kr');
    const srv = lab.addNamespace(`${tag}s`);
    const rel = lab.addNamespace(`${tag}r`);
    const cli = lab.addNamespace(`${tag}c`);
    lab.link(srv, `${tag}s0`, '198.18.20.1/24', rel, `${tag}r1`, '198.18.20.2/24');
    lab.link(rel, `${tag}r0`, '198.18.21.1/24', cli, `${tag}c0`, null);
    srv.exec('ip', ['route', 'add', '198.18.21.0/24', 'via', '198.18.20.2']);
    const daemon = await startDaemon(
      lab,
      srv,
      {
        dhcp: { unknownHosts: 'discover', relayed: [{ subnet: '198.18.21.0/24', pool: { start: '198.18.21.100', end: '198.18.21.120' }, gateway: '198.18.21.1', leaseTime: 900 }] },
        network: { address: '198.18.20.1', subnet: '198.18.20.0/24', pool: { start: '198.18.20.100', end: '198.18.20.120' } },
      },
      dir,
    );
    lab.spawnIn(rel, 'dhcrelay', ['-4', '-d', '-q', '-id', `${tag}r0`, '-iu', `${tag}r1`, '198.18.20.1']);
    await new Promise((r) => setTimeout(r, 1000));
    const out = join(dir, 'udhcpc.env');
    const script = join(dir, 'udhcpc.sh');
    writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && env > ${out}\nexit 0\n`);
    chmodSync(script, 0o755);
    cli.exec('busybox', ['udhcpc', '-i', `${tag}c0`, '-n', '-q', '-f', '-t', '6', '-T', '1', '-s', script], { timeoutMs: 30_000 });
    assert.ok(existsSync(out), `udhcpc did not bind through the relay; daemon: ${daemon.stderr()}`);
    const env = Object.fromEntries(readFileSync(out, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.match(env.ip!, /^198\.18\.21\.(1[01]\d|120)$/);
    assert.equal(env.router, '198.18.21.1');
    assert.equal(env.lease, '900');
    assert.equal(env.serverid, '198.18.20.1');
    const store = openSqliteStore(daemon.db);
    try {
      assert.equal((await store.leases.get(env.ip!))?.state, 'bound');
    } finally {
      await store.close();
    }
  });
});
