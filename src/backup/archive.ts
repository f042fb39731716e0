/**
 * @module backup/archive
 * `kickstand backup` and `kickstand restore` (docs/operating.md, "Backing up and restoring").
 *
 * Backup: a consistent online snapshot of the SQLite store taken with `VACUUM INTO` from its own
 * connection (one read transaction: the daemon keeps serving and the copy holds exactly the
 * commits made before it began; with WAL a reader never blocks the writer), plus the API token
 * and the bootstrap SSH key pair. The archive is a ustar file: `manifest.json` first (format
 * version, Kickstand version, schema version, each file's size, mode and SHA-256), then the files.
 *
 * Restore: only into an empty (or absent) state directory and an absent token file; every
 * file's SHA-256 is checked against the manifest and the database's integrity before anything is
 * written. The manifest's hashes find corruption and edits of a file; they are not a signature
 * (whoever can rewrite the archive can rewrite the manifest), so keep backups where only the
 * operator can write.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
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
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, KickstandError } from '../errors';
import { VERSION } from '../version';
import { readTar, TarFormatError, writeTar, type TarEntry } from './tar';

export const BACKUP_FORMAT = 'kickstand-backup';
export const BACKUP_VERSION = 1;
export const DB_FILE = 'kickstand.db';
/** The API token's name inside the archive (wherever `api.tokenFile` puts it). */
export const TOKEN_ENTRY = 'api-token';
/**
 * The state directory's other files a backup holds, with their modes: the bootstrap key pair, the
 * scoped API tokens (hashes) and the key that seals BMC passwords (a backup without it restores
 * passwords nobody can read). Nothing else is ever restored: an entry by any other name is refused.
 */
const STATE_FILES: Readonly<Record<string, number>> = {
  bootstrap_ed25519: 0o600,
  'bootstrap_ed25519.pub': 0o644,
  'tokens.json': 0o600,
  'secrets.key': 0o600,
};

export interface ManifestFile {
  name: string;
  size: number;
  mode: number;
  sha256: string;
}

export interface Manifest {
  format: typeof BACKUP_FORMAT;
  version: number;
  kickstand: string;
  createdAt: string;
  schemaVersion: number;
  files: ManifestFile[];
}

export interface StatePaths {
  stateDir: string;
  tokenFile: string;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function schemaVersion(db: Database.Database): number {
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/** A consistent copy of the live database (VACUUM INTO runs in one read transaction). */
function snapshotDatabase(dbPath: string): { bytes: Buffer; schemaVersion: number } {
  if (!existsSync(dbPath))
    throw new KickstandError(ErrorCode.STORE_FAILED, `no database at ${dbPath}`, {
      field: 'stateDir',
      fix: 'point --config or --state-dir at the state directory the daemon uses',
    });
  const tmp = mkdtempSync(join(dirname(dbPath), '.backup-'));
  try {
    const copy = join(tmp, DB_FILE);
    // The daemon's file, opened without running migrations: a backup never changes the store.
    const db = new Database(dbPath, { fileMustExist: true });
    try {
      db.pragma('busy_timeout = 10000');
      db.prepare('VACUUM INTO ?').run(copy);
    } finally {
      db.close();
    }
    const c = new Database(copy, { readonly: true });
    let v: number;
    try {
      v = schemaVersion(c);
    } finally {
      c.close();
    }
    return { bytes: readFileSync(copy), schemaVersion: v };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The backup archive of `paths` while the daemon may be running. */
export function createBackup(paths: StatePaths, now = new Date()): { archive: Buffer; manifest: Manifest } {
  const db = snapshotDatabase(join(paths.stateDir, DB_FILE));
  const entries: TarEntry[] = [{ name: DB_FILE, mode: 0o600, data: db.bytes }];
  if (existsSync(paths.tokenFile))
    entries.push({ name: TOKEN_ENTRY, mode: 0o600, data: readFileSync(paths.tokenFile) });
  for (const [f, mode] of Object.entries(STATE_FILES)) {
    const p = join(paths.stateDir, f);
    if (existsSync(p)) entries.push({ name: f, mode, data: readFileSync(p) });
  }
  const manifest: Manifest = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    kickstand: VERSION,
    createdAt: now.toISOString(),
    schemaVersion: db.schemaVersion,
    files: entries.map((e) => ({ name: e.name, size: e.data.length, mode: e.mode, sha256: sha256(e.data) })),
  };
  const mtime = now.getTime();
  const archive = writeTar([
    { name: 'manifest.json', mode: 0o644, data: Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), mtime },
    ...entries.map((e) => ({ ...e, mtime })),
  ]);
  return { archive, manifest };
}

/** Writes `archive` to `file` (0600: it holds the API token and a private key), atomically. */
export function writeBackupFile(file: string, archive: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, archive, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

const invalid = (file: string, message: string, fix: string): KickstandError =>
  new KickstandError(ErrorCode.BACKUP_INVALID, `${file}: ${message}`, { field: 'FILE', fix });

/** The archive's manifest and files, each checked against the manifest. Throws KS_BACKUP_INVALID. */
export function readBackup(file: string, archive: Buffer): { manifest: Manifest; files: Map<string, TarEntry> } {
  let entries: TarEntry[];
  try {
    entries = readTar(archive);
  } catch (e) {
    if (e instanceof TarFormatError)
      throw invalid(file, `not a readable backup archive: ${e.message}`, 'pass a file written by `kickstand backup`');
    throw e;
  }
  const [first, ...rest] = entries;
  if (first?.name !== 'manifest.json')
    throw invalid(file, 'manifest.json is not the first entry', 'pass a file written by `kickstand backup`');
  let manifest: Manifest;
  try {
    manifest = JSON.parse(first.data.toString('utf8')) as Manifest;
  } catch {
    throw invalid(file, 'manifest.json is not JSON', 'pass a file written by `kickstand backup`');
  }
  if (manifest.format !== BACKUP_FORMAT || !Array.isArray(manifest.files))
    throw invalid(
      file,
      'manifest.json is not a Kickstand backup manifest',
      'pass a file written by `kickstand backup`',
    );
  if (manifest.version !== BACKUP_VERSION)
    throw invalid(
      file,
      `backup format version ${String(manifest.version)} (this Kickstand reads version ${BACKUP_VERSION})`,
      `restore it with the Kickstand version that wrote it (${String(manifest.kickstand)})`,
    );
  for (const e of rest)
    if (e.name !== DB_FILE && e.name !== TOKEN_ENTRY && !Object.hasOwn(STATE_FILES, e.name))
      throw invalid(
        file,
        `${JSON.stringify(e.name)} is not a file a Kickstand backup holds`,
        'take a new backup; this one was altered',
      );
  const files = new Map(rest.map((e) => [e.name, e]));
  const listed = new Set(manifest.files.map((f) => f.name));
  for (const e of rest)
    if (!listed.has(e.name))
      throw invalid(
        file,
        `${e.name} is in the archive but not in its manifest`,
        'take a new backup; this one was altered',
      );
  for (const f of manifest.files) {
    const e = files.get(f.name);
    if (e === undefined)
      throw invalid(
        file,
        `${f.name} is listed in the manifest but missing`,
        'take a new backup; this one is incomplete',
      );
    if (sha256(e.data) !== f.sha256 || e.data.length !== f.size)
      throw invalid(
        file,
        `${f.name} does not match its SHA-256 in the manifest (tampered or corrupt)`,
        'restore from another backup; this one was altered or damaged',
      );
  }
  if (!files.has(DB_FILE))
    throw invalid(file, `no ${DB_FILE} in the archive`, 'pass a file written by `kickstand backup`');
  return { manifest, files };
}

function isEmptyDir(dir: string): boolean {
  return !existsSync(dir) || (statSync(dir).isDirectory() && readdirSync(dir).length === 0);
}

/**
 * Restores `archive` into `paths`: refuses a state directory that is not empty (or a token file
 * that exists), checks every file and the database, then writes them (dir 0700, secrets 0600).
 */
export function restoreBackup(file: string, archive: Buffer, paths: StatePaths): Manifest {
  if (!isEmptyDir(paths.stateDir))
    throw new KickstandError(ErrorCode.STATE_NOT_EMPTY, `state directory ${paths.stateDir} is not empty`, {
      field: 'stateDir',
      fix: `restore into an empty directory: stop the daemon, move ${paths.stateDir} aside (or pass --state-dir EMPTY_DIR), then run restore again`,
    });
  const { manifest, files } = readBackup(file, archive);
  if (files.has(TOKEN_ENTRY) && existsSync(paths.tokenFile))
    throw new KickstandError(ErrorCode.STATE_NOT_EMPTY, `API token file ${paths.tokenFile} exists`, {
      field: 'api.tokenFile',
      fix: `move ${paths.tokenFile} aside, then run restore again`,
    });
  mkdirSync(paths.stateDir, { recursive: true, mode: 0o700 });
  chmodSync(paths.stateDir, 0o700);
  const stage = mkdtempSync(join(paths.stateDir, '.restore-'));
  try {
    const dbTmp = join(stage, DB_FILE);
    writeFileSync(dbTmp, files.get(DB_FILE)!.data, { mode: 0o600 });
    checkDatabase(file, dbTmp);
    for (const [name, e] of files) {
      if (name === DB_FILE || name === TOKEN_ENTRY) continue;
      writeFileSync(join(stage, name), e.data, { mode: e.mode & 0o644 });
    }
    for (const name of readdirSync(stage)) renameSync(join(stage, name), join(paths.stateDir, name));
    const token = files.get(TOKEN_ENTRY);
    if (token) {
      mkdirSync(dirname(paths.tokenFile), { recursive: true, mode: 0o700 });
      writeFileSync(paths.tokenFile, token.data, { mode: 0o600, flag: 'wx' });
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return manifest;
}

function checkDatabase(file: string, path: string): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const r = db.pragma('integrity_check', { simple: true });
    if (r !== 'ok') throw new Error(String(r));
    schemaVersion(db);
  } catch (e) {
    throw invalid(file, `${DB_FILE} fails its integrity check: ${(e as Error).message}`, 'restore from another backup');
  } finally {
    db?.close();
  }
}
