/**
 * @module tftp/server
 * Kickstand's read-only TFTP server: one listening socket per configured local address, one
 * socket per transfer, bound to that same local address (Node cannot read IP_PKTINFO, so this is
 * how replies leave from the address the client sent to; reliability T13) and connected to the
 * client's TID (RFC 1350 §4; the kernel then drops packets from any other TID).
 *
 * Interface the daemon wires in:
 * ```ts
 * const tftp = createTftpServer({ config, handler: createFileHandler(imagesDir), log, metrics,
 *   onEvent: (e) => timeline(e) });            // e.kind: tftp.start | tftp.done | tftp.failed | tftp.refused
 * await tftp.start(); tftp.addresses(); await tftp.stop();
 * ```
 * `handler(path, client)` returns `{size, buffer}` or `{size, stream}` (see ./types) and throws
 * KickstandError PATH_REFUSED (→ ERROR 2) or NOT_FOUND (→ ERROR 1). WRQ is always refused.
 * Limits (reliability T10): at `maxSessions` transfers a new read request is left unanswered and
 * counted as deferred: it joins a queue and is started, oldest first, as soon as a transfer ends,
 * without waiting for the client's next retransmission (RFC 1350 §2: on timeout it resends; a
 * resent RRQ keeps its place). A deferred RRQ not resent within two `timeoutMs` is dropped (its
 * client gave up, or resends and queues again); past `DEFERRED_MAX` queued, a request is left to its own retransmission as
 * before. A PXE ROM told "busy" gives up and boots the next device instead,
 * so in a boot storm an ERROR turns a wait into a failed boot (bench/RESULTS.md, boot storm). Over
 * `maxSessionsPerClient` (one address opening many transfers at once) the answer is ERROR 0
 * "server busy".
 *
 * Data phase: a plain file in octet mode runs on a native thread with its own socket
 * (./native-session, native/tftp.c) when the daemon passes the addon's data phase (`dataPhase`)
 * and the server owns its sockets (no `socketFactory`); everything else (netascii, buffers, streams, fake sockets) runs on the
 * JavaScript session (./session). Both count against the caps, report the same metrics and
 * events, and are aborted by `stop()`.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { FileHandle } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import type { TftpConfig } from '../config/sections/tftp';
import { ErrorCode, isKickstandError } from '../errors';
import type { Logger } from '../log';
import type { NativeTftp } from '../native/tftp-types';
import { createTftpMetrics, type TftpMetrics } from './metrics';
import { netasciiSize } from './netascii';
import { negotiate } from './options';
import { TftpErrorCode, decodePacket, encodeError, printable, type RequestPacket } from './packet';
import { NativeSession, nativeEligible } from './native-session';
import { Session, type SessionResult } from './session';
import { BlockSource } from './source';
import type { TftpClient, TftpContent, TftpEvent, TftpHandler } from './types';

export type { TftpClient, TftpContent, TftpEvent, TftpHandler } from './types';
export { createFileHandler } from './files';

export interface TftpServerDeps {
  config: TftpConfig;
  handler: TftpHandler;
  log: Logger;
  metrics: Registry;
  /** Sockets for the listeners and JavaScript sessions (tests: a fake network). When set, every
   * transfer runs on the JavaScript path, since a native transfer opens its own socket. */
  socketFactory?: (type: 'udp4') => Socket;
  onEvent?: (e: TftpEvent) => void;
  /**
   * The addon's TFTP data phase, chosen once by the daemon (daemon/fast-paths.ts). Absent or
   * null: every transfer runs on the JavaScript session.
   */
  dataPhase?: NativeTftp | null;
}

/** What the server holds per live transfer: either session kind. */
interface Transfer {
  abort(message: string): void;
  /** Native sessions end on their thread: `stop()` waits for this. */
  readonly ended?: Promise<void>;
}

/**
 * A deferred RRQ not resent within this many of the server's own retransmission timeouts
 * (`tftp.timeoutMs`) is dropped from the queue: its client has given up, or it resends and
 * queues again. Serving a request whose client is gone would hold a slot for a whole session
 * timeout, in a storm when slots are scarcest (bench/RESULTS.md, boot storm at N=300).
 */
export const DEFERRED_STALE_TIMEOUTS = 2;
/** Most deferred RRQs queued; beyond, a request waits for its own retransmission. */
export const DEFERRED_MAX = 4096;

interface Deferred {
  sock: Socket;
  client: TftpClient;
  req: RequestPacket;
  /** Date.now() when the RRQ (or its last retransmission) arrived. */
  seenAt: number;
}

/** How long `stop()` waits for native threads to report after their cancellation. */
const STOP_WAIT_MS = 3000;

export interface TftpServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  addresses(): Array<{ address: string; port: number }>;
}

function bindSocket(s: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error): void => reject(e);
    s.once('error', onErr);
    s.bind({ port, address, exclusive: true }, () => {
      s.removeListener('error', onErr);
      resolve();
    });
  });
}

function connectSocket(s: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error): void => reject(e);
    s.once('error', onErr);
    s.connect(port, address, () => {
      s.removeListener('error', onErr);
      resolve();
    });
  });
}

export function createTftpServer(deps: TftpServerDeps): TftpServer {
  const { config, handler } = deps;
  const log = deps.log.child({ component: 'tftp' });
  const m: TftpMetrics = createTftpMetrics(deps.metrics);
  const factory = deps.socketFactory ?? ((t: 'udp4') => createSocket({ type: t }));
  const binding: NativeTftp | null = deps.socketFactory ? null : (deps.dataPhase ?? null);
  const listeners: Socket[] = [];
  /** Sessions (and reservations while the handler runs) by client TID "addr:port". */
  const sessions = new Map<string, Transfer | null>();
  const perClient = new Map<string, number>();
  /** RRQs deferred at the global cap, by client TID, oldest first (a Map keeps insertion order). */
  const deferred = new Map<string, Deferred>();
  let stopped = false;

  const emit = (
    kind: TftpEvent['kind'],
    client: TftpClient,
    path: string,
    message: string,
    data: Record<string, unknown>,
  ): void => {
    try {
      deps.onEvent?.({ kind, client, path: printable(path), message, data });
    } catch (e) {
      log.warn({ err: e }, 'tftp event listener threw');
    }
  };

  const release = (key: string, address: string): void => {
    sessions.delete(key);
    const n = (perClient.get(address) ?? 1) - 1;
    if (n <= 0) perClient.delete(address);
    else perClient.set(address, n);
    drain();
  };

  /** Starts deferred RRQs, oldest first, while there are free slots. */
  function drain(): void {
    const now = Date.now();
    for (const [key, d] of deferred) {
      if (stopped || sessions.size >= config.maxSessions) return;
      deferred.delete(key);
      if (now - d.seenAt > DEFERRED_STALE_TIMEOUTS * config.timeoutMs) continue;
      admit(d.sock, d.client, key, d.req, true);
    }
  }

  function refuse(sock: Socket, client: TftpClient, path: string, code: number, reason: string, message: string): void {
    m.refused.inc({ reason });
    try {
      sock.send(encodeError(code, message), client.port, client.address);
    } catch {
      /* listener closed */
    }
    const level = reason === 'not_found' ? 'debug' : reason === 'path' ? 'warn' : 'info';
    log[level]({ client: client.address, port: client.port, path: printable(path), reason }, 'tftp request refused');
    emit('tftp.refused', client, path, message, { reason, errorCode: code });
  }

  function onDatagram(sock: Socket, localAddress: string, msg: Buffer, r: RemoteInfo): void {
    if (stopped) return;
    const p = decodePacket(msg);
    const client: TftpClient = { address: r.address, port: r.port, localAddress };
    if (p.op === 'INVALID') {
      m.malformed.inc({ reason: p.reason });
      log.debug({ client: r.address, reason: p.reason, detail: p.detail }, 'tftp malformed packet dropped');
      // A broken request still gets an answer, so the client does not wait for a timeout.
      if (p.opcode === 1 || p.opcode === 2)
        refuse(sock, client, '', TftpErrorCode.ILLEGAL_OPERATION, 'malformed', 'malformed request');
      return;
    }
    if (p.op === 'WRQ')
      return refuse(
        sock,
        client,
        p.filename,
        TftpErrorCode.ACCESS_VIOLATION,
        'write',
        'read-only server: write requests are refused',
      );
    if (p.op !== 'RRQ') {
      m.malformed.inc({ reason: 'unexpected_opcode' });
      return;
    }
    if (p.mode !== 'octet' && p.mode !== 'netascii') {
      return refuse(
        sock,
        client,
        p.filename,
        TftpErrorCode.ILLEGAL_OPERATION,
        'mode',
        `unsupported mode ${printable(p.mode, 20)}`,
      );
    }
    const key = `${r.address}:${r.port}`;
    if (sessions.has(key)) {
      m.malformed.inc({ reason: 'duplicate_request' }); // the RRQ was retransmitted: the session answers
      return;
    }
    const waiting = deferred.get(key);
    if (waiting !== undefined) {
      waiting.seenAt = Date.now(); // resent while deferred: still wanted, same place in the queue
      return;
    }
    admit(sock, client, key, p);
  }

  /**
   * Starts the transfer `key` asks for, or refuses it (per-client cap), or defers it (global cap).
   * `queued`: it comes off the deferred queue, so the requests still queued are behind it.
   */
  function admit(sock: Socket, client: TftpClient, key: string, p: RequestPacket, queued = false): void {
    const r = client;
    if ((perClient.get(r.address) ?? 0) >= config.maxSessionsPerClient) {
      return refuse(
        sock,
        client,
        p.filename,
        TftpErrorCode.NOT_DEFINED,
        'busy',
        'server busy: too many transfers, try again later',
      );
    }
    if (sessions.size >= config.maxSessions || (!queued && deferred.size > 0)) {
      // Behind the queue even if a slot is free this instant: first come, first served.
      if (!queued) m.deferred.inc();
      if (deferred.size < DEFERRED_MAX) deferred.set(key, { sock, client, req: p, seenAt: Date.now() });
      if (sessions.size < config.maxSessions) drain();
      return;
    }
    sessions.set(key, null);
    perClient.set(r.address, (perClient.get(r.address) ?? 0) + 1);
    void begin(sock, client, key, p).catch((e: unknown) => {
      release(key, r.address);
      log.error({ err: e, client: r.address }, 'tftp transfer set-up failed');
      refuse(sock, client, p.filename, TftpErrorCode.NOT_DEFINED, 'error', 'internal error');
    });
  }

  async function begin(sock: Socket, client: TftpClient, key: string, req: RequestPacket): Promise<void> {
    let content: TftpContent;
    try {
      content = await handler(req.filename, client);
    } catch (e) {
      release(key, client.address);
      if (isKickstandError(e) && e.code === ErrorCode.PATH_REFUSED) {
        return refuse(
          sock,
          client,
          req.filename,
          TftpErrorCode.ACCESS_VIOLATION,
          'path',
          `access violation: ${e.message}`,
        );
      }
      if (isKickstandError(e) && (e.code === ErrorCode.NOT_FOUND || e.code === ErrorCode.FORBIDDEN)) {
        const code = e.code === ErrorCode.NOT_FOUND ? TftpErrorCode.FILE_NOT_FOUND : TftpErrorCode.ACCESS_VIOLATION;
        return refuse(
          sock,
          client,
          req.filename,
          code,
          e.code === ErrorCode.NOT_FOUND ? 'not_found' : 'forbidden',
          e.message,
        );
      }
      throw e;
    }
    const dispose = (): void => {
      if ('stream' in content) content.dispose?.();
      if ('file' in content) void content.file.close().catch(() => undefined);
    };
    if (stopped) return dispose();
    if (binding && nativeEligible(content, req.mode)) {
      try {
        return startSession(null, client, key, req, content, content);
      } catch (e) {
        dispose();
        throw e;
      }
    }
    let ts: Socket;
    try {
      ts = factory('udp4');
      await bindSocket(ts, 0, client.localAddress);
      await connectSocket(ts, client.port, client.address);
    } catch (e) {
      dispose();
      throw e;
    }
    startSession(ts, client, key, req, content, null);
  }

  /**
   * Negotiates and starts the transfer: on the JavaScript session over `ts`, or natively for
   * `file` (which then opens its own socket; a failure to open it throws before anything counts).
   */
  function startSession(
    ts: Socket | null,
    client: TftpClient,
    key: string,
    req: RequestPacket,
    content: TftpContent,
    file: { size: number; file: FileHandle } | null,
  ): void {
    const netascii = req.mode === 'netascii';
    const size = !netascii
      ? content.size
      : 'buffer' in content
        ? netasciiSize(content.buffer.subarray(0, content.size))
        : undefined;
    const negotiated = negotiate(
      req.options,
      { maxBlksize: config.maxBlksize, maxWindowsize: config.maxWindowsize },
      size,
    );
    const info = { blksize: negotiated.blksize, windowsize: negotiated.windowsize, size: size ?? null, mode: req.mode };
    const onEnd = (res: SessionResult, timeouts?: number): void =>
      finished(key, client, req.filename, info, res, timeouts);
    let session: Transfer;
    let js: Session | null = null;
    if (file && binding) {
      const ns = new NativeSession({
        binding,
        client,
        file: file.file,
        size: file.size,
        negotiated,
        timeoutMs: config.timeoutMs,
        retries: config.retries,
        onEnd,
      });
      ns.start();
      m.native.inc();
      session = ns;
    } else {
      const source = new BlockSource(content, negotiated.blksize, netascii, negotiated.windowsize);
      js = new Session({
        socket: ts!,
        client,
        source,
        negotiated,
        timeoutMs: config.timeoutMs,
        retries: config.retries,
        onEnd,
      });
      session = js;
    }
    sessions.set(key, session);
    m.started.inc();
    m.active.inc();
    log.debug(
      { client: client.address, port: client.port, path: printable(req.filename), native: file !== null, ...info },
      'tftp transfer started',
    );
    emit('tftp.start', client, req.filename, 'transfer started', info);
    js?.start(); // a native thread already runs; its end arrives through the event loop, after this
  }

  function finished(
    key: string,
    client: TftpClient,
    path: string,
    info: Record<string, unknown>,
    r: SessionResult,
    timeouts?: number,
  ): void {
    release(key, client.address);
    m.active.dec();
    m.bytes.inc(r.bytes);
    m.retransmits.inc(r.retransmits);
    m.duplicateAcks.inc(r.duplicateAcks);
    if (r.ignored > 0) m.malformed.inc({ reason: 'in_session' }, r.ignored);
    const data = {
      ...info,
      bytes: r.bytes,
      blocks: r.blocks,
      retransmits: r.retransmits,
      duplicateAcks: r.duplicateAcks,
      durationMs: r.durationMs,
    };
    const fields = {
      client: client.address,
      port: client.port,
      path: printable(path),
      ...data,
      ...(timeouts === undefined ? {} : { timeouts }),
    };
    if (r.ok) {
      m.completed.inc();
      log.info(fields, 'tftp transfer complete');
      emit('tftp.done', client, path, 'transfer complete', data);
    } else {
      m.failed.inc({ reason: r.reason ?? 'unknown' });
      log.info({ ...fields, reason: r.reason, detail: r.message }, 'tftp transfer failed');
      emit('tftp.failed', client, path, r.message, { ...data, reason: r.reason });
    }
  }

  return {
    async start() {
      stopped = false;
      const addrs = config.listen.length > 0 ? config.listen : ['0.0.0.0'];
      for (const address of addrs) {
        const s = factory('udp4');
        await bindSocket(s, config.port, address);
        s.on('message', (msg: Buffer, r: RemoteInfo) => onDatagram(s, address, msg, r));
        s.on('error', (e: Error) => log.warn({ err: e, address }, 'tftp listener socket error'));
        listeners.push(s);
      }
      log.info(
        { addresses: listeners.map((s) => s.address()), dataPhase: binding ? 'native for plain files' : 'javascript' },
        'tftp listening',
      );
    },
    async stop() {
      stopped = true;
      deferred.clear();
      for (const s of listeners.splice(0)) {
        await new Promise<void>((res) => s.close(() => res()));
      }
      const live = [...sessions.values()];
      for (const s of live) s?.abort('server shutting down');
      // Native threads wake at once on cancellation; their results arrive through the event loop.
      const pending = live.map((s) => s?.ended).filter((p): p is Promise<void> => p !== undefined);
      if (pending.length > 0) {
        let timer: NodeJS.Timeout | undefined;
        const late = await Promise.race([
          Promise.all(pending).then(() => false),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(true), STOP_WAIT_MS))),
        ]);
        clearTimeout(timer);
        if (late) log.warn({ transfers: pending.length }, 'tftp native transfers did not end in time after stop');
      }
    },
    addresses() {
      return listeners.map((s) => {
        const a = s.address();
        return { address: a.address, port: a.port };
      });
    },
  };
}
