/**
 * The dry run: GET /api/v1/hosts/:name/render and `kickstand host render` (the real CLI as a
 * child process) against the real app — what a host would get now, secrets masked unless
 * asked, and no side effect (no event, no token issued or consumed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cliArgv, REPO } from '../helpers/daemon';
import { API_TOKEN, startHarness, type Harness } from '../install/harness';

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(
      process.execPath,
      [...cliArgv(), ...args],
      {
        cwd: REPO,
        timeout: 30_000,
        env: { ...process.env, KICKSTAND_URL: undefined, KICKSTAND_TOKEN: undefined, KICKSTAND_CONFIG: undefined },
      },
      (err, stdout, stderr) => {
        ok({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('host render (dry run)', () => {
  let h: Harness;
  let token: string;

  before(async () => {
    h = await startHarness();
    await h.registry.add({ name: 'node1', macs: ['52:54:00:00:05:01'], profile: 'rocky9', ipv4: '127.0.0.31' });
    await h.registry.add({ name: 'idle', macs: ['52:54:00:00:05:02'], profile: 'rocky9', netboot: false });
    token = (await h.store.tokens.liveFor('node1'))!.token;
  });
  after(async () => h?.close());

  const api = async (path: string, auth = true) => {
    const res = await fetch(`${h.apiBase}/api/v1${path}`, {
      headers: auth ? { authorization: `Bearer ${API_TOKEN}` } : {},
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a RenderReply or an error body; tests assert on it
    return { status: res.status, json: (await res.json()) as any };
  };

  it('masks the token and secret vars by default, shows them with showSecrets=1', async () => {
    const masked = await api('/hosts/node1/render?kind=kickstart');
    assert.equal(masked.status, 200);
    assert.equal(masked.json.masked, true);
    assert.ok(!masked.json.text.includes(token));
    assert.ok(!masked.json.text.includes('$6$kickstand$'));
    assert.ok(masked.json.text.includes('/cb/********/installed'));
    const shown = await api('/hosts/node1/render?kind=kickstart&showSecrets=1');
    assert.ok(shown.json.text.includes(`/cb/${token}/installed`));
    assert.ok(shown.json.text.includes("rootpw --iscrypted '$6$kickstand$"));
  });

  it('iPXE: the install script for an armed host, local boot for an idle one', async () => {
    const armed = await api('/hosts/node1/render?kind=ipxe');
    assert.match(armed.json.text, /^kernel --name vmlinuz .* inst\.ks=http:\/\/127\.0\.0\.1:\d+\/ks\/\*{8} /m);
    const idle = await api('/hosts/idle/render?kind=ipxe');
    assert.match(idle.json.text, /sanboot --no-describe --drive 0x80/);
    const idleKs = await api('/hosts/idle/render?kind=kickstart');
    assert.match(idleKs.json.note, /would not be served this kickstart now \(state registered, netboot off\)/);
  });

  it('has no side effect: no event, token untouched', async () => {
    const before = (await h.store.events.list({})).length;
    await api('/hosts/node1/render?kind=kickstart&showSecrets=1');
    await api('/hosts/node1/render?kind=ipxe');
    assert.equal((await h.store.events.list({})).length, before);
    const t = (await h.store.tokens.liveFor('node1'))!;
    assert.equal(t.token, token);
    assert.equal(t.fetchedAt, null);
  });

  it('needs the API token, and refuses a bad kind', async () => {
    assert.equal((await api('/hosts/node1/render?kind=kickstart', false)).status, 401);
    const bad = await api('/hosts/node1/render?kind=grub');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.field, 'kind');
  });

  it('`kickstand host render` prints the text on stdout and notes on stderr', async () => {
    const ks = await cli(['--server', h.apiBase, '--token', API_TOKEN, 'host', 'render', 'node1']);
    assert.equal(ks.code, 0, ks.stderr);
    assert.match(ks.stdout, /^%post --interpreter=\/bin\/sh/m);
    assert.ok(!ks.stdout.includes(token));
    assert.match(ks.stderr, /secrets masked; --show-secrets to see them/);
    const ipxe = await cli([
      '--server',
      h.apiBase,
      '--token',
      API_TOKEN,
      'host',
      'render',
      'node1',
      '--ipxe',
      '--show-secrets',
    ]);
    assert.equal(ipxe.code, 0, ipxe.stderr);
    assert.ok(ipxe.stdout.startsWith('#!ipxe\n'));
    assert.ok(ipxe.stdout.includes(`/ks/${token}`));
    const missing = await cli(['--server', h.apiBase, '--token', API_TOKEN, 'host', 'render', 'nope']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no host named nope \[NAME\] \(KS_HOST_NOT_FOUND\)/);
  });
});
