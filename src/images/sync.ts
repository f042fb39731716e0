/**
 * @module images/sync
 * Fills images/ with the iPXE loaders from Debian's `ipxe` package and checks that what each
 * profile boots is present: `kickstand images sync|check` (cli/commands/images.ts).
 *
 * Debian 12 `ipxe` (dpkg -L ipxe) ships the loaders in /usr/lib/ipxe:
 *   undionly.kpxe  BIOS PXE via the NIC's UNDI (dhcp.loaders.bios default)
 *   ipxe.efi       UEFI x86_64, iPXE's own drivers (dhcp.loaders.uefi default; also /boot/ipxe.efi)
 *   snponly.efi    UEFI x86_64 via the firmware's SNP driver (for NICs iPXE has no driver for)
 * TFTP and HTTP both serve images/ as their root, so loaders go to images/<name>.
 * The Secure Boot chain (`--secure-boot`, docs/firmware.md) comes from `shim-signed` and
 * `grub-efi-amd64-signed`: shim as `shimx64.efi`, the signed network GRUB as `grubx64.efi`, the
 * name shim loads from its own directory. The arm64 chain (`--arm64 ROOT`) is the same from
 * Debian's arm64 `shim-signed` and `grub-efi-arm64-signed` (`shimaa64.efi`, `grubaa64.efi`),
 * installed on an arm64 host (ROOT `/`) or unpacked with `dpkg-deb -x` under ROOT elsewhere.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema';

export const DEBIAN_IPXE_DIR = '/usr/lib/ipxe';

/** Loaders copied by {@link syncLoaders}: the file name in images/ and in the package. */
export const IPXE_LOADERS: readonly string[] = ['undionly.kpxe', 'ipxe.efi', 'snponly.efi'];

/** The Secure Boot chain for x64: name in images/ → the file in Debian's signed packages. */
export const SECURE_BOOT_LOADERS: Readonly<Record<string, string>> = {
  'shimx64.efi': '/usr/lib/shim/shimx64.efi.signed',
  'grubx64.efi': '/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed',
};

/** The arm64 chain: name in images/ → the file in Debian's arm64 packages, under their root. */
export const SECURE_BOOT_LOADERS_ARM64: Readonly<Record<string, string>> = {
  'shimaa64.efi': '/usr/lib/shim/shimaa64.efi.signed',
  'grubaa64.efi': '/usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed',
};

export interface SyncOptions {
  /** Where the package put the loaders. Default /usr/lib/ipxe (Debian's `ipxe`). */
  sourceDir?: string;
  /** Report what would change, write nothing. */
  dryRun?: boolean;
  /** Also the Secure Boot chain: images/ name → source file (default {@link SECURE_BOOT_LOADERS}). */
  secureBoot?: boolean | Readonly<Record<string, string>>;
  /** Also the arm64 chain ({@link SECURE_BOOT_LOADERS_ARM64}) from the packages under this root. */
  arm64Root?: string;
}

export interface SyncResult {
  name: string;
  /** copied: new or changed; unchanged: same bytes already there; missing: not in sourceDir. */
  action: 'copied' | 'unchanged' | 'missing';
  source: string;
  target: string;
}

async function sha256(file: string): Promise<string | null> {
  try {
    return createHash('sha256')
      .update(await fsp.readFile(file))
      .digest('hex');
  } catch {
    return null;
  }
}

/**
 * Copies each loader into `imagesDir` when absent or different. Writes a temp file in the
 * same directory, then renames it over the target: a client never reads a half-written loader,
 * and the new inode gives a new strong ETag (http/assets/validators.ts).
 */
export async function syncLoaders(imagesDir: string, opts: SyncOptions = {}): Promise<SyncResult[]> {
  const sourceDir = opts.sourceDir ?? DEBIAN_IPXE_DIR;
  if (opts.dryRun !== true) await fsp.mkdir(imagesDir, { recursive: true });
  const out: SyncResult[] = [];
  const secure = opts.secureBoot === true ? SECURE_BOOT_LOADERS : opts.secureBoot || {};
  const pairs: Array<[string, string]> = [
    ...IPXE_LOADERS.map((n): [string, string] => [n, path.join(sourceDir, n)]),
    ...Object.entries(secure),
    ...(opts.arm64Root === undefined
      ? []
      : Object.entries(SECURE_BOOT_LOADERS_ARM64).map(([n, p]): [string, string] => [
          n,
          path.join(opts.arm64Root!, p),
        ])),
  ];
  for (const [name, source] of pairs) {
    const target = path.join(imagesDir, name);
    const want = await sha256(source);
    if (want === null) {
      out.push({ name, action: 'missing', source, target });
      continue;
    }
    if ((await sha256(target)) === want) {
      out.push({ name, action: 'unchanged', source, target });
      continue;
    }
    if (opts.dryRun !== true) {
      const tmp = path.join(imagesDir, `.${name}.${process.pid}.tmp`);
      try {
        await fsp.copyFile(source, tmp);
        await fsp.chmod(tmp, 0o644);
        await fsp.rename(tmp, target);
      } finally {
        await fsp.rm(tmp, { force: true });
      }
    }
    out.push({ name, action: 'copied', source, target });
  }
  return out;
}

export interface ImageProblem {
  severity: 'error' | 'warning';
  /** Config key at fault, e.g. `profiles.rocky9.kernel` or `dhcp.loaders.bios`. */
  field: string;
  /** The file or directory looked for, relative to imagesDir where it is local. */
  path: string;
  message: string;
  fix: string;
}

type Kind = 'file' | 'dir';

async function exists(p: string, kind: Kind): Promise<boolean> {
  try {
    const st = await fsp.stat(p);
    return kind === 'file' ? st.isFile() && st.size > 0 : st.isDirectory();
  } catch {
    return false;
  }
}

/**
 * Maps a profile asset reference to a path under imagesDir, or null when it is served by
 * someone else. Relative paths are under /images (render/context.ts assetUrl); an absolute
 * URL whose path starts with `<httpBootPath>/` is ours when its host:port is http.listen's or
 * http.publicUrl's; other URLs are external and not checked.
 */
export function localAssetPath(ref: string, config: Pick<Config, 'http' | 'dhcp'>): string | null {
  if (!/^https?:\/\//i.test(ref)) return ref.replace(/^\/+/, '');
  let url: URL;
  try {
    url = new URL(ref);
  } catch {
    return null;
  }
  const ours = new Set<string>([config.http.listen, new URL(config.http.publicUrl).host]);
  const sameServer = ours.has(url.host);
  const prefix = `${config.dhcp.httpBootPath.replace(/\/+$/, '')}/`;
  if (!sameServer || !url.pathname.startsWith(prefix)) return null;
  return decodeURIComponent(url.pathname.slice(prefix.length));
}

/** An install tree is usable when it has Anaconda's `.treeinfo` or at least `repodata/`. */
async function treeProblem(dir: string): Promise<string | null> {
  if (!(await exists(dir, 'dir'))) return 'install tree directory is missing';
  if (await exists(path.join(dir, '.treeinfo'), 'file')) return null;
  if (await exists(path.join(dir, 'repodata'), 'dir')) return null;
  return 'install tree has neither .treeinfo nor repodata/';
}

/**
 * Checks that the loaders DHCP hands out and every profile's kernel, initrd and install tree
 * are present under `config.imagesDir`. Returns problems; an empty list means ready to boot.
 * Missing x86 loaders (bios, uefi) are errors; the 32-bit/ARM ones are warnings (Debian's
 * `ipxe` package does not ship them).
 */
export async function checkProfiles(
  config: Pick<Config, 'imagesDir' | 'profiles' | 'dhcp' | 'http'>,
): Promise<ImageProblem[]> {
  const root = path.resolve(config.imagesDir);
  const problems: ImageProblem[] = [];
  for (const [key, file] of Object.entries(config.dhcp.loaders)) {
    if (await exists(path.join(root, file), 'file')) continue;
    const required = key === 'bios' || key === 'uefi';
    problems.push({
      severity: required ? 'error' : 'warning',
      field: `dhcp.loaders.${key}`,
      path: file,
      message: `loader ${file} is not in images/`,
      fix: IPXE_LOADERS.includes(file)
        ? 'run `kickstand images sync` (needs the Debian package ipxe)'
        : `build or download ${file} into images/`,
    });
  }
  // A `loader: grub` profile boots shim, which loads grubx64.efi beside it (docs/firmware.md).
  if (Object.values(config.profiles).some((p) => p.loader === 'grub'))
    for (const [field, file] of [
      ['dhcp.grubLoaders.uefi', config.dhcp.grubLoaders.uefi],
      ['dhcp.grubLoaders.uefi', 'grubx64.efi'],
    ] as const) {
      if (await exists(path.join(root, file), 'file')) continue;
      problems.push({
        severity: 'error',
        field,
        path: file,
        message: `Secure Boot loader ${file} is not in images/ (a profile has loader: grub)`,
        fix: 'run `kickstand images sync --secure-boot` (needs the Debian packages shim-signed and grub-efi-amd64-signed)',
      });
    }
  for (const [name, p] of Object.entries(config.profiles)) {
    for (const field of ['kernel', 'initrd'] as const) {
      const rel = localAssetPath(p[field], config);
      if (rel === null || (await exists(path.join(root, rel), 'file'))) continue;
      problems.push({
        severity: 'error',
        field: `profiles.${name}.${field}`,
        path: rel,
        message: `${field} ${rel} is missing or empty under images/`,
        fix: `copy the distribution's ${field === 'kernel' ? 'images/pxeboot/vmlinuz' : 'images/pxeboot/initrd.img'} to images/${rel}`,
      });
    }
    const tree = localAssetPath(p.installTree, config);
    if (tree === null) continue;
    const why = await treeProblem(path.join(root, tree));
    if (why === null) continue;
    problems.push({
      severity: 'error',
      field: `profiles.${name}.installTree`,
      path: tree,
      message: why,
      fix: `copy or loop-mount the DVD/boot ISO contents at images/${tree}`,
    });
  }
  return problems;
}
