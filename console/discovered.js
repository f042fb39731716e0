// Machines seen on the network but not registered, each with a register form (name, profile,
// role; the MAC filled in) that creates the host through POST /api/v1/hosts.
import { api, isAdmin } from './api.js';
import { h, show } from './dom.js';
import { fleet } from './fleet.js';

function registerForm(m, profiles, status) {
  const id = m.mac.replace(/:/g, '');
  const field = (label, input) => h('label', null, h('span', null, label), input);
  const name = h('input', { name: 'name', id: `name-${id}`, required: true, pattern: '[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?', autocomplete: 'off' });
  const profile = h('input', { name: 'profile', id: `profile-${id}`, required: true, list: 'profiles', value: profiles[0] ?? '' });
  const role = h('input', { name: 'role', id: `role-${id}`, autocomplete: 'off' });
  const mac = h('input', { name: 'mac', id: `mac-${id}`, value: m.mac, readonly: true });
  const form = h(
    'form',
    { class: 'register', 'data-mac': m.mac, 'aria-label': `Register ${m.mac}` },
    field('MAC', mac),
    field('name', name),
    field('profile', profile),
    field('role', role),
    h('button', { type: 'submit' }, 'Register'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    status.textContent = `Registering ${name.value}…`;
    try {
      const body = { name: name.value.trim(), macs: [m.mac], profile: profile.value.trim() };
      if (role.value.trim() !== '') body.role = role.value.trim();
      const host = await api('POST', '/hosts', body);
      status.textContent = `Registered ${host.name}.`;
      form.closest('tr')?.remove();
    } catch (e) {
      status.textContent = `Could not register: ${e.message}`;
    }
  });
  return form;
}

export async function discoveredView() {
  show(h('p', null, 'Loading…'));
  const { machines } = await api('GET', '/discovered');
  const profiles = [...new Set([...fleet.values()].map((t) => t.host.profile))].sort();
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', id: 'register-status' });
  show(
    h('h1', null, 'Discovered machines'),
    h('p', { class: 'note' }, 'Machines that asked for an address or a boot script but are not registered.'),
    h('datalist', { id: 'profiles' }, profiles.map((p) => h('option', { value: p }))),
    status,
    machines.length === 0
      ? h('p', null, 'None seen.')
      : h(
          'table',
          { class: 'discovered' },
          h('thead', null, h('tr', null, ['MAC', 'seen', 'address', 'firmware', isAdmin() ? 'register' : ''].map((c) => h('th', { scope: 'col' }, c)))),
          h(
            'tbody',
            null,
            machines.map((m) =>
              h(
                'tr',
                null,
                h('td', null, h('code', null, m.mac)),
                h('td', null, m.seenAt),
                h('td', null, m.ip ?? '—'),
                h('td', null, [m.firmware, m.arch].filter(Boolean).join(' ') || '—'),
                h('td', null, isAdmin() ? registerForm(m, profiles, status) : ''),
              ),
            ),
          ),
        ),
  );
  return () => undefined;
}
