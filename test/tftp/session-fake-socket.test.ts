/**
 * The transfer state machine driven end to end through createTftpServer with an in-process
 * FAKE UDP network (test/tftp/fake-udp.ts, via the socket factory): no root, no real sockets.
 * Real clients over real sockets are in real-clients.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { tftpSchema, type TftpConfig } from '../../src/config/sections/tftp';
import { ErrorCode, KickstandError } from '../../src/errors';
import { silentLogger } from '../../src/log';
import { decodePacket, encodeAck, encodeError, encodeRequest } from '../../src/tftp/packet';
import { createTftpServer } from '../../src/tftp/server';
import type { TftpContent, TftpEvent } from '../../src/tftp/types';
import { FakeUdpNet, type FakeUdpSocket } from './fake-udp';
import { rawGet, type RawGetOptions } from './raw-client';

const SERVER = '198.18.0.1';
const CLIENT = '198.18.0.50';

interface Rig {
  net: FakeUdpNet;
  events: TftpEvent[];
  registry: Registry;
  get(file: string, o?: RawGetOptions, clientAddr?: string): ReturnType<typeof rawGet>;
  client(addr?: string): FakeUdpSocket;
  stop(): Promise<void>;
  /** Waits (bounded) until the server has no live session: the last ACK reaches it after the client is done. */
  idle(): Promise<void>;
  metric(name: string, label?: string): Promise<number>;
}

async function rig(
  files: Record<string, Buffer | (() => TftpContent | Promise<TftpContent>)>,
  cfg: Partial<TftpConfig> = {},
): Promise<Rig> {
  const net = new FakeUdpNet();
  const events: TftpEvent[] = [];
  const registry = new Registry();
  const config = tftpSchema.parse({ listen: [SERVER], port: 69, timeoutMs: 100, retries: 3, ...cfg });
  const server = createTftpServer({
    config,
    log: silentLogger(),
    metrics: registry,
    socketFactory: net.factory,
    onEvent: (e) => events.push(e),
    handler: async (path) => {
      const f = files[path];
      if (f === undefined) throw new KickstandError(ErrorCode.NOT_FOUND, 'file not found');
      if (typeof f === 'function') return f();
      return { size: f.length, buffer: f };
    },
  });
  await server.start();
  const client = (addr = CLIENT): FakeUdpSocket => net.socket().bind({ port: 0, address: addr });
  return {
    net,
    events,
    registry,
    client,
    get: (file, o, addr) => {
      const c = client(addr);
      return rawGet(c, SERVER, 69, file, o).finally(() => c.close());
    },
    stop: () => server.stop(),
    async idle() {
      for (let i = 0; i < 300; i++) {
        const m = (await registry.getSingleMetric('kickstand_tftp_sessions_active')?.get())?.values[0]?.value ?? 0;
        if (m === 0) return;
        await new Promise((res) => setTimeout(res, 10));
      }
      throw new Error('server sessions still active after 3 s');
    },
    async metric(name, label) {
      const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
      const vals = (m?.values ?? []) as Array<{ value: number; labels: Record<string, string | number> }>;
      return vals
        .filter((v) => label === undefined || Object.values(v.labels).includes(label))
        .reduce((s, v) => s + v.value, 0);
    },
  };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const dataFromServer = (net: FakeUdpNet): number =>
  net.log.filter((d) => d.from.startsWith(SERVER) && d.data[1] === 3).length;

test('lock-step transfer without options: byte-exact, no OACK, one DATA per block', async () => {
  const file = randomBytes(512 * 10 + 100);
  const r = await rig({ 'a.bin': file });
  try {
    const res = await r.get('a.bin');
    assert.equal(res.error, null);
    assert.equal(res.oack, null);
    assert.equal(sha(res.data), sha(file));
    assert.equal(res.dataPackets, 11);
    await r.idle();
    assert.equal(await r.metric('kickstand_tftp_transfers_completed_total'), 1);
    assert.deepEqual(
      r.events.map((e) => e.kind),
      ['tftp.start', 'tftp.done'],
    );
    assert.equal(r.events[1]!.client.localAddress, SERVER);
  } finally {
    await r.stop();
  }
});

test('size a multiple of blksize ends with an empty DATA block', async () => {
  const file = randomBytes(1024);
  const r = await rig({ f: file });
  try {
    const res = await r.get('f', { options: [['blksize', '512']] });
    assert.equal(sha(res.data), sha(file));
    assert.equal(res.dataPackets, 3);
  } finally {
    await r.stop();
  }
});

test('options: OACK lists accepted options only, DATA has the negotiated size', async () => {
  const file = randomBytes(5000);
  const r = await rig({ f: file }, { maxBlksize: 1468 });
  try {
    const res = await r.get('f', {
      options: [
        ['blksize', '9000'],
        ['tsize', '0'],
        ['bogus', '1'],
        ['timeout', '2'],
      ],
    });
    assert.deepEqual(res.oack, [
      ['blksize', '1468'],
      ['tsize', '5000'],
      ['timeout', '2'],
    ]);
    assert.equal(sha(res.data), sha(file));
    assert.equal(res.dataPackets, 4);
  } finally {
    await r.stop();
  }
});

const isAck0 = (d: Buffer): boolean => d.length === 4 && d.readUInt16BE(0) === 4 && d.readUInt16BE(2) === 0;
const oacksFromServer = (net: FakeUdpNet): number =>
  net.log.filter((d) => d.from.startsWith(SERVER) && d.data[1] === 6).length;

test('a lost ACK 0 gets the OACK resent on the timer (RFC 2347); a duplicated ACK 0 resends nothing', async () => {
  const file = randomBytes(1000 * 20 + 3);
  const lost = await rig({ f: file }, { maxBlksize: 1000 });
  try {
    let dropped = 0;
    lost.net.filter = (d) => (d.from.startsWith(CLIENT) && isAck0(d.data) && dropped++ === 0 ? 'drop' : 'pass');
    const res = await lost.get('f', { options: [['blksize', '1000']] });
    assert.equal(sha(res.data), sha(file));
    await lost.idle();
    assert.equal(dropped, 2, 'the client ACKed 0 twice: once lost, once for the resent OACK');
    assert.equal(oacksFromServer(lost.net), 2, 'the OACK was sent again after the timeout');
    assert.equal(dataFromServer(lost.net), 21, 'no DATA before ACK 0, none resent');
    assert.equal(await lost.metric('kickstand_tftp_retransmits_total'), 1);
  } finally {
    await lost.stop();
  }
  const dup = await rig({ f: file }, { maxBlksize: 1000 });
  try {
    dup.net.filter = (d) => (d.from.startsWith(CLIENT) && isAck0(d.data) ? 'dup' : 'pass');
    const res = await dup.get('f', { options: [['blksize', '1000']] });
    assert.equal(sha(res.data), sha(file));
    await dup.idle();
    assert.equal(oacksFromServer(dup.net), 1);
    assert.equal(dataFromServer(dup.net), 21);
    assert.equal(await dup.metric('kickstand_tftp_retransmits_total'), 0);
    assert.ok(
      (await dup.metric('kickstand_tftp_duplicate_acks_total')) >= 1,
      'the second ACK 0 counted as a duplicate',
    );
  } finally {
    await dup.stop();
  }
});

test("Sorcerer's Apprentice: every ACK sent twice never causes a resend (RFC 1123 4.2.3.1)", async () => {
  const file = randomBytes(512 * 300);
  const r = await rig({ f: file });
  try {
    const res = await r.get('f', { duplicateAcks: true });
    assert.equal(sha(res.data), sha(file));
    await r.idle();
    assert.equal(dataFromServer(r.net), 301, 'exactly one DATA per block');
    assert.equal(await r.metric('kickstand_tftp_retransmits_total'), 0);
    assert.ok((await r.metric('kickstand_tftp_duplicate_acks_total')) >= 300);
  } finally {
    await r.stop();
  }
});

test('a lost DATA is resent once on the timer; a stale re-ACK does not add resends', async () => {
  const file = randomBytes(512 * 40);
  const r = await rig({ f: file }, { timeoutMs: 150 });
  try {
    // the client "loses" block 10 and re-ACKs 9 after 60 ms (iPXE-style), before the server timer
    const res = await r.get('f', { dropBlocksOnce: [10], reackMs: 60 });
    assert.equal(sha(res.data), sha(file));
    await r.idle();
    assert.equal(dataFromServer(r.net), 41 + 1, 'one extra DATA: the timer resend of block 10');
    assert.equal(await r.metric('kickstand_tftp_retransmits_total'), 1);
  } finally {
    await r.stop();
  }
});

test('windowsize (RFC 7440): windows of N, a gap resends from the ACKed block + 1', async () => {
  const file = randomBytes(1000 * 100 + 7);
  const r = await rig({ f: file }, { maxBlksize: 1000, maxWindowsize: 16 });
  try {
    const clean = await r.get('f', {
      options: [
        ['blksize', '1000'],
        ['windowsize', '16'],
      ],
    });
    assert.deepEqual(clean.oack, [
      ['blksize', '1000'],
      ['windowsize', '16'],
    ]);
    assert.equal(sha(clean.data), sha(file));
    assert.equal(clean.dataPackets, 101);
    assert.equal(clean.acksSent, 1 + Math.ceil(101 / 16));
    const lossy = await r.get('f', {
      options: [
        ['blksize', '1000'],
        ['windowsize', '16'],
      ],
      dropBlocksOnce: [5, 40, 41, 101],
    });
    assert.equal(sha(lossy.data), sha(file));
    assert.ok(lossy.dataPackets < 101 + 4 * 16, `${lossy.dataPackets} DATA packets`);
  } finally {
    await r.stop();
  }
});

test('block numbers wrap past 65535 (blksize 8, 70001 blocks)', async () => {
  const file = randomBytes(8 * 70000);
  const r = await rig({ f: file }, { maxWindowsize: 64 });
  try {
    const res = await r.get('f', {
      options: [
        ['blksize', '8'],
        ['windowsize', '64'],
      ],
      timeoutMs: 60_000,
    });
    assert.equal(res.error, null);
    assert.equal(res.data.length, file.length);
    assert.equal(sha(res.data), sha(file));
  } finally {
    await r.stop();
  }
});

test('streamed content: read in chunks, byte-exact, and a short stream fails the transfer', async () => {
  const file = randomBytes(300_000);
  const chunks = (b: Buffer): Readable =>
    Readable.from([b.subarray(0, 1000), b.subarray(1000, 150_001), b.subarray(150_001)]);
  const r = await rig({
    s: () => ({ size: file.length, stream: () => chunks(file) }),
    short: () => ({ size: file.length + 10, stream: () => chunks(file) }),
    nasc: () => ({ size: 5, stream: () => Readable.from([Buffer.from('a\nb'), Buffer.from('\rc')]) }),
  });
  try {
    const res = await r.get('s', {
      options: [
        ['blksize', '1468'],
        ['windowsize', '8'],
      ],
    });
    assert.equal(sha(res.data), sha(file));
    const bad = await r.get('short', { options: [['blksize', '1468']] });
    assert.notEqual(bad.error, null);
    await r.idle();
    assert.equal(await r.metric('kickstand_tftp_transfers_failed_total', 'content'), 1);
    const n = await r.get('nasc', { mode: 'netascii', options: [['tsize', '0']] });
    assert.equal(n.data.toString('latin1'), 'a\r\nb\r\0c');
    assert.equal(n.oack, null, 'streamed netascii has no known tsize, so no OACK');
  } finally {
    await r.stop();
  }
});

test('netascii from a buffer announces the converted tsize', async () => {
  const r = await rig({ t: Buffer.from('l1\nl2\n') });
  try {
    const res = await r.get('t', { mode: 'NetASCII', options: [['tsize', '0']] });
    assert.deepEqual(res.oack, [['tsize', '8']]);
    assert.equal(res.data.toString('latin1'), 'l1\r\nl2\r\n');
  } finally {
    await r.stop();
  }
});

test('a stalled client is abandoned after the retries and its session freed', async () => {
  const r = await rig({ f: randomBytes(5000) }, { timeoutMs: 100, retries: 2 });
  try {
    const before = r.net.open;
    const res = await r.get('f', { silent: true, timeoutMs: 1500 });
    assert.equal(res.timedOut, false, 'server sent ERROR timeout');
    assert.equal(res.error?.message, 'timeout');
    assert.equal(res.dataPackets, 3, 'DATA 1 sent once plus 2 retransmissions');
    await r.idle();
    assert.equal(await r.metric('kickstand_tftp_transfers_failed_total', 'timeout'), 1);
    assert.equal(await r.metric('kickstand_tftp_sessions_active'), 0);
    assert.equal(r.net.open, before, 'transfer socket closed');
  } finally {
    await r.stop();
  }
});

test('refusals: WRQ (ERROR 2, nothing written), missing file (1), bad mode (4), malformed request (4)', async () => {
  const r = await rig({ f: Buffer.from('x') });
  try {
    const c = r.client();
    const replies: Buffer[] = [];
    c.on('message', (m: Buffer) => replies.push(m));
    c.send(encodeRequest('WRQ', 'pxelinux.cfg/default', 'octet'), 69, SERVER);
    c.send(encodeRequest('RRQ', 'nope', 'octet'), 69, SERVER);
    c.send(encodeRequest('RRQ', 'f', 'mail'), 69, SERVER);
    c.send(Buffer.from('\0\x01f\0', 'latin1'), 69, SERVER);
    c.send(Buffer.from([0, 4]), 69, SERVER); // junk: dropped silently
    for (let i = 0; i < 50 && replies.length < 4; i++) await new Promise((res) => setTimeout(res, 10));
    const codes = replies
      .map((m) => decodePacket(m))
      .map((p) => (p.op === 'ERROR' ? p.code : -1))
      .sort();
    assert.deepEqual(codes, [1, 2, 4, 4]);
    assert.equal(await r.metric('kickstand_tftp_requests_refused_total', 'write'), 1);
    assert.equal(await r.metric('kickstand_tftp_packets_dropped_total', 'short'), 1);
    assert.equal(r.events.filter((e) => e.kind === 'tftp.refused').length, 4);
    c.close();
  } finally {
    await r.stop();
  }
});

test('limits: over the per-client cap ERROR 0 busy; at the global cap no answer (deferred), and the retried RRQ is served once a transfer ends', async () => {
  const file = randomBytes(600);
  const r = await rig({ f: file }, { maxSessions: 3, maxSessionsPerClient: 2, timeoutMs: 200, retries: 1 });
  try {
    // silent clients hold their sessions open (until their own timeout: 200 ms x 2 tries)
    const held = [r.client(), r.client(), r.client('198.18.0.51')];
    for (const c of held) c.send(encodeRequest('RRQ', 'f', 'octet'), 69, SERVER);
    await new Promise((res) => setTimeout(res, 30));
    const perClient = await r.get('f', {}, CLIENT);
    assert.equal(perClient.error?.code, 0);
    assert.match(perClient.error.message, /busy/);
    assert.equal(await r.metric('kickstand_tftp_requests_refused_total', 'busy'), 1);
    // At the global cap a PXE ROM must not be told "busy" (it would boot the next device): silence.
    const global = await r.get('f', { timeoutMs: 150 }, '198.18.0.52');
    assert.equal(global.error, null, 'no ERROR at the global cap');
    assert.equal(global.timedOut, true);
    assert.equal(await r.metric('kickstand_tftp_requests_deferred_total'), 1);
    await r.idle(); // the held transfers time out and free their slots
    const retried = await r.get('f', {}, '198.18.0.52');
    assert.equal(retried.error, null);
    assert.equal(sha(retried.data), sha(file));
    for (const c of held) c.close();
  } finally {
    await r.stop();
  }
});

test('deferred RRQs are served first come, first served as slots free, without waiting for a retransmission', async () => {
  const file = randomBytes(600);
  // timeoutMs 1000: a queued RRQ stays wanted for 2 s without a resend, far past this test's waits.
  const r = await rig({ f: file }, { maxSessions: 1, timeoutMs: 1000, retries: 1 });
  try {
    const held = r.client();
    let heldTid = 0;
    held.on('message', (_m: Buffer, ri: { port: number }) => (heldTid = ri.port));
    held.send(encodeRequest('RRQ', 'f', 'octet'), 69, SERVER); // never ACKs: holds the one slot
    await new Promise((res) => setTimeout(res, 20));
    const order = ['198.18.0.61', '198.18.0.62', '198.18.0.63'];
    const gets: Array<ReturnType<typeof rawGet>> = [];
    for (const addr of order) {
      gets.push(r.get('f', { timeoutMs: 5000 }, addr)); // one RRQ each: raw-client never resends it
      await new Promise((res) => setTimeout(res, 5));
    }
    assert.ok(heldTid > 0, 'the held transfer started');
    held.send(encodeError(0, 'client gives up'), heldTid, SERVER); // frees the slot at once
    const got = await Promise.all(gets);
    for (const g of got) {
      assert.equal(g.error, null);
      assert.equal(sha(g.data), sha(file));
    }
    assert.deepEqual(
      r.events.filter((e) => e.kind === 'tftp.start' && e.client.address !== CLIENT).map((e) => e.client.address),
      order,
    );
    assert.equal(await r.metric('kickstand_tftp_requests_deferred_total'), 3);
    const rrqs = r.net.log.filter((d) => d.from.startsWith('198.18.0.6') && d.data[1] === 1).length;
    assert.equal(rrqs, 3, 'each client sent its RRQ once: the queue, not a retransmission, served it');
    held.close();
  } finally {
    await r.stop();
  }
});

test('a retransmitted RRQ does not start a second session; other TIDs do not disturb a transfer', async () => {
  const file = randomBytes(512 * 20);
  const r = await rig({ f: file }, { timeoutMs: 300 });
  try {
    const c = r.client();
    const got: Buffer[] = [];
    let tid = 0;
    const intruder = r.client('198.18.0.66');
    await new Promise<void>((resolve) => {
      c.on('message', (m: Buffer, ri: { port: number }) => {
        const p = decodePacket(m);
        if (p.op !== 'DATA') return;
        tid = ri.port;
        if (p.block === got.length + 1) got.push(p.data);
        intruder.send(encodeAck(p.block + 1), tid, SERVER); // forged ACK from another TID
        c.send(encodeAck(p.block), tid, SERVER);
        if (p.data.length < 512) resolve();
      });
      const rrq = encodeRequest('RRQ', 'f', 'octet');
      c.send(rrq, 69, SERVER);
      c.send(rrq, 69, SERVER);
    });
    assert.equal(sha(Buffer.concat(got)), sha(file));
    await r.idle();
    assert.equal(await r.metric('kickstand_tftp_transfers_started_total'), 1);
    assert.equal(await r.metric('kickstand_tftp_packets_dropped_total', 'duplicate_request'), 1);
    assert.equal(dataFromServer(r.net), 21);
    c.close();
    intruder.close();
  } finally {
    await r.stop();
  }
});

test('a client ERROR ends the transfer; stop() aborts live sessions', async () => {
  const r = await rig({ f: randomBytes(512 * 10) }, { timeoutMs: 5000 });
  try {
    const c = r.client();
    c.on('message', (_m: Buffer, ri: { port: number }) =>
      c.send(Buffer.from('\0\x05\0\x00user abort\0', 'latin1'), ri.port, SERVER),
    );
    c.send(encodeRequest('RRQ', 'f', 'octet'), 69, SERVER);
    for (let i = 0; i < 50 && r.events.length < 2; i++) await new Promise((res) => setTimeout(res, 10));
    assert.equal(r.events[1]?.kind, 'tftp.failed');
    assert.equal(await r.metric('kickstand_tftp_transfers_failed_total', 'client_error'), 1);
    c.close();
    const h = r.client();
    h.send(encodeRequest('RRQ', 'f', 'octet'), 69, SERVER);
    await new Promise((res) => setTimeout(res, 20));
  } finally {
    await r.stop();
  }
  assert.equal(await r.metric('kickstand_tftp_transfers_failed_total', 'aborted'), 1);
  assert.equal(await r.metric('kickstand_tftp_sessions_active'), 0);
});

test('file content (FileHandle, readv into the packet ring): sizes 0, exact multiple, odd; truncation fails', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ks-tftp-fh-'));
  const files: Record<string, Buffer> = {
    empty: Buffer.alloc(0),
    exact: randomBytes(1468 * 300),
    odd: randomBytes(1468 * 777 + 5),
    cut: randomBytes(3_000_000),
  };
  for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, k), v);
  const opened = async (k: string): Promise<TftpContent> => {
    const fh = await open(join(dir, k), 'r');
    const size = (await fh.stat()).size;
    if (k === 'cut') truncateSync(join(dir, k), 1_000_000); // shrinks after its size was announced (T11)
    return { size, file: fh };
  };
  const r = await rig(Object.fromEntries(Object.keys(files).map((k) => [k, () => opened(k)])));
  try {
    for (const k of ['empty', 'exact', 'odd']) {
      for (const opts of [
        [['blksize', '1468']],
        [
          ['blksize', '1468'],
          ['windowsize', '16'],
        ],
        [],
      ] as Array<Array<[string, string]>>) {
        const res = await r.get(k, { options: opts, timeoutMs: 30_000 });
        assert.equal(res.error, null, `${k} ${JSON.stringify(opts)}`);
        assert.equal(sha(res.data), sha(files[k]!), `${k} ${JSON.stringify(opts)}`);
      }
    }
    const cut = await r.get('cut', { options: [['blksize', '1468']] });
    assert.notEqual(cut.error, null);
    assert.ok(cut.data.length <= 1_000_000);
    await r.idle();
    assert.equal(await r.metric('kickstand_tftp_transfers_failed_total', 'content'), 1);
  } finally {
    await r.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
