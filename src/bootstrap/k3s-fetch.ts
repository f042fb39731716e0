/**
 * @module bootstrap/k3s-fetch
 * The node's half of the air-gapped k3s install (bootstrap.k3s.source: bundle): shell lines
 * that fetch an imported bundle (images/k3s-bundle.ts) from Kickstand's HTTP with curl, check
 * each file against the SHA-256 Kickstand recorded at import (passed in the script, never read
 * from the server it checks), and put it where k3s's air-gap install expects it
 * (docs.k3s.io/installation/airgap, "Manually Deploy Images" and "Install K3s"):
 *   k3s             → /usr/local/bin/k3s, 0755 (install.sh's default BIN_DIR)
 *   images tarball  → /var/lib/rancher/k3s/agent/images/<name>, 0644 (k3s imports it at start)
 *   install.sh      → <nodeStateDir>/k3s-install.sh, run as INSTALL_K3S_SKIP_DOWNLOAD=true sh …
 * A file already in place with the right hash is not fetched again (a retried step does not
 * re-download the images tarball); a download goes to a dot-file beside its target and is
 * renamed over it only once its hash is right, so a bad download never replaces a good file.
 */
import type { K3sBundle } from '../images/k3s-bundle';
import { bundleUrl } from '../images/k3s-bundle';
import { quote } from './shell';

export const NODE_K3S_BIN = '/usr/local/bin/k3s';
export const NODE_AGENT_IMAGES_DIR = '/var/lib/rancher/k3s/agent/images';

export interface FetchFile {
  name: string;
  sha256: string;
}

/** What the node fetches: the bundle's URL and the hashes recorded at import. */
export interface BundleFetch {
  url: string;
  version: string;
  arch: string;
  binary: FetchFile;
  images: FetchFile;
  installSh: FetchFile;
}

export function bundleFetch(b: K3sBundle, publicUrl: string): BundleFetch {
  const f = (x: { name: string; sha256: string }): FetchFile => ({ name: x.name, sha256: x.sha256 });
  return {
    url: bundleUrl(publicUrl, b.version, b.arch),
    version: b.version,
    arch: b.arch,
    binary: f(b.binary),
    images: f(b.images),
    installSh: f(b.installSh),
  };
}

/**
 * Shell lines (for a `set -eu` script) that fetch and check the bundle; the last line runs the
 * installer with `args` (already quoted). Exit status 3: a hash did not match.
 */
export function fetchAndInstallLines(f: BundleFetch, nodeStateDir: string, args: string): string[] {
  const installer = `${nodeStateDir}/k3s-install.sh`;
  return [
    `base=${quote(f.url)}`,
    // fetch_verified NAME DEST SHA256 MODE
    'fetch_verified() {',
    '  if [ -f "$2" ] && [ "$(sha256sum "$2" | cut -d" " -f1)" = "$3" ]; then chmod "$4" "$2"; return 0; fi',
    '  mkdir -p "$(dirname "$2")"',
    '  tmp="$(dirname "$2")/.$(basename "$2").kickstand"',
    '  rm -f "$tmp"',
    '  curl -fsS --retry 3 --connect-timeout 10 -o "$tmp" "$base/$1"',
    '  got=$(sha256sum "$tmp" | cut -d" " -f1)',
    '  if [ "$got" != "$3" ]; then rm -f "$tmp"; echo "kickstand: $base/$1 has sha256 $got, expected $3 (recorded at import): re-import the bundle" >&2; exit 3; fi',
    '  chmod "$4" "$tmp"',
    '  mv -f "$tmp" "$2"',
    '}',
    `fetch_verified ${quote(f.binary.name)} ${quote(NODE_K3S_BIN)} ${quote(f.binary.sha256)} 0755`,
    `fetch_verified ${quote(f.images.name)} ${quote(`${NODE_AGENT_IMAGES_DIR}/${f.images.name}`)} ${quote(f.images.sha256)} 0644`,
    `fetch_verified ${quote(f.installSh.name)} ${quote(installer)} ${quote(f.installSh.sha256)} 0700`,
    `INSTALL_K3S_SKIP_DOWNLOAD=true sh ${quote(installer)} ${args} </dev/null`,
  ];
}
