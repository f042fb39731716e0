/**
 * Kickstand's bootstrap identity and host-key pins: the keypair is generated once, 0600, and
 * stable; pins parse OpenSSH lines and fingerprint exactly as `ssh-keygen -l` does.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utils } from 'ssh2';
import { bootstrapPublicKey, ensureBootstrapKey, generateEd25519, KEY_FILE } from '../../src/bootstrap/keys';
import { fingerprint, hostKeyAlgorithms, parsePins } from '../../src/bootstrap/ssh';
import { skipUnless } from '../helpers/env';

describe('bootstrap keys and pins', () => {
  it('generates an ed25519 keypair once in the state dir (0600) and returns the same key after', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ks-keys-'));
    try {
      const a = ensureBootstrapKey(join(dir, 'state'));
      assert.equal(statSync(join(dir, 'state', KEY_FILE)).mode & 0o777, 0o600);
      assert.match(a.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+ kickstand-bootstrap$/);
      assert.match(a.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----/);
      assert.equal(bootstrapPublicKey(join(dir, 'state')), a.publicKey);
      assert.equal(ensureBootstrapKey(join(dir, 'state')).privateKey, a.privateKey);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never keeps a malformed key (ssh2 generates one in ~256): 1,000 keys all parse back', () => {
    for (let i = 0; i < 1000; i++) {
      const kp = generateEd25519();
      const parsed = utils.parseKey(kp.private);
      assert.ok(!(parsed instanceof Error), `key ${i}: ${parsed instanceof Error ? parsed.message : ''}`);
      const key = Array.isArray(parsed) ? parsed[0]! : parsed;
      assert.equal(key.getPublicSSH().length, 51, `key ${i}: ed25519 public blob`);
    }
  });

  it('fingerprints pins like ssh-keygen -l and offers only the pinned algorithms', (t) => {
    if (skipUnless(t, { binaries: ['ssh-keygen'] })) return;
    const dir = mkdtempSync(join(tmpdir(), 'ks-pins-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
      const line = execFileSync('cat', [join(dir, 'k.pub')], { encoding: 'utf8' }).trim();
      const expected = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'k.pub')], { encoding: 'utf8' }).split(' ')[1];
      const [pin] = parsePins([line]);
      assert.equal(fingerprint(pin!.blob), expected);
      assert.deepEqual(hostKeyAlgorithms(parsePins([line, 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC7'])), [
        'ssh-ed25519',
        'rsa-sha2-512',
        'rsa-sha2-256',
      ]);
      assert.throws(() => parsePins(['not a key']), /not an OpenSSH public key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
