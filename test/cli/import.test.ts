/**
 * `kickstand host import|export` end to end: the real CLI against a spawned daemon.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DaemonProcess } from '../helpers/daemon';

describe('kickstand host import / export against a running daemon', () => {
  const d = new DaemonProcess();
  before(() => d.start());
  after(() => d.cleanup());
  const file = (name: string, text: string): string => {
    const p = join(d.dir, name);
    writeFileSync(p, text);
    return p;
  };

  it('imports a CSV, prints the diff on a dry run, and changes nothing the second time', () => {
    const csv = file(
      'hosts.csv',
      [
        'name,macs,profile,role,ipv4,var.tz',
        'imp1,"52:54:00:00:03:01;52:54:00:00:03:02",rocky9,server,198.18.0.31,UTC',
        'imp2,52:54:00:00:03:03,rocky9,,,',
      ].join('\n') + '\n',
    );
    const first = d.cli(['host', 'import', csv]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(
      first.stdout,
      `created    imp1\ncreated    imp2\nimported ${csv}: 2 created, 0 updated, 0 unchanged\n`,
    );
    const again = d.cli(['host', 'import', csv]);
    assert.match(again.stdout, /: 0 created, 0 updated, 2 unchanged\n$/);
    const changed = file('changed.csv', 'name,role,netboot\nimp2,server,false\nimp3,,\n');
    const dry = d.cli(['host', 'import', changed, '--dry-run']);
    assert.equal(dry.code, 2, 'imp3 has no MAC');
    assert.match(
      dry.stderr,
      /error: 1 of 2 rows are invalid; nothing was imported \(KS_IMPORT_INVALID\)\n {2}.*changed\.csv:3 imp3 \[macs\]: at least one MAC address is required \(KS_INVALID_MAC\)\n {4}fix: /,
    );
    writeFileSync(changed, 'name,role,netboot\nimp2,server,false\n');
    const dry2 = d.cli(['host', 'import', changed, '--dry-run']);
    assert.equal(
      dry2.stdout,
      `would update  imp2  role: agent → server; netboot: true → false\ndry run of ${changed}: 0 would create, 1 would update, 0 unchanged; nothing was written\n`,
    );
    assert.equal(
      JSON.parse(d.cli(['host', 'show', 'imp2', '--json']).stdout).role,
      'agent',
      'the dry run wrote nothing',
    );
  });

  it('names every bad row with its line and exits 2, writing nothing', () => {
    const yaml = file(
      'bad.yaml',
      '- name: ok1\n  macs: [52:54:00:00:04:01]\n  profile: rocky9\n- name: bad2\n  macs: [zz]\n  profile: rocky9\n- name: bad3\n  macs: [52:54:00:00:04:03]\n  profile: centos\n',
    );
    const r = d.cli(['host', 'import', yaml]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.yaml:4 bad2 \[macs\[0\]\]: "zz" is not a MAC address/);
    assert.match(r.stderr, /bad\.yaml:7 bad3 \[profile\]: no profile named "centos"/);
    assert.equal(d.cli(['host', 'show', 'ok1']).code, 2, 'the good row was not written either');
    const broken = d.cli(['host', 'import', file('broken.csv', 'name,macs\n"x,52\n')]);
    assert.equal(broken.code, 2);
    assert.match(broken.stderr, /broken\.csv:2: a quoted field is not closed/);
  });

  it('export → import is unchanged, in CSV and YAML', () => {
    for (const format of ['csv', 'yaml']) {
      const out = join(d.dir, `export.${format}`);
      const ex = d.cli(['host', 'export', '--format', format, '-o', out]);
      assert.equal(ex.code, 0, ex.stderr);
      const back = d.cli(['host', 'import', out, '--json']);
      assert.equal(back.code, 0, back.stderr);
      const r = JSON.parse(back.stdout);
      assert.deepEqual([r.created, r.updated], [0, 0], format);
      assert.ok(r.unchanged >= 2, format);
    }
  });

  it('the API bounds the batch', async () => {
    const r = await d.api('POST', '/hosts/import', {
      hosts: Array.from({ length: 10_001 }, (_, i) => ({ name: `h${i}` })),
      dryRun: true,
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.field, 'hosts');
    assert.equal((await d.api('POST', '/hosts/import', { hosts: [], dryRun: 'yes' })).json.field, 'dryRun');
    // The import route takes bodies over the 1 MiB of the other routes.
    const pad = 'x'.repeat(2 << 20);
    assert.equal((await d.api('POST', '/hosts/import', { hosts: [], dryRun: true, pad })).status, 200);
    const big = await d.api('POST', '/hosts', { name: 'big', pad });
    assert.equal(big.status, 400);
    assert.match(big.json.fix, /send at most 1048576 bytes/);
  });
});
