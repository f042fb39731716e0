// Rolling rebuilds as the console knows them: one GET /api/v1/rollouts at login, then the
// `rollout.*` events of the one live feed (their data is a self-contained summary, see
// src/hosts/rollout.ts). `step` orders a snapshot against events: the larger one wins.
import { api } from './api.js';
import { onTimeline } from './feed.js';

/** id → {id, role, state, batch, batches, hosts, done, total, failedHost, reason, step, startedAt, finishedAt} */
export const rollouts = new Map();
let listener = null;
let loaded = false;

export function put(r) {
  const cur = rollouts.get(r.id);
  if (cur && cur.step >= r.step) return;
  rollouts.set(r.id, r);
  if (listener !== null) listener();
}

export const fromStatus = (s) => ({
  id: s.id,
  role: s.role,
  state: s.state,
  batch: s.batch,
  batches: s.batches.length,
  hosts: s.batches[s.batch] ?? [],
  done: s.done.length,
  total: s.batches.reduce((n, b) => n + b.length, 0),
  failedHost: s.failedHost,
  reason: s.reason,
  step: s.step,
  startedAt: s.startedAt,
  finishedAt: s.finishedAt,
});

function applyEvent(e) {
  if (typeof e.kind !== 'string' || !e.kind.startsWith('rollout.')) return;
  const d = e.data || {};
  if (typeof d.rollout !== 'string' || typeof d.step !== 'number') return;
  put({
    id: d.rollout,
    role: String(d.role ?? ''),
    state: d.state === 'done' || d.state === 'failed' ? d.state : 'running',
    batch: Number(d.batch ?? 0),
    batches: Number(d.batches ?? 0),
    hosts: Array.isArray(d.hosts) ? d.hosts.map(String) : [],
    done: Number(d.done ?? 0),
    total: Number(d.total ?? 0),
    failedHost: d.failedHost ?? null,
    reason: d.reason ?? null,
    step: d.step,
    startedAt: String(d.startedAt ?? e.ts ?? ''),
    finishedAt: d.finishedAt ?? null,
  });
}

/** The view to tell about any change (null: none). */
export function setRolloutListener(fn) {
  listener = fn;
}

/** The rollouts worth showing: every running one, then the last one that finished. */
export function shownRollouts() {
  const all = [...rollouts.values()];
  const newest = (key) => (a, b) => (a[key] < b[key] ? 1 : a[key] > b[key] ? -1 : 0);
  const running = all.filter((r) => r.state === 'running').sort(newest('startedAt'));
  const finished = all.filter((r) => r.state !== 'running').sort(newest('finishedAt'))[0];
  return finished ? [...running, finished] : running;
}

/** Loads the rollouts once and follows the feed from then on. */
export async function loadRollouts() {
  if (loaded) return;
  loaded = true;
  onTimeline(applyEvent);
  const { rollouts: list } = await api('GET', '/rollouts');
  for (const s of list) put(fromStatus(s));
}
