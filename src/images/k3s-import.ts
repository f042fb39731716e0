/**
 * @module images/k3s-import
 * `kickstand images import k3s DIR`: verifies a k3s release directory (layout: k3s-release.ts)
 * and copies it into imagesDir as a bundle (layout: k3s-bundle.ts). Nothing in DIR is executed.
 *
 * Trust: the binary and the images tarball must match the release's own `sha256sum-<arch>.txt`
 * (a missing line is refused, not skipped). install.sh and the k3s-selinux RPMs are in no
 * sha256sum file upstream: the operator vouches for them by importing them; their SHA-256 is
 * recorded in bundle.json at import and every node checks its download against it, so a file
 * changed in imagesDir after import is refused by the node.
 *
 * Atomic: each architecture is written (hashed while copying, so the bytes checked are the bytes
 * copied) into a dot-directory beside its target — not served, dotfiles are refused by
 * http/assets/jail.ts — and renamed into place only once every architecture verified. An
 * existing version/arch is replaced only with `force`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { K3S_VERSION } from '../config/sections/bootstrap';
import { ErrorCode, KickstandError } from '../errors';
import { BUNDLE_BINARY, BUNDLE_MANIFEST, bundleDir, manifestText, type BundleFile, type K3sBundle } from './k3s-bundle';
import {
  INSTALL_SH,
  K3S_ARCHES,
  SELINUX_RPM,
  binaryAsset,
  imagesAssets,
  sumsAsset,
  versionFromDirName,
  type K3sArch,
} from './k3s-release';
import { parseSha256Sums } from './sha256sums';

export interface ImportOptions {
  /** The release tag; default: parsed from DIR's name. */
  version?: string;
  /** Architectures to import; default: every one DIR has a sha256sum-<arch>.txt for. */
  arches?: readonly K3sArch[];
  /** Replace an imported version/arch. */
  force?: boolean;
  now?: () => Date;
}

export interface ImportedArch {
  arch: K3sArch;
  dir: string;
  bundle: K3sBundle;
  replaced: boolean;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

function incomplete(message: string, fix: string): KickstandError {
  return new KickstandError(ErrorCode.BUNDLE_INCOMPLETE, message, { fix });
}

/** Copies `src` to `dst` (mode), hashing the bytes on the way; refuses a hash other than `expected`. */
async function copyHashed(
  src: string,
  dst: string,
  mode: number,
  expected: { sha256: string; listedIn: string; release: string } | null,
): Promise<BundleFile> {
  const h = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      h.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  await pipeline(createReadStream(src), tap, createWriteStream(dst, { mode, flags: 'wx' }));
  await fsp.chmod(dst, mode);
  const sha256 = h.digest('hex');
  const name = path.basename(src);
  if (expected !== null && sha256 !== expected.sha256) {
    throw new KickstandError(
      ErrorCode.CHECKSUM_MISMATCH,
      `${name}: sha256 is ${sha256}, ${expected.listedIn} lists ${expected.sha256}`,
      {
        fix: `download ${name} again from ${expected.release} (the file is changed or truncated, or belongs to another release)`,
      },
    );
  }
  return { name: path.basename(dst), sha256, size };
}

interface Plan {
  arch: K3sArch;
  sums: string;
  listed: Map<string, string>;
  binary: string;
  images: string;
}

/** What DIR must hold for `arch`; refuses a missing file or checksum line, naming it. */
async function planArch(dir: string, arch: K3sArch, release: string): Promise<Plan> {
  const sums = sumsAsset(arch);
  if (!(await isFile(path.join(dir, sums))))
    throw incomplete(`${sums} is missing from ${dir}`, `download ${sums} from ${release}`);
  const listed = parseSha256Sums(await fsp.readFile(path.join(dir, sums), 'utf8'), sums);
  const binary = binaryAsset(arch);
  if (!(await isFile(path.join(dir, binary))))
    throw incomplete(`${binary} (the ${arch} k3s binary) is missing from ${dir}`, `download ${binary} from ${release}`);
  let images: string | undefined;
  for (const n of imagesAssets(arch)) {
    if (await isFile(path.join(dir, n))) {
      images = n;
      break;
    }
  }
  if (images === undefined)
    throw incomplete(
      `no ${arch} airgap images tarball in ${dir} (${imagesAssets(arch).join(', ')})`,
      `download ${imagesAssets(arch)[0]} from ${release}`,
    );
  for (const n of [binary, images]) {
    if (!listed.has(n))
      throw incomplete(
        `${sums} has no line for ${n}`,
        `download ${sums} again from ${release}: the published list has a line for every binary and images tarball`,
      );
  }
  return { arch, sums, listed, binary, images };
}

/** Imports the k3s release in `sourceDir` into `<imagesDir>/k3s/<version>/<arch>/`. */
export async function importK3s(
  imagesDir: string,
  sourceDir: string,
  opts: ImportOptions = {},
): Promise<ImportedArch[]> {
  const dir = path.resolve(sourceDir);
  try {
    if (!(await fsp.stat(dir)).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new KickstandError(ErrorCode.INVALID_INPUT, `${dir} is not a directory`, {
      field: 'DIR',
      fix: 'give the directory holding the downloaded k3s release files',
    });
  }
  const version = opts.version ?? versionFromDirName(dir);
  if (version === null) {
    throw new KickstandError(
      ErrorCode.INVALID_INPUT,
      `the k3s version is not in the directory name ${path.basename(dir)}`,
      { field: 'version', fix: 'pass --version v1.31.4+k3s1 (the release tag), or name the directory after it' },
    );
  }
  if (!K3S_VERSION.test(version))
    throw new KickstandError(ErrorCode.INVALID_INPUT, `${version} is not a k3s release tag`, {
      field: 'version',
      fix: 'write it as GitHub tags it, e.g. v1.31.4+k3s1',
    });
  const release = `https://github.com/k3s-io/k3s/releases/tag/${encodeURIComponent(version)}`;

  let arches = opts.arches ? [...opts.arches] : [];
  if (!opts.arches) for (const a of K3S_ARCHES) if (await isFile(path.join(dir, sumsAsset(a)))) arches.push(a);
  arches = [...new Set(arches)];
  if (arches.length === 0)
    throw incomplete(
      `${dir} has no ${K3S_ARCHES.map(sumsAsset).join(' or ')}`,
      `download the release's sha256sum-<arch>.txt with its binary and images tarball from ${release}`,
    );
  if (!(await isFile(path.join(dir, INSTALL_SH))))
    throw incomplete(
      `${INSTALL_SH} is missing from ${dir}`,
      `download it with: curl -sfL https://get.k3s.io -o ${path.join(dir, INSTALL_SH)}`,
    );
  const rpms = (await fsp.readdir(dir)).filter((n) => SELINUX_RPM.test(n)).sort();

  const plans: Plan[] = [];
  for (const a of arches) plans.push(await planArch(dir, a, release));
  const existing = new Map<K3sArch, boolean>();
  for (const p of plans) {
    const target = bundleDir(imagesDir, version, p.arch);
    const there = await exists(target);
    if (there && opts.force !== true) {
      throw new KickstandError(ErrorCode.BUNDLE_EXISTS, `k3s ${version} ${p.arch} is already imported in ${target}`, {
        field: 'force',
        fix: 'pass --force to replace it',
      });
    }
    existing.set(p.arch, there);
  }

  // Directories still to remove if the import stops half-way (emptied as they are renamed into place).
  const tmps = new Set<string>();
  try {
    const staged: Array<{ arch: K3sArch; tmp: string; bundle: K3sBundle }> = [];
    for (const p of plans) {
      const target = bundleDir(imagesDir, version, p.arch);
      await fsp.mkdir(path.dirname(target), { recursive: true });
      const tmp = path.join(path.dirname(target), `.${p.arch}.import-${process.pid}-${randomBytes(4).toString('hex')}`);
      tmps.add(tmp);
      await fsp.mkdir(tmp, { mode: 0o755 });
      const listed = (n: string) => ({ sha256: p.listed.get(n)!, listedIn: p.sums, release });
      const binary = await copyHashed(path.join(dir, p.binary), path.join(tmp, BUNDLE_BINARY), 0o755, listed(p.binary));
      const images = await copyHashed(path.join(dir, p.images), path.join(tmp, p.images), 0o644, listed(p.images));
      const installSh = await copyHashed(path.join(dir, INSTALL_SH), path.join(tmp, INSTALL_SH), 0o644, null);
      const sums = await copyHashed(path.join(dir, p.sums), path.join(tmp, p.sums), 0o644, null);
      const selinuxRpms: BundleFile[] = [];
      for (const r of rpms) selinuxRpms.push(await copyHashed(path.join(dir, r), path.join(tmp, r), 0o644, null));
      const bundle: K3sBundle = {
        kind: 'k3s-bundle',
        version,
        arch: p.arch,
        importedAt: (opts.now ?? (() => new Date()))().toISOString(),
        binary,
        images,
        installSh,
        sums,
        selinuxRpms,
      };
      await fsp.writeFile(path.join(tmp, BUNDLE_MANIFEST), manifestText(bundle), { mode: 0o644 });
      staged.push({ arch: p.arch, tmp, bundle });
    }
    const out: ImportedArch[] = [];
    for (const s of staged) {
      const target = bundleDir(imagesDir, version, s.arch);
      const replaced = existing.get(s.arch) === true;
      if (replaced) {
        // rename(2) cannot replace a non-empty directory: the old one moves aside first.
        const old = `${s.tmp}.old`;
        tmps.add(old);
        await fsp.rename(target, old);
        await fsp.rename(s.tmp, target);
      } else {
        await fsp.rename(s.tmp, target);
      }
      tmps.delete(s.tmp);
      out.push({ arch: s.arch, dir: target, bundle: s.bundle, replaced });
    }
    return out;
  } finally {
    for (const t of tmps) await fsp.rm(t, { recursive: true, force: true });
  }
}
