import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, redactSecrets } from '../src/log';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('logging', () => {
  it('writes JSON lines with a component binding and redacts secret paths', () => {
    const out = capture();
    const log = createLogger({ destination: out.stream, pretty: false, level: 'debug' }).child({ component: 'test' });
    log.info(
      {
        token: 'tok-canary-1',
        bmc: { password: 'pw-canary-2' },
        req: { headers: { authorization: 'Bearer api-canary-3' } },
        joinToken: 'k3s-canary-4',
        x: { privateKey: 'wg-canary-5' },
      },
      'hello',
    );
    const line = JSON.parse(out.text().trim()) as Record<string, unknown>;
    assert.equal(line.msg, 'hello');
    assert.equal(line.component, 'test');
    assert.equal(line.service, 'kickstand');
    for (const canary of ['tok-canary-1', 'pw-canary-2', 'api-canary-3', 'k3s-canary-4', 'wg-canary-5'])
      assert.ok(!out.text().includes(canary), canary);
    assert.match(out.text(), /\[redacted\]/);
  });

  it('scrubs tokens out of free text', () => {
    const tok = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';
    assert.equal(redactSecrets(`GET /ks/${tok} HTTP/1.1`), 'GET /ks/[redacted] HTTP/1.1');
    assert.equal(redactSecrets(`POST /cb/${tok}/installed`), 'POST /cb/[redacted]/installed');
    assert.equal(redactSecrets(`curl -H 'Authorization: Bearer ${tok}'`), "curl -H 'Authorization: Bearer [redacted]'");
    assert.equal(redactSecrets(`url?a=1&token=${tok}&b=2`), 'url?a=1&token=[redacted]&b=2');
    assert.equal(redactSecrets('PrivateKey = ' + 'A'.repeat(43) + '='), 'PrivateKey = [redacted]');
    assert.equal(redactSecrets('k3s token is s3cr3t-value', ['s3cr3t-value']), 'k3s token is [redacted]');
    assert.equal(redactSecrets('/ks/short'), '/ks/short', 'short path segments are not tokens');
  });
});
