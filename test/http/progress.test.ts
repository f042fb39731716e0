/**
 * Live download progress: while a large asset goes to a registered machine, watchers of
 * /api/v1/watch get `event: progress` frames naming the host (not stored on the timeline);
 * the finished fetch is an `http.asset` event. The machine is curl from 127.0.0.2 (its static
 * address), rate-limited so the download lasts a few seconds.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Daemon } from '../../src/daemon';
import { startInProcess, testConfig, type InProcessDaemon } from '../helpers/daemon';
import { skipUnless } from '../helpers/env';

const run = promisify(execFile);

describe('live asset download progress', () => {
  let daemon: Daemon;
  let base: string;
  let machineBase: string;
  let token: string;

  let running: InProcessDaemon;

  before(async () => {
    running = await startInProcess('ks-progress', (dir) => {
      mkdirSync(join(dir, 'images', 'p'), { recursive: true });
      writeFileSync(join(dir, 'images', 'p', 'initrd.img'), Buffer.alloc(32 * 1024 * 1024, 7));
      return testConfig(dir, {
        network: { address: '127.0.0.1', subnet: '127.0.0.0/24', pool: { start: '127.0.0.100', end: '127.0.0.199' } },
      });
    });
    ({ daemon, base, token } = running);
    machineBase = running.machineBase;
    await daemon.registry.add({
      name: 'dl1',
      macs: ['52:54:00:00:0d:01'],
      profile: 'rocky9',
      ipv4: '127.0.0.2',
      netboot: false,
    });
  });
  after(() => running.close());

  it('streams progress frames for the host while it downloads, then records the fetch', async (t) => {
    if (skipUnless(t, { binaries: ['curl'] })) return;
    const ctl = new AbortController();
    const res = await fetch(`${base}/api/v1/watch?host=dl1&limit=0`, {
      headers: { authorization: `Bearer ${token}` },
      signal: ctl.signal,
    });
    const reader = res.body!.getReader();
    let text = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += Buffer.from(value).toString();
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    // 32 MiB at 8 MiB/s: about 4 s, so several progress reports (socket buffers run ahead of the client).
    await run(
      'curl',
      [
        '-sS',
        '--interface',
        '127.0.0.2',
        '--limit-rate',
        '8M',
        '-o',
        '/dev/null',
        `${machineBase}/images/p/initrd.img`,
      ],
      { timeout: 30_000 },
    );
    await new Promise((r) => setTimeout(r, 500));
    ctl.abort();
    await reading;
    const progress = [...text.matchAll(/event: progress\ndata: (.*)\n/g)].map((m) => JSON.parse(m[1]!));
    assert.ok(progress.length >= 2, `progress frames: ${progress.length}\n${text.slice(0, 500)}`);
    assert.ok(progress.every((p) => p.host === 'dl1' && p.path === 'p/initrd.img' && p.total === 32 * 1024 * 1024));
    assert.ok(
      progress.some((p) => p.bytes > 0 && p.bytes < p.total),
      'a report while the download was under way',
    );
    assert.match(text, /event: timeline\ndata: \{.*"kind":"http\.asset".*p\/initrd\.img/);
    const stored = await daemon.store.events.list({ host: 'dl1' });
    assert.ok(!stored.some((e) => e.kind === 'http.progress'), 'progress is not stored');
  });
});
