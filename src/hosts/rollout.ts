/**
 * @module hosts/rollout
 * Rolling rebuild: reimage the hosts of one role a batch at a time (at most `maxUnavailable`
 * at once), wait for every host of the batch to reach `ready`, then start the next batch.
 * The first host that fails (or a batch that outlives its timeout) stops the rollout; hosts
 * not yet started are left untouched. Progress is on the timeline (`rollout.*` events).
 *
 * Rollouts are held in memory: a daemon restart abandons a running rollout (the hosts keep
 * their states, and the timeline says how far it got); start it again to go on.
 *
 * Each `rollout.*` event's data is a self-contained summary (RolloutEventData) so a watcher (the
 * console's board, docs/console.md) can show the progress from the feed alone; `step` counts the
 * events so far, letting it tell a newer summary from an older snapshot.
 */
import { randomUUID } from 'node:crypto';
import type { Host, HostState } from '../model/host';
import type { Logger } from '../log';
import type { Store } from '../store/store';
import type { Timeline } from '../timeline';
import type { HostRegistry } from './registry';

export interface RolloutRequest {
  role: string;
  maxUnavailable: number;
  powerCycle: boolean;
  /** Per batch. */
  timeoutMs: number;
}

export interface RolloutStatus {
  id: string;
  role: string;
  state: 'running' | 'done' | 'failed';
  batches: string[][];
  /** Index of the batch in progress (or the last one). */
  batch: number;
  done: string[];
  failedHost: string | null;
  reason: string | null;
  /** Number of `rollout.*` events recorded so far (grows with every change of the above). */
  step: number;
  startedAt: string;
  finishedAt: string | null;
}

/** The data of every `rollout.*` event. */
export interface RolloutEventData {
  rollout: string;
  role: string;
  state: RolloutStatus['state'];
  /** 0-based index of the current (or last) batch. */
  batch: number;
  batches: number;
  /** The hosts of the current batch. */
  hosts: string[];
  /** Hosts reimaged and ready so far. */
  done: number;
  total: number;
  failedHost: string | null;
  reason: string | null;
  step: number;
  startedAt: string;
  finishedAt: string | null;
}

/** The event summary of a status. */
export function rolloutSummary(s: RolloutStatus): RolloutEventData {
  return {
    rollout: s.id,
    role: s.role,
    state: s.state,
    batch: s.batch,
    batches: s.batches.length,
    hosts: [...(s.batches[s.batch] ?? [])],
    done: s.done.length,
    total: s.batches.reduce((n, b) => n + b.length, 0),
    failedHost: s.failedHost,
    reason: s.reason,
    step: s.step,
    startedAt: s.startedAt,
    finishedAt: s.finishedAt,
  };
}

export interface RolloutDeps {
  registry: HostRegistry;
  store: Store;
  timeline: Timeline;
  log: Logger;
  reimage: (name: string, opts: { powerCycle: boolean; cause: string }) => Promise<Host>;
  /** How often to re-read host states besides listening to the timeline. */
  pollMs?: number;
}

export class Rollouts {
  private readonly all = new Map<string, RolloutStatus>();

  constructor(private readonly deps: RolloutDeps) {}

  get(id: string): RolloutStatus | undefined {
    return this.all.get(id);
  }

  /** Every rollout since the daemon started, newest first. */
  list(): RolloutStatus[] {
    return [...this.all.values()].reverse();
  }

  /** Plans the batches and starts the rollout in the background; returns its status. */
  async start(req: RolloutRequest): Promise<RolloutStatus> {
    const hosts = (await this.deps.registry.list()).filter((h) => h.role === req.role).map((h) => h.name);
    const batches: string[][] = [];
    for (let i = 0; i < hosts.length; i += req.maxUnavailable) batches.push(hosts.slice(i, i + req.maxUnavailable));
    const status: RolloutStatus = {
      id: randomUUID(),
      role: req.role,
      state: 'running',
      batches,
      batch: 0,
      done: [],
      failedHost: null,
      reason: null,
      step: 0,
      startedAt: new Date().toISOString(),
      finishedAt: null,
    };
    this.all.set(status.id, status);
    void this.run(status, req);
    return status;
  }

  private async run(s: RolloutStatus, req: RolloutRequest): Promise<void> {
    await this.event(
      s,
      'rollout.started',
      `rolling rebuild of role ${s.role}: ${s.batches.length} batch(es) of at most ${req.maxUnavailable}`,
    );
    try {
      for (; s.batch < s.batches.length; s.batch++) {
        const batch = s.batches[s.batch]!;
        await this.event(s, 'rollout.batch', `batch ${s.batch + 1}/${s.batches.length}: ${batch.join(', ')}`);
        for (const name of batch)
          await this.deps.reimage(name, { powerCycle: req.powerCycle, cause: `rolling rebuild ${s.id.slice(0, 8)}` });
        const failed = await this.waitReady(batch, req.timeoutMs);
        if (failed) {
          s.failedHost = failed.host;
          throw new Error(failed.reason);
        }
        s.done.push(...batch);
      }
      s.batch = Math.max(0, s.batches.length - 1); // the last one, not one past it
      s.state = 'done';
      s.finishedAt = new Date().toISOString();
      await this.event(s, 'rollout.done', `rolling rebuild of role ${s.role} finished: ${s.done.length} host(s) ready`);
    } catch (err) {
      s.state = 'failed';
      s.reason = (err as Error).message;
      s.finishedAt = new Date().toISOString();
      await this.event(s, 'rollout.failed', `rolling rebuild of role ${s.role} stopped: ${s.reason}`, 'error');
    }
  }

  /** Resolves undefined when every host is ready, or the first failure. */
  private waitReady(batch: string[], timeoutMs: number): Promise<{ host: string | null; reason: string } | undefined> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (v: { host: string | null; reason: string } | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        unsubscribe();
        resolve(v);
      };
      const check = async (): Promise<void> => {
        const states = new Map<string, HostState | undefined>();
        const why = new Map<string, string | null>();
        for (const n of batch) {
          const h = await this.deps.store.hosts.get(n);
          states.set(n, h?.state);
          why.set(n, h?.stateReason ?? null);
        }
        for (const [n, st] of states) {
          if (st === undefined) return finish({ host: n, reason: `host ${n} was removed during the rollout` });
          if (st === 'failed') {
            const cause = why.get(n);
            return finish({ host: n, reason: `host ${n} failed${cause ? `: ${cause}` : ''}` });
          }
        }
        if ([...states.values()].every((st) => st === 'ready')) finish(undefined);
      };
      const unsubscribe = this.deps.timeline.subscribe((e) => {
        if (e.kind === 'host.state' && e.host !== null && batch.includes(e.host)) void check();
      });
      const poll = setInterval(() => void check(), this.deps.pollMs ?? 5000);
      const timer = setTimeout(
        () =>
          finish({ host: null, reason: `batch ${batch.join(', ')} not ready after ${Math.round(timeoutMs / 1000)} s` }),
        timeoutMs,
      );
      // A running rollout alone does not keep the process up (the listeners do).
      poll.unref();
      timer.unref();
      void check();
    });
  }

  private async event(
    s: RolloutStatus,
    kind: string,
    message: string,
    level: 'info' | 'error' = 'info',
  ): Promise<void> {
    s.step++; // before the await: a snapshot read meanwhile already counts this event
    this.deps.log.info({ rollout: s.id, kind }, message);
    const data: Record<string, unknown> = { ...rolloutSummary(s) };
    await this.deps.store.events.append({ host: null, kind, level, message, data });
  }
}
