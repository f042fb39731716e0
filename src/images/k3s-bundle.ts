/**
 * @module images/k3s-bundle
 * An imported k3s bundle under imagesDir, served read-only at /images/k3s/<version>/<arch>/:
 *   k3s                              the binary (renamed from k3s-<arch> for arm64), mode 0755
 *   k3s-airgap-images-<arch>.tar.*   the images tarball that was imported (one compression)
 *   install.sh                       the installer, run with INSTALL_K3S_SKIP_DOWNLOAD=true
 *   sha256sum-<arch>.txt             the release's checksum list, as published
 *   k3s-selinux-*.rpm                optional, kept under its published name (kickstarts install it)
 *   bundle.json                      what was imported and each file's SHA-256 (this module)
 * The bootstrapper reads bundle.json from disk and passes the hashes to the node, which checks
 * every download against them (bootstrap/k3s-fetch.ts).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { K3S_VERSION } from '../config/sections/bootstrap';
import { ErrorCode, KickstandError } from '../errors';
import { K3S_ARCHES, type K3sArch } from './k3s-release';

export const BUNDLE_MANIFEST = 'bundle.json';
/** The binary's name in a bundle, whatever the architecture. */
export const BUNDLE_BINARY = 'k3s';

const fileSchema = z.object({
  name: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z._+-]*$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().min(0),
});

const manifestSchema = z.object({
  kind: z.literal('k3s-bundle'),
  version: z.string().regex(K3S_VERSION),
  arch: z.enum(K3S_ARCHES),
  importedAt: z.string(),
  binary: fileSchema,
  images: fileSchema,
  installSh: fileSchema,
  sums: fileSchema,
  selinuxRpms: z.array(fileSchema),
});

export type BundleFile = z.infer<typeof fileSchema>;
export type K3sBundle = z.infer<typeof manifestSchema>;

/** `<imagesDir>/k3s` */
export function k3sRoot(imagesDir: string): string {
  return path.join(imagesDir, 'k3s');
}

/** `<imagesDir>/k3s/<version>/<arch>` */
export function bundleDir(imagesDir: string, version: string, arch: K3sArch): string {
  return path.join(k3sRoot(imagesDir), version, arch);
}

/** The bundle's URL under the HTTP server: `<publicUrl>/images/k3s/<version>/<arch>` (`+` as %2B). */
export function bundleUrl(publicUrl: string, version: string, arch: K3sArch): string {
  return `${publicUrl.replace(/\/+$/, '')}/images/k3s/${encodeURIComponent(version)}/${arch}`;
}

/** The manifest of `version`/`arch`, or null when it was never imported (or is unreadable). */
export async function readBundle(imagesDir: string, version: string, arch: K3sArch): Promise<K3sBundle | null> {
  let data: unknown;
  try {
    data = JSON.parse(await fsp.readFile(path.join(bundleDir(imagesDir, version, arch), BUNDLE_MANIFEST), 'utf8'));
  } catch {
    return null;
  }
  const parsed = manifestSchema.safeParse(data);
  return parsed.success && parsed.data.version === version && parsed.data.arch === arch ? parsed.data : null;
}

/** Versions with at least one imported architecture, sorted. */
export async function importedVersions(imagesDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp.readdir(k3sRoot(imagesDir));
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const v of names.filter((n) => K3S_VERSION.test(n))) {
    for (const a of K3S_ARCHES) {
      if ((await readBundle(imagesDir, v, a)) !== null) {
        out.push(v);
        break;
      }
    }
  }
  return out.sort();
}

const IMPORT_FIX =
  'run `kickstand images import k3s DIR` with the k3s release files (see docs/bootstrap.md, air-gapped k3s)';

/**
 * The bundle a node of `arch` installs: `configured` (bootstrap.k3s.version), or the only
 * imported version. Throws KS_K3S_NO_BUNDLE naming what is missing and the fix.
 */
export async function resolveBundle(imagesDir: string, configured: string | null, arch: K3sArch): Promise<K3sBundle> {
  const versions = await importedVersions(imagesDir);
  let version = configured;
  if (version === null) {
    if (versions.length === 0)
      throw new KickstandError(
        ErrorCode.K3S_NO_BUNDLE,
        `no k3s bundle imported in ${k3sRoot(imagesDir)}: run kickstand images import k3s DIR`,
        { fix: IMPORT_FIX },
      );
    if (versions.length > 1) {
      throw new KickstandError(
        ErrorCode.K3S_NO_BUNDLE,
        `several k3s versions are imported (${versions.join(', ')}) and bootstrap.k3s.version is not set`,
        {
          field: 'bootstrap.k3s.version',
          fix: `set bootstrap.k3s.version to one of ${versions.join(', ')}`,
        },
      );
    }
    version = versions[0]!;
  }
  const b = await readBundle(imagesDir, version, arch);
  if (b !== null) return b;
  if (!versions.includes(version)) {
    throw new KickstandError(
      ErrorCode.K3S_NO_BUNDLE,
      `k3s ${version} (bootstrap.k3s.version) is not imported${versions.length ? ` (imported: ${versions.join(', ')})` : ''}`,
      {
        field: 'bootstrap.k3s.version',
        fix: `${IMPORT_FIX}, or set bootstrap.k3s.version to an imported version`,
      },
    );
  }
  throw new KickstandError(
    ErrorCode.K3S_NO_BUNDLE,
    `k3s ${version} is imported without ${arch}, the node's architecture`,
    {
      fix: `run \`kickstand images import k3s DIR --version ${version}\` with the release's ${arch} files in DIR`,
    },
  );
}

/** bundle.json's text (checked against the schema readBundle applies). */
export function manifestText(b: K3sBundle): string {
  return JSON.stringify(manifestSchema.parse(b), null, 2) + '\n';
}
