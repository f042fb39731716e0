/**
 * IPMI client against OpenIPMI's ipmi_sim (a real IPMI 2.0 LAN BMC simulator, Debian `openipmi`)
 * with the real ipmitool (Debian `ipmitool`) over RMCP+ on 127.0.0.1 at a free UDP port.
 * test/fixtures/bmc/lab.conf + sim.emu set up one BMC; its chassis control program
 * (chassis-control.sh) keeps the power state and boot device in a temp dir and logs every call
 * ipmi_sim makes, so each test asserts what the simulated BMC was asked to do.
 */
import { strict as assert } from 'node:assert';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createBmcClient, type BmcConfig } from '../../src/bmc';
import { ErrorCode, KickstandError } from '../../src/errors';
import { createLogger, silentLogger } from '../../src/log';
import { missing } from '../helpers/env';

const FIXTURES = resolve(__dirname, '../fixtures/bmc');
const USER = 'kickstand';
const PASSWORD = 'sim-Secret-7f3a'; // must match lab.conf
const NEED = { binaries: ['ipmi_sim', 'ipmitool'] };
const skip = missing(NEED);

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()));
  const port = s.address().port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
}

/** True once a UDP socket is bound on 127.0.0.1:port (/proc/net/udp, local address column). */
function udpBound(port: number): boolean {
  const want = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .some((l) => l.trim().split(/\s+/)[1] === want);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Sim {
  readonly dir = mkdtempSync(join(tmpdir(), 'ks-ipmisim-'));
  readonly state = join(this.dir, 'state');
  port = 0;
  proc: ChildProcess | undefined;
  stderr = '';

  async start(): Promise<void> {
    mkdirSync(this.state);
    mkdirSync(join(this.dir, 'persist'));
    for (let attempt = 0; attempt < 3; attempt++) {
      this.port = await freeUdpPort();
      const conf = readFileSync(join(FIXTURES, 'lab.conf'), 'utf8')
        .replaceAll('@PORT@', String(this.port))
        .replaceAll('@STATE@', this.state)
        .replaceAll('@CHASSIS@', join(FIXTURES, 'chassis-control.sh'));
      writeFileSync(join(this.dir, 'lab.conf'), conf);
      const p = spawn(
        'ipmi_sim',
        ['-n', '-c', join(this.dir, 'lab.conf'), '-f', join(FIXTURES, 'sim.emu'), '-s', join(this.dir, 'persist')],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      this.proc = p;
      p.stderr.on('data', (c: Buffer) => (this.stderr += c.toString()));
      for (let i = 0; i < 50 && p.exitCode === null && !udpBound(this.port); i++) await sleep(100);
      if (p.exitCode === null && udpBound(this.port)) return;
      this.stop();
    }
    throw new Error(`ipmi_sim did not start: ${this.stderr}`);
  }

  /** Lines chassis-control.sh logged (`mc=0x20 set power 1`), without the `mc=` prefix. */
  calls(): string[] {
    const f = join(this.state, 'calls.log');
    return existsSync(f)
      ? readFileSync(f, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => l.replace(/^mc=0x20 /, ''))
      : [];
  }

  /** Ask the simulated BMC directly with ipmitool (an independent read-back). */
  ipmitool(args: string[]): string {
    return execFileSync(
      'ipmitool',
      ['-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(this.port), '-U', USER, '-E', ...args],
      {
        env: { PATH: process.env.PATH, IPMI_PASSWORD: PASSWORD },
        encoding: 'utf8',
        timeout: 20_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  }

  stop(): void {
    const p = this.proc;
    if (p?.pid !== undefined && p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    this.proc = undefined;
  }

  cleanup(): void {
    this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Cipher suite 3: ipmi_sim does not implement Get Channel Cipher Suites (ipmitool's probe then
 * retries for ~10 s before falling back to 3) nor suite 17; one test keeps the default probe.
 */
function cfg(sim: Sim, extra: Partial<BmcConfig> = {}): BmcConfig {
  return {
    type: 'ipmi',
    address: `127.0.0.1:${sim.port}`,
    username: USER,
    password: PASSWORD,
    ipmiCipherSuite: 3,
    ...extra,
  };
}

/** Waits (bounded: 40 × 250 ms) until the sim reports `want`; returns the last answer. */
async function waitStatus(client: ReturnType<typeof createBmcClient>, want: 'on' | 'off'): Promise<string> {
  let last = '';
  for (let i = 0; i < 40; i++) {
    last = await client.status();
    if (last === want) break;
    await sleep(250);
  }
  return last;
}

describe('IPMI client against ipmi_sim (OpenIPMI) with ipmitool lanplus', { skip: skip ?? false }, () => {
  const sim = new Sim();
  const logged: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logged.push(chunk.toString());
      cb();
    },
  });
  const log = createLogger({ level: 'trace', destination: sink, pretty: false });
  let client: ReturnType<typeof createBmcClient>;

  before(async () => {
    await sim.start();
    client = createBmcClient(cfg(sim), { log, timeoutMs: 20_000 });
  });
  after(() => sim.cleanup());

  test('status reads the simulated chassis power (off at start)', async () => {
    assert.equal(await client.status(), 'off');
    assert.ok(sim.calls().includes('get power'), sim.calls().join('\n'));
  });

  test('default cipher-suite negotiation (no -C) also reaches the simulated BMC', async () => {
    const { ipmiCipherSuite: _ignored, ...rest } = cfg(sim);
    const c = createBmcClient(rest, { log, timeoutMs: 30_000 });
    assert.equal(await c.status(), 'off');
  });

  test('bootOncePxe: ipmi_sim gets boot device pxe; bootparam get 5 reads back Force PXE, next boot only', async () => {
    await client.bootOncePxe();
    assert.ok(sim.calls().includes('set boot pxe'), sim.calls().join('\n'));
    const back = sim.ipmitool(['chassis', 'bootparam', 'get', '5']);
    assert.match(back, /Boot Device Selector : Force PXE/);
    assert.match(back, /Options apply to only next boot/);
  });

  test('power on, then status on', async () => {
    await client.power('on');
    assert.equal(sim.calls().at(-1), 'set power 1');
    assert.equal(await client.status(), 'on');
  });

  test('power cycle on a running host: power 0, then ipmi_sim powers it back on', async () => {
    const before = sim.calls().length;
    await client.power('cycle');
    assert.equal(await waitStatus(client, 'on'), 'on');
    const sets = sim
      .calls()
      .slice(before)
      .filter((l) => l.startsWith('set '));
    assert.deepEqual(sets, ['set power 0', 'set power 1']);
  });

  test('power reset sends a reset pulse', async () => {
    await client.power('reset');
    assert.equal(sim.calls().at(-1), 'set reset 1');
  });

  test('power soft asks for a graceful shutdown; the chassis goes off', async () => {
    await client.power('soft');
    assert.equal(sim.calls().at(-1), 'set shutdown 1');
    assert.equal(await client.status(), 'off');
  });

  test('power cycle on a host that is off powers it on (no Chassis Control 02h)', async () => {
    assert.equal(await client.status(), 'off');
    const before = sim.calls().length;
    await client.power('cycle');
    const sets = sim
      .calls()
      .slice(before)
      .filter((l) => l.startsWith('set '));
    assert.deepEqual(sets, ['set power 1']);
    assert.equal(await client.status(), 'on');
  });

  test('power off, then status off', async () => {
    await client.power('off');
    assert.equal(sim.calls().at(-1), 'set power 0');
    assert.equal(await client.status(), 'off');
  });

  test('a wrong password fails with KS_BMC_FAILED naming the credentials, no secret in the message', async () => {
    const wrong = 'not-the-Pass-91';
    const bad = createBmcClient(cfg(sim, { password: wrong }), { log, timeoutMs: 30_000 });
    await assert.rejects(bad.status(), (e: unknown) => {
      assert.ok(e instanceof KickstandError);
      assert.equal(e.code, ErrorCode.BMC_FAILED);
      assert.match(e.message, /ipmitool "chassis power status" to 127\.0\.0\.1:\d+ failed/);
      assert.match(e.fix ?? '', /user name and password/);
      assert.ok(!e.message.includes(wrong) && !e.message.includes(PASSWORD));
      return true;
    });
  });

  test('the password is never on the ipmitool command line: argv recorded by a wrapper that execs the real ipmitool', async () => {
    const wrapper = join(sim.dir, 'ipmitool-argv');
    const argvLog = join(sim.dir, 'argv.log');
    writeFileSync(
      wrapper,
      `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\n[ -n "$IPMI_PASSWORD" ] && echo env-password-set >> '${argvLog}'\nexec ipmitool "$@"\n`,
    );
    chmodSync(wrapper, 0o755);
    const c = createBmcClient(cfg(sim, { efiBoot: true }), { log, timeoutMs: 20_000, ipmitool: wrapper });
    await c.bootOncePxe();
    await c.power('on');
    const lines = readFileSync(argvLog, 'utf8').split('\n').filter(Boolean);
    assert.ok(lines.includes('env-password-set'));
    const argv = lines.filter((l) => l !== 'env-password-set');
    assert.equal(argv.length, 2); // bootdev, power on (only cycle reads the status first)
    for (const a of argv) {
      assert.ok(!a.includes(PASSWORD), a);
      assert.match(a, /^-I lanplus -H 127\.0\.0\.1 -p \d+ -U kickstand -E -L OPERATOR -N 2 -R 3 -C 3 chassis /);
    }
    assert.match(argv[0]!, /chassis bootdev pxe options=efiboot$/);
  });

  test('the password never appears in the log output of these runs (trace level, failures included)', () => {
    // Also log the config the way a careless caller would: pino's redact paths must hide it.
    log.info({ bmc: cfg(sim) }, 'bmc config');
    log.info(cfg(sim), 'bmc config flat');
    const text = logged.join('');
    assert.match(text, /"msg":"bmc power command sent"/);
    assert.match(text, /"msg":"ipmitool failed"/);
    assert.ok(!text.includes(PASSWORD), 'password found in the log output');
  });
});

describe('IPMI client failures without a BMC', { skip: skip ?? false }, () => {
  test('ipmitool missing: KS_BMC_FAILED "ipmitool is not installed"', async () => {
    const c = createBmcClient(
      { type: 'ipmi', address: '127.0.0.1:9', username: 'u', password: 'p-123456' },
      { log: silentLogger(), ipmitool: '/nonexistent/ipmitool' },
    );
    await assert.rejects(
      c.status(),
      (e: unknown) => e instanceof KickstandError && e.code === ErrorCode.BMC_FAILED && /not installed/.test(e.message),
    );
  });

  test('nobody answering: ipmitool is killed at the timeout and the error says so', async () => {
    const port = await freeUdpPort(); // bound by nobody now
    const c = createBmcClient(
      { type: 'ipmi', address: `127.0.0.1:${port}`, username: 'u', password: 'p-123456' },
      { log: silentLogger(), timeoutMs: 1500 },
    );
    await assert.rejects(c.status(), (e: unknown) => {
      assert.ok(e instanceof KickstandError && e.code === ErrorCode.BMC_FAILED);
      assert.match(e.message, /timed out after 1500 ms/);
      return true;
    });
  });
});
