/**
 * @module timeline
 * Live view of the per-host timeline: wraps a Store so that every committed event is also
 * published in-process (API server-sent events, `kickstand watch`). Services keep calling
 * `store.events.append`; they need not know anyone is watching.
 */
import { EventEmitter } from 'node:events';
import type { HostEvent } from './model/event';
import type { Store } from './store/store';

/**
 * Live progress of a long transfer (an initrd, an install image). Published to watchers only,
 * never stored: the timeline keeps the finished fetch (`http.asset`).
 */
export interface LiveProgress {
  kind: 'http.progress';
  ts: string;
  host: string | null;
  mac: string | null;
  path: string;
  bytes: number;
  total: number;
}

export class Timeline {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  publish(e: HostEvent): void {
    this.emitter.emit('event', e);
  }

  publishProgress(p: LiveProgress): void {
    this.emitter.emit('progress', p);
  }

  subscribeProgress(fn: (p: LiveProgress) => void): () => void {
    this.emitter.on('progress', fn);
    return () => this.emitter.off('progress', fn);
  }

  /** Calls `fn` for every event committed from now on; returns the unsubscribe function. */
  subscribe(fn: (e: HostEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}

/**
 * A Store whose `events.append` (and `tokens.claimFetchWithEvent`, which appends one) also
 * publishes the event to `timeline` after the commit.
 */
export function withTimeline(store: Store, timeline: Timeline): Store {
  const events = store.events;
  const tokens = store.tokens;
  return Object.assign(Object.create(store) as Store, {
    events: {
      list: events.list.bind(events),
      append: async (e: Parameters<Store['events']['append']>[0]) => {
        const ev = await events.append(e);
        timeline.publish(ev);
        return ev;
      },
    },
    tokens: {
      issue: tokens.issue.bind(tokens),
      get: tokens.get.bind(tokens),
      liveFor: tokens.liveFor.bind(tokens),
      markFetched: tokens.markFetched.bind(tokens),
      claimFetch: tokens.claimFetch.bind(tokens),
      revokeFor: tokens.revokeFor.bind(tokens),
      claimFetchWithEvent: async (...args: Parameters<Store['tokens']['claimFetchWithEvent']>) => {
        const out = await tokens.claimFetchWithEvent(...args);
        timeline.publish(out.event);
        return out;
      },
    } satisfies Store['tokens'],
  });
}
