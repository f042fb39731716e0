/**
 * @module images/k3s-release
 * A k3s release as GitHub publishes it (github.com/k3s-io/k3s/releases/<tag>), per architecture:
 *   k3s | k3s-arm64                         the binary; amd64 has no suffix (scripts/package-cli BIN_SUFFIX)
 *   k3s-airgap-images-<arch>.tar.zst|.tar.gz|.tar   the airgap images, three compressions of one tarball
 *   sha256sum-<arch>.txt                    sha256sum lines for the binary and every images tarball
 *                                           (.github/workflows/release.yml "Combine and format sha256sum files")
 * plus `install.sh` (https://get.k3s.io, the same script as install.sh in the k3s repository; it is
 * not in any sha256sum file) and, from the separate k3s-io/k3s-selinux releases, the SELinux
 * policy RPM `k3s-selinux-<version>-<release>.<el8|el9|…>.noarch.rpm`.
 */
import path from 'node:path';
import { K3S_VERSION } from '../config/sections/bootstrap';

export const K3S_ARCHES = ['amd64', 'arm64'] as const;
export type K3sArch = (typeof K3S_ARCHES)[number];

export const INSTALL_SH = 'install.sh';

/** k3s-selinux RPMs, e.g. `k3s-selinux-1.6-1.el9.noarch.rpm`. */
export const SELINUX_RPM = /^k3s-selinux-[0-9A-Za-z._+-]+\.rpm$/;

/** The binary's release asset name. */
export function binaryAsset(arch: K3sArch): string {
  return arch === 'amd64' ? 'k3s' : `k3s-${arch}`;
}

/** The images tarball's names, in the order import prefers them (smallest first). */
export function imagesAssets(arch: K3sArch): string[] {
  return ['.tar.zst', '.tar.gz', '.tar'].map((ext) => `k3s-airgap-images-${arch}${ext}`);
}

export function sumsAsset(arch: K3sArch): string {
  return `sha256sum-${arch}.txt`;
}

export function isK3sArch(s: string): s is K3sArch {
  return (K3S_ARCHES as readonly string[]).includes(s);
}

/** The release tag in a directory name (`k3s-v1.31.4+k3s1`, `v1.31.4+k3s1`), or null. */
export function versionFromDirName(dir: string): string | null {
  const m = /v\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?\+k3s\d+/.exec(path.basename(path.resolve(dir)));
  return m && K3S_VERSION.test(m[0]) ? m[0] : null;
}

/** k3s's architecture name for `uname -m` (install.sh setup_verify_arch), or null if unsupported here. */
export function archFromUname(machine: string): K3sArch | null {
  switch (machine) {
    case 'x86_64':
    case 'amd64':
      return 'amd64';
    case 'aarch64':
    case 'arm64':
      return 'arm64';
    default:
      return null;
  }
}
