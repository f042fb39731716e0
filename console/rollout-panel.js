// The board's rollout panel: every running rolling rebuild and the last finished one — role,
// batch i of n, hosts done of total, the hosts of the current batch with their live state, and
// the state (a failed one with its host and reason). For admins, a form that starts one behind
// a confirmation (POST /api/v1/rollouts, with the CSRF token like every write).
import { api, isAdmin } from './api.js';
import { h, clear, confirmDialog } from './dom.js';
import { fleet } from './fleet.js';
import { put, fromStatus, setRolloutListener, shownRollouts } from './rollouts.js';

function card(r) {
  const batchHosts = r.hosts.map((name) => {
    const t = fleet.get(name);
    return h('li', null, h('a', { href: `#/host/${encodeURIComponent(name)}` }, name), ` ${t ? t.host.state : '?'}`);
  });
  return h(
    'article',
    { class: `rollout r-${r.state}`, 'data-rollout': r.id },
    h('h3', null, 'Role ', h('span', { class: 'r-role' }, r.role)),
    h(
      'p',
      null,
      h('strong', { class: 'r-state' }, r.state),
      ' · ',
      h('span', { class: 'r-batch' }, `batch ${r.batch + 1} of ${r.batches}`),
      ' · ',
      h('span', { class: 'r-done' }, `${r.done} of ${r.total} hosts done`),
    ),
    h('progress', { max: Math.max(1, r.total), value: r.done, 'aria-label': `${r.done} of ${r.total} hosts done` }),
    r.state === 'failed'
      ? h(
          'p',
          { class: 'r-failed' },
          'Stopped',
          r.failedHost ? [' at ', h('span', { class: 'r-failed-host' }, r.failedHost)] : null,
          ': ',
          h('span', { class: 'r-reason' }, r.reason ?? 'failed'),
        )
      : null,
    r.state === 'running' ? h('ul', { class: 'r-hosts', 'aria-label': 'Hosts of this batch' }, batchHosts) : null,
  );
}

function startForm(status) {
  const roles = [...new Set([...fleet.values()].map((t) => t.host.role).filter(Boolean))].sort();
  const role = h('input', { id: 'rollout-role', name: 'role', required: true, list: 'rollout-roles', autocomplete: 'off' });
  const max = h('input', { id: 'rollout-max', name: 'maxUnavailable', type: 'number', min: 1, value: 1, required: true });
  const form = h(
    'form',
    { class: 'rollout-start', id: 'rollout-start', 'aria-label': 'Start a rolling rebuild' },
    h('datalist', { id: 'rollout-roles' }, roles.map((r) => h('option', { value: r }))),
    h('label', null, h('span', null, 'role'), role),
    h('label', null, h('span', null, 'at a time'), max),
    h('button', { type: 'submit', class: 'danger' }, 'Start rollout'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { role: role.value.trim(), maxUnavailable: Number(max.value) };
    const question = `Reimage every host with role ${body.role}, ${body.maxUnavailable} at a time?`;
    if (!(await confirmDialog(question, 'Start rollout'))) return;
    status.textContent = 'Starting…';
    try {
      put(fromStatus(await api('POST', '/rollouts', body)));
      status.textContent = `Rollout of role ${body.role} started.`;
    } catch (e) {
      status.textContent = `Could not start: ${e.message}`;
    }
  });
  return form;
}

/** The panel's element, plus hostsChanged(names) for the board and close(). */
export function rolloutPanel() {
  const list = h('div', { class: 'rollouts', id: 'rollout-list', 'aria-live': 'polite' });
  const status = h('p', { class: 'status', role: 'status', id: 'rollout-status' });
  const el = h(
    'section',
    { class: 'rollout-panel', id: 'rollouts', 'aria-labelledby': 'rollouts-h' },
    h('h2', { id: 'rollouts-h' }, 'Rolling rebuilds'),
    list,
    isAdmin() ? [startForm(status), status] : null,
  );
  let shownHosts = new Set();
  const render = () => {
    const shown = shownRollouts();
    clear(list);
    if (shown.length === 0) list.append(h('p', { class: 'note' }, 'None recorded.'));
    for (const r of shown) list.append(card(r));
    shownHosts = new Set(shown.filter((r) => r.state === 'running').flatMap((r) => r.hosts));
  };
  render();
  setRolloutListener(render);
  return {
    el,
    hostsChanged(names) {
      if (names.some((n) => shownHosts.has(n))) render();
    },
    close() {
      setRolloutListener(null);
    },
  };
}
