import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { spawn } from 'node:child_process';
import { DaemonProcess, REPO, cliArgv, runCli } from '../helpers/daemon';

/** A loopback port nothing listens on: bound, then released. */
function closedPort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

describe('kickstand CLI against a running daemon', () => {
  const d = new DaemonProcess();
  before(() => d.start());
  after(() => d.cleanup());

  it('adds, lists, shows, sets and removes a host', () => {
    const add = d.cli([
      'host',
      'add',
      'node1',
      '--mac',
      '52-54-00-AA-BB-01',
      '--profile',
      'rocky9',
      '--role',
      'worker',
      '--var',
      'disk=vda',
    ]);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, 'added node1 (armed)\n');
    const list = d.cli(['host', 'list']);
    assert.equal(list.code, 0);
    assert.match(
      list.stdout,
      /^NAME\s+STATE\s+NETBOOT\s+PROFILE\s+ROLE\s+IPV4\s+MACS\nnode1\s+armed\s+armed\s+rocky9\s+worker\s+-\s+52:54:00:aa:bb:01\n$/,
    );
    const json = JSON.parse(d.cli(['host', 'list', '--json']).stdout);
    assert.equal(json[0].name, 'node1');
    const show = d.cli(['host', 'show', 'node1']);
    assert.match(show.stdout, /^name:\s+node1$/m);
    assert.match(show.stdout, /^vars:\s+disk=vda$/m);
    const set = d.cli(['host', 'set', 'node1', '--no-netboot', '--ip', '198.18.0.21', '--json']);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(JSON.parse(set.stdout).state, 'registered');
    const ev = d.cli(['host', 'events', 'node1']);
    assert.match(ev.stdout, /host\.created\s+registered with profile rocky9/);
    assert.match(ev.stdout, /host\.state\s+armed → registered: disarmed by operator/);
    assert.match(ev.stdout, /api\.write\s+PATCH \/hosts\/node1 by token api-token \(admin\)/);
    // created, updated, state; each of the two writes first names its token (api.write)
    assert.equal(JSON.parse(d.cli(['host', 'events', 'node1', '--json']).stdout).length, 5);
    assert.equal(d.cli(['host', 'rm', 'node1']).stdout, 'removed node1\n');
    assert.equal(
      d.cli(['host', 'list']).stdout,
      'no hosts registered (add one with `kickstand host add NAME --mac … --profile …`)\n',
    );
  });

  it('refuses bad input with exit code 2, naming the flag and the fix', () => {
    d.cli(['host', 'add', 'taken', '--mac', '52:54:00:00:00:aa', '--profile', 'rocky9', '--ip', '198.18.0.40']);
    const cases: Array<[string[], RegExp]> = [
      [
        ['host', 'add', 'n2', '--mac', 'zz:zz', '--profile', 'rocky9'],
        /error: "zz:zz" is not a MAC address \[--mac\] \(KS_INVALID_MAC\)\n {2}fix: write it as aa:bb:cc:dd:ee:ff/,
      ],
      [
        ['host', 'add', 'n2', '--mac', '5254.0000.00AA', '--profile', 'rocky9'],
        /MAC 52:54:00:00:00:aa already belongs to host taken \[--mac\] \(KS_MAC_IN_USE\)/,
      ],
      [
        ['host', 'add', 'n2', '--mac', '52:54:00:00:00:ab', '--profile', 'rocky9', '--ip', '198.18.0.40'],
        /198\.18\.0\.40 is already reserved for host taken \[--ip\]/,
      ],
      [
        ['host', 'add', 'n2', '--mac', '52:54:00:00:00:ab', '--profile', 'centos'],
        /no profile named "centos" \[--profile\] \(KS_UNKNOWN_PROFILE\)\n {2}fix: use one of: rocky9/,
      ],
      [
        ['host', 'add', 'n2', '--mac', '52:54:00:00:00:ab', '--profile', 'rocky9', '--ip', '198.19.1.1'],
        /not a host address in the provisioning subnet 198\.18\.0\.0\/24 \[--ip\]/,
      ],
      [
        ['host', 'add', 'n2', '--mac', '52:54:00:00:00:ab', '--profile', 'rocky9', '--var', 'novalue'],
        /--var "novalue": write it as KEY=VALUE/,
      ],
      [['host', 'add', 'N_2', '--mac', '52:54:00:00:00:ab', '--profile', 'rocky9'], /\[NAME\] \(KS_INVALID_HOSTNAME\)/],
      [['host', 'add', 'n2', '--profile', 'rocky9'], /required option '--mac <mac>' not specified/],
      [['host', 'frobnicate'], /unknown command 'frobnicate'/],
      [['host', 'show', 'ghost'], /no host named ghost \[NAME\] \(KS_HOST_NOT_FOUND\)/],
    ];
    for (const [args, re] of cases) {
      const r = d.cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
  });

  it('host watch follows the timeline live (--json lines)', async () => {
    d.cli(['host', 'add', 'w1', '--mac', '52:54:00:00:03:01', '--profile', 'rocky9', '--no-netboot']);
    const child = spawn(
      process.execPath,
      [...cliArgv(), '--server', d.url, '--state-dir', d.stateDir, 'host', 'watch', 'w1', '--json', '--backlog', '0'],
      { cwd: REPO },
    );
    try {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
      await new Promise((r) => setTimeout(r, 1500)); // let it connect
      assert.equal(d.cli(['host', 'set', 'w1', '--netboot']).code, 0);
      const deadline = Date.now() + 10_000;
      while (!out.includes('"host.state"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const kinds = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).kind);
      assert.deepEqual(kinds, ['api.write', 'host.updated', 'host.state']);
    } finally {
      child.kill('SIGKILL');
      d.cli(['host', 'rm', 'w1']);
    }
  });

  it('exits 0 for --help and --version', () => {
    const h = runCli(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /Commands:\n\s+serve/);
    assert.match(runCli(['--version']).stdout, /^\d+\.\d+\.\d+/);
  });

  it('token create --scope read, list, a refused write, revoke', () => {
    const made = d.cli(['token', 'create', '--scope', 'read', '--name', 'grafana']);
    assert.equal(made.code, 0, made.stderr);
    const read = made.stdout.trim();
    assert.match(read, /^[\w-]{40,}$/);
    assert.match(made.stderr, /token grafana \(scope read\) created; it is not shown again/);
    const list = d.cli(['token', 'list']);
    assert.match(list.stdout, /^api-token\s+admin\s+\(the api-token file\)/m);
    assert.match(list.stdout, /^grafana\s+read\s+\S+\s+api-token$/m);
    assert.ok(!list.stdout.includes(read));
    const asRead = (args: string[]) => runCli(['--server', d.url, '--token', read, ...args]);
    assert.equal(asRead(['host', 'list', '--json']).code, 0);
    const w = asRead(['host', 'add', 'r1', '--mac', '52:54:00:00:04:01', '--profile', 'rocky9']);
    assert.equal(w.code, 1);
    assert.match(w.stderr, /token grafana \(scope read\) may only read \[--token\] \(KS_FORBIDDEN\)/);
    assert.equal(d.cli(['token', 'revoke', 'grafana']).code, 0);
    assert.match(asRead(['host', 'list']).stderr, /KS_UNAUTHORIZED/);
  });

  it('refuses a wrong token with exit code 1', () => {
    const r = runCli(['--server', d.url, '--token', 'wrong-token-000000000000', 'host', 'list']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /missing or wrong API token \[--token\] \(KS_UNAUTHORIZED\)/);
  });
});

describe('kickstand CLI without a daemon', () => {
  it('says the daemon is unreachable and how to start it (exit 1)', async () => {
    const port = await closedPort();
    const r = runCli(['--server', `http://127.0.0.1:${port}`, '--token', 'x'.repeat(32), 'host', 'list']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`cannot reach the Kickstand daemon at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    );
    assert.match(r.stderr, /fix: start it with `kickstand serve --config/);
  });

  it('explains a missing token file', () => {
    const r = runCli(['--state-dir', '/nonexistent-ks', 'host', 'list']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no API token: cannot read \/nonexistent-ks\/api-token \(ENOENT\)/);
  });

  it('serve refuses a bad config and does not start (exit 1)', () => {
    const r = runCli(['serve', '--config', '/nonexistent-ks/kickstand.yaml']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read config file \/nonexistent-ks\/kickstand\.yaml: ENOENT/);
  });
});
