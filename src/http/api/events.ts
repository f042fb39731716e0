/**
 * @module http/api/events
 * /api/v1/events — the whole timeline, paged with `after`/`limit`, and /api/v1/watch, the live
 * feed as server-sent events (HTML Living Standard §9.2): a backlog, then each event as it is
 * committed (`event: timeline`), plus `event: progress` about once a second while a large
 * asset downloads (not stored). `?host=NAME` narrows both.
 */
import { Router, type Request } from 'express';
import { ErrorCode, invalid } from '../../errors';
import type { HostEvent } from '../../model/event';
import type { Store, EventQuery } from '../../store/store';
import type { Timeline } from '../../timeline';

export function eventQuery(q: Request['query']): EventQuery {
  const out: EventQuery = {};
  for (const k of ['after', 'limit'] as const) {
    const v = q[k];
    if (v === undefined) continue;
    const n = Number(v);
    if (typeof v !== 'string' || !Number.isInteger(n) || n < 0) {
      throw invalid(ErrorCode.INVALID_INPUT, k, `${k} must be a non-negative integer`, `e.g. ?${k}=100`);
    }
    out[k] = n;
  }
  if (typeof q.host === 'string' && q.host !== '') out.host = q.host;
  return out;
}

export function eventsRouter(deps: { store: Store; timeline: Timeline }): Router {
  const r = Router();

  r.get('/events', async (req, res) => {
    res.json({ events: await deps.store.events.list(eventQuery(req.query)) });
  });

  r.get('/watch', async (req, res) => {
    const q = eventQuery(req.query);
    res.status(200).set({
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    const send = (e: HostEvent): void => {
      if (q.host !== undefined && e.host !== q.host) return;
      res.write(`id: ${e.id}\nevent: timeline\ndata: ${JSON.stringify(e)}\n\n`);
    };
    // Subscribe before reading the backlog so nothing falls between the two; drop repeats by id.
    let last = q.after ?? 0;
    const queued: HostEvent[] = [];
    let live = false;
    const unsubscribe = deps.timeline.subscribe((e) => {
      if (!live) queued.push(e);
      else if (e.id > last) {
        last = e.id;
        send(e);
      }
    });
    // Progress of long downloads: live only (`event: progress`), never in the backlog.
    const unsubscribeProgress = deps.timeline.subscribeProgress((p) => {
      if (!live || (q.host !== undefined && p.host !== q.host)) return;
      res.write(`event: progress\ndata: ${JSON.stringify(p)}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      unsubscribeProgress();
    });
    const backlog = q.limit === 0 ? [] : await deps.store.events.list({ ...q, limit: q.limit ?? 200 });
    for (const e of [...backlog, ...queued]) {
      if (e.id > last) {
        last = e.id;
        send(e);
      }
    }
    live = true;
  });

  return r;
}
