// The live feed: ONE EventSource on /api/v1/watch for the whole console (no polling). The
// board and the host page subscribe; the backlog (the newest events) replays first.
const timelineFns = new Set();
const progressFns = new Set();
let source = null;

export function startFeed(onStatus) {
  if (source !== null) return;
  source = new EventSource('/api/v1/watch?limit=1000');
  source.addEventListener('open', () => onStatus('live'));
  source.addEventListener('error', () => onStatus(source && source.readyState === 2 ? 'offline' : 'reconnecting'));
  source.addEventListener('timeline', (m) => {
    const e = JSON.parse(m.data);
    for (const fn of timelineFns) fn(e);
  });
  source.addEventListener('progress', (m) => {
    const p = JSON.parse(m.data);
    for (const fn of progressFns) fn(p);
  });
}

export function stopFeed() {
  if (source !== null) source.close();
  source = null;
}

/** Subscribes; returns the unsubscribe function. */
export function onTimeline(fn) {
  timelineFns.add(fn);
  return () => timelineFns.delete(fn);
}

export function onProgress(fn) {
  progressFns.add(fn);
  return () => progressFns.delete(fn);
}
