/**
 * @module bootstrap/preflight
 * The first step of every bootstrap: what the node is (its /etc/os-release, kernel, CPU, user)
 * and which of the commands the later steps run it has. A node that lacks one fails here, before
 * anything changes, with an error that names the missing command, the package that provides it
 * on the node's OS family, and the kickstart line that installs it (kickstarts/rocky9.ks.hbs
 * ships with every one of them in %packages; docs/bootstrap.md "Preflight").
 */
import { ErrorCode, KickstandError } from '../errors';

/** Prints `key=value` facts; os-release is read in a subshell (its variables stay there). */
export const PREFLIGHT_SCRIPT = `set -u
echo "kernel=$(uname -sr)"
echo "arch=$(uname -m)"
echo "uid=$(id -u)"
( if [ -r /etc/os-release ]; then . /etc/os-release; elif [ -r /usr/lib/os-release ]; then . /usr/lib/os-release; fi
  echo "os_id=\${ID:-unknown}"; echo "os_like=\${ID_LIKE:-}"; echo "os_version=\${VERSION_ID:-}"
  echo "os_name=\${PRETTY_NAME:-\${NAME:-unknown}}" )
for b in wg wireguard-go ip flock curl sha256sum; do
  if command -v "$b" >/dev/null 2>&1; then echo "has_$(echo "$b" | tr - _)=1"; else echo "has_$(echo "$b" | tr - _)=0"; fi
done
`;

/** A command the bootstrap runs on the node, and its package per OS family. */
interface Tool {
  bin: string;
  /** Why the bootstrap needs it. */
  for: string;
  el: string;
  debian: string;
}

const TOOLS: Record<string, Tool> = {
  wg: { bin: 'wg', for: 'the WireGuard mesh', el: 'wireguard-tools', debian: 'wireguard-tools' },
  ip: { bin: 'ip', for: 'the WireGuard mesh', el: 'iproute', debian: 'iproute2' },
  curl: { bin: 'curl', for: 'fetching the k3s bundle', el: 'curl', debian: 'curl' },
  sha256sum: { bin: 'sha256sum', for: 'checking the k3s bundle', el: 'coreutils', debian: 'coreutils' },
};

export type OsFamily = 'el' | 'debian' | 'other';

/** The node's OS family from os-release ID and ID_LIKE (os-release(5)). */
export function osFamily(facts: Readonly<Record<string, string>>): OsFamily {
  const ids = `${facts.os_id ?? ''} ${facts.os_like ?? ''}`.toLowerCase().split(/\s+/);
  if (ids.some((i) => ['rhel', 'fedora', 'centos', 'rocky', 'almalinux'].includes(i))) return 'el';
  if (ids.some((i) => ['debian', 'ubuntu'].includes(i))) return 'debian';
  return 'other';
}

/**
 * The error for the commands in `need` the node lacks (has_<bin>=0), or undefined when it has
 * them all: what is missing and why, and the line that fixes it for the node's OS.
 */
export function missingTools(
  facts: Readonly<Record<string, string>>,
  need: readonly string[],
): KickstandError | undefined {
  const missing = need.map((n) => TOOLS[n]!).filter((t) => facts[`has_${t.bin}`] !== '1');
  if (missing.length === 0) return undefined;
  const family = osFamily(facts);
  const os = facts.os_name ?? facts.os_id ?? 'the node';
  const what = missing.map((t) => `${t.bin} (${t.for})`).join(', ');
  const pkgs = [...new Set(missing.map((t) => (family === 'debian' ? t.debian : t.el)))];
  const fix =
    family === 'debian'
      ? `install ${pkgs.join(' ')} in the node's image (apt-get install ${pkgs.join(' ')}), then kickstand host bootstrap NAME`
      : family === 'el'
        ? `add to the kickstart's %packages section the lines: ${pkgs.join(', ')} (kickstarts/rocky9.ks.hbs has them), then reimage the host; or dnf install ${pkgs.join(' ')} on it and kickstand host bootstrap NAME`
        : `install the packages that provide ${missing.map((t) => t.bin).join(', ')} (on EL: ${[...new Set(missing.map((t) => t.el))].join(' ')}), then kickstand host bootstrap NAME`;
  return new KickstandError(ErrorCode.BOOTSTRAP_FAILED, `${os} lacks ${what}`, { fix });
}
