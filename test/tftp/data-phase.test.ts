/**
 * The TFTP data phase over REAL UDP sockets on 127.0.0.1, run on both paths: the native thread
 * (native/tftp.c via src/tftp/native-session.ts, for plain files in octet mode) and the
 * JavaScript session (`dataPhase: null`). The scripted client is test/tftp/raw-client.ts.
 * No root needed. The native half is skipped when the addon is not built, except in CI, where
 * .ci/run builds it with KICKSTAND_NATIVE_REQUIRED=1 and its absence fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { tftpSchema, type TftpConfig } from '../../src/config/sections/tftp';
import { silentLogger } from '../../src/log';
import { native, nativeStatus } from '../../src/native';
import { encodeRequest } from '../../src/tftp/packet';
import { createFileHandler } from '../../src/tftp/files';
import { createTftpServer, type TftpServer } from '../../src/tftp/server';
import type { TftpContent, TftpEvent, TftpHandler } from '../../src/tftp/types';
import { IN_CI } from '../helpers/env';
import { rawGet, type RawGetOptions, type RawGetResult } from './raw-client';

const HOST = '127.0.0.1';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('in CI the native addon is loaded (.ci/run builds it with KICKSTAND_NATIVE_REQUIRED=1)', (t) => {
  if (!IN_CI) {
    t.diagnostic(`native addon: ${nativeStatus().loaded ? 'loaded' : `not loaded (${nativeStatus().reason})`}`);
    return t.skip('only asserted in CI (CI=true)');
  }
  assert.ok(native() !== null, `native addon not loaded in CI: ${nativeStatus().reason}`);
  assert.equal(typeof native()!.tftpStart, 'function');
  assert.equal(typeof native()!.tftpCancel, 'function');
});

/** Threads of this process named by native/tftp.c. */
function tftpThreads(): number {
  let n = 0;
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'ks-tftp') n++;
    } catch {
      /* thread ended while listing */
    }
  }
  return n;
}

/** Whether a UDP socket 127.0.0.1:local connected to 127.0.0.1:remote exists (/proc/net/udp). */
function udpSocketExists(local: number, remote: number): boolean {
  const hex = (p: number): string => `0100007F:${p.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .some((l) => {
      const f = l.trim().split(/\s+/);
      return f[1] === hex(local) && f[2] === hex(remote);
    });
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  for (let waited = 0; waited < ms; waited += 10) {
    if (await cond()) return;
    await sleep(10);
  }
  assert.fail(`timed out waiting for ${what}`);
}

interface Rig {
  server: TftpServer;
  port: number;
  events: TftpEvent[];
  dir: string;
  get(file: string, o?: RawGetOptions): Promise<RawGetResult>;
  client(): Promise<Socket>;
  metric(name: string, label?: string): Promise<number>;
  close(): Promise<void>;
}

const PATHS = [
  { name: 'native', native: true },
  { name: 'js', native: false },
] as const;

async function rig(
  useNative: boolean,
  files: Record<string, Buffer>,
  cfg: Partial<TftpConfig> = {},
  extra: Record<string, TftpHandler> = {},
): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'ks-tftp-dp-'));
  for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, k), v);
  const files0 = createFileHandler(dir, { cacheFileBytes: 0 }); // every file as a FileHandle
  const events: TftpEvent[] = [];
  const registry = new Registry();
  const server = createTftpServer({
    config: tftpSchema.parse({ listen: [HOST], port: 0, timeoutMs: 1000, retries: 3, maxWindowsize: 64, ...cfg }),
    log: silentLogger(),
    metrics: registry,
    dataPhase: useNative ? native() : null,
    onEvent: (e) => events.push(e),
    handler: (path, client) => (extra[path] ?? files0)(path, client),
  });
  await server.start();
  const port = server.addresses()[0]!.port;
  const sockets: Socket[] = [];
  const client = async (): Promise<Socket> => {
    const s = createSocket('udp4');
    sockets.push(s);
    await new Promise<void>((r) => s.bind(0, HOST, () => r()));
    return s;
  };
  const metric = async (name: string, label?: string): Promise<number> => {
    const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
    const vals = (m?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>;
    return vals
      .filter((v) => label === undefined || Object.values(v.labels).includes(label))
      .reduce((s, v) => s + v.value, 0);
  };
  return {
    server,
    port,
    events,
    dir,
    client,
    metric,
    async get(file, o) {
      const s = await client();
      return rawGet(s, HOST, port, file, { timeoutMs: 30_000, ...o });
    },
    async close() {
      await server.stop();
      for (const s of sockets) s.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits (bounded) until no transfer is active: the last ACK reaches the server after the client is done. */
async function idle(r: Rig): Promise<void> {
  await until('sessions to end', async () => (await r.metric('kickstand_tftp_sessions_active')) === 0);
}

for (const p of PATHS) {
  /** Why the native half cannot run here; in CI its absence is a failure, not a skip. */
  const skip = (): string | undefined => {
    if (!p.native || native() !== null) return undefined;
    if (IN_CI) assert.fail(`native addon not loaded in CI: ${nativeStatus().reason}`);
    return `native addon not loaded: ${nativeStatus().reason}`;
  };

  test(
    `[${p.name}] byte-exact: sizes 0, a blksize multiple and odd; lock-step, blksize and windows`,
    { timeout: 120_000 },
    async (t) => {
      if (skip()) return t.skip(skip());
      const files = {
        empty: Buffer.alloc(0),
        exact: randomBytes(1468 * 300),
        odd: randomBytes(1468 * 777 + 5),
        small: randomBytes(512 * 10 + 100),
      };
      const r = await rig(p.native, files, { maxBlksize: 1468 });
      try {
        const plans: Array<Array<[string, string]>> = [
          [],
          [['blksize', '1468']],
          [
            ['blksize', '1468'],
            ['windowsize', '16'],
          ],
          [
            ['windowsize', '7'],
            ['tsize', '0'],
          ],
        ];
        let n = 0;
        for (const k of Object.keys(files) as Array<keyof typeof files>) {
          for (const options of plans) {
            const res = await r.get(k, { options });
            n++;
            assert.equal(res.error, null, `${k} ${JSON.stringify(options)}`);
            assert.equal(sha(res.data), sha(files[k]), `${k} ${JSON.stringify(options)}`);
            if (options.length === 0) {
              assert.equal(res.oack, null, 'no option: DATA 1 first');
              assert.equal(
                res.dataPackets,
                Math.floor(files[k].length / 512) + 1,
                'one DATA per block, the last one short',
              );
            }
          }
        }
        const tsize = await r.get('odd', { options: [['tsize', '0']] });
        assert.deepEqual(tsize.oack, [['tsize', String(files.odd.length)]]);
        n++;
        await idle(r);
        assert.equal(await r.metric('kickstand_tftp_transfers_completed_total'), n);
        // the empty file comes back from the handler as a (cached) buffer even with cacheFileBytes 0: JS path
        assert.equal(await r.metric('kickstand_tftp_native_transfers_total'), p.native ? n - plans.length : 0);
        assert.equal(
          await r.metric('kickstand_tftp_sent_bytes_total'),
          4 * Object.values(files).reduce((s, b) => s + b.length, 0) + files.odd.length,
        );
        assert.deepEqual(
          r.events.slice(0, 2).map((e) => e.kind),
          ['tftp.start', 'tftp.done'],
        );
        assert.equal(r.events[1]!.client.localAddress, HOST);
        assert.equal(r.events[1]!.data['bytes'], 0);
      } finally {
        await r.close();
      }
    },
  );

  test(
    `[${p.name}] block numbers roll over past 65535 (blksize 8: 70,001 blocks, windows of 64)`,
    { timeout: 120_000 },
    async (t) => {
      if (skip()) return t.skip(skip());
      const file = randomBytes(8 * 70000);
      const r = await rig(p.native, { f: file });
      try {
        const res = await r.get('f', {
          options: [
            ['blksize', '8'],
            ['windowsize', '64'],
          ],
          timeoutMs: 90_000,
        });
        assert.equal(res.error, null);
        assert.equal(res.data.length, file.length);
        assert.equal(sha(res.data), sha(file));
        await idle(r);
        assert.equal(await r.metric('kickstand_tftp_transfers_completed_total'), 1);
        assert.equal(await r.metric('kickstand_tftp_native_transfers_total'), p.native ? 1 : 0);
        const done = r.events.find((e) => e.kind === 'tftp.done');
        assert.equal(done?.data['blocks'], 70001, 'absolute block count past the wrap');
      } finally {
        await r.close();
      }
    },
  );

  test(
    `[${p.name}] Sorcerer's Apprentice: every ACK twice never causes a resend (RFC 1123 4.2.3.1)`,
    { timeout: 60_000 },
    async (t) => {
      if (skip()) return t.skip(skip());
      const file = randomBytes(512 * 300);
      const r = await rig(p.native, { f: file });
      try {
        const res = await r.get('f', { duplicateAcks: true });
        assert.equal(sha(res.data), sha(file));
        assert.equal(res.dataPackets, 301, 'exactly one DATA per block');
        const win = await r.get('f', { duplicateAcks: true, options: [['windowsize', '8']] });
        assert.equal(sha(win.data), sha(file));
        assert.equal(win.dataPackets, 301, 'windows: exactly one DATA per block');
        await idle(r);
        assert.equal(await r.metric('kickstand_tftp_retransmits_total'), 0);
        assert.ok(
          (await r.metric('kickstand_tftp_duplicate_acks_total')) >= 300 + 38,
          'the duplicates arrived and were counted',
        );
        assert.equal(await r.metric('kickstand_tftp_native_transfers_total'), p.native ? 2 : 0);
      } finally {
        await r.close();
      }
    },
  );

  test(
    `[${p.name}] a lost DATA is resent on the timer, a stale re-ACK adds nothing; a window gap resends from the ACKed block + 1`,
    { timeout: 60_000 },
    async (t) => {
      if (skip()) return t.skip(skip());
      const file = randomBytes(512 * 40);
      const wfile = randomBytes(1000 * 100 + 7);
      const r = await rig(p.native, { f: file, w: wfile }, { timeoutMs: 1000, maxBlksize: 1000 });
      try {
        // block 10 "lost" once; the client re-ACKs 9 every 100 ms until the server's timer resends 10
        const res = await r.get('f', { dropBlocksOnce: [10], reackMs: 100 });
        assert.equal(sha(res.data), sha(file));
        assert.equal(res.dataPackets, 41 + 1, 'one extra DATA: the timer resend of block 10');
        await idle(r);
        assert.equal(await r.metric('kickstand_tftp_retransmits_total'), 1);
        const lossy = await r.get('w', {
          options: [
            ['blksize', '1000'],
            ['windowsize', '16'],
          ],
          dropBlocksOnce: [5, 40, 41, 101],
        });
        assert.equal(sha(lossy.data), sha(wfile));
        assert.ok(lossy.dataPackets > 101 && lossy.dataPackets < 101 + 4 * 16, `${lossy.dataPackets} DATA packets`);
      } finally {
        await r.close();
      }
    },
  );

  test(
    `[${p.name}] read errors: a file cut short under the server and an unreadable descriptor send ERROR 0`,
    { timeout: 60_000 },
    async (t) => {
      if (skip()) return t.skip(skip());
      const big = randomBytes(3_000_000);
      let r: Rig | null = null;
      const extra: Record<string, TftpHandler> = {
        // announced 3 MB, cut to 1 MB after the size was taken (reliability T11)
        cut: async (): Promise<TftpContent> => {
          const path = join(r!.dir, 'cut');
          const fh = await open(path, 'r');
          const size = (await fh.stat()).size;
          truncateSync(path, 1_000_000);
          return { size, file: fh };
        },
        // a directory descriptor: pread fails with EISDIR
        dir: async (): Promise<TftpContent> => ({ size: 100_000, file: await open(r!.dir, 'r') }),
      };
      r = await rig(p.native, { cut: big }, { maxBlksize: 1468 }, extra);
      try {
        const cut = await r.get('cut', { options: [['blksize', '1468']] });
        assert.equal(cut.error?.code, 0);
        assert.equal(cut.error?.message, 'read error');
        assert.ok(cut.data.length <= 1_000_000);
        assert.deepEqual(cut.data, big.subarray(0, cut.data.length), 'what was sent is the file');
        const dir = await r.get('dir', { options: [['windowsize', '4']] });
        assert.equal(dir.error?.code, 0);
        assert.equal(dir.error?.message, 'read error');
        assert.equal(dir.data.length, 0);
        await idle(r);
        assert.equal(await r.metric('kickstand_tftp_transfers_failed_total', 'content'), 2);
        const failed = r.events.filter((e) => e.kind === 'tftp.failed').map((e) => e.message);
        assert.match(failed[0]!, /ended at|short|of 3000000/);
        assert.equal(failed.length, 2);
      } finally {
        await r.close();
      }
    },
  );

  test(
    `[${p.name}] a stalled client is freed after the retries: ERROR timeout, thread and socket gone`,
    { timeout: 60_000 },
    async (t) => {
      if (skip()) return t.skip(skip());
      const r = await rig(p.native, { f: randomBytes(5000) }, { timeoutMs: 100, retries: 2 });
      try {
        const s = await r.client();
        const res = await rawGet(s, HOST, r.port, 'f', { silent: true, timeoutMs: 5000 });
        assert.equal(res.timedOut, false, 'server sent ERROR timeout');
        assert.equal(res.error?.message, 'timeout');
        assert.equal(res.dataPackets, 3, 'DATA 1 sent once plus 2 retransmissions');
        await idle(r);
        assert.equal(await r.metric('kickstand_tftp_transfers_failed_total', 'timeout'), 1);
        const tid = Number(res.tid!.split(':')[1]);
        await until('transfer socket closed', () => !udpSocketExists(tid, s.address().port));
        if (p.native) await until('native thread ended', () => tftpThreads() === 0);
      } finally {
        await r.close();
      }
    },
  );

  test(`[${p.name}] a client ERROR ends the transfer`, { timeout: 30_000 }, async (t) => {
    if (skip()) return t.skip(skip());
    const r = await rig(p.native, { f: randomBytes(512 * 10) }, { timeoutMs: 5000 });
    try {
      const c = await r.client();
      c.on('message', (_m: Buffer, ri: { port: number }) =>
        c.send(Buffer.from('\0\x05\0\x00user abort\x01\0', 'latin1'), ri.port, HOST),
      );
      c.send(encodeRequest('RRQ', 'f', 'octet'), r.port, HOST);
      await until('tftp.failed', () => r.events.length >= 2);
      assert.equal(r.events[1]?.kind, 'tftp.failed');
      assert.equal(r.events[1]?.message, 'client sent ERROR 0: user abort?');
      assert.equal(await r.metric('kickstand_tftp_transfers_failed_total', 'client_error'), 1);
      assert.equal(await r.metric('kickstand_tftp_native_transfers_total'), p.native ? 1 : 0);
    } finally {
      await r.close();
    }
  });

  test(
    `[${p.name}] caps count these transfers; stop() cancels them at once and frees thread and socket`,
    { timeout: 30_000 },
    async (t) => {
      if (skip()) return t.skip(skip());
      // a 60 s timeout: only the cancellation can end the held transfers within the test
      const r = await rig(
        p.native,
        { f: randomBytes(600_000) },
        { timeoutMs: 60_000, retries: 1, maxSessions: 10, maxSessionsPerClient: 2 },
      );
      let stopped = false;
      try {
        const held = [await r.client(), await r.client()];
        const gets = held.map((s) => rawGet(s, HOST, r.port, 'f', { silent: true, timeoutMs: 20_000 }));
        await until('2 transfers active', async () => (await r.metric('kickstand_tftp_sessions_active')) === 2);
        if (p.native) await until('2 native threads', () => tftpThreads() === 2);
        const third = await r.get('f'); // same client address: over the per-client cap
        assert.match(third.error?.message ?? '', /busy/);
        assert.equal(await r.metric('kickstand_tftp_requests_refused_total', 'busy'), 1);
        await r.server.stop();
        stopped = true;
        const res = await Promise.all(gets);
        for (const x of res) {
          assert.equal(x.timedOut, false);
          assert.equal(x.error?.message, 'server shutting down');
        }
        // stop() resolves after the transfers reported their end
        assert.equal(await r.metric('kickstand_tftp_transfers_failed_total', 'aborted'), 2);
        assert.equal(await r.metric('kickstand_tftp_sessions_active'), 0);
        assert.equal(await r.metric('kickstand_tftp_native_transfers_total'), p.native ? 2 : 0);
        for (let i = 0; i < 2; i++)
          assert.equal(
            udpSocketExists(Number(res[i]!.tid!.split(':')[1]), held[i]!.address().port),
            false,
            'transfer socket closed',
          );
        if (p.native) await until('native threads ended', () => tftpThreads() === 0);
      } finally {
        if (!stopped) await r.server.stop();
        await r.close();
      }
    },
  );
}

test('netascii, cached buffers and streams stay on the JavaScript path', { timeout: 30_000 }, async (t) => {
  if (native() === null) return t.skip(`native addon not loaded: ${nativeStatus().reason}`);
  const { Readable } = await import('node:stream');
  const data = Buffer.from('line 1\nline 2\n');
  const r = await rig(
    true,
    { t: data },
    {},
    {
      buf: async () => ({ size: data.length, buffer: data }),
      stream: async () => ({ size: data.length, stream: () => Readable.from([data]) }),
    },
  );
  try {
    assert.equal((await r.get('t', { mode: 'netascii' })).data.toString('latin1'), 'line 1\r\nline 2\r\n');
    assert.deepEqual((await r.get('buf')).data, data);
    assert.deepEqual((await r.get('stream')).data, data);
    assert.equal(await r.metric('kickstand_tftp_native_transfers_total'), 0);
    assert.deepEqual((await r.get('t')).data, data); // octet + file: native
    await idle(r);
    assert.equal(await r.metric('kickstand_tftp_native_transfers_total'), 1);
    assert.equal(await r.metric('kickstand_tftp_transfers_completed_total'), 4);
  } finally {
    await r.close();
  }
});
