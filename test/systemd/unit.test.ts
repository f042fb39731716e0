import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../helpers/daemon';
import { skipUnless } from '../helpers/env';

const unit = readFileSync(join(REPO, 'systemd/kickstand.service'), 'utf8');
const directives = (key: string): string[] =>
  unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));

describe('systemd/kickstand.service', () => {
  it('is hardened: one capability, no new privileges, read-only system, private state dir', () => {
    assert.deepEqual(directives('AmbientCapabilities'), ['CAP_NET_BIND_SERVICE']);
    assert.deepEqual(directives('CapabilityBoundingSet'), ['CAP_NET_BIND_SERVICE']);
    for (const [k, v] of [
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      ['ProtectHome', 'yes'],
      ['PrivateTmp', 'yes'],
      ['StateDirectory', 'kickstand'],
      ['StateDirectoryMode', '0700'],
      ['UMask', '0077'],
    ]) {
      assert.deepEqual(directives(k!), [v], k);
    }
    assert.match(
      directives('ExecStart')[0]!,
      /kickstand serve --config \/etc\/kickstand\/kickstand\.yaml --state-dir \/var\/lib\/kickstand$/,
    );
    assert.deepEqual(directives('ExecReload'), ['/bin/kill -HUP $MAINPID']);
  });

  it('passes systemd-analyze verify', (t) => {
    if (skipUnless(t, { binaries: ['systemd-analyze'] })) return;
    // verify checks that ExecStart exists: point it at this checkout's bin/kickstand.
    const dir = mkdtempSync(join(tmpdir(), 'ks-unit-'));
    try {
      const file = join(dir, 'kickstand.service');
      writeFileSync(file, unit.replace('ExecStart=/usr/bin/kickstand', `ExecStart=${join(REPO, 'bin/kickstand')}`));
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 60_000 });
      const problems = (r.stderr + r.stdout).split('\n').filter((l) => l.includes('kickstand.service'));
      assert.deepEqual(problems, [], problems.join('\n'));
      assert.equal(r.status, 0, r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
