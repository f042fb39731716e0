/**
 * k3s join order against real sshd nodes, with the k3s stand-in (the recording installer; k3s
 * cannot run here). A rack PXE-boots at once and agents often finish installing before the
 * server: an agent that reaches k3s.join before any server has initialised the cluster waits for
 * one (bounded by bootstrap.k3s.serverWaitMs); past that it fails with KS_K3S_NO_SERVER, is not
 * retried, and is bootstrapped again as soon as a server becomes ready — also after a restart.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { missing } from '../helpers/env';
import { RECORDER, harness, noBundle, type Harness } from './harness';
import type { SshdNode } from '../helpers/sshd-node';
import { INIT_SERVER_SETTING } from '../../src/bootstrap/k3s';
import { Bootstrapper } from '../../src/bootstrap/runner';

const need = { root: true, binaries: ['sshd', 'ssh-keygen', 'wireguard-go', 'wg', 'ip', 'nsenter', 'unshare'] };
const why = missing(need);

const recorded = (n: SshdNode): boolean =>
  n.exec('sh', ['-c', 'test -e /run/k3s-recorder/argv.1 && echo y || echo n']).trim() === 'y';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(
  'bootstrap: k3s stand-in — agents that get there before the first server',
  { skip: why ?? false, timeout: 120_000 },
  () => {
    let h: Harness;
    let nodes: SshdNode[];

    before(async () => {
      h = await harness({ k3s: { source: 'internet', installCommand: RECORDER } });
      nodes = [1, 2, 3, 4, 5, 6].map((i) => h.lab.addNode(i));
      await h.lab.forward();
    });
    after(async () => {
      await h?.close();
    });

    async function until(what: string, ok: () => Promise<boolean>, ms = 30_000): Promise<void> {
      for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(100)) if (await ok()) return;
      assert.fail(`timed out after ${ms} ms waiting for: ${what}`);
    }

    /**
     * Two fresh nodes installed as an agent and a server, with no server of the cluster left (its
     * init server "deleted": the next server initialises a new cluster), and the agent's wait set.
     */
    async function agentAndServer(first: number, serverWaitMs: number): Promise<[SshdNode, SshdNode]> {
      h.config.k3s.serverWaitMs = serverWaitMs;
      await h.store.settings.set(INIT_SERVER_SETTING, 'deleted-server');
      const [agent, server] = [nodes[first]!, nodes[first + 1]!];
      await h.install(agent, 'agent');
      await h.install(server, 'server');
      return [agent, server];
    }

    /** The stand-in recorded K3S_URL pointing at `server`'s mesh address. */
    async function assertJoinedVia(agent: SshdNode, server: SshdNode): Promise<void> {
      const m = (await h.store.mesh.get(server.name))!;
      assert.match(
        agent.exec('cat', ['/run/k3s-recorder/env.1']),
        new RegExp(`^K3S_URL=https://${m.address.replace(/\./g, '\\.')}:6443$`, 'm'),
      );
    }

    it('past serverWaitMs an agent fails with KS_K3S_NO_SERVER without retries, and runs again when a server is ready', async () => {
      const [agent, server] = await agentAndServer(0, 0);
      const ra = await h.boot.bootstrap(agent.name, 'test');
      assert.equal(ra.ok, false);
      assert.equal(ra.error?.code, 'KS_K3S_NO_SERVER');
      assert.match(ra.error?.fix ?? '', /bootstrap a host with role server/);
      assert.equal((await h.registry.require(agent.name)).state, 'failed');
      assert.equal(recorded(agent), false, 'the installer never ran without a server');
      const joinAttempts = (await h.store.events.list({ host: agent.name })).filter(
        (e) => e.kind === 'bootstrap.step' && e.message.startsWith('k3s.join: attempt'),
      );
      assert.equal(joinAttempts.length, 1, 'not retried (stepRetries is 1): the step already waited');

      const rs = await h.boot.bootstrap(server.name, 'test');
      assert.equal(rs.ok, true, rs.error?.message);
      // serverReady re-queues the agent; it becomes ready without anyone asking
      await until(
        'the agent re-bootstrapped to ready',
        async () => (await h.registry.require(agent.name)).state === 'ready',
      );
      const cause = (await h.store.events.list({ host: agent.name }))
        .filter((e) => e.kind === 'host.state')
        .map((e) => e.message);
      assert.ok(
        cause.some((m) => m.includes(`k3s server ${server.name} is ready`)),
        cause.join(' | '),
      );
      await assertJoinedVia(agent, server);
    });

    it('within serverWaitMs an agent waits in k3s.join and joins the server bootstrapped after it', async () => {
      const [agent, server] = await agentAndServer(2, 60_000);
      const pa = h.boot.bootstrap(agent.name, 'test');
      await until('the agent past mesh.peers', async () =>
        (await h.store.events.list({ host: agent.name })).some(
          (e) => e.kind === 'bootstrap.step' && e.message.startsWith('mesh.peers'),
        ),
      );
      await sleep(1500); // more than one poll of the waiting step
      assert.equal((await h.registry.require(agent.name)).state, 'bootstrapping', 'still waiting, not failed');
      assert.equal(recorded(agent), false, 'the installer waits for the server');

      const rs = await h.boot.bootstrap(server.name, 'test');
      assert.equal(rs.ok, true, rs.error?.message);
      assert.match(rs.steps.find((s) => s.name === 'k3s.join')?.detail ?? '', /cluster init/);
      const ra = await pa;
      assert.equal(ra.ok, true, ra.error?.message);
      assert.match(
        ra.steps.find((s) => s.name === 'k3s.join')?.detail ?? '',
        /after waiting \d+ s for the first server/,
      );
      assert.deepEqual(agent.exec('cat', ['/run/k3s-recorder/argv.1']).trim().split('\n'), [
        'agent',
        '--node-ip',
        (await h.store.mesh.get(agent.name))!.address,
        '--flannel-iface',
        'wg0',
      ]);
      await assertJoinedVia(agent, server);
    });

    it('after a restart, an agent that failed with KS_K3S_NO_SERVER still runs again when a server is ready', async () => {
      const [agent, server] = await agentAndServer(4, 0);
      assert.equal((await h.boot.bootstrap(agent.name, 'test')).error?.code, 'KS_K3S_NO_SERVER');
      // Another agent failed for another reason (no pinned host key): it must not be picked up.
      await h.registry.add({
        name: 'nokey',
        macs: ['52:54:00:00:00:7f'],
        profile: 'rocky9',
        role: 'agent',
        ipv4: h.lab.subnetCidr.replace('.0/24', '.99'),
        netboot: true,
      });
      await h.registry.transition('nokey', 'installed', 'test: %post without keys', { netboot: false });
      assert.equal((await h.boot.bootstrap('nokey', 'test')).error?.code, 'KS_HOST_KEY_MISMATCH');
      // The wait is in the store, nowhere else: only the agent is in it.
      assert.deepEqual(await h.store.serverWaits.list(), [agent.name]);
      // The "restart": a new Bootstrapper over the same store, with nothing in memory.
      const restarted = new Bootstrapper({
        store: h.store,
        registry: h.registry,
        config: () => h.config,
        stateDir: h.stateDir,
        log: h.log,
        socketFactory: h.lab.connect,
        bundleSource: noBundle(h.stateDir),
      });
      const rs = await restarted.bootstrap(server.name, 'test');
      assert.equal(rs.ok, true, rs.error?.message);
      await until(
        'the agent re-bootstrapped to ready',
        async () => (await h.registry.require(agent.name)).state === 'ready',
      );
      await restarted.idle();
      await assertJoinedVia(agent, server);
      assert.equal(
        (await h.registry.require('nokey')).state,
        'failed',
        'a host that failed for another reason is not picked up',
      );
      assert.deepEqual(await h.store.serverWaits.list(), [], 'the wait ended with the run');
    });
  },
);
