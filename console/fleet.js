// The fleet as the console knows it: every host with its current boot stage, kept up to date
// from the one live feed. Changes are batched: the views redraw only the hosts that changed,
// at most once per animation frame (so 1,000 booting hosts are no redraw storm).
import { api, enc } from './api.js';
import { onProgress, onTimeline } from './feed.js';
import { stageOfEvent, stageOfPath, stageOfState } from './stages.js';

/** name → {host, stage, bytes, total, reason} */
export const fleet = new Map();
const dirty = new Set();
let listener = null;
let scheduled = false;
let loaded = false;

const entry = (host) => ({
  host,
  stage: host.state === 'armed' ? 'armed' : stageOfState(host.state),
  bytes: null,
  total: null,
  reason: host.state === 'failed' ? host.stateReason : null,
});

function mark(name) {
  dirty.add(name);
  if (scheduled || listener === null) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    const names = [...dirty];
    dirty.clear();
    if (listener !== null) listener(names);
  });
}

/** The view to tell about changed hosts (null: none). */
export function setFleetListener(fn) {
  listener = fn;
  dirty.clear();
}

async function refreshHost(name) {
  try {
    const host = await api('GET', `/hosts/${enc(name)}`);
    const cur = fleet.get(name);
    if (cur) cur.host = host;
    else fleet.set(name, entry(host));
  } catch {
    fleet.delete(name);
  }
  mark(name);
}

function applyEvent(e) {
  if (e.host === null || e.host === undefined) return;
  if (e.kind === 'host.deleted') {
    fleet.delete(e.host);
    return mark(e.host);
  }
  const t = fleet.get(e.host);
  if (e.kind === 'host.created' || e.kind === 'host.updated' || t === undefined) {
    if (e.kind !== 'api.write') void refreshHost(e.host);
    if (t === undefined) return;
  }
  const d = e.data || {};
  if (e.kind === 'host.state' && typeof d.to === 'string') {
    t.host = { ...t.host, state: d.to, stateReason: d.cause ?? null };
    t.reason = d.to === 'failed' ? String(d.cause ?? e.message) : null;
  }
  const stage = stageOfEvent(e);
  if (stage !== null) {
    t.stage = stage;
    if (stage !== 'initrd' && stage !== 'kernel') t.bytes = t.total = null;
  }
  mark(e.host);
}

function applyProgress(p) {
  const t = fleet.get(p.host);
  const stage = stageOfPath(p.path);
  if (!t || stage === null) return;
  t.stage = stage;
  t.bytes = p.bytes;
  t.total = p.total;
  mark(p.host);
}

/** Loads the hosts once and follows the feed from then on. */
export async function loadFleet() {
  if (loaded) return;
  loaded = true;
  const { hosts } = await api('GET', '/hosts');
  for (const h of hosts) fleet.set(h.name, entry(h));
  onTimeline(applyEvent);
  onProgress(applyProgress);
}
