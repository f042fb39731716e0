/**
 * Reimage and rolling rebuild through the real daemon (in-process, SQLite store, HTTP API).
 * Install progress (installing → installed → bootstrapping → ready) is driven through the
 * registry's state machine, the same calls the install callbacks and the bootstrapper make.
 * BMC requests go to test/helpers/fake-redfish.ts — a spec-following Redfish fake (no Redfish
 * emulator is packaged here); the IPMI side is tested against ipmi_sim in test/bmc/.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Daemon } from '../../src/daemon';
import type { HostState } from '../../src/model/host';
import { startInProcess, type InProcessDaemon } from '../helpers/daemon';
import { FakeRedfish } from '../helpers/fake-redfish';

const BMC_PASSWORD = 'canary-bmc-Pa55-0451';

describe('lifecycle: reimage and rolling rebuild', () => {
  let daemon: Daemon;
  let base: string;
  let token: string;
  let redfish: FakeRedfish;
  let redfishPort: number;

  let running: InProcessDaemon;

  before(async () => {
    running = await startInProcess('ks-life');
    ({ daemon, base, token } = running);
    redfish = new FakeRedfish({ username: 'admin', password: BMC_PASSWORD, initialPower: 'On' });
    redfishPort = await redfish.start();
  });
  after(async () => {
    await redfish.stop();
    await running.close();
  });

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, raw: text };
  };

  /** Walks a host through the install path to `to`, as the callbacks and bootstrapper would. */
  const advance = async (name: string, to: HostState): Promise<void> => {
    const path: HostState[] = ['installing', 'installed', 'bootstrapping', 'ready'];
    for (const st of path) {
      const cur = (await daemon.registry.require(name)).state;
      if (cur === to) return;
      if (st === 'installed')
        await daemon.registry.transition(name, st, 'test: %post callback', {
          netboot: false,
          sshHostKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDtest test'],
        });
      else await daemon.registry.transition(name, st, `test: ${st}`);
      if (st === to) return;
    }
  };

  let seq = 0;
  const addHost = async (name: string, role = 'agent'): Promise<void> => {
    seq++;
    const r = await api('POST', '/hosts', {
      name,
      macs: [`52:54:00:10:00:${seq.toString(16).padStart(2, '0')}`],
      profile: 'rocky9',
      role,
    });
    assert.equal(r.status, 201, r.raw);
  };

  it('reimage of an installed host re-arms it once with a new token, and power-cycles it through the BMC', async () => {
    await addHost('r1');
    const firstToken = (await daemon.store.tokens.liveFor('r1'))?.token;
    assert.ok(firstToken, 'arming at registration issued a token');
    await advance('r1', 'ready');

    const bmc = await api('PUT', '/hosts/r1/bmc', {
      type: 'redfish',
      address: `http://127.0.0.1:${redfishPort}`,
      username: 'admin',
      password: BMC_PASSWORD,
    });
    assert.equal(bmc.status, 200, bmc.raw);
    assert.equal(bmc.body.passwordSet, true);
    assert.ok(!bmc.raw.includes(BMC_PASSWORD), 'PUT answer holds no password');
    const shown = await api('GET', '/hosts/r1/bmc');
    assert.ok(!shown.raw.includes(BMC_PASSWORD), 'GET holds no password');

    const before = redfish.requests.length;
    const r = await api('POST', '/hosts/r1/reimage', { powerCycle: true });
    assert.equal(r.status, 200, r.raw);
    assert.equal(r.body.state, 'armed');
    assert.equal(r.body.netboot, true);
    assert.deepEqual(r.body.sshHostKeys, [], 'the old host key is forgotten: the reinstall reports a new one');
    const second = await daemon.store.tokens.liveFor('r1');
    assert.ok(second && second.token !== firstToken, 'a new one-time token');

    const sys = redfish.systems.get('1')!;
    assert.equal(sys.boot.BootSourceOverrideTarget, 'Pxe');
    assert.equal(sys.boot.BootSourceOverrideEnabled, 'Once');
    assert.ok(sys.resets.length >= 1, 'the BMC was asked to reset/power-cycle');
    assert.ok(redfish.requests.slice(before).every((q) => q.authorized));

    const kinds = (await api('GET', '/hosts/r1/events')).body.events.map((e: { kind: string }) => e.kind);
    const tail = kinds.slice(kinds.lastIndexOf('cluster.removed'));
    assert.deepEqual(tail, ['cluster.removed', 'host.state', 'bmc.command', 'bmc.command']);
    const all = (await api('GET', '/events?limit=10000')).raw;
    assert.ok(!all.includes(BMC_PASSWORD), 'no event holds the BMC password');

    // A second reimage while armed is refused: exactly one reinstall is pending.
    const again = await api('POST', '/hosts/r1/reimage', {});
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'KS_ILLEGAL_TRANSITION');
  });

  it('refuses --power-cycle without a BMC before changing anything', async () => {
    await addHost('r2');
    await advance('r2', 'installed');
    const r = await api('POST', '/hosts/r2/reimage', { powerCycle: true });
    assert.equal(r.status, 400);
    assert.equal(r.body.field, 'powerCycle');
    assert.equal((await daemon.registry.require('r2')).state, 'installed');
  });

  it('power status and actions go through the BMC; unknown actions are refused', async () => {
    const st = await api('POST', '/hosts/r1/power', { action: 'status' });
    assert.equal(st.status, 200, st.raw);
    assert.ok(['on', 'off'].includes(st.body.status));
    const off = await api('POST', '/hosts/r1/power', { action: 'off' });
    assert.equal(off.body.status, 'off');
    assert.equal((await api('POST', '/hosts/r1/power', { action: 'explode' })).body.field, 'action');
  });

  /**
   * Plays installer + bootstrapper for every host that gets armed, ending in `outcome(name)`.
   * The returned stop function throws the first error the pilot met.
   */
  const autopilot = (outcome: (name: string) => 'ready' | 'failed') => {
    const seen = new Set<string>();
    const errors: unknown[] = [];
    const play = async (name: string) => {
      if (outcome(name) === 'failed') {
        await daemon.registry.transition(name, 'installing', 'test: %pre');
        await daemon.registry.transition(name, 'failed', 'test: install failed');
      } else {
        await advance(name, 'ready');
      }
    };
    const scan = async () => {
      for (const h of await daemon.registry.list()) {
        if (h.state !== 'armed' || seen.has(h.name) || !h.name.startsWith('w')) continue;
        seen.add(h.name);
        setTimeout(() => void play(h.name).catch((e: unknown) => errors.push(e)), 50);
      }
    };
    const timer = setInterval(() => void scan().catch((e: unknown) => errors.push(e)), 50);
    return () => {
      clearInterval(timer);
      if (errors.length > 0) throw errors[0];
    };
  };

  const waitRollout = async (id: string) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const s = (await api('GET', `/rollouts/${id}`)).body;
      if (s.state !== 'running' || Date.now() > deadline) return s;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('rolling rebuild reimages a role batch by batch until all are ready', async () => {
    for (const n of ['w1', 'w2', 'w3']) {
      await addHost(n, 'worker');
      await advance(n, 'ready');
    }
    const armedAt: string[][] = [];
    const stopPilot = autopilot(() => 'ready');
    try {
      const start = await api('POST', '/rollouts', { role: 'worker', maxUnavailable: 2 });
      assert.equal(start.status, 202, start.raw);
      assert.deepEqual(start.body.batches, [['w1', 'w2'], ['w3']]);
      const s = await waitRollout(start.body.id);
      assert.equal(s.state, 'done', JSON.stringify(s));
      assert.deepEqual(s.done, ['w1', 'w2', 'w3']);
      for (const n of ['w1', 'w2', 'w3']) {
        const ev = (await api('GET', `/hosts/${n}/events`)).body.events as Array<{ kind: string; message: string }>;
        armedAt.push(
          ev.filter((e) => e.kind === 'host.state' && /→ armed: rolling rebuild/.test(e.message)).map((e) => e.message),
        );
      }
      assert.ok(
        armedAt.every((a) => a.length === 1),
        'each host reimaged exactly once',
      );
      // w3 was armed only after w1 and w2 were ready.
      const evAll = (await api('GET', '/events?limit=10000')).body.events as Array<{
        id: number;
        host: string;
        message: string;
        kind: string;
      }>;
      const id = (host: string, re: RegExp) =>
        evAll.find((e) => e.host === host && e.kind === 'host.state' && re.test(e.message))!.id;
      const lastReady = Math.max(
        ...['w1', 'w2'].map(
          (h) => evAll.filter((e) => e.host === h && e.kind === 'host.state' && /→ ready/.test(e.message)).at(-1)!.id,
        ),
      );
      assert.ok(id('w3', /→ armed: rolling rebuild/) > lastReady, 'batch 2 started after batch 1 was ready');
    } finally {
      stopPilot();
    }
  });

  it('rolling rebuild stops at the first failure and leaves later batches untouched', async () => {
    const stopPilot = autopilot((n) => (n === 'w1' ? 'failed' : 'ready'));
    try {
      const start = await api('POST', '/rollouts', { role: 'worker', maxUnavailable: 1 });
      const s = await waitRollout(start.body.id);
      assert.equal(s.state, 'failed');
      assert.equal(s.failedHost, 'w1');
      assert.match(s.reason, /host w1 failed/);
      assert.equal((await daemon.registry.require('w2')).state, 'ready', 'w2 was not reimaged');
      assert.equal((await daemon.registry.require('w3')).state, 'ready', 'w3 was not reimaged');
    } finally {
      stopPilot();
    }
  });

  it('refuses a rollout for a role nobody has', async () => {
    const r = await api('POST', '/rollouts', { role: 'nobody' });
    assert.equal(r.status, 400);
    assert.equal(r.body.field, 'role');
  });
});
