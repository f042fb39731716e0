/**
 * @module images/treeinfo
 * `.treeinfo` of a Red Hat-family install tree (productmd treeinfo 1.x, the INI file at the top
 * of Rocky, Alma and RHEL DVD and boot ISOs): the release, the kernel and initrd for an
 * architecture, and the `[checksums]` section (`path = sha256:HEX`) that covers them. Pure.
 */
import { ErrorCode, KickstandError } from '../errors';

export interface TreeInfo {
  /** e.g. "Rocky Linux 9.4" */
  release: string;
  arch: string;
  /** Paths inside the tree. */
  kernel: string;
  initrd: string;
  /** Path inside the tree → lower-case SHA-256 hex. */
  checksums: Map<string, string>;
}

/** INI sections → key → value (`;` and `#` start comments; keys keep their case). */
export function parseIni(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '').trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      cur = new Map();
      out.set(sec[1]!.trim(), cur);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0 && cur) cur.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

function bad(source: string, message: string): KickstandError {
  return new KickstandError(ErrorCode.BUNDLE_INCOMPLETE, `${source}: ${message}`, {
    fix: 'import a Rocky, Alma or RHEL DVD or boot ISO (or its tree) as published: it has a .treeinfo with [checksums]',
  });
}

/** The parts of `.treeinfo` an import needs; `arch` defaults to the tree's own. */
export function parseTreeInfo(text: string, source: string, arch?: string): TreeInfo {
  const ini = parseIni(text);
  const tree = ini.get('tree') ?? ini.get('general');
  const a = arch ?? tree?.get('arch');
  if (a === undefined) throw bad(source, 'no [tree] arch');
  const images = ini.get(`images-${a}`);
  const kernel = images?.get('kernel');
  const initrd = images?.get('initrd');
  if (kernel === undefined || initrd === undefined) throw bad(source, `no kernel and initrd in [images-${a}]`);
  const sums = ini.get('checksums');
  if (sums === undefined || sums.size === 0) throw bad(source, 'no [checksums] section');
  const checksums = new Map<string, string>();
  for (const [path, v] of sums) {
    const m = /^sha256:([0-9a-fA-F]{64})$/.exec(v);
    if (!m) throw bad(source, `[checksums] ${path} is not "sha256:<64 hex>"`);
    if (path.startsWith('/') || path.split('/').includes('..'))
      throw bad(source, `[checksums] ${path} leaves the tree`);
    checksums.set(path, m[1]!.toLowerCase());
  }
  for (const p of [kernel, initrd]) if (!checksums.has(p)) throw bad(source, `${p} has no checksum in [checksums]`);
  const rel = ini.get('release');
  const release =
    [rel?.get('name'), rel?.get('version')].filter((x) => x !== undefined).join(' ') ||
    (ini.get('general')?.get('name') ?? 'unknown release');
  return { release, arch: a, kernel, initrd, checksums };
}
