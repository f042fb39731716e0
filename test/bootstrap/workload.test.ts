/**
 * The workload runner (benchmark interface) against real sshd nodes: files written only when
 * different, the `creates` command once, a second run changes nothing, and a known_hosts that
 * pins another key is refused before anything runs.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { missing } from '../helpers/env';
import { harness, type Harness } from './harness';
import type { SshdNode } from '../helpers/sshd-node';
import { runWorkload, type WorkloadInventory } from '../../src/bootstrap/workload';
import { KEY_FILE } from '../../src/bootstrap/keys';

const why = missing({ root: true, binaries: ['sshd', 'ssh-keygen', 'nsenter', 'unshare'] });

describe('workload runner over pinned SSH', { skip: why ?? false, timeout: 60_000 }, () => {
  let h: Harness;
  let nodes: SshdNode[];
  let inv: WorkloadInventory;

  before(async () => {
    h = await harness();
    nodes = [1, 2].map((i) => h.lab.addNode(i));
    await h.lab.forward();
    const kh = join(h.dir, 'known_hosts');
    writeFileSync(kh, nodes.map((n) => `${n.address} ${n.hostKey}`).join('\n') + '\n');
    inv = {
      key: join(h.stateDir, KEY_FILE),
      known_hosts: kh,
      workload: {
        files: [
          { path: 'motd', mode: '0644', content: "it's static\n" },
          { path: 'node.conf', mode: '0640', template: 'name={{ node_name }}\nindex={{ node_index }}\n' },
        ],
        commands: ['uname -a', "sh -c 'echo ok > {dir}/ran'"],
        creates: '{dir}/ran',
      },
      nodes: nodes.map((n) => {
        const dir = join(n.dir, 'data');
        mkdirSync(dir, { recursive: true });
        return { name: n.name, index: n.index, host: n.address, port: 22, user: 'root', dir };
      }),
    };
  });
  after(async () => {
    await h?.close();
  });

  const opts = () => ({ parallelism: 2, readyTimeoutMs: 10_000, timeoutMs: 30_000, connect: h.lab.connect });

  it('converges every node, then a second run changes nothing', async () => {
    const first = await runWorkload(inv, opts());
    assert.deepEqual(first.map((r) => [r.node, r.ok, r.changed]).sort(), [
      ['node1', true, 3],
      ['node2', true, 3],
    ]);
    const n2 = inv.nodes[1]!;
    assert.equal(readFileSync(join(n2.dir, 'node.conf'), 'utf8'), 'name=node2\nindex=2\n');
    assert.equal(statSync(join(n2.dir, 'node.conf')).mode & 0o777, 0o640);
    assert.equal(readFileSync(join(n2.dir, 'motd'), 'utf8'), "it's static\n");
    const before = statSync(join(n2.dir, 'motd'));
    const second = await runWorkload(inv, opts());
    assert.deepEqual(
      second.map((r) => r.changed),
      [0, 0],
    );
    const now = statSync(join(n2.dir, 'motd'));
    assert.deepEqual([now.ino, now.mtimeMs, now.ctimeMs], [before.ino, before.mtimeMs, before.ctimeMs]);
  });

  it('refuses a node whose host key is not the pinned one', async () => {
    const kh = join(h.dir, 'known_hosts.wrong');
    writeFileSync(kh, `${nodes[0]!.address} ${nodes[1]!.hostKey}\n`);
    const [r] = await runWorkload({ ...inv, known_hosts: kh, nodes: [inv.nodes[0]!] }, opts());
    assert.equal(r!.ok, false);
    assert.match(r!.error ?? '', /host key mismatch/);
  });
});
