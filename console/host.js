// One host: facts, actions (admin only, each confirmed), the live timeline, the iPXE/GRUB
// script and kickstart as they would be served now (secrets masked by the API's render, the
// same as `kickstand host render`), leases, pinned SSH host keys, mesh address, BMC.
import { api, enc, isAdmin, ApiError } from './api.js';
import { h, show, facts, confirmDialog, clear } from './dom.js';
import { onTimeline } from './feed.js';

const POWER = ['status', 'on', 'off', 'cycle', 'reset', 'soft'];

function eventRow(e) {
  return h(
    'li',
    { class: `ev lvl-${e.level}`, 'data-id': e.id },
    h('time', { datetime: e.ts }, e.ts.replace('T', ' ').replace(/\..*$/, '')),
    ' ',
    h('code', null, e.kind),
    ' ',
    e.message,
  );
}

const section = (title, ...body) => h('section', { 'aria-label': title }, h('h2', null, title), ...body);

async function optional(p) {
  try {
    return await p;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    return e;
  }
}

const failedText = (e) => (e instanceof Error ? `could not load: ${e.message}` : null);

function pre(reply, label) {
  if (reply instanceof Error) return h('p', { class: 'error' }, failedText(reply));
  return [
    reply.note ? h('p', { class: 'note' }, reply.note) : null,
    h('pre', { class: 'script', tabindex: 0, 'aria-label': label }, reply.text),
  ];
}

function actions(name, status) {
  if (!isAdmin())
    return h('p', { class: 'note', id: 'readonly-note' }, 'Read-only token: actions need a token of scope admin.');
  const run = async (question, label, fn) => {
    if (!(await confirmDialog(question, label))) return;
    status.textContent = `${label}…`;
    try {
      const r = await fn();
      status.textContent = `${label}: done${r && r.status ? ` (${JSON.stringify(r.status)})` : ''}`;
    } catch (e) {
      status.textContent = `${label} failed: ${e.message}`;
    }
  };
  const powerCycle = h('input', { type: 'checkbox', id: 'reimage-power' });
  const power = h('select', { id: 'power-action', 'aria-label': 'Power action' }, POWER.map((p) => h('option', { value: p }, p)));
  return h(
    'div',
    { class: 'actions' },
    h('button', {
      type: 'button',
      id: 'act-arm',
      onclick: () => run(`Arm ${name}? It installs at its next network boot.`, 'Arm', () => api('PATCH', `/hosts/${enc(name)}`, { netboot: true })),
    }, 'Arm'),
    h('span', { class: 'group' },
      h('button', {
        type: 'button',
        id: 'act-reimage',
        class: 'danger',
        onclick: () =>
          run(`Reimage ${name}? It leaves the mesh and is re-armed to reinstall${powerCycle.checked ? ', then power-cycled' : ''}.`, 'Reimage', () =>
            api('POST', `/hosts/${enc(name)}/reimage`, { powerCycle: powerCycle.checked }),
          ),
      }, 'Reimage'),
      h('label', { for: 'reimage-power' }, powerCycle, ' and power-cycle'),
    ),
    h('span', { class: 'group' },
      power,
      h('button', {
        type: 'button',
        id: 'act-power',
        onclick: () => run(`Power ${power.value} ${name} through its BMC?`, `Power ${power.value}`, () =>
          api('POST', `/hosts/${enc(name)}/power`, { action: power.value })),
      }, 'Power'),
    ),
    h('button', {
      type: 'button',
      id: 'act-bootstrap',
      onclick: () => run(`Run the bootstrap of ${name} again?`, 'Bootstrap again', () => api('POST', `/hosts/${enc(name)}/bootstrap`)),
    }, 'Bootstrap again'),
  );
}

export async function hostView(name) {
  show(h('p', null, `Loading ${name}…`));
  let host;
  try {
    host = await api('GET', `/hosts/${enc(name)}`);
  } catch (e) {
    show(h('h1', null, name), h('p', { class: 'error' }, e.message));
    return () => undefined;
  }
  const [events, ipxe, ks, leases, mesh, bmc] = await Promise.all([
    api('GET', `/hosts/${enc(name)}/events?limit=200`).catch((e) => e),
    api('GET', `/hosts/${enc(name)}/render?kind=ipxe`).catch((e) => e),
    api('GET', `/hosts/${enc(name)}/render?kind=kickstart`).catch((e) => e),
    api('GET', `/hosts/${enc(name)}/leases`).catch((e) => e),
    api('GET', '/mesh').catch((e) => e),
    optional(api('GET', `/hosts/${enc(name)}/bmc`)),
  ]);
  const stateEl = h('dd', { id: 'host-state' }, host.state);
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'action-status' });
  const timeline = h('ol', { class: 'timeline', id: 'timeline' });
  if (!(events instanceof Error)) for (const e of events.events) timeline.prepend(eventRow(e));
  const member = mesh instanceof Error ? null : mesh.members.find((m) => m.host === name);
  const vars = Object.entries(host.vars ?? {});
  show(
    h('p', null, h('a', { href: '#/' }, '← Fleet')),
    h('h1', null, host.name),
    h('dl', { class: 'facts' },
      h('dt', null, 'state'), stateEl,
      h('dt', null, 'reason'), h('dd', { id: 'host-reason' }, host.stateReason ?? '—'),
      h('dt', null, 'profile'), h('dd', null, host.profile),
      h('dt', null, 'role'), h('dd', null, host.role ?? '—'),
      h('dt', null, 'MACs'), h('dd', null, host.macs.join(', ')),
      h('dt', null, 'address'), h('dd', null, host.ipv4 ?? 'from the pool'),
      h('dt', null, 'netboot'), h('dd', null, host.netboot ? 'armed' : 'local disk'),
      h('dt', null, 'mesh address'), h('dd', { id: 'mesh-address' }, member ? member.address : '—'),
    ),
    section('Actions', actions(name, status), status),
    section('Timeline', h('p', { class: 'note' }, 'Newest first; live.'), timeline),
    section('Variables', vars.length === 0 ? h('p', null, 'none') : facts(vars.map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))),
    section('Boot script (as served now)', pre(ipxe, 'boot script')),
    section('Kickstart (as served now, secrets masked)', pre(ks, 'kickstart')),
    section('Leases', leases instanceof Error ? h('p', { class: 'error' }, failedText(leases)) : leases.leases.length === 0 ? h('p', null, 'none') :
      h('table', null,
        h('thead', null, h('tr', null, ['address', 'MAC', 'state', 'expires'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, leases.leases.map((l) => h('tr', null, h('td', null, l.ip), h('td', null, l.mac), h('td', null, l.state), h('td', null, new Date(l.expiresAt).toISOString())))),
      )),
    section('Pinned SSH host keys', host.sshHostKeys.length === 0 ? h('p', null, 'none yet (pinned at the install callback)') : h('ul', { class: 'keys' }, host.sshHostKeys.map((k) => h('li', null, h('code', null, k))))),
    section('Mesh', member ? facts([['address', member.address], ['public key', member.publicKey], ['endpoint', member.endpoint]]) : h('p', null, 'not a mesh member')),
    section('BMC', bmc === null ? h('p', null, 'none configured') : bmc instanceof Error ? h('p', { class: 'error' }, failedText(bmc)) :
      facts([['type', bmc.type], ['address', bmc.address], ['user', bmc.username], ['password', bmc.passwordSet ? 'set (never shown)' : 'not set']])),
  );
  const off = onTimeline((e) => {
    if (e.host !== name) return;
    if (!timeline.querySelector(`[data-id="${Number(e.id)}"]`)) timeline.prepend(eventRow(e));
    if (e.kind === 'host.state' && e.data && typeof e.data.to === 'string') {
      stateEl.textContent = e.data.to;
      clear(document.getElementById('host-reason')).textContent = e.data.cause ?? '—';
    }
  });
  return off;
}
