/**
 * Air-gapped k3s against real sshd nodes: a stand-in k3s release (test/helpers/k3s-release.ts:
 * the real layout and checksums of small stand-in files, not k3s) is imported with importK3s,
 * served by Kickstand's real /images handler (http/assets) that the nodes reach at the bridge
 * address, and the bootstrap's k3s.join (bootstrap.k3s.source: bundle, the default) fetches it
 * with curl on the node, checks it and runs the bundle's install.sh — a recording stand-in
 * (test/fixtures/k3s/install-standin.sh) that notes INSTALL_K3S_SKIP_DOWNLOAD and the binary
 * it finds in place. Each node has its own /usr/local/bin and /var/lib (sshd-node.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { arch as hostArch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { TOKEN_SETTING } from '../../src/bootstrap/k3s';
import { createAssets, type ServedEvent } from '../../src/http/assets/router';
import { importK3s } from '../../src/images/k3s-import';
import { silentLogger } from '../../src/log';
import { missing } from '../helpers/env';
import { sha256, standinK3sRelease, type StandinRelease } from '../helpers/k3s-release';
import type { SshdNode } from '../helpers/sshd-node';
import { harness, type Harness } from './harness';

const need = {
  root: true,
  binaries: ['sshd', 'ssh-keygen', 'wireguard-go', 'wg', 'ip', 'nsenter', 'unshare', 'curl', 'sha256sum'],
};
const why = missing(need);

const V = 'v1.31.4+k3s1';
const ARCH = hostArch() === 'arm64' ? 'arm64' : 'amd64';
const IMAGES = `k3s-airgap-images-${ARCH}.tar.zst`;
const PORT = 8080;

describe(
  'bootstrap: k3s from an imported bundle over real sshd nodes (stand-in release, install.sh stand-in)',
  { skip: why ?? false, timeout: 150_000 },
  () => {
    let h: Harness;
    let tmp: string;
    let rel: StandinRelease;
    let imagesDir: string;
    let server: Server;
    const served: ServedEvent[] = [];
    let nodes: SshdNode[];
    const rec = (n: SshdNode, f: string) => n.exec('cat', [`/run/k3s-bundle-recorder/${f}.1`]);
    const has = (n: SshdNode, p: string) => n.exec('sh', ['-c', `test -e '${p}' && echo y || echo n`]).trim() === 'y';

    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'ks-k3s-bundle-'));
      imagesDir = join(tmp, 'images');
      rel = standinK3sRelease(tmp, V, { arches: ['amd64', 'arm64'] });
      await importK3s(imagesDir, rel.dir);
      h = await harness(
        { k3s: { source: 'bundle' } },
        { bundleSource: () => ({ publicUrl: `http://${h.lab.bridgeAddress}:${PORT}`, imagesDir }) },
      );
      // Kickstand's HTTP for /images/ (the daemon's fast path), on a unix socket the nodes reach at the bridge.
      const assets = createAssets({
        root: imagesDir,
        log: silentLogger(),
        metrics: new Registry(),
        onServed: (e) => served.push(e),
      });
      server = createServer((req, res) => {
        const url = req.url ?? '/';
        if (url.startsWith('/images/')) return assets.handle(req, res, url.slice('/images'.length));
        res.statusCode = 404;
        res.end();
      });
      const sock = join(tmp, 'http.sock');
      await new Promise<void>((r) => server.listen(sock, r));
      await h.lab.serveOnBridge(PORT, sock);
      nodes = [1, 2, 3].map((i) => h.lab.addNode(i));
      await h.lab.forward();
      await h.install(nodes[0]!, 'server');
      await h.install(nodes[1]!, 'agent');
      await h.install(nodes[2]!, 'agent');
    });
    after(async () => {
      await h?.close();
      await new Promise((r) => server?.close(r));
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it('k3s bundle: each node downloads k3s, the images tarball and install.sh from Kickstand, then runs the install.sh stand-in with INSTALL_K3S_SKIP_DOWNLOAD=true and the binary in place', async () => {
      for (const n of nodes.slice(0, 2)) {
        const r = await h.boot.bootstrap(n.name, 'test');
        assert.equal(r.ok, true, `${n.name}: ${r.error?.message}`);
        assert.match(
          r.steps.find((s) => s.name === 'k3s.join')?.detail ?? '',
          new RegExp(`k3s ${V.replace(/[.+]/g, '\\$&')} ${ARCH} from the bundle`),
        );
      }
      const token = (await h.store.settings.get(TOKEN_SETTING))!;
      const server = (await h.store.mesh.get(nodes[0]!.name))!.address;
      for (const n of nodes.slice(0, 2)) {
        assert.equal(rec(n, 'skip-download').trim(), 'true', `${n.name}: INSTALL_K3S_SKIP_DOWNLOAD`);
        assert.equal(
          rec(n, 'binary').trim(),
          `binary=755 ${rel.sums[ARCH === 'amd64' ? 'k3s' : 'k3s-arm64']}`,
          `${n.name}: the release binary at /usr/local/bin/k3s, 0755, before install.sh ran`,
        );
        assert.equal(
          rec(n, 'images').trim(),
          `${IMAGES} ${rel.sums[IMAGES]}`,
          `${n.name}: the images tarball in /var/lib/rancher/k3s/agent/images`,
        );
        assert.equal(rec(n, 'token.sha256').trim(), sha256(token), `${n.name}: K3S_TOKEN from stdin`);
        assert.ok(!rec(n, 'cmdlines').includes(token), `token on a command line on ${n.name}`);
        assert.ok(!rec(n, 'env').includes(token));
      }
      assert.equal(rec(nodes[0]!, 'argv').trim().split('\n').slice(0, 2).join(' '), 'server --cluster-init');
      assert.match(rec(nodes[1]!, 'env'), new RegExp(`^K3S_URL=https://${server.replace(/\./g, '\\.')}:6443$`, 'm'));
      // fetched from Kickstand's HTTP, one GET per file and node, all 200
      const got = served.filter((e) => e.status === 200).map((e) => e.path);
      for (const f of ['k3s', IMAGES, 'install.sh']) {
        assert.equal(
          got.filter((p) => p === `k3s/${V}/${ARCH}/${f}`).length,
          2,
          `${f} served to both nodes: ${got.join(' ')}`,
        );
      }
      assert.ok(!h.logText().includes(token), 'token in the log');
    });

    it('a re-run changes nothing and downloads nothing (the marker covers version, arch and hashes)', async () => {
      const before = served.length;
      const r = await h.boot.bootstrap(nodes[0]!.name, 'test: re-run');
      assert.equal(r.ok, true, r.error?.message);
      assert.equal(
        r.changed,
        0,
        r.steps
          .filter((s) => s.changed)
          .map((s) => s.name)
          .join(','),
      );
      assert.equal(served.length, before);
      assert.equal(nodes[0]!.exec('sh', ['-c', 'ls /run/k3s-bundle-recorder | grep -c "^argv"']).trim(), '1');
    });

    it('no bundle imported: k3s.join fails with KS_K3S_NO_BUNDLE and the fix, once, without a download attempt', async () => {
      const real = imagesDir;
      imagesDir = join(tmp, 'empty-images');
      const before = served.length;
      try {
        const r = await h.boot.bootstrap(nodes[2]!.name, 'test: no bundle');
        assert.equal(r.ok, false);
        assert.equal(r.error?.code, 'KS_K3S_NO_BUNDLE');
        assert.match(r.error?.message ?? '', /no k3s bundle imported .*: run kickstand images import k3s DIR/);
        assert.match(r.error?.fix ?? '', /kickstand images import k3s DIR/);
        const attempts = (await h.store.events.list({ host: nodes[2]!.name })).filter(
          (e) => e.kind === 'bootstrap.step' && e.message.startsWith('k3s.join: attempt'),
        );
        assert.equal(attempts.length, 1, 'not retried');
      } finally {
        imagesDir = real;
      }
      assert.equal(served.length, before, 'nothing requested from Kickstand');
      assert.equal(has(nodes[2]!, '/usr/local/bin/k3s'), false);
      assert.equal(has(nodes[2]!, '/run/k3s-bundle-recorder'), false);
    });

    it('a bundle file changed after import is refused by the node (sha256 against the import record); the installer does not run', async () => {
      const served_ = join(imagesDir, 'k3s', V, ARCH, IMAGES);
      const keep = join(tmp, 'images.keep');
      copyFileSync(served_, keep);
      appendFileSync(served_, 'tampered');
      try {
        const r = await h.boot.bootstrap(nodes[2]!.name, 'test: tampered');
        assert.equal(r.ok, false);
        assert.equal(r.error?.code, 'KS_BOOTSTRAP_FAILED');
        assert.match(
          r.error?.message ?? '',
          new RegExp(
            `${IMAGES.replace(/\./g, '\\.')} has sha256 [0-9a-f]{64}, expected ${rel.sums[IMAGES]} \\(recorded at import\\)`,
          ),
        );
      } finally {
        copyFileSync(keep, served_);
      }
      assert.equal(
        has(nodes[2]!, `/var/lib/rancher/k3s/agent/images/${IMAGES}`),
        false,
        'the bad download did not land',
      );
      assert.equal(has(nodes[2]!, '/run/k3s-bundle-recorder'), false, 'install.sh did not run');
      // and with the file restored the same node joins
      const r = await h.boot.bootstrap(nodes[2]!.name, 'test: restored');
      assert.equal(r.ok, true, r.error?.message);
      assert.equal(rec(nodes[2]!, 'skip-download').trim(), 'true');
    });
  },
);
