/**
 * A stand-in k3s release directory with the real published layout (images/k3s-release.ts) and
 * real SHA-256 checksums — of small stand-in files, not k3s: the "binary" is a short shell
 * script, the "images tarball" a few bytes named like the real one, install.sh the recording
 * stand-in test/fixtures/k3s/install-standin.sh. sha256sum-<arch>.txt has the format and the
 * lines a release publishes (binary and all three images tarball compressions, two spaces).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './daemon';

export const INSTALL_STANDIN = path.join(REPO, 'test/fixtures/k3s/install-standin.sh');

export const sha256 = (b: string | Buffer): string => createHash('sha256').update(b).digest('hex');

export interface StandinRelease {
  dir: string;
  /** file name → its bytes' SHA-256 (what the sha256sum file lists for it, when listed). */
  sums: Record<string, string>;
}

/** Writes the release for `arches` into `<parent>/<name>` (name defaults to `k3s-<version>`). */
export function standinK3sRelease(
  parent: string,
  version: string,
  opts: {
    arches?: Array<'amd64' | 'arm64'>;
    name?: string;
    selinuxRpm?: boolean;
    tag?: string;
    /** The "binary" and install.sh to ship instead of the recorders (the journey lab's stand-ins). */
    binary?: string;
    installSh?: string;
  } = {},
): StandinRelease {
  const dir = path.join(parent, opts.name ?? `k3s-${version}`);
  mkdirSync(dir, { recursive: true });
  const sums: Record<string, string> = {};
  const tag = opts.tag ?? '';
  for (const arch of opts.arches ?? ['amd64']) {
    const bin = arch === 'amd64' ? 'k3s' : `k3s-${arch}`;
    const files: Record<string, string | Buffer> = {
      [bin]: opts.binary
        ? readFileSync(opts.binary)
        : `#!/bin/sh\n# k3s STAND-IN binary (${version} ${arch}${tag}), not k3s\necho "k3s stand-in ${version}"\n`,
      [`k3s-airgap-images-${arch}.tar.zst`]: `k3s airgap images STAND-IN (${version} ${arch}${tag}), not a tarball\n`,
    };
    const lines: string[] = [];
    for (const [name, body] of Object.entries(files)) {
      writeFileSync(path.join(dir, name), body, { mode: 0o644 });
      sums[name] = sha256(body);
    }
    // Listed as upstream lists them, though this directory holds only the .tar.zst.
    for (const ext of ['.tar', '.tar.gz', '.tar.zst']) {
      const n = `k3s-airgap-images-${arch}${ext}`;
      lines.push(`${sums[n] ?? sha256(`absent ${n}`)}  ${n}`);
    }
    lines.push(`${sums[bin]}  ${bin}`);
    writeFileSync(path.join(dir, `sha256sum-${arch}.txt`), lines.join('\n') + '\n');
  }
  copyFileSync(opts.installSh ?? INSTALL_STANDIN, path.join(dir, 'install.sh'));
  if (opts.selinuxRpm)
    writeFileSync(path.join(dir, 'k3s-selinux-1.6-1.el9.noarch.rpm'), 'k3s-selinux RPM STAND-IN, not an RPM\n');
  return { dir, sums };
}
