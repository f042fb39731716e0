/**
 * OpenSSH public key parsing for the installed callback and operator keys (reliability I04).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { utils } from 'ssh2';
import { parseAuthorizedKeys, parseHostKeys, parsePublicKey } from '../../src/model/ssh-key';
import { fingerprint } from '../../src/install/callbacks';

/**
 * A fresh OpenSSH ed25519 public key line built from node:crypto (RFC 8709 §4 blob). Not ssh2's
 * generateKeyPairSync: it drops a leading zero byte of the public key about once in 256 keys,
 * producing a malformed key (which parsePublicKey rightly refuses).
 */
function edKey(comment = ''): string {
  const x = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(x)]);
  return `ssh-ed25519 ${blob.toString('base64')}${comment ? ' ' + comment : ''}`;
}

const ed = edKey('root@node1');
const ecdsa = utils.generateKeyPairSync('ecdsa', { bits: 256, comment: 'root@node1' }).public.trim();

describe('host keys', () => {
  it('accepts the contents of ssh_host_*_key.pub, normalised', () => {
    assert.deepEqual(parseHostKeys(`${ecdsa}\n${ed}\n\n`), [ecdsa, ed]);
    assert.deepEqual(parseHostKeys(`${ed}\r\n${ed}\n`), [ed], 'duplicates collapse, CRLF tolerated');
  });

  it('requires an ed25519 key', () => {
    assert.throws(() => parseHostKeys(ecdsa), /no ssh-ed25519 host key/);
    assert.throws(() => parseHostKeys(''), /no ssh-ed25519 host key/);
  });

  it('refuses anything that is not a key, naming the line', () => {
    assert.throws(() => parseHostKeys(`${ed}\nnot a key`), /line 2 is not an OpenSSH public key/);
    const [type, b64] = ed.split(' ');
    assert.throws(() => parseHostKeys(`${type} ${b64!.slice(0, -8)}`), /does not decode|not "TYPE/);
    const ecdsaBlob = ecdsa.split(' ')[1];
    assert.throws(() => parseHostKeys(`ssh-ed25519 ${ecdsaBlob}`), /line 1/);
    assert.throws(() => parseHostKeys(`ssh-dss ${b64}`), /not accepted/);
    assert.throws(() => parseHostKeys(Array.from({ length: 20 }, () => edKey()).join('\n')), /more than 16/);
  });

  it('sanitises comments (no quotes, no control characters)', () => {
    const [type, b64] = ed.split(' ');
    const r = parsePublicKey(`${type} ${b64} root@x'$(id)"\u0007`);
    assert.ok(r.ok);
    assert.equal(r.key, `${type} ${b64} root@x(id)`);
  });

  it('operator keys are ";"-separated and each validated', () => {
    assert.deepEqual(parseAuthorizedKeys(`${ed};${ecdsa}`, 'vars.ssh_authorized_keys'), [ed, ecdsa]);
    assert.throws(() => parseAuthorizedKeys(`${ed};%post`, 'vars.ssh_authorized_keys'), /not an OpenSSH public key/);
  });

  it('refuses an ed25519 blob whose key is not 32 bytes', () => {
    const blob = Buffer.concat([
      Buffer.from([0, 0, 0, 11]),
      Buffer.from('ssh-ed25519'),
      Buffer.from([0, 0, 0, 31]),
      Buffer.alloc(31, 7),
    ]);
    assert.equal(parsePublicKey(`ssh-ed25519 ${blob.toString('base64')}`).ok, false);
  });

  it('fingerprints like ssh-keygen -l', () => {
    assert.match(fingerprint(ed), /^SHA256:[A-Za-z0-9+/]{43}$/);
  });
});
