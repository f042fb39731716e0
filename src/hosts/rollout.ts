/**
 * @module hosts/rollout
 * Rolling rebuild: reimage the hosts of one role a batch at a time (at most `maxUnavailable`
 * at once), wait for every host of the batch to reach `ready`, then start the next batch.
 * The first host that fails (or a batch that outlives its timeout) stops the rollout; hosts
 * not yet started are left untouched. Progress is on the timeline (`rollout.*` events).
 *
 * Rollouts live in the store (`rollouts`, store.ts RolloutRepo), not in one daemon's memory:
 * every daemon on the store lists them, and a rollout outlives the daemon that drives it.
 * Exactly one daemon drives a running rollout: it holds the work claim `rollout:<id>`
 * (store.ts ClaimRepo, as a host's bootstrap does: docs/scale-out.md), renews it every third
 * of the claim's TTL and right before each reimage, and writes every progress change to the
 * store — fenced on its own name, so a daemon that lost the rollout stops at its next write —
 * before the `rollout.*` event that reports it. At start-up and every scan period a daemon takes the claim of each
 * running rollout nobody holds (its driver stopped, died, or was cut off from the database for
 * a whole TTL) and resumes it from the stored batch, SQLite's single daemon after its own
 * restart included. The resume rule for the hosts of the current batch (docs/api.md "Rolling
 * rebuilds"): a host whose reimage the rollout recorded, or that is on its way back to ready
 * (armed, installing, installed, bootstrapping), or whose timeline shows this rollout arming it
 * since the batch started, is waited on, never reimaged again; any other host of the batch is
 * reimaged. The batch's timeout counts from the batch's start, also across a resume (past it,
 * no host of the batch is reimaged any more). Of the finished rollouts the newest
 * {@link KEEP_FINISHED} are kept.
 *
 * Each `rollout.*` event's data is a self-contained summary (RolloutEventData) so a watcher (the
 * console's board, docs/console.md) can show the progress from the feed alone; `step` counts the
 * events so far, letting it tell a newer summary from an older snapshot.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, KickstandError } from '../errors';
import type { Service } from '../lifecycle';
import type { Logger } from '../log';
import type { Host, HostState } from '../model/host';
import type { Rollout, RolloutOptions } from '../model/rollout';
import type { Store } from '../store/store';
import type { Timeline } from '../timeline';
import type { HostRegistry } from './registry';

export type { Rollout } from '../model/rollout';

/** What the API returns for a rollout: the stored row (model/rollout.ts). */
export type RolloutStatus = Rollout;

export interface RolloutRequest extends RolloutOptions {
  role: string;
}

/** Default life of a driver's claim without renewal (store.rolloutClaimTtlMs). */
export const ROLLOUT_CLAIM_TTL_MS = 5 * 60_000;
/** Finished rollouts kept in the store, the newest by finishedAt (older ones are deleted). */
export const KEEP_FINISHED = 100;

/** The data of every `rollout.*` event. */
export interface RolloutEventData {
  rollout: string;
  role: string;
  state: Rollout['state'];
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
export function rolloutSummary(s: Rollout): RolloutEventData {
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
  /** This daemon's name in the work claims and on the rows it drives (store.daemonName; `local` on SQLite). */
  daemon: string;
  /** How long a driver's claim lasts without renewal, ms (default {@link ROLLOUT_CLAIM_TTL_MS}). */
  claimTtlMs?: number;
  /** How often to look for running rollouts nobody drives (default: half the claim TTL, at most 60 s). */
  scanMs?: number;
  /** How often to re-read host states besides listening to the timeline. */
  pollMs?: number;
  /** Finished rollouts kept (default {@link KEEP_FINISHED}). */
  keepFinished?: number;
}

/** On the way from a reimage back to `ready`: a resumed rollout waits on such a host. */
const REBUILDING: ReadonlySet<HostState> = new Set<HostState>(['armed', 'installing', 'installed', 'bootstrapping']);

/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The driver stops without finishing the rollout, which stays `running` in the store for the
 * next driver: the daemon stops, the claim or the fence was lost, or the store failed.
 */
class Interrupted extends Error {}

type BatchOutcome =
  { kind: 'ready' } | { kind: 'failed'; host: string | null; reason: string } | { kind: 'interrupted'; why: string };

interface Driver {
  abort: AbortController;
  done: Promise<void>;
}

const claimKey = (id: string): string => `rollout:${id}`;

const timedOut = (s: Rollout, batch: string[]): string =>
  `batch ${batch.join(', ')} not ready after ${Math.round(s.request.timeoutMs / 1000)} s`;

export class Rollouts {
  private readonly driving = new Map<string, Driver>();
  /** Ids being created here: not yet driven, but not for a scan to adopt. */
  private readonly creating = new Set<string>();
  private readonly ttl: number;
  private scanTimer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private stopped = false;

  /** Resumes what nobody drives at start, then every scan period; stops the drivers at stop. */
  readonly service: Service = {
    name: 'rollouts',
    start: () => this.startService(),
    stop: () => this.stopService(),
  };

  constructor(private readonly deps: RolloutDeps) {
    this.ttl = deps.claimTtlMs ?? ROLLOUT_CLAIM_TTL_MS;
  }

  get(id: string): Promise<Rollout | undefined> {
    return this.deps.store.rollouts.get(id);
  }

  /** Every rollout the store keeps (running ones and the newest finished), newest first. */
  list(): Promise<Rollout[]> {
    return this.deps.store.rollouts.list();
  }

  /** Plans the batches, records the rollout and drives it in the background; returns its status. */
  async start(req: RolloutRequest): Promise<Rollout> {
    const hosts = (await this.deps.registry.list()).filter((h) => h.role === req.role).map((h) => h.name);
    const batches: string[][] = [];
    for (let i = 0; i < hosts.length; i += req.maxUnavailable) batches.push(hosts.slice(i, i + req.maxUnavailable));
    const now = new Date().toISOString();
    const r: Rollout = {
      id: randomUUID(),
      role: req.role,
      request: { maxUnavailable: req.maxUnavailable, powerCycle: req.powerCycle, timeoutMs: req.timeoutMs },
      state: 'running',
      batches,
      batch: 0,
      done: [],
      reimaged: [],
      failedHost: null,
      reason: null,
      step: 0,
      startedAt: now,
      batchStartedAt: now,
      finishedAt: null,
      updatedAt: now,
      daemon: this.deps.daemon,
    };
    this.creating.add(r.id);
    try {
      // Claimed before the row exists: no daemon's scan can adopt it in between.
      await this.deps.store.claims.take(claimKey(r.id), this.deps.daemon, Date.now() + this.ttl);
      await this.deps.store.rollouts.create(r);
      const answer = structuredClone(r);
      this.drive(r, false);
      return answer;
    } finally {
      this.creating.delete(r.id);
    }
  }

  private async startService(): Promise<void> {
    this.stopped = false;
    await this.prune();
    await this.scan();
    this.scanTimer = setInterval(() => void this.scan(), this.deps.scanMs ?? Math.min(this.ttl / 2, 60_000));
    this.scanTimer.unref();
  }

  /** Stops looking and stops every driver at its next step; their claims are given up (another daemon may go on). */
  private async stopService(): Promise<void> {
    this.stopped = true;
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.scanTimer = null;
    await this.scanning;
    const drivers = [...this.driving.values()];
    for (const d of drivers) d.abort.abort('the daemon stops');
    await Promise.all(drivers.map((d) => d.done));
  }

  /** Takes over every running rollout whose claim nobody holds (or this daemon held before a restart). */
  private scan(): Promise<void> {
    this.scanning ??= (async () => {
      try {
        for (const r of await this.deps.store.rollouts.list({ running: true })) {
          if (this.stopped) return;
          if (this.driving.has(r.id) || this.creating.has(r.id)) continue;
          if (!(await this.deps.store.claims.take(claimKey(r.id), this.deps.daemon, Date.now() + this.ttl))) continue;
          const mine = this.stopped
            ? undefined
            : await this.deps.store.rollouts.adopt(r.id, this.deps.daemon, new Date().toISOString());
          if (!mine) {
            // Finished meanwhile, or this daemon stops: the claim goes back.
            await this.deps.store.claims.release(claimKey(r.id), this.deps.daemon);
            continue;
          }
          this.deps.log.info(
            { rollout: r.id, from: r.daemon, batch: r.batch },
            'resuming a rolling rebuild nobody drives',
          );
          this.drive(mine, true);
        }
      } catch (err) {
        this.deps.log.warn({ err }, 'could not look for rolling rebuilds to resume; trying again at the next scan');
      } finally {
        this.scanning = null;
      }
    })();
    return this.scanning;
  }

  /** Drives `r` in the background while holding its claim (renewed every third of the TTL). */
  private drive(r: Rollout, resumed: boolean): void {
    const abort = new AbortController();
    const key = claimKey(r.id);
    const renew = setInterval(
      () => {
        this.deps.store.claims.take(key, this.deps.daemon, Date.now() + this.ttl).then(
          (held) => {
            if (!held) abort.abort('another daemon took its claim');
          },
          // The store is unreachable: try again. After a whole TTL without renewal another daemon
          // may adopt the rollout; this driver's next write then fails its fence and it stops.
          () => undefined,
        );
      },
      Math.max(50, Math.floor(this.ttl / 3)),
    );
    renew.unref();
    const done = (async () => {
      try {
        await this.run(r, resumed, abort.signal);
      } catch (err) {
        if (err instanceof Interrupted)
          this.deps.log.warn(
            { rollout: r.id, why: err.message },
            'stopped driving a rolling rebuild; it stays running for the next driver',
          );
        else this.deps.log.error({ rollout: r.id, err }, 'rolling rebuild driver failed');
      } finally {
        clearInterval(renew);
        this.driving.delete(r.id);
        // Only deletes a claim that is still ours.
        await this.deps.store.claims.release(key, this.deps.daemon).catch(() => undefined);
      }
    })();
    this.driving.set(r.id, { abort, done });
  }

  private async run(s: Rollout, resumed: boolean, signal: AbortSignal): Promise<void> {
    const cause = `rolling rebuild ${s.id.slice(0, 8)}`;
    const of = `${s.batches.length} batch(es) of at most ${s.request.maxUnavailable}`;
    if (resumed)
      await this.event(
        s,
        'rollout.resumed',
        `rolling rebuild of role ${s.role} resumed by ${s.daemon} at batch ${s.batch + 1}/${s.batches.length}`,
      );
    else await this.event(s, 'rollout.started', `rolling rebuild of role ${s.role}: ${of}`);
    let resuming = resumed;
    try {
      for (; s.batch < s.batches.length; s.batch++) {
        const batch = s.batches[s.batch]!;
        if (!resuming) {
          s.reimaged = [];
          s.batchStartedAt = new Date().toISOString();
          await this.event(s, 'rollout.batch', `batch ${s.batch + 1}/${s.batches.length}: ${batch.join(', ')}`);
        }
        for (const name of batch) {
          if (s.reimaged.includes(name)) continue;
          if (signal.aborted) throw new Interrupted(String(signal.reason));
          if (!(resuming && (await this.underway(s, name, cause)))) {
            // A batch whose driver was gone past its timeout is not carried on.
            if (resuming && Date.now() >= Date.parse(s.batchStartedAt) + s.request.timeoutMs)
              throw new Error(timedOut(s, batch));
            await this.holdClaim(s);
            try {
              await this.deps.reimage(name, { powerCycle: s.request.powerCycle, cause });
            } catch (err) {
              s.failedHost = name;
              throw err;
            }
          }
          s.reimaged.push(name);
          await this.persist(s);
        }
        resuming = false;
        const outcome = await this.waitReady(s, batch, signal);
        if (outcome.kind === 'interrupted') throw new Interrupted(outcome.why);
        if (outcome.kind === 'failed') {
          s.failedHost = outcome.host;
          throw new Error(outcome.reason);
        }
        s.done.push(...batch);
      }
      s.batch = Math.max(0, s.batches.length - 1); // the last one, not one past it
      s.state = 'done';
      s.finishedAt = new Date().toISOString();
      await this.event(s, 'rollout.done', `rolling rebuild of role ${s.role} finished: ${s.done.length} host(s) ready`);
    } catch (err) {
      if (err instanceof Interrupted) throw err;
      // The store itself is unreachable (a reimage could not be written): not the rollout's failure.
      if (err instanceof KickstandError && err.code === ErrorCode.UNAVAILABLE) throw new Interrupted(err.message);
      s.state = 'failed';
      s.reason = (err as Error).message;
      s.finishedAt = new Date().toISOString();
      await this.event(s, 'rollout.failed', `rolling rebuild of role ${s.role} stopped: ${s.reason}`, 'error');
    }
    await this.prune();
  }

  /**
   * The resume rule for a host of the current batch whose reimage is not recorded: true (wait
   * on it) when it is on its way back to ready, or when its timeline shows this rollout arming
   * it since the batch started (the driver died between the reimage and its record of it).
   */
  private async underway(s: Rollout, name: string, cause: string): Promise<boolean> {
    const host = await this.deps.store.hosts.get(name);
    if (!host) return false; // the reimage says it is gone, and the rollout fails
    if (REBUILDING.has(host.state)) return true;
    const events = await this.deps.store.events.list({ host: name, limit: 1000 });
    return events.some(
      (e) => e.kind === 'host.state' && e.data.to === 'armed' && e.data.cause === cause && e.ts >= s.batchStartedAt,
    );
  }

  /** Waits until every host of the batch is ready, one fails, the batch's time is up, or the driver stops. */
  private waitReady(s: Rollout, batch: string[], signal: AbortSignal): Promise<BatchOutcome> {
    const deadline = Date.parse(s.batchStartedAt) + s.request.timeoutMs;
    return new Promise((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (v: BatchOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const check = async (final: boolean): Promise<void> => {
        const states = new Map<string, Host | undefined>();
        try {
          for (const n of batch) states.set(n, await this.deps.store.hosts.get(n));
        } catch (err) {
          // Polled again; at the deadline an unreachable store interrupts rather than fails.
          if (final) finish({ kind: 'interrupted', why: `the store failed: ${(err as Error).message}` });
          return;
        }
        for (const [n, h] of states) {
          if (h === undefined)
            return finish({ kind: 'failed', host: n, reason: `host ${n} was removed during the rollout` });
          if (h.state === 'failed') {
            const why = h.stateReason;
            return finish({ kind: 'failed', host: n, reason: `host ${n} failed${why ? `: ${why}` : ''}` });
          }
        }
        if ([...states.values()].every((h) => h?.state === 'ready')) return finish({ kind: 'ready' });
        if (final) finish({ kind: 'failed', host: null, reason: timedOut(s, batch) });
      };
      const onAbort = (): void => finish({ kind: 'interrupted', why: String(signal.reason) });
      const unsubscribe = this.deps.timeline.subscribe((e) => {
        if (e.kind === 'host.state' && e.host !== null && batch.includes(e.host)) void check(false);
      });
      const poll = setInterval(() => void check(false), this.deps.pollMs ?? 5000);
      // The timeout counts from the batch's start (also after a resume); a last look decides.
      const arm = (): void => {
        const left = deadline - Date.now();
        timer = setTimeout(
          () => (Date.now() < deadline ? arm() : void check(true)),
          Math.min(Math.max(0, left), MAX_TIMER_MS),
        );
        // A running rollout alone does not keep the process up (the listeners do).
        timer.unref();
      };
      poll.unref();
      signal.addEventListener('abort', onAbort);
      if (signal.aborted) return onAbort();
      void check(false).then(() => {
        if (!settled) arm();
      });
    });
  }

  /**
   * Renews the claim right before a reimage: taken, nobody else can take it for a whole TTL, so
   * a driver that lost the rollout never reimages another host.
   */
  private async holdClaim(s: Rollout): Promise<void> {
    let held: boolean;
    try {
      held = await this.deps.store.claims.take(claimKey(s.id), this.deps.daemon, Date.now() + this.ttl);
    } catch (err) {
      throw new Interrupted(`the store failed: ${(err as Error).message}`);
    }
    if (!held) throw new Interrupted('another daemon took its claim');
  }

  /** Writes the progress, fenced on this daemon being the driver. */
  private async persist(s: Rollout): Promise<void> {
    s.updatedAt = new Date().toISOString();
    let saved: boolean;
    try {
      saved = await this.deps.store.rollouts.save(s);
    } catch (err) {
      throw new Interrupted(`the store failed: ${(err as Error).message}`);
    }
    if (!saved) throw new Interrupted('another daemon drives it now');
  }

  /** Records a progress change: first in the store, then the `rollout.*` event that reports it. */
  private async event(s: Rollout, kind: string, message: string, level: 'info' | 'error' = 'info'): Promise<void> {
    s.step++;
    await this.persist(s);
    this.deps.log.info({ rollout: s.id, kind }, message);
    const data: Record<string, unknown> = { ...rolloutSummary(s) };
    try {
      await this.deps.store.events.append({ host: null, kind, level, message, data });
    } catch (err) {
      throw new Interrupted(`the store failed: ${(err as Error).message}`);
    }
  }

  private async prune(): Promise<void> {
    try {
      const n = await this.deps.store.rollouts.prune(this.deps.keepFinished ?? KEEP_FINISHED);
      if (n > 0) this.deps.log.info({ pruned: n }, 'deleted the oldest finished rolling rebuilds');
    } catch (err) {
      this.deps.log.warn({ err }, 'could not prune finished rolling rebuilds');
    }
  }
}
