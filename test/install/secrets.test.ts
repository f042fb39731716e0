/**
 * Secret hygiene of the install flow (reliability G17, K06): with logging at trace level, the
 * install token and the root password hash never appear in a log line, an event or an error
 * body, across served, refused and replayed requests.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { REDACT_PATHS } from '../../src/log';
import { skipUnless } from '../helpers/env';
import { curl, startHarness, type Harness } from './harness';

describe('install flow keeps secrets out of logs and events', () => {
  let h: Harness;
  const lines: string[] = [];

  before(async () => {
    const sink = new Writable({
      write(chunk, _e, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    h = await startHarness({
      log: pino({ level: 'trace', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink),
    });
  });
  after(async () => h?.close());

  it('no token or root hash in logs, events or refusal bodies', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    await h.registry.add({ name: 'canary', macs: ['52:54:00:00:06:01'], profile: 'rocky9', ipv4: '127.0.0.41' });
    const token = (await h.store.tokens.liveFor('canary'))!.token;
    const bodies: string[] = [];
    bodies.push((await curl(`${h.base}/ipxe/52-54-00-00-06-01`, { from: '127.0.0.42' })).body);
    bodies.push((await curl(`${h.base}/ks/${token}`, { from: '127.0.0.42' })).body);
    const ks = await curl(`${h.base}/ks/${token}`, { from: '127.0.0.41' });
    assert.equal(ks.status, 200);
    bodies.push((await curl(`${h.base}/cb/${token}/installing`, { from: '127.0.0.42', data: 'x' })).body);
    bodies.push((await curl(`${h.base}/cb/${token}/installed`, { from: '127.0.0.41', data: 'garbage' })).body);
    const hash = h.config.profiles.rocky9!.vars.root_password_hash!;
    const events = JSON.stringify(await h.store.events.list({}));
    const logs = lines.join('');
    assert.ok(lines.length > 0, 'something was logged');
    for (const [where, text] of [
      ['logs', logs],
      ['events', events],
      ['refusal bodies', bodies.join('\n')],
    ] as const) {
      assert.ok(!text.includes(token), `token leaked into ${where}`);
      assert.ok(!text.includes(hash), `root hash leaked into ${where}`);
    }
  });
});
