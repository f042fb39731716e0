/**
 * Bulk import through the registry (hosts/import.ts): validate every row first (all errors at
 * once, with lines), then apply all or nothing; importing the same rows again changes nothing.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Config } from '../../src/config/schema';
import { KickstandError } from '../../src/errors';
import { importHosts, MAX_IMPORT_ROWS, type ImportRow } from '../../src/hosts/import';
import { HostRegistry } from '../../src/hosts/registry';
import { openSqliteStore } from '../../src/store/sqlite';
import type { Store } from '../../src/store/store';

const config = {
  profiles: { rocky9: {}, alma9: {} },
  network: { subnet: '198.18.0.0/24', address: '198.18.0.1' },
} as unknown as Pick<Config, 'profiles' | 'network'>;

const mac = (i: number) => `52:54:00:00:01:${i.toString(16).padStart(2, '0')}`;
/** The KS_IMPORT_INVALID `p` is refused with. */
async function refusal(p: Promise<unknown>): Promise<KickstandError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof KickstandError, String(e));
    assert.equal(e.code, 'KS_IMPORT_INVALID');
    return e;
  }
  return assert.fail('expected KS_IMPORT_INVALID');
}

const row = (i: number, extra: Partial<ImportRow> = {}): ImportRow => ({
  line: i + 1,
  name: `n${i}`,
  macs: [mac(i)],
  profile: 'rocky9',
  ...extra,
});

describe('host import', () => {
  let store: Store;
  let reg: HostRegistry;
  let armed: string[];
  beforeEach(() => {
    store = openSqliteStore(':memory:');
    reg = new HostRegistry(store, config);
    armed = [];
    reg.onArm(async (h) => void armed.push(h.name));
  });
  afterEach(() => store.close());

  it('creates every host in one go, with host.created and the arm hook for each armed one', async () => {
    const r = await importHosts(
      reg,
      [row(1), row(2, { netboot: false, role: 'server', ipv4: '198.18.0.12', vars: { tz: 'UTC' } })],
      { dryRun: false },
    );
    assert.deepEqual([r.created, r.updated, r.unchanged], [2, 0, 0]);
    assert.deepEqual(r.changes, [
      { row: 0, line: 2, name: 'n1', action: 'create' },
      { row: 1, line: 3, name: 'n2', action: 'create' },
    ]);
    const n2 = await reg.require('n2');
    assert.deepEqual(
      [n2.state, n2.netboot, n2.role, n2.ipv4, n2.vars],
      ['registered', false, 'server', '198.18.0.12', { tz: 'UTC' }],
    );
    assert.equal((await reg.require('n1')).state, 'armed');
    assert.deepEqual(armed, ['n1'], 'the arm hook (install token) runs for armed hosts only');
    assert.deepEqual((await store.events.list()).map((e) => `${e.host} ${e.kind}`).sort(), [
      'n1 host.created',
      'n2 host.created',
    ]);
    assert.equal(store.hostLookup.byMac(mac(2))?.name, 'n2', 'the DHCP lookup knows the new hosts');
  });

  it('is idempotent: the same rows again are all unchanged and write nothing', async () => {
    const rows = [row(1, { vars: { a: '1' } }), row(2, { ipv4: '198.18.0.12', role: 'server' })];
    await importHosts(reg, rows, { dryRun: false });
    const before = await reg.list();
    const events = (await store.events.list()).length;
    const r = await importHosts(reg, rows, { dryRun: false });
    assert.deepEqual([r.created, r.updated, r.unchanged], [0, 0, 2]);
    assert.deepEqual(await reg.list(), before, 'no version bumped');
    assert.equal((await store.events.list()).length, events);
  });

  it('updates through the registry (fields, arm, disarm) and leaves hosts not in the rows alone', async () => {
    await importHosts(reg, [row(1), row(2, { netboot: false }), row(3)], { dryRun: false });
    armed = [];
    const rows = [
      row(1, { role: 'server', macs: [mac(1), mac(11)], vars: { tz: 'UTC' }, netboot: false }),
      row(2, { netboot: true }),
      row(4),
    ];
    const dry = await importHosts(reg, rows, { dryRun: true });
    assert.deepEqual(
      dry.changes.map((c) => [c.name, c.action, c.fields?.map((f) => f.field)]),
      [
        ['n1', 'update', ['macs', 'role', 'vars', 'netboot']],
        ['n2', 'update', ['netboot']],
        ['n4', 'create', undefined],
      ],
    );
    assert.deepEqual(dry.changes[0]?.fields?.[1], { field: 'role', from: 'agent', to: 'server' });
    assert.equal(await reg.get('n4'), undefined, 'a dry run writes nothing');
    assert.equal((await reg.require('n1')).role, 'agent');

    const r = await importHosts(reg, rows, { dryRun: false });
    assert.deepEqual([r.created, r.updated, r.unchanged], [1, 2, 0]);
    const n1 = await reg.require('n1');
    assert.deepEqual(
      [n1.state, n1.netboot, n1.role, n1.macs, n1.vars],
      ['registered', false, 'server', [mac(1), mac(11)], { tz: 'UTC' }],
    );
    assert.equal((await reg.require('n2')).state, 'armed', 'netboot true arms through update');
    assert.deepEqual(armed.sort(), ['n2', 'n4']);
    assert.ok(await reg.get('n3'), 'a host not in the rows is kept');
    assert.deepEqual(
      (await store.events.list({ host: 'n1' })).map((e) => e.kind),
      ['host.created', 'host.updated', 'host.state'],
    );
    // Absent fields keep their stored values.
    assert.equal((await importHosts(reg, [{ name: 'n1', line: 2 }], { dryRun: false })).unchanged, 1);
  });

  it('never re-arms a host that has started installing (netboot from the file is ignored there)', async () => {
    await importHosts(reg, [row(1)], { dryRun: false });
    await reg.transition('n1', 'installed', 'callback', { netboot: false });
    const r = await importHosts(reg, [row(1, { netboot: true })], { dryRun: false });
    assert.equal(r.unchanged, 1);
    assert.equal((await reg.require('n1')).state, 'installed');
  });

  it('is all or nothing: every bad row is named with its line, field and fix, and nothing is written', async () => {
    await reg.add({ name: 'old', macs: ['52:54:00:00:02:00'], profile: 'rocky9', ipv4: '198.18.0.50' });
    const rows: unknown[] = [
      row(1), // fine, but must not be written
      row(2, { macs: ['zz'] }),
      row(3, { profile: 'centos', ipv4: '198.19.0.1' }),
      row(4, { macs: ['52:54:00:00:02:00'] }),
      row(5, { ipv4: '198.18.0.50' }),
      row(6, { macs: [mac(1)] }),
      { line: 8, name: 'N_7', macs: [mac(7)], profile: 'rocky9' },
      { line: 9, name: 'n1', macs: [mac(9)], profile: 'rocky9' },
      { line: 10, name: 'n10', profile: 'rocky9' },
      { line: 11, name: 'n11', macs: [mac(11)], profile: 'rocky9', colour: 'red' },
      'not an object',
      row(2, { name: 'old', netboot: 'maybe' }),
    ];
    const e = await refusal(importHosts(reg, rows, { dryRun: false }));
    assert.equal(e.status, 400);
    assert.match(e.message, /^11 of 12 rows are invalid; nothing was imported$/);
    const details = e.details ?? [];
    assert.deepEqual(
      details.map((d) => `${d.line ?? `row${d.row}`} ${d.name ?? '-'} ${d.field ?? '-'} ${d.code}`),
      [
        '3 n2 macs[0] KS_INVALID_MAC',
        '4 n3 profile KS_UNKNOWN_PROFILE',
        '4 n3 ipv4 KS_IP_OUTSIDE_SUBNET',
        '5 n4 macs[0] KS_MAC_IN_USE',
        '6 n5 ipv4 KS_IP_IN_USE',
        '7 n6 macs[0] KS_MAC_IN_USE',
        '8 - name KS_INVALID_HOSTNAME',
        '9 n1 name KS_HOST_EXISTS',
        '10 n10 macs KS_INVALID_MAC',
        '11 - colour KS_INVALID_INPUT',
        'row10 - - KS_INVALID_INPUT',
        '3 old netboot KS_INVALID_INPUT',
      ],
    );
    assert.match(
      details.find((d) => d.line === 7)?.message ?? '',
      /MAC 52:54:00:00:01:01 is also on line 2 \(host n1\)/,
    );
    assert.ok(
      details.every((d) => d.fix),
      'every row error says how to fix it',
    );
    assert.deepEqual(
      (await reg.list()).map((h) => h.name),
      ['old'],
    );
    assert.deepEqual(armed, ['old']);
  });

  it('refuses to move a MAC or an address between hosts in one import', async () => {
    await importHosts(reg, [row(1), row(2, { ipv4: '198.18.0.12' })], { dryRun: false });
    const e = await refusal(
      importHosts(reg, [row(1, { macs: [mac(9)] }), row(3, { macs: [mac(1)] })], { dryRun: false }),
    );
    assert.deepEqual(
      e.details?.map((d) => [d.name, d.field, d.message]),
      [['n3', 'macs[0]', `MAC ${mac(1)} already belongs to host n1`]],
    );
    await assert.rejects(
      importHosts(reg, [row(2, { ipv4: null }), row(1, { ipv4: '198.18.0.12' })], { dryRun: false }),
      { code: 'KS_IMPORT_INVALID' },
    );
    assert.deepEqual((await reg.require('n1')).macs, [mac(1)]);
  });

  it('bounds the batch and the request shape', async () => {
    await assert.rejects(importHosts(reg, { name: 'n1' }, { dryRun: false }), {
      code: 'KS_INVALID_INPUT',
      field: 'hosts',
    });
    await assert.rejects(
      importHosts(
        reg,
        Array.from({ length: MAX_IMPORT_ROWS + 1 }, () => ({})),
        { dryRun: false },
      ),
      { code: 'KS_INVALID_INPUT', field: 'hosts' },
    );
    assert.deepEqual(await importHosts(reg, [], { dryRun: false }), {
      dryRun: false,
      created: 0,
      updated: 0,
      unchanged: 0,
      changes: [],
    });
  });
});
