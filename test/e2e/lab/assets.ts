/**
 * @module test/e2e/lab/assets
 * The lab's boot assets, laid out as Kickstand's imagesDir:
 *   undionly.kpxe, ipxe.efi, snponly.efi   iPXE loaders from Debian's ipxe package (TFTP)
 *   lab/vmlinuz                            the Debian kernel (linux-image-amd64)
 *   lab/initrd.img                         the installer STAND-IN built here (not anaconda)
 *   lab/tree/…, lab/tree/MANIFEST.sha256   a small install tree with sha256 sums
 *   shimaa64.efi, grubaa64.efi, lab/arm64/… the firmware lab's arm64 chain, kernel and stand-in
 * and the kickstart template (kickstarts/lab.ks.hbs). The journey lab's tree is the Debian
 * root filesystem image instead (lab/tree/images/rootfs.tar.zst, rootfs.ts), and its stand-in
 * initrd also carries the disk drivers and the host's partitioning and filesystem tools.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SECURE_BOOT_LOADERS_ARM64 } from '../../../src/images/sync';
import type { Rootfs } from './rootfs';

/** The repository root (the lab also runs from dist/, where the shell and template files are not copied). */
export const REPO_ROOT = ((): string => {
  let d = __dirname;
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return resolve(d);
})();
export const LAB_DIR = join(REPO_ROOT, 'test', 'e2e', 'lab');

export interface LabAssets {
  imagesDir: string;
  kickstartsDir: string;
  kernelVersion: string;
  /** Paths relative to imagesDir. */
  kernel: string;
  initrd: string;
  tree: string;
  treeFiles: Array<{ path: string; size: number; sha256: string }>;
  initrdBytes: number;
  /** The firmware lab's arm64 chain (prepareArm64), when a machine boots it. */
  arm64?: Arm64Assets;
}

/**
 * The arm64 machine's files (docs/firmware.md "ARM64"), from Debian's arm64 packages unpacked
 * by fetch-arm64-packages.sh (cached): Microsoft-signed shimaa64, Debian's signed network GRUB
 * as grubaa64.efi, the arm64 kernel, and the installer STAND-IN built from arm64 busybox, curl
 * and ssh-keygen (not anaconda). Paths relative to imagesDir.
 */
export interface Arm64Assets {
  kernelVersion: string;
  kernel: string;
  initrd: string;
  initrdBytes: number;
}

/**
 * The Secure Boot chain (firmware lab): Microsoft-signed shim, and Debian's signed network GRUB
 * under the name shim loads from its own directory (docs/firmware.md "Secure Boot").
 */
export const SECURE_BOOT_LOADERS: Array<[string, string[]]> = [
  ['shimx64.efi', ['/usr/lib/shim/shimx64.efi.signed']],
  ['grubx64.efi', ['/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed']],
];

const LOADERS: Array<[string, string[]]> = [
  ['undionly.kpxe', ['/usr/lib/ipxe/undionly.kpxe']],
  ['ipxe.efi', ['/usr/lib/ipxe/ipxe.efi', '/boot/ipxe.efi']],
  ['snponly.efi', ['/usr/lib/ipxe/snponly.efi']],
];

/** Files of the install tree: path and size (random content, new each run). */
const TREE: Array<[string, number]> = [
  ['repodata/repomd.xml', 0],
  ['Packages/kickstand-lab-base-1.0-1.x86_64.rpm', 1_572_864 + 7],
  ['images/install.img', 786_432 + 3],
];

function copyFirst(dest: string, candidates: string[]): void {
  for (const c of candidates) {
    try {
      copyFileSync(c, dest);
      return;
    } catch {
      /* try the next */
    }
  }
  throw new Error(`none of ${candidates.join(', ')} exists (apt-get install ipxe shim-signed grub-efi-amd64-signed)`);
}

function buildTree(treeDir: string): LabAssets['treeFiles'] {
  const files: LabAssets['treeFiles'] = [];
  for (const [rel, size] of TREE) {
    const body =
      size === 0
        ? Buffer.from(
            `<?xml version="1.0"?>\n<repomd><revision>${Date.now()}</revision><!-- Kickstand lab install tree (not a real repository) --></repomd>\n`,
          )
        : randomBytes(size);
    const p = join(treeDir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, body);
    files.push({ path: rel, size: body.length, sha256: createHash('sha256').update(body).digest('hex') });
  }
  writeFileSync(join(treeDir, 'MANIFEST.sha256'), files.map((f) => `${f.sha256}  ${f.path}\n`).join(''));
  return files;
}

/** NIC drivers of every lab initrd (the BIOS machines' e1000, the UEFI machines' virtio-net). */
const NIC_MODULES = ['e1000', 'virtio_net', 'virtio_pci'];
/**
 * The journey initrd also writes a disk: virtio-blk, ext4 (crc32c is only its soft dependency,
 * absent from modules.dep), FAT for the ESP (the Debian kernel's default codepage 437 and iocharset ascii).
 */
const DISK_MODULES = ['virtio_blk', 'crc32c_generic', 'ext4', 'vfat', 'nls_cp437', 'nls_ascii'];
/** The host's tools the image-writing stand-in runs (GNU tar keeps numeric owners and modes). */
export const DISK_TOOLS = ['sfdisk', 'mkfs.ext4', 'mkfs.vfat', 'zstd', 'tar'];

/** The journey tree: the rootfs image, hard-linked from the cache (copied across filesystems). */
function rootfsTree(treeDir: string, rootfs: Rootfs): LabAssets['treeFiles'] {
  const rel = 'images/rootfs.tar.zst';
  const p = join(treeDir, rel);
  mkdirSync(dirname(p), { recursive: true });
  try {
    linkSync(rootfs.path, p);
  } catch {
    copyFileSync(rootfs.path, p);
  }
  writeFileSync(join(treeDir, 'MANIFEST.sha256'), `${rootfs.sha256}  ${rel}\n`);
  return [{ path: rel, size: rootfs.bytes, sha256: rootfs.sha256 }];
}

/**
 * Builds everything under `workDir` (images/, kickstarts/). Takes a few seconds (initrd).
 * With `rootfs` (the journey lab) the install tree is that image and the stand-in writes disks.
 */
export function prepareAssets(
  workDir: string,
  kernelVersion: string,
  rootfs?: Rootfs,
  secureBoot = false,
  arm64Cache?: string,
): LabAssets {
  const imagesDir = join(workDir, 'images');
  const kickstartsDir = join(workDir, 'kickstarts');
  mkdirSync(join(imagesDir, 'lab', 'tree'), { recursive: true });
  mkdirSync(kickstartsDir, { recursive: true });
  for (const [name, from] of [...LOADERS, ...(secureBoot ? SECURE_BOOT_LOADERS : [])])
    copyFirst(join(imagesDir, name), from);
  copyFileSync(`/boot/vmlinuz-${kernelVersion}`, join(imagesDir, 'lab', 'vmlinuz'));
  const initrd = join(imagesDir, 'lab', 'initrd.img');
  buildStandin(initrd, kernelVersion, [...NIC_MODULES, ...(rootfs ? DISK_MODULES : [])], {
    STANDIN_TOOLS: rootfs ? DISK_TOOLS.join(' ') : '',
  });
  const treeFiles = rootfs
    ? rootfsTree(join(imagesDir, 'lab', 'tree'), rootfs)
    : buildTree(join(imagesDir, 'lab', 'tree'));
  writeFileSync(join(kickstartsDir, 'lab.ks.hbs'), readFileSync(join(LAB_DIR, 'lab.ks.hbs')));
  return {
    imagesDir,
    kickstartsDir,
    kernelVersion,
    kernel: 'lab/vmlinuz',
    initrd: 'lab/initrd.img',
    tree: 'lab/tree',
    treeFiles,
    initrdBytes: statSync(initrd).size,
    ...(arm64Cache ? { arm64: prepareArm64(imagesDir, arm64Cache) } : {}),
  };
}

/** build-installer-standin.sh OUT KVER MODULE… with extra environment. */
function buildStandin(out: string, kver: string, modules: string[], env: NodeJS.ProcessEnv): void {
  execFileSync('bash', [join(LAB_DIR, 'build-installer-standin.sh'), out, kver, ...modules], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
    env: { ...process.env, ...env },
  });
}

/**
 * Fetches (first run: about 60 MiB from Debian's mirror, kept in `cacheDir`) and lays out the
 * arm64 chain.
 */
function prepareArm64(imagesDir: string, cacheDir: string): Arm64Assets {
  const root = execFileSync('bash', [join(LAB_DIR, 'fetch-arm64-packages.sh'), cacheDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 600_000,
  })
    .toString()
    .trim()
    .split('\n')
    .pop()!;
  const kernelVersion = root.slice(root.lastIndexOf('/root-') + '/root-'.length);
  // the files `kickstand images sync --arm64 ROOT` copies
  for (const [name, from] of Object.entries(SECURE_BOOT_LOADERS_ARM64))
    copyFirst(join(imagesDir, name), [join(root, from)]);
  mkdirSync(join(imagesDir, 'lab', 'arm64'), { recursive: true });
  copyFileSync(join(root, 'boot', `vmlinuz-${kernelVersion}`), join(imagesDir, 'lab', 'arm64', 'vmlinuz'));
  const initrd = join(imagesDir, 'lab', 'arm64', 'initrd.img');
  buildStandin(initrd, kernelVersion, ['virtio_net', 'virtio_pci'], { STANDIN_SYSROOT: root });
  return {
    kernelVersion,
    kernel: 'lab/arm64/vmlinuz',
    initrd: 'lab/arm64/initrd.img',
    initrdBytes: statSync(initrd).size,
  };
}
