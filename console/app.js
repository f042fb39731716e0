// The console's entry: login, the one live feed, and the views by URL fragment
// (#/ board, #/host/NAME, #/discovered). docs/console.md.
import { loadSession, login, logout, session } from './api.js';
import { h, show } from './dom.js';
import { startFeed, stopFeed } from './feed.js';
import { loadFleet } from './fleet.js';
import { loadRollouts } from './rollouts.js';
import { boardView } from './board.js';
import { hostView } from './host.js';
import { discoveredView } from './discovered.js';

let leave = () => undefined;

function loginView(message) {
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('who').textContent = '';
  const token = h('input', { type: 'password', id: 'token', name: 'token', required: true, autocomplete: 'current-password' });
  const error = h('p', { class: 'error', role: 'alert', id: 'login-error' }, message ?? '');
  const form = h(
    'form',
    { class: 'login', id: 'login' },
    h('h1', null, 'Log in'),
    h('label', { for: 'token' }, 'API token'),
    token,
    h('p', { class: 'note' }, 'The first admin token is in <stateDir>/api-token; `kickstand token create --scope read` makes a read-only one.'),
    error,
    h('button', { type: 'submit' }, 'Log in'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await login(token.value);
      await enter();
    } catch (e) {
      error.textContent = e.message;
    }
  });
  show(form);
  token.focus();
}

async function route() {
  leave();
  leave = () => undefined;
  const hash = location.hash || '#/';
  const host = /^#\/host\/(.+)$/.exec(hash);
  try {
    if (host) leave = await hostView(decodeURIComponent(host[1]));
    else if (hash === '#/discovered') leave = await discoveredView();
    else leave = boardView();
  } catch (e) {
    if (e.status === 401) return loginView('Your session ended; log in again.');
    show(h('p', { class: 'error' }, e.message));
  }
}

async function enter() {
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  document.getElementById('who').textContent = `${session.name} (${session.scope})`;
  document.body.dataset.scope = session.scope;
  const live = document.getElementById('live');
  startFeed((s) => (live.textContent = s));
  await Promise.all([loadFleet(), loadRollouts()]);
  await route();
  performance.mark('ks-first-view');
}

document.addEventListener('DOMContentLoaded', async () => {
  document.getElementById('logout').addEventListener('click', async () => {
    try {
      await logout();
    } finally {
      stopFeed();
      location.hash = '#/';
      location.reload();
    }
  });
  window.addEventListener('hashchange', () => {
    if (session.csrf !== '') void route();
  });
  try {
    if (await loadSession()) await enter();
    else loginView();
  } catch (e) {
    show(h('p', { class: 'error' }, e.message));
  }
});
