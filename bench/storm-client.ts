/**
 * @module bench/storm-client
 * Kickstand's own boot-storm client: N simulated BIOS machines boot at once, each as a PXE ROM
 * and then iPXE would, through a DHCP relay. bench/bootstorm.sh runs it (standalone mode) inside
 * the client namespace; it can also be run by hand there.
 *
 *   node --import tsx bench/storm-client.ts run --server IP --relay IP -n N --out FILE [options]
 *   node --import tsx bench/storm-client.ts report FILE...      (markdown tables on stdout)
 *
 * Each client, in order (the step names of the JSON lines and tables):
 *  dhcp_rom   DISCOVER/OFFER/REQUEST/ACK as a PXE ROM: option 60 "PXEClient:Arch:00000:UNDI:002001",
 *             93 = 0 (BIOS), 94 (UNDI 2.1), 97 (UUID), 55, no client identifier; retransmitted
 *             after 4, 8, 16 and 32 s (PXE 2.1 §2.2.1); a NAK restarts at DISCOVER (RFC 2131
 *             §3.1, bounded by --nak-restarts).
 *  tftp       RRQ of the ACK's boot file (option 67, else the file field) from next-server
 *             (siaddr, else option 66, else 54), octet, `blksize` (1468: what an Ethernet ROM asks,
 *             RFC 2348) and `tsize` 0 (RFC 2349); lock-step, each block ACKed; the RRQ or last
 *             ACK resent after --tftp-timeout, at most --tftp-retries times in a row.
 *  dhcp_ipxe  a second DORA as iPXE: option 77 user class "iPXE" (RFC 3004), 175 (iPXE's
 *             feature options), 61 client identifier 01:MAC, 60/93/94/97 as before;
 *             retransmitted after 1, 2, 4 and 8 s (iPXE's doubling DHCP timer).
 *  script     GET of the ACK's boot file (an http:// URL: Kickstand's /boot.ipxe), then of each
 *             script it chains to (/ipxe/<mac>), read as bench/storm/script.ts says.
 *  kernel     GET of the URL of the script's `kernel` line.
 *  initrd     GET of its `initrd` line(s).
 *  kickstart  GET of the `inst.ks=` URL of the kernel command line (Kickstand's /ks/<token>), as
 *             the installer does once it runs.
 * A failed step ends that client's boot, with a reason. DHCP goes through one relay socket
 * bound to RELAY:67 (--relay-port): every request is sent to SERVER:67 with giaddr = RELAY, and
 * the server answers that socket; replies are matched by xid and chaddr. TFTP and HTTP sockets
 * are bound to the address the client leased (the client namespace has the whole client subnet
 * on lo, bench/bootstorm.sh), so the server sees one address per machine, as Kickstand's
 * address binding of scripts and kickstarts expects (docs/install-flow.md).
 * Downloads whose base name is a file in --assets are checked against it: size, and with
 * --verify sha256 the SHA-256 of the body (the TFTP loader is always hashed: it is small).
 * --timeout bounds the whole storm: clients still running then fail with "storm deadline".
 *
 * Output (--out): one JSON line per client (bench/storm/report.ts ClientRecord), then one `run`
 * line; a one-line summary on stderr. Exit status 0 when every client booted, 3 when some
 * failed, 2 on a usage error.
 */
import { createHash } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MessageType, Opt } from '../src/dhcp/constants';
import { decodePacket, type DhcpPacket } from '../src/dhcp/packet';
import { decodePacket as decodeTftp, encodeAck, encodeRequest } from '../src/tftp/packet';
import {
  markdown,
  parseRunFile,
  percentile,
  type ClientRecord,
  type RunRecord,
  type RunStats,
  type Step,
} from './storm/report';
import { dhcpRequest } from './storm/requests';
import { kickstartArg, planScript } from './storm/script';

// ---- options -----------------------------------------------------------------------------

interface RunOptions {
  server: string;
  relay: string;
  n: number;
  out: string;
  label: string;
  run: string;
  macPrefix: Buffer;
  assets: string | undefined;
  verify: 'size' | 'sha256';
  timeoutS: number;
  spreadMs: number;
  dhcpPort: number;
  relayPort: number;
  tftpPort: number;
  blksize: number;
  tftpTimeoutS: number;
  tftpRetries: number;
  nakRestarts: number;
}

class UsageError extends Error {}

function parseRunOptions(argv: string[]): RunOptions {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i]!;
    if (!k.startsWith('-') || argv[i + 1] === undefined) throw new UsageError(`expected --option value at ${k}`);
    m.set(k.replace(/^-+/, ''), argv[i + 1]!);
  }
  const str = (k: string, dflt?: string): string => {
    const v = m.get(k) ?? dflt;
    if (v === undefined) throw new UsageError(`--${k} is required`);
    return v;
  };
  const num = (k: string, dflt: number, min: number, max: number): number => {
    const v = Number(m.get(k) ?? dflt);
    if (!Number.isFinite(v) || v < min || v > max) throw new UsageError(`--${k}: ${min}..${max}`);
    return v;
  };
  const prefix = Buffer.from(
    str('mac-prefix', '02:62:73:00')
      .split(':')
      .map((h) => parseInt(h, 16)),
  );
  if (prefix.length !== 4 || prefix.some((b) => Number.isNaN(b))) throw new UsageError('--mac-prefix: 4 hex bytes');
  const verify = str('verify', 'size');
  if (verify !== 'size' && verify !== 'sha256') throw new UsageError('--verify: size or sha256');
  return {
    server: str('server'),
    relay: str('relay'),
    n: Math.floor(num('n', 1, 1, 65536)),
    out: str('out'),
    label: str('label', 'kickstand'),
    run: str('run', '1'),
    macPrefix: prefix,
    assets: m.get('assets'),
    verify,
    timeoutS: num('timeout', 120, 1, 3600),
    spreadMs: num('spread-ms', 0, 0, 600_000),
    dhcpPort: num('dhcp-port', 67, 1, 65535),
    relayPort: num('relay-port', 67, 1, 65535),
    tftpPort: num('tftp-port', 69, 1, 65535),
    blksize: num('blksize', 1468, 8, 65464),
    tftpTimeoutS: num('tftp-timeout', 1, 0.05, 60),
    tftpRetries: Math.floor(num('tftp-retries', 5, 0, 100)),
    nakRestarts: Math.floor(num('nak-restarts', 10, 0, 100)),
  };
}

// ---- shared state of one storm -------------------------------------------------------------

class StepError extends Error {}
/** A DHCPNAK to our REQUEST: the exchange starts again at DISCOVER. */
class NakError extends StepError {}

/** Messages for one waiter, read one at a time with a time limit. */
class Mailbox<T> {
  private items: T[] = [];
  private wake: (() => void) | undefined;

  put(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  /** The next item, or undefined after `ms`. */
  async next(ms: number): Promise<T | undefined> {
    if (this.items.length === 0 && ms > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.items.shift();
  }
}

interface Expected {
  size: number;
  path: string;
  sha256?: string;
}

class Storm {
  readonly waiters = new Map<number, Mailbox<DhcpPacket>>();
  stray = 0;
  readonly expected = new Map<string, Expected>();
  readonly abort = new AbortController();
  deadline = Infinity;

  constructor(
    readonly o: RunOptions,
    readonly relay: Socket,
  ) {
    if (o.assets !== undefined)
      for (const name of readdirSync(o.assets)) {
        const path = join(o.assets, name);
        const st = statSync(path);
        if (st.isFile()) this.expected.set(name, { size: st.size, path });
      }
  }

  /** Milliseconds left before the storm deadline; a StepError once it has passed. */
  left(): number {
    const ms = this.deadline - performance.now();
    if (ms <= 0) throw new StepError(`storm deadline (${this.o.timeoutS} s)`);
    return ms;
  }

  /** Check a download against the asset of the same base name; 'unverified' when there is none. */
  check(url: string, size: number, sha256: string | undefined): 'ok' | 'unverified' {
    const base = decodeURIComponent(new URL(url, 'http://x/').pathname.split('/').pop() ?? '');
    const e = this.expected.get(base);
    if (e === undefined) return 'unverified';
    if (size !== e.size) throw new StepError(`${base}: ${size} bytes, the served file has ${e.size}`);
    if (sha256 !== undefined) {
      e.sha256 ??= createHash('sha256').update(readFileSync(e.path)).digest('hex');
      if (sha256 !== e.sha256) throw new StepError(`${base}: content differs from the served file (SHA-256)`);
    }
    return 'ok';
  }

  newXid(): number {
    for (;;) {
      const x = Math.floor(Math.random() * 0x1_0000_0000);
      if (!this.waiters.has(x)) return x;
    }
  }
}

// ---- DHCP ------------------------------------------------------------------------------------

/** Retransmission timers, seconds (module comment). */
const ROM_TIMERS = [4, 8, 16, 32];
const IPXE_TIMERS = [1, 2, 4, 8];

interface Lease {
  ip: string;
  bootFile: string;
  nextServer: string | undefined;
}

interface Machine {
  i: number;
  mac: Buffer;
  macText: string;
  uuid: Buffer;
  step: Step | undefined;
  steps: Partial<Record<Step, number>>;
  dhcpRetransmits: number;
  dhcpNaks: number;
  tftpRetransmits: number;
  romIp?: string;
  ip?: string;
  startMs?: number;
  endMs?: number;
  ok: boolean;
  error?: string;
}

const text = (b: Buffer | undefined): string | undefined => b?.toString('latin1').replace(/\0.*$/s, '');
const ip4 = (b: Buffer | undefined): string | undefined => (b?.length === 4 ? [...b].join('.') : undefined);

/** One message to the server and the reply of a wanted type, resent on the client's timers. */
async function exchange(
  s: Storm,
  m: Machine,
  box: Mailbox<DhcpPacket>,
  send: (secs: number) => Buffer,
  want: number,
  timers: readonly number[],
  t0: number,
): Promise<DhcpPacket> {
  for (let k = 0; k < timers.length; k += 1) {
    if (k > 0) m.dhcpRetransmits += 1;
    s.relay.send(send(Math.floor((performance.now() - t0) / 1000)), s.o.dhcpPort, s.o.server);
    const until = performance.now() + timers[k]! * 1000;
    for (;;) {
      const wait = Math.min(until - performance.now(), s.left());
      if (wait <= 0) break;
      const p = await box.next(wait);
      if (p === undefined) continue;
      if (!p.chaddr.subarray(0, 6).equals(m.mac)) continue;
      const type = p.options.get(Opt.MESSAGE_TYPE)?.[0];
      if (want === MessageType.ACK && type === MessageType.NAK) {
        m.dhcpNaks += 1;
        throw new NakError(`DHCPNAK: ${text(p.options.get(Opt.MESSAGE)) ?? 'no message'}`);
      }
      if (type === want) return p;
    }
  }
  const name = want === MessageType.OFFER ? 'OFFER' : 'ACK';
  throw new StepError(`no DHCP${name} after ${timers.length} tries (${timers.join(', ')} s)`);
}

async function dora(s: Storm, m: Machine, ipxe: boolean): Promise<Lease> {
  const timers = ipxe ? IPXE_TIMERS : ROM_TIMERS;
  for (let attempt = 0; ; attempt += 1) {
    const xid = s.newXid();
    const box = new Mailbox<DhcpPacket>();
    s.waiters.set(xid, box);
    const t0 = performance.now();
    try {
      const offer = await exchange(
        s,
        m,
        box,
        (secs) => dhcpRequest({ nic: m, type: MessageType.DISCOVER, xid, secs, giaddr: s.o.relay, ipxe }),
        MessageType.OFFER,
        timers,
        t0,
      );
      const sid = offer.options.get(Opt.SERVER_ID);
      if (sid?.length !== 4) throw new StepError('OFFER without a server identifier (option 54)');
      const requested = { ip: offer.yiaddr, serverId: sid };
      const ack = await exchange(
        s,
        m,
        box,
        (secs) => dhcpRequest({ nic: m, type: MessageType.REQUEST, xid, secs, giaddr: s.o.relay, ipxe, requested }),
        MessageType.ACK,
        timers,
        t0,
      );
      const o = ack.options;
      const opt66 = text(o.get(Opt.TFTP_SERVER_NAME));
      return {
        ip: ack.yiaddr,
        bootFile: text(o.get(Opt.BOOTFILE_NAME)) ?? ack.file,
        nextServer:
          ack.siaddr !== '0.0.0.0'
            ? ack.siaddr
            : opt66 !== undefined && /^\d+\.\d+\.\d+\.\d+$/.test(opt66)
              ? opt66
              : ip4(o.get(Opt.SERVER_ID)),
      };
    } catch (err) {
      if (!(err instanceof NakError) || attempt >= s.o.nakRestarts) throw err;
    } finally {
      s.waiters.delete(xid);
    }
  }
}

// ---- TFTP ------------------------------------------------------------------------------------

async function tftpGet(s: Storm, m: Machine, server: string, file: string, from: string): Promise<void> {
  const sock = createSocket('udp4');
  const box = new Mailbox<{ msg: Buffer; from: RemoteInfo }>();
  sock.on('message', (msg, from) => box.put({ msg, from }));
  sock.on('error', () => undefined); // ICMP errors: the retransmission timer handles them
  await new Promise<void>((ok, fail) => {
    sock.once('error', fail);
    sock.bind({ address: from, port: 0 }, () => ok());
  });
  try {
    const options: Array<[string, string]> = [['tsize', '0']];
    if (s.o.blksize !== 512) options.unshift(['blksize', String(s.o.blksize)]);
    let last = encodeRequest('RRQ', file, 'octet', options);
    let lastTo = s.o.tftpPort; // the RRQ goes to port 69; everything after to the server's transfer port
    let tid: number | undefined;
    let blksize = 512;
    let want = 1;
    const parts: Buffer[] = [];
    let size = 0;
    let misses = 0;
    sock.send(last, lastTo, server);
    for (;;) {
      const got = await box.next(Math.min(s.o.tftpTimeoutS * 1000, s.left()));
      if (got === undefined) {
        misses += 1;
        if (misses > s.o.tftpRetries)
          throw new StepError(`TFTP: no block ${want} of ${file} after ${s.o.tftpRetries} resends`);
        m.tftpRetransmits += 1;
        sock.send(last, lastTo, server);
        continue;
      }
      if (got.from.address !== server) continue;
      if (tid === undefined) tid = got.from.port;
      else if (got.from.port !== tid) continue; // RFC 1350 §4: not this transfer's TID
      const p = decodeTftp(got.msg);
      if (p.op === 'ERROR') throw new StepError(`TFTP error ${p.code}: ${p.message}`);
      if (p.op === 'OACK' && want === 1 && parts.length === 0) {
        const b = p.options.find(([k]) => k === 'blksize');
        blksize = b === undefined ? 512 : Number(b[1]);
        last = encodeAck(0); // RFC 2347 §3: the OACK is acknowledged with block 0
        lastTo = tid;
        sock.send(last, lastTo, server);
        misses = 0;
        continue;
      }
      if (p.op !== 'DATA') continue;
      if (p.block === (want & 0xffff)) {
        parts.push(Buffer.from(p.data));
        size += p.data.length;
        last = encodeAck(p.block);
        lastTo = tid;
        sock.send(last, lastTo, server);
        misses = 0;
        if (p.data.length < blksize) break;
        want += 1;
      } else if (p.block === ((want - 1) & 0xffff)) {
        sock.send(last, lastTo, server); // a duplicate: our ACK was lost, so ACK it again
      }
    }
    s.check(file, size, createHash('sha256').update(Buffer.concat(parts)).digest('hex'));
  } finally {
    sock.close();
  }
}

// ---- HTTP ------------------------------------------------------------------------------------

interface Fetched {
  url: string;
  size: number;
  body: Buffer | undefined;
}

const BODY_LIMIT = 1 << 20;

/** GET `url` from local address `from` on a fresh connection, as iPXE and the installer do. */
function httpGet(s: Storm, url: string, from: string, keepBody: boolean): Promise<Fetched> {
  const hash = !keepBody && s.o.verify === 'sha256' ? createHash('sha256') : undefined;
  return new Promise((ok, reject) => {
    const fail = (err: unknown): void => {
      if (s.abort.signal.aborted) reject(new StepError(`storm deadline (${s.o.timeoutS} s)`));
      else if (err instanceof StepError) reject(err);
      else reject(new StepError(`${new URL(url).pathname}: ${(err as Error).message}`));
    };
    const req = request(
      url,
      {
        localAddress: from,
        agent: false,
        signal: s.abort.signal,
        headers: { 'User-Agent': 'iPXE/1.21.1 (kickstand storm-client)' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let ended = false;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (hash) hash.update(c);
          if (keepBody || res.statusCode !== 200) {
            if (size > BODY_LIMIT) req.destroy(new StepError(`${url}: body over ${BODY_LIMIT} bytes`));
            else chunks.push(c);
          }
        });
        res.on('error', fail);
        res.on('close', () => {
          if (!ended) fail(new StepError(`${new URL(url).pathname}: connection closed after ${size} body bytes`));
        });
        res.on('end', () => {
          ended = true;
          const body = Buffer.concat(chunks);
          if (res.statusCode !== 200) {
            const first = body.toString('utf8').split('\n')[0]!.slice(0, 80);
            return fail(new StepError(`HTTP ${res.statusCode} for ${new URL(url).pathname}: ${first}`));
          }
          try {
            if (!keepBody) s.check(url, size, hash?.digest('hex'));
          } catch (err) {
            return fail(err);
          }
          ok({ url, size, body: keepBody ? body : undefined });
        });
      },
    );
    req.setTimeout(30_000, () => req.destroy(new StepError(`${url}: no data for 30 s`)));
    req.on('error', fail);
    req.end();
  });
}

// ---- one machine -------------------------------------------------------------------------

async function step<T>(m: Machine, name: Step, work: () => Promise<T>): Promise<T> {
  m.step = name;
  const t0 = performance.now();
  const r = await work();
  m.steps[name] = Math.round((performance.now() - t0) * 1000) / 1000;
  return r;
}

async function boot(s: Storm, m: Machine): Promise<void> {
  m.startMs = performance.now();
  try {
    const rom = await step(m, 'dhcp_rom', () => dora(s, m, false));
    m.romIp = rom.ip;
    if (rom.bootFile === '') throw new StepError('PXE ROM ACK names no boot file (host not armed or unknown?)');
    const tftpServer = rom.nextServer;
    if (tftpServer === undefined) throw new StepError('PXE ROM ACK names no TFTP server');
    await step(m, 'tftp', () => tftpGet(s, m, tftpServer, rom.bootFile, rom.ip));
    const ipxe = await step(m, 'dhcp_ipxe', () => dora(s, m, true));
    m.ip = ipxe.ip;
    if (!ipxe.bootFile.startsWith('http://'))
      throw new StepError(`iPXE ACK boot file is not an http:// URL: ${JSON.stringify(ipxe.bootFile.slice(0, 80))}`);
    const vars: Record<string, string> = {
      mac: m.macText,
      ip: ipxe.ip,
      uuid: m.uuid.toString('hex'),
      'next-server': ipxe.nextServer ?? '',
      filename: ipxe.bootFile,
      platform: 'pcbios',
      buildarch: 'i386',
    };
    const plan = await step(m, 'script', async () => {
      let url = ipxe.bootFile;
      for (let depth = 0; depth < 5; depth += 1) {
        const r = await httpGet(s, url, ipxe.ip, true);
        const p = planScript(r.body!.toString('utf8'), url, vars);
        if (p.kind === 'chain') {
          url = p.url;
          continue;
        }
        if (p.kind !== 'boot') throw new StepError(p.reason);
        if (p.initrds.length === 0) throw new StepError(`${new URL(url).pathname} names no initrd`);
        return p;
      }
      throw new StepError('scripts chain more than 5 deep');
    });
    await step(m, 'kernel', () => httpGet(s, plan.kernel, ipxe.ip, false));
    await step(m, 'initrd', async () => {
      for (const u of plan.initrds) await httpGet(s, u, ipxe.ip, false);
    });
    const ks = kickstartArg(plan.args);
    if (ks === undefined) throw new StepError('kernel command line has no inst.ks=URL');
    await step(m, 'kickstart', async () => {
      const r = await httpGet(s, new URL(ks, plan.kernel).toString(), ipxe.ip, true);
      if (r.size === 0) throw new StepError('empty kickstart');
    });
    m.step = undefined;
    m.ok = true;
  } catch (err) {
    m.error = err instanceof StepError ? err.message : `${(err as Error).name}: ${(err as Error).message}`;
  } finally {
    m.endMs = performance.now();
  }
}

// ---- one storm -----------------------------------------------------------------------------

function machine(o: RunOptions, i: number): Machine {
  const mac = Buffer.concat([o.macPrefix, Buffer.from([(i >> 8) & 0xff, i & 0xff])]);
  const uuid = Buffer.alloc(16);
  Buffer.from('kickstand-').copy(uuid); // a fixed, recognisable head, then the MAC
  mac.copy(uuid, 10);
  return {
    i,
    mac,
    macText: [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':'),
    uuid,
    step: undefined,
    steps: {},
    dhcpRetransmits: 0,
    dhcpNaks: 0,
    tftpRetransmits: 0,
    ok: false,
  };
}

async function runStorm(o: RunOptions): Promise<{ lines: string[]; failed: number; summary: string }> {
  const relay = createSocket({ type: 'udp4', reuseAddr: false });
  await new Promise<void>((ok, fail) => {
    relay.once('error', fail);
    relay.bind({ address: o.relay, port: o.relayPort }, () => ok());
  });
  relay.on('error', () => undefined);
  try {
    relay.setRecvBufferSize(8 << 20); // capped by net.core.rmem_max; replies of a storm arrive together
  } catch {
    /* the default buffer then */
  }
  const s = new Storm(o, relay);
  relay.on('message', (msg) => {
    const r = decodePacket(msg);
    const box = r.ok && r.packet.op === 2 ? s.waiters.get(r.packet.xid) : undefined;
    if (r.ok && box !== undefined) box.put(r.packet);
    else s.stray += 1;
  });
  const machines = Array.from({ length: o.n }, (_, i) => machine(o, i));
  const cpu0 = process.cpuUsage();
  const startedAt = new Date().toISOString().slice(11, 19);
  const t0 = performance.now();
  s.deadline = t0 + o.timeoutS * 1000;
  const timer = setTimeout(() => s.abort.abort(), o.timeoutS * 1000);
  const gap = o.n > 1 ? o.spreadMs / (o.n - 1) : 0;
  // Every wait of a client is bounded by the deadline; the race is a backstop so the storm
  // always ends (a client still running after it is reported as cut off).
  let backstop: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all(
      machines.map(async (m, i) => {
        if (gap > 0) await new Promise((r) => setTimeout(r, gap * i));
        await boot(s, m);
      }),
    ),
    new Promise((r) => (backstop = setTimeout(r, o.timeoutS * 1000 + 10_000))),
  ]);
  clearTimeout(timer);
  clearTimeout(backstop);
  const cpu = process.cpuUsage(cpu0);
  relay.close();
  const clients: ClientRecord[] = machines.map((m) => ({
    kind: 'client',
    i: m.i,
    mac: m.macText,
    ok: m.ok,
    ...(m.ok ? {} : { failedStep: m.step, error: m.error ?? 'cut off: still running after the storm deadline' }),
    ip: m.ip ?? m.romIp,
    steps: m.steps,
    ...(m.ok ? { bootMs: Math.round((m.endMs! - m.startMs!) * 1000) / 1000 } : {}),
    endMs: Math.round(((m.endMs ?? performance.now()) - t0) * 1000) / 1000,
    dhcpRetransmits: m.dhcpRetransmits,
    dhcpNaks: m.dhcpNaks,
    tftpRetransmits: m.tftpRetransmits,
  }));
  const run: RunRecord = {
    kind: 'run',
    label: o.label,
    n: o.n,
    run: o.run,
    allDoneS: Math.max(...clients.map((c) => c.endMs)) / 1000,
    failed: clients.filter((c) => !c.ok).length,
    strayDhcp: s.stray,
    clientCpuS: (cpu.user + cpu.system) / 1e6,
    startedAt,
  };
  const boots = clients.filter((c) => c.ok).map((c) => c.bootMs!);
  const p = (q: number): string => {
    const v = percentile(boots, q);
    return v === undefined ? '-' : (v / 1000).toFixed(2);
  };
  const firstFail = clients.find((c) => !c.ok);
  const summary =
    `${o.label} N=${o.n} run ${o.run}: all done ${run.allDoneS.toFixed(2)} s, failed ${run.failed}, ` +
    `boot p50/p95 ${p(50)}/${p(95)} s, client CPU ${run.clientCpuS.toFixed(2)} s` +
    (firstFail ? `; first failure: ${firstFail.mac} at ${firstFail.failedStep ?? '-'}: ${firstFail.error}` : '');
  return { lines: [...clients, run].map((l) => JSON.stringify(l)), failed: run.failed, summary };
}

// ---- main --------------------------------------------------------------------------------

const USAGE = `usage:
  storm-client.ts run --server IP --relay IP -n N --out FILE [--label L] [--run R]
      [--mac-prefix 02:62:73:01] [--assets DIR] [--verify size|sha256] [--timeout S] [--spread-ms MS]
      [--dhcp-port 67] [--relay-port 67] [--tftp-port 69] [--blksize 1468] [--tftp-timeout S]
      [--tftp-retries 5] [--nak-restarts 10]
  storm-client.ts report FILE...   markdown tables of the storms in FILEs (JSON lines of run)
See the comment at the top of bench/storm-client.ts.`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === 'report') {
    const stats: RunStats[] = [];
    for (const f of rest) {
      const st = parseRunFile(readFileSync(f, 'utf8'));
      if (st === undefined) process.stderr.write(`${f}: no run line (the storm did not finish)\n`);
      else stats.push(st);
    }
    if (stats.length === 0) {
      process.stderr.write('no finished storm to report\n');
      return 1;
    }
    process.stdout.write(markdown(stats));
    return 0;
  }
  if (cmd !== 'run') {
    process.stderr.write(`${USAGE}\n`);
    return cmd === '-h' || cmd === '--help' ? 0 : 2;
  }
  const o = parseRunOptions(rest.map((a) => (a === '-n' ? '--n' : a)));
  const r = await runStorm(o);
  writeFileSync(o.out, r.lines.join('\n') + '\n');
  process.stderr.write(`${r.summary}\n`);
  return r.failed === 0 ? 0 : 3;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code), // sockets of clients cut off by the deadline must not keep the process up
  (err: unknown) => {
    process.stderr.write(`${err instanceof UsageError ? `${err.message}\n${USAGE}` : String(err)}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
