/**
 * The k3s invocation (what the recording stand-in sees in mesh.test.ts, here as pure values):
 * roles, --cluster-init only on the first server, node IP and flannel on the mesh, and the
 * token only read from stdin — never in the command text. The bundle installer's node script
 * (what k3s-bundle.test.ts runs on real sshd nodes): fetched from publicUrl, every file checked
 * against the hashes recorded at import, installed with INSTALL_K3S_SKIP_DOWNLOAD=true.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { invocation, joinScript, invocationId, type K3sInstaller, type K3sSettings } from '../../src/bootstrap/k3s';
import { bundleFetch } from '../../src/bootstrap/k3s-fetch';
import type { K3sBundle } from '../../src/images/k3s-bundle';

const S: K3sSettings = {
  extraArgs: ['--disable=traefik'],
  apiPort: 6443,
  meshInterface: 'wg0',
  nodeStateDir: '/var/lib/kickstand',
};
const NET: K3sInstaller = { source: 'internet', command: '/opt/k3s/install.sh' };

const sha = (c: string) => c.repeat(64);
const BUNDLE: K3sBundle = {
  kind: 'k3s-bundle',
  version: 'v1.31.4+k3s1',
  arch: 'arm64',
  importedAt: '2025-01-01T00:00:00.000Z',
  binary: { name: 'k3s', sha256: sha('a'), size: 1 },
  images: { name: 'k3s-airgap-images-arm64.tar.zst', sha256: sha('b'), size: 1 },
  installSh: { name: 'install.sh', sha256: sha('c'), size: 1 },
  sums: { name: 'sha256sum-arm64.txt', sha256: sha('d'), size: 1 },
  selinuxRpms: [],
};
const bundle = (b: K3sBundle = BUNDLE): K3sInstaller => ({
  source: 'bundle',
  fetch: bundleFetch(b, 'http://198.18.0.1:8080/'),
});

describe('k3s invocation', () => {
  it('first server initialises, later servers join with --server, agents with K3S_URL', () => {
    assert.deepEqual(invocation('server', '198.19.0.1', null, S), {
      role: 'server',
      args: ['server', '--cluster-init', '--node-ip', '198.19.0.1', '--flannel-iface', 'wg0', '--disable=traefik'],
      url: null,
    });
    assert.deepEqual(invocation('server', '198.19.0.2', '198.19.0.1', S).args, [
      'server',
      '--server',
      'https://198.19.0.1:6443',
      '--node-ip',
      '198.19.0.2',
      '--flannel-iface',
      'wg0',
      '--disable=traefik',
    ]);
    const agent = invocation('agent', '198.19.0.3', '198.19.0.1', S);
    assert.deepEqual(agent.args, ['agent', '--node-ip', '198.19.0.3', '--flannel-iface', 'wg0', '--disable=traefik']);
    assert.equal(agent.url, 'https://198.19.0.1:6443');
  });

  it('the node script reads the token from stdin and never contains it; the marker id ignores it', () => {
    const inv = invocation('agent', '198.19.0.3', '198.19.0.1', S);
    const script = joinScript(inv, S, NET);
    assert.match(script, /IFS= read -r K3S_TOKEN\nexport K3S_TOKEN/);
    assert.match(script, /export K3S_URL='https:\/\/198\.19\.0\.1:6443'/);
    assert.match(
      script,
      /^\/opt\/k3s\/install\.sh 'agent' '--node-ip' '198\.19\.0\.3' '--flannel-iface' 'wg0' '--disable=traefik' <\/dev\/null$/m,
    );
    assert.equal(invocationId(inv, NET), invocationId(invocation('agent', '198.19.0.3', '198.19.0.1', S), NET));
    assert.notEqual(invocationId(inv, NET), invocationId(invocation('agent', '198.19.0.4', '198.19.0.1', S), NET));
  });
});

describe('k3s bundle node script', () => {
  const inv = invocation('agent', '198.19.0.3', '198.19.0.1', S);
  const script = joinScript(inv, S, bundle());

  it('fetches each file from publicUrl/images/k3s/<version>/<arch>/ and checks it against the hash recorded at import', () => {
    assert.match(script, /^base='http:\/\/198\.18\.0\.1:8080\/images\/k3s\/v1\.31\.4%2Bk3s1\/arm64'$/m);
    assert.match(script, /curl -fsS [^\n]*-o "\$tmp" "\$base\/\$1"/);
    assert.match(
      script,
      /got=\$\(sha256sum "\$tmp" \| cut -d" " -f1\)\n\s+if \[ "\$got" != "\$3" \]; then rm -f "\$tmp"; [^\n]*exit 3; fi/,
    );
    assert.match(script, new RegExp(`^fetch_verified 'k3s' '/usr/local/bin/k3s' '${sha('a')}' 0755$`, 'm'));
    assert.match(
      script,
      new RegExp(
        `^fetch_verified 'k3s-airgap-images-arm64.tar.zst' '/var/lib/rancher/k3s/agent/images/k3s-airgap-images-arm64.tar.zst' '${sha('b')}' 0644$`,
        'm',
      ),
    );
    assert.match(
      script,
      new RegExp(`^fetch_verified 'install.sh' '/var/lib/kickstand/k3s-install.sh' '${sha('c')}' 0700$`, 'm'),
    );
    // the checked file is moved into place only after the check
    assert.ok(script.indexOf('mv -f "$tmp" "$2"') > script.indexOf('if [ "$got" != "$3" ]'));
  });

  it('runs the bundle install.sh with INSTALL_K3S_SKIP_DOWNLOAD=true, after every fetch, token from stdin only', () => {
    const run =
      "INSTALL_K3S_SKIP_DOWNLOAD=true sh '/var/lib/kickstand/k3s-install.sh' 'agent' '--node-ip' '198.19.0.3' '--flannel-iface' 'wg0' '--disable=traefik' </dev/null";
    assert.ok(script.split('\n').includes(run), script);
    assert.ok(script.indexOf(run) > script.lastIndexOf('fetch_verified '));
    assert.match(script, /IFS= read -r K3S_TOKEN\nexport K3S_TOKEN\nexport K3S_URL='https:\/\/198\.19\.0\.1:6443'/);
    assert.doesNotMatch(script, /get\.k3s\.io|github\.com/);
    execFileSync('sh', ['-n'], { input: script }); // parses as POSIX sh
  });

  it('the marker id changes with the version, the architecture or any recorded hash, not with publicUrl', () => {
    const id = invocationId(inv, bundle());
    assert.equal(
      id,
      invocationId(inv, { source: 'bundle', fetch: bundleFetch(BUNDLE, 'http://kickstand.example:8080') }),
    );
    assert.notEqual(id, invocationId(inv, NET));
    assert.notEqual(id, invocationId(inv, bundle({ ...BUNDLE, version: 'v1.31.5+k3s1' })));
    assert.notEqual(id, invocationId(inv, bundle({ ...BUNDLE, arch: 'amd64' })));
    assert.notEqual(id, invocationId(inv, bundle({ ...BUNDLE, binary: { ...BUNDLE.binary, sha256: sha('e') } })));
    assert.notEqual(id, invocationId(inv, bundle({ ...BUNDLE, images: { ...BUNDLE.images, sha256: sha('e') } })));
    assert.notEqual(id, invocationId(inv, bundle({ ...BUNDLE, installSh: { ...BUNDLE.installSh, sha256: sha('e') } })));
  });
});
