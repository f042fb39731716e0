/** Ansible inventory writers: INI, static YAML and dynamic JSON from the same structure. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { buildInventory, fromJson, groupName, toIni, toJson, toYaml } from '../../src/inventory/build';
import type { Host } from '../../src/model/host';

const host = (name: string, role: string, profile: string): Host => ({
  name,
  macs: [],
  profile,
  role,
  ipv4: null,
  vars: {},
  netboot: false,
  state: 'ready',
  stateReason: null,
  sshHostKeys: [],
  createdAt: '',
  updatedAt: '',
  version: 1,
});

describe('inventory', () => {
  const inv = buildInventory(
    [host('b', 'agent', 'rocky9.4'), host('a', 'server', 'rocky9.4')],
    [
      {
        host: 'a',
        address: '198.19.0.1',
        publicKey: null,
        endpoint: null,
        listenPort: null,
        createdAt: '',
        updatedAt: '',
      },
    ],
    new Map([['a', '198.18.0.11']]),
    'root',
  );

  it('groups by role and profile with identifier-safe names; hostvars carry addresses', () => {
    assert.equal(groupName('profile', 'rocky9.4'), 'profile_rocky9_4');
    assert.deepEqual(inv.groups, {
      kickstand: ['a', 'b'],
      role_server: ['a'],
      profile_rocky9_4: ['a', 'b'],
      role_agent: ['b'],
    });
    assert.deepEqual(inv.hostvars.a, {
      ansible_host: '198.18.0.11',
      ansible_user: 'root',
      mesh_address: '198.19.0.1',
      kickstand_role: 'server',
      kickstand_profile: 'rocky9.4',
      kickstand_state: 'ready',
    });
    assert.equal(inv.hostvars.b!.ansible_host, undefined);
  });

  it('writes INI, YAML and JSON that describe the same inventory', () => {
    assert.match(
      toIni(inv),
      /^\[kickstand\]\na ansible_host=198\.18\.0\.11 ansible_user=root mesh_address=198\.19\.0\.1 /m,
    );
    assert.match(toIni(inv), /^\[role_agent\]\nb$/m);
    const y = parse(toYaml(inv)) as { all: { children: Record<string, { hosts: Record<string, unknown> }> } };
    assert.deepEqual(Object.keys(y.all.children.profile_rocky9_4!.hosts), ['a', 'b']);
    const j = JSON.parse(toJson(inv)) as Record<string, unknown>;
    assert.deepEqual((j._meta as { hostvars: unknown }).hostvars, inv.hostvars);
    assert.deepEqual(fromJson(j), inv);
  });
});
