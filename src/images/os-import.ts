/**
 * @module images/os-import
 * `kickstand images import NAME --iso FILE | --tree DIR|URL` (docs/operating.md, "Importing an
 * OS"): a Rocky, Alma or RHEL DVD or boot ISO, or its tree, becomes `imagesDir/NAME/` —
 * `vmlinuz`, `initrd.img` and (for an ISO or a DIR) `tree/`, served over HTTP as the
 * `inst.repo` — after every file `.treeinfo` lists in `[checksums]` matched its SHA-256.
 *
 * An ISO is read without root and without a loop mount: `xorriso -osirrox` (Debian's
 * `xorriso`) copies its files out as the calling user. Everything is staged in
 * `imagesDir/.import-NAME-*` and moved into place only once verified, so a refused import
 * leaves the previous one untouched. A URL tree stays where it is: its `.treeinfo`, kernel and
 * initrd are fetched and checked, and the profile's `installTree` is that URL.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, KickstandError } from '../errors';
import { parseTreeInfo, type TreeInfo } from './treeinfo';

export type ImportSource = { iso: string } | { tree: string };

export type ImportProgress =
  | { phase: 'extract'; file: string }
  | { phase: 'verify'; file: string; done: number; total: number; bytesDone: number; bytesTotal: number }
  | { phase: 'install'; dir: string };

export interface OsImportResult {
  name: string;
  release: string;
  arch: string;
  dir: string;
  kernel: string;
  initrd: string;
  /** `profiles.NAME.installTree`: `NAME/tree` (served from imagesDir) or the URL. */
  installTree: string;
  verified: number;
  replaced: boolean;
}

const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

function mismatch(file: string, expected: string, actual: string): KickstandError {
  return new KickstandError(
    ErrorCode.CHECKSUM_MISMATCH,
    `${file}: SHA-256 ${actual} does not match .treeinfo (${expected}); the tree is damaged or was altered`,
    { fix: 'download the ISO again and check it against the vendor’s CHECKSUM file; nothing was imported' },
  );
}

function sha256Stream(file: string, onBytes: (n: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('error', reject)
      .on('data', (c: Buffer | string) => {
        h.update(c);
        onBytes(c.length);
      })
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** Checks every `[checksums]` entry of a local tree; throws naming the first file that differs or is missing. */
async function verifyTree(root: string, info: TreeInfo, progress: (p: ImportProgress) => void): Promise<number> {
  const entries = [...info.checksums];
  const sizes = entries.map(([p]) => {
    const f = join(root, p);
    if (!existsSync(f))
      throw new KickstandError(ErrorCode.BUNDLE_INCOMPLETE, `${p}: listed in .treeinfo [checksums] but missing`, {
        fix: 'import the complete ISO or tree; nothing was imported',
      });
    return statSync(f).size;
  });
  const bytesTotal = sizes.reduce((a, b) => a + b, 0);
  let bytesDone = 0;
  for (let i = 0; i < entries.length; i += 1) {
    const [p, want] = entries[i]!;
    const got = await sha256Stream(join(root, p), (n) => {
      bytesDone += n;
      progress({ phase: 'verify', file: p, done: i, total: entries.length, bytesDone, bytesTotal });
    });
    if (got !== want) throw mismatch(p, want, got);
    progress({ phase: 'verify', file: p, done: i + 1, total: entries.length, bytesDone, bytesTotal });
  }
  return entries.length;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    p.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new KickstandError(ErrorCode.UNAVAILABLE, `cannot run ${cmd}: ${e.code ?? e.message}`, {
          fix: 'install Debian’s xorriso package (apt-get install xorriso) to read ISOs without root',
        }),
      ),
    );
    p.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new KickstandError(
              ErrorCode.BUNDLE_INCOMPLETE,
              `${cmd} failed (exit ${code}): ${err.trim().split('\n').pop() ?? ''}`,
              {
                fix: 'check that the file is an ISO 9660 image (file FILE) and that it is complete',
              },
            ),
          ),
    );
  });
}

/** ISO files come out read-only (their Rock Ridge modes); make the staged tree ours to move and replace. */
function makeWritable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) makeWritable(p);
    else if (e.isFile()) chmodSync(p, 0o644);
  }
}

async function fetchBytes(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (!res.ok)
    throw new KickstandError(ErrorCode.UNAVAILABLE, `GET ${url}: HTTP ${res.status}`, {
      fix: 'check the tree URL: it must be the directory holding .treeinfo',
    });
  return Buffer.from(await res.arrayBuffer());
}

/** Imports `source` as `imagesDir/NAME/`. */
export async function importOs(
  imagesDir: string,
  name: string,
  source: ImportSource,
  opts: { arch?: string; progress?: (p: ImportProgress) => void } = {},
): Promise<OsImportResult> {
  if (!NAME.test(name))
    throw new KickstandError(ErrorCode.INVALID_INPUT, `${JSON.stringify(name)} is not an image name`, {
      field: 'NAME',
      fix: 'use lower-case letters, digits, . _ - (it becomes the profile name and imagesDir/NAME), e.g. rocky9',
    });
  const progress = opts.progress ?? (() => undefined);
  mkdirSync(imagesDir, { recursive: true });
  const stage = mkdtempSync(join(imagesDir, `.import-${name}-`));
  try {
    let info: TreeInfo;
    let verified: number;
    let installTree: string;
    const url = 'tree' in source && /^https?:\/\//.test(source.tree) ? source.tree.replace(/\/+$/, '') : undefined;
    if (url !== undefined) {
      info = parseTreeInfo((await fetchBytes(`${url}/.treeinfo`)).toString('utf8'), `${url}/.treeinfo`, opts.arch);
      verified = 0;
      for (const [p, out] of [
        [info.kernel, 'vmlinuz'],
        [info.initrd, 'initrd.img'],
      ] as const) {
        const body = await fetchBytes(`${url}/${p}`);
        const got = createHash('sha256').update(body).digest('hex');
        if (got !== info.checksums.get(p)) throw mismatch(p, info.checksums.get(p)!, got);
        writeFileSync(join(stage, out), body);
        verified += 1;
        progress({ phase: 'verify', file: p, done: verified, total: 2, bytesDone: 0, bytesTotal: 0 });
      }
      installTree = url;
    } else {
      const tree = join(stage, 'tree');
      if ('iso' in source) {
        if (!existsSync(source.iso))
          throw new KickstandError(ErrorCode.INVALID_INPUT, `no such file ${source.iso}`, {
            field: '--iso',
            fix: 'pass the path of the ISO',
          });
        progress({ phase: 'extract', file: source.iso });
        await run('xorriso', ['-osirrox', 'on', '-indev', source.iso, '-extract', '/', tree]);
        makeWritable(tree);
      } else {
        if (!existsSync(join(source.tree, '.treeinfo')))
          throw new KickstandError(ErrorCode.INVALID_INPUT, `${source.tree} has no .treeinfo`, {
            field: '--tree',
            fix: 'pass the directory at the top of the install tree (where .treeinfo is), or its URL',
          });
        progress({ phase: 'extract', file: source.tree });
        cpSync(source.tree, tree, { recursive: true });
      }
      const ti = join(tree, '.treeinfo');
      if (!existsSync(ti))
        throw new KickstandError(
          ErrorCode.BUNDLE_INCOMPLETE,
          `${'iso' in source ? source.iso : source.tree}: no .treeinfo at the top`,
          {
            fix: 'import a Rocky, Alma or RHEL DVD or boot ISO as published',
          },
        );
      info = parseTreeInfo(readFileSync(ti, 'utf8'), '.treeinfo', opts.arch);
      verified = await verifyTree(tree, info, progress);
      copyFileSync(join(tree, info.kernel), join(stage, 'vmlinuz'));
      copyFileSync(join(tree, info.initrd), join(stage, 'initrd.img'));
      installTree = `${name}/tree`;
    }
    const dir = join(imagesDir, name);
    progress({ phase: 'install', dir });
    const replaced = existsSync(dir);
    if (replaced) {
      const old = join(stage, '..', `.old-${name}-${process.pid}`);
      renameSync(dir, old);
      renameSync(stage, dir);
      rmSync(old, { recursive: true, force: true });
    } else renameSync(stage, dir);
    chmodSync(dir, 0o755);
    return {
      name,
      release: info.release,
      arch: info.arch,
      dir,
      kernel: `${name}/vmlinuz`,
      initrd: `${name}/initrd.img`,
      installTree,
      verified,
      replaced,
    };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
