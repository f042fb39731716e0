// The fleet board: counts by state, the rolling rebuilds, and one tile per host with its boot
// stage; failed hosts first, in red, with their reason. Tiles are built once and then patched
// in place.
import { h, show, clear } from './dom.js';
import { fleet, setFleetListener } from './fleet.js';
import { STAGES, STATES, stageIndex } from './stages.js';
import { rolloutPanel } from './rollout-panel.js';

const tiles = new Map();
let countEls = new Map();
let grid = null;
let panel = null;

export function formatBytes(n) {
  if (typeof n !== 'number') return '';
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

function stageText(t) {
  if (t.stage === null || t.stage === undefined || t.stage === 'armed')
    return t.host.state === 'armed' ? 'waiting for network boot' : t.host.state === 'failed' ? '' : 'not booting';
  if (t.host.state === 'failed') return `stopped at ${t.stage}`;
  if ((t.stage === 'initrd' || t.stage === 'kernel') && typeof t.total === 'number' && t.total > 0) {
    const pct = Math.min(100, Math.floor((t.bytes / t.total) * 100));
    return `${t.stage} ${formatBytes(t.bytes)} of ${formatBytes(t.total)} (${pct}%)`;
  }
  return t.stage;
}

function fillTile(el, t) {
  const failed = t.host.state === 'failed';
  el.className = `tile st-${t.host.state}${failed ? ' failed' : ''}`;
  el.querySelector('.state').textContent = t.host.state;
  el.querySelector('.stage').textContent = stageText(t);
  const bar = el.querySelector('progress');
  const i = stageIndex(t.stage);
  bar.value = i;
  bar.setAttribute('aria-label', `stage ${i} of ${STAGES.length}`);
  const reason = el.querySelector('.reason');
  reason.textContent = failed ? (t.reason ?? 'failed') : '';
  reason.hidden = !failed;
}

function makeTile(name, t) {
  const el = h(
    'a',
    { href: `#/host/${encodeURIComponent(name)}`, 'data-host': name },
    h('span', { class: 'name' }, name),
    h('span', { class: 'state' }),
    h('span', { class: 'stage' }),
    h('progress', { max: STAGES.length, value: 0 }),
    h('span', { class: 'reason', hidden: true }),
  );
  fillTile(el, t);
  tiles.set(name, el);
  return el;
}

function renderCounts() {
  const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
  for (const t of fleet.values()) counts[t.host.state] = (counts[t.host.state] ?? 0) + 1;
  for (const [s, el] of countEls) el.textContent = String(counts[s] ?? 0);
  const total = countEls.get('total');
  if (total) total.textContent = String(fleet.size);
}

function update(names) {
  const t0 = performance.now();
  for (const name of names) {
    const t = fleet.get(name);
    const el = tiles.get(name);
    if (t && el) fillTile(el, t);
    else if (t && grid) grid.append(makeTile(name, t));
    else if (el) {
      el.remove();
      tiles.delete(name);
    }
  }
  renderCounts();
  panel?.hostsChanged(names);
  performance.measure('ks-board-update', { start: t0, end: performance.now(), detail: names.length });
}

export function boardView() {
  const t0 = performance.now();
  tiles.clear();
  countEls = new Map();
  const counts = h(
    'ul',
    { class: 'counts', 'aria-label': 'Hosts by state' },
    ['total', ...STATES].map((s) => {
      const n = h('strong', null, '0');
      countEls.set(s, n);
      return h('li', { class: `st-${s}` }, n, ` ${s}`);
    }),
  );
  grid = h('div', { class: 'grid', id: 'tiles' });
  panel = rolloutPanel();
  const frag = document.createDocumentFragment();
  for (const name of [...fleet.keys()].sort()) frag.append(makeTile(name, fleet.get(name)));
  grid.append(frag);
  show(
    h('h1', null, 'Fleet'),
    counts,
    panel.el,
    h('ol', { class: 'stages', 'aria-label': 'Boot stages' }, STAGES.map((s) => h('li', null, s))),
    fleet.size === 0 ? h('p', null, 'No hosts yet. Register one from ', h('a', { href: '#/discovered' }, 'Discovered'), '.') : null,
    grid,
  );
  renderCounts();
  setFleetListener(update);
  performance.measure('ks-board-render', { start: t0, end: performance.now(), detail: fleet.size });
  return () => {
    setFleetListener(null);
    panel?.close();
    panel = null;
    clear(grid);
    grid = null;
    tiles.clear();
  };
}
