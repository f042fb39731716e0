/**
 * The mesh config writer (reliability.md S08): each peer gets exactly its /32, values are
 * validated before anything reaches a node, no private key is ever rendered.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderConfig, type MeshSettings } from '../../src/bootstrap/wireguard';
import { nextFreeAddress, type MeshMember } from '../../src/model/mesh-member';

const S: MeshSettings = {
  cidr: '198.19.0.0/24',
  listenPort: 51820,
  interface: 'wg0',
  configDir: '/etc/wireguard',
  persistentKeepalive: 25,
};
const key = (c: string) => c.repeat(42) + 'A=';
const m = (
  host: string,
  address: string,
  publicKey: string | null,
  endpoint: string | null = '198.18.0.10',
): MeshMember => ({
  host,
  address,
  publicKey,
  endpoint,
  listenPort: 51820,
  createdAt: '',
  updatedAt: '',
});

describe('wireguard config rendering', () => {
  it('renders the interface and one [Peer] per other keyed member, each with exactly its /32', () => {
    const members = [
      m('a', '198.19.0.1', key('a')),
      m('b', '198.19.0.2', key('b'), '198.18.0.12'),
      m('c', '198.19.0.3', null),
    ];
    const conf = renderConfig(members[0]!, members, S);
    assert.equal(
      conf,
      [
        '# Managed by Kickstand: regenerated on every mesh change; local edits are overwritten.',
        '[Interface]',
        'Address = 198.19.0.1/24',
        'ListenPort = 51820',
        'PostUp = wg set %i private-key /etc/wireguard/wg0.key',
        '',
        '[Peer]',
        '# b',
        `PublicKey = ${key('b')}`,
        'AllowedIPs = 198.19.0.2/32',
        'Endpoint = 198.18.0.12:51820',
        'PersistentKeepalive = 25',
        '',
      ].join('\n'),
    );
    assert.doesNotMatch(conf, /PrivateKey/);
  });

  it('refuses injected or malformed values before touching any node', () => {
    const self = m('a', '198.19.0.1', key('a'));
    assert.throws(() => renderConfig(self, [self, m('b', '198.19.0.2', `${key('b')}\n[Peer]`)], S), /not a valid key/);
    assert.throws(
      () => renderConfig(self, [self, m('b', '198.19.0.2', key('b'), '198.18.0.1\nAllowedIPs = 0.0.0.0/0')], S),
      /not an address or host name/,
    );
    assert.throws(() => renderConfig(self, [self, m('b', '0.0.0.0/0', key('b'))], S), /not IPv4/);
    assert.throws(() => renderConfig(self, [self, m('b', '198.19.0.1', key('b'))], S), /assigned twice/);
  });

  it('allocates the lowest free host address of the CIDR and fails when it is full', () => {
    assert.equal(nextFreeAddress('198.19.0.0/24', new Set()), '198.19.0.1');
    assert.equal(nextFreeAddress('198.19.0.0/24', new Set(['198.19.0.1', '198.19.0.3'])), '198.19.0.2');
    assert.throws(() => nextFreeAddress('198.19.0.0/30', new Set(['198.19.0.1', '198.19.0.2'])), /no free address/);
  });
});
