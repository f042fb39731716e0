/**
 * The bootstrap's preflight (src/bootstrap/preflight.ts): the facts script on a real shell, and
 * the error a node without the mesh or bundle tools gets — what is missing, and the line that
 * fixes it for the node's OS family.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PREFLIGHT_SCRIPT, missingTools, osFamily } from '../../src/bootstrap/preflight';
import { parseKv } from '../../src/bootstrap/shell';

const rocky = { os_id: 'rocky', os_like: 'rhel centos fedora', os_name: 'Rocky Linux 9.5 (Blue Onyx)' };
const debian = { os_id: 'debian', os_like: '', os_name: 'Debian GNU/Linux 12 (bookworm)' };
const all = { has_wg: '1', has_ip: '1', has_curl: '1', has_sha256sum: '1' };

describe('bootstrap preflight', () => {
  it('reads os-release and the tools on a real shell (dash and bash)', () => {
    const id = /^ID=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]?.replace(/"/g, '');
    for (const sh of ['sh', 'bash']) {
      const f = parseKv(execFileSync(sh, ['-c', PREFLIGHT_SCRIPT, 'kickstand-preflight'], { encoding: 'utf8' }));
      assert.equal(f.os_id, id, sh);
      assert.match(f.os_name ?? '', /\S/);
      assert.match(f.uid ?? '', /^\d+$/);
      for (const b of ['wg', 'ip', 'curl', 'sha256sum']) assert.match(f[`has_${b}`] ?? '', /^[01]$/, `${sh}: has_${b}`);
    }
  });

  it('knows EL and Debian families from ID and ID_LIKE', () => {
    assert.equal(osFamily(rocky), 'el');
    assert.equal(osFamily({ os_id: 'almalinux', os_like: 'rhel centos fedora' }), 'el');
    assert.equal(osFamily(debian), 'debian');
    assert.equal(osFamily({ os_id: 'ubuntu', os_like: 'debian' }), 'debian');
    assert.equal(osFamily({ os_id: 'arch' }), 'other');
  });

  it('names the missing command, its purpose, and the EL kickstart line that fixes it', () => {
    const e = missingTools({ ...rocky, ...all, has_wg: '0' }, ['wg', 'ip']);
    assert.ok(e);
    assert.equal(e.code, 'KS_BOOTSTRAP_FAILED');
    assert.match(e.message, /^Rocky Linux 9\.5 \(Blue Onyx\) lacks wg \(the WireGuard mesh\)$/);
    assert.match(e.fix ?? '', /%packages section the lines: wireguard-tools \(kickstarts\/rocky9\.ks\.hbs/);
    const ip = missingTools({ ...rocky, ...all, has_ip: '0', has_wg: '0' }, ['wg', 'ip']);
    assert.match(ip?.fix ?? '', /wireguard-tools, iproute /);
  });

  it('says apt-get on Debian, and the EL names elsewhere', () => {
    const d = missingTools({ ...debian, ...all, has_ip: '0', has_curl: '0' }, ['wg', 'ip', 'curl']);
    assert.match(d?.message ?? '', /lacks ip \(the WireGuard mesh\), curl \(fetching the k3s bundle\)/);
    assert.match(d?.fix ?? '', /apt-get install iproute2 curl/);
    const o = missingTools({ os_id: 'arch', ...all, has_sha256sum: '0' }, ['sha256sum']);
    assert.match(o?.fix ?? '', /provide sha256sum \(on EL: coreutils\)/);
  });

  it('is silent when everything needed is there (missing facts count as missing)', () => {
    assert.equal(missingTools({ ...rocky, ...all }, ['wg', 'ip', 'curl', 'sha256sum']), undefined);
    assert.ok(missingTools({ ...rocky }, ['curl']));
  });
});
