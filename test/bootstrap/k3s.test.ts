/**
 * The k3s invocation (what the recording stand-in sees in mesh.test.ts, here as pure values):
 * roles, --cluster-init only on the first server, node IP and flannel on the mesh, and the
 * token only read from stdin — never in the command text.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { invocation, joinScript, invocationId, type K3sSettings } from '../../src/bootstrap/k3s';

const S: K3sSettings = { installCommand: '/opt/k3s/install.sh', extraArgs: ['--disable=traefik'], apiPort: 6443, meshInterface: 'wg0', nodeStateDir: '/var/lib/kickstand' };

describe('k3s invocation', () => {
  it('first server initialises, later servers join with --server, agents with K3S_URL', () => {
    assert.deepEqual(invocation('server', '198.19.0.1', null, S), { role: 'server', args: ['server', '--cluster-init', '--node-ip', '198.19.0.1', '--flannel-iface', 'wg0', '--disable=traefik'], url: null });
    assert.deepEqual(invocation('server', '198.19.0.2', '198.19.0.1', S).args, ['server', '--server', 'https://198.19.0.1:6443', '--node-ip', '198.19.0.2', '--flannel-iface', 'wg0', '--disable=traefik']);
    const agent = invocation('agent', '198.19.0.3', '198.19.0.1', S);
    assert.deepEqual(agent.args, ['agent', '--node-ip', '198.19.0.3', '--flannel-iface', 'wg0', '--disable=traefik']);
    assert.equal(agent.url, 'https://198.19.0.1:6443');
  });

  it('the node script reads the token from stdin and never contains it; the marker id ignores it', () => {
    const inv = invocation('agent', '198.19.0.3', '198.19.0.1', S);
    const script = joinScript(inv, S);
    assert.match(script, /IFS= read -r K3S_TOKEN\nexport K3S_TOKEN/);
    assert.match(script, /export K3S_URL='https:\/\/198\.19\.0\.1:6443'/);
    assert.match(script, /^\/opt\/k3s\/install\.sh 'agent' '--node-ip' '198\.19\.0\.3' '--flannel-iface' 'wg0' '--disable=traefik' <\/dev\/null$/m);
    assert.equal(invocationId(inv, S), invocationId(invocation('agent', '198.19.0.3', '198.19.0.1', S), S));
    assert.notEqual(invocationId(inv, S), invocationId(invocation('agent', '198.19.0.4', '198.19.0.1', S), S));
  });
});
