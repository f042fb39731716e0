/**
 * A private, throwaway PostgreSQL server for the store contract: initdb into a temp dir,
 * listening on 127.0.0.1 and a free port, stopped (and its files removed) in `stop()`.
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` user Debian's
 * package creates.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { IN_CI, missing } from './env';

export function pgBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(base, versions[0], 'bin');
}

/**
 * Why PostgreSQL tests cannot run here (undefined: they can). In CI a missing server is a
 * failure, not a skip.
 */
export function postgresSkipReason(): string | undefined {
  if (pgBinDir() !== undefined) return missing({ binaries: ['runuser'] });
  const why = 'needs the PostgreSQL server binaries (Debian postgresql); .ci/run installs them';
  if (IN_CI) throw new Error(`prerequisite missing in CI: ${why}`);
  return why;
}

function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

export class PrivatePostgres {
  port = 0;
  private dir = '';
  private readonly asRoot = process.getuid?.() === 0;

  /**
   * `netns`: run the server inside that network namespace (one the test created). `also`: an
   * address inside the namespace to listen on besides 127.0.0.1, trusted from its /24 (daemons
   * in other namespaces of the test).
   */
  constructor(
    private readonly bin: string,
    private readonly opts: { netns?: string; also?: string } = {},
  ) {}

  private run(cmd: string, args: string[]): string {
    const [file, argv] = this.asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(this.bin, cmd), ...args]]
      : [join(this.bin, cmd), args];
    const [f, a] =
      this.opts.netns !== undefined ? ['ip', ['netns', 'exec', this.opts.netns, file, ...argv]] : [file, argv];
    return execFileSync(f, a, { stdio: 'pipe', timeout: 60_000, encoding: 'utf8' });
  }

  /** Runs `sql` with psql on `database`; returns the rows, one a line, columns split by `|`. */
  psql(sql: string, database = 'postgres'): string[][] {
    const out = this.run('psql', [
      '-h',
      '127.0.0.1',
      '-p',
      String(this.port),
      '-U',
      'kickstand',
      '-d',
      database,
      '-AtX',
      '-v',
      'ON_ERROR_STOP=1',
      '-c',
      sql,
    ]);
    return out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('|'));
  }

  async start(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'ks-pg-'));
    if (this.asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(this.dir, uid, gid);
    }
    this.port = await freePort();
    const data = join(this.dir, 'data');
    this.run('initdb', ['-D', data, '-U', 'kickstand', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    if (this.opts.also !== undefined) {
      const net = this.opts.also.split('.').slice(0, 3).join('.');
      appendFileSync(join(data, 'pg_hba.conf'), `host all all ${net}.0/24 trust\n`);
    }
    this.launch();
  }

  private launch(): void {
    const data = join(this.dir, 'data');
    this.run('pg_ctl', [
      '-D',
      data,
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-t',
      '30',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=${['127.0.0.1', ...(this.opts.also !== undefined ? [this.opts.also] : [])].join(',')}`,
      'start',
    ]);
  }

  /**
   * Stops the server the way a crash or a power cut would (`-m immediate`: no shutdown
   * checkpoint, clients cut off); {@link startAgain} replays the WAL.
   */
  crash(): void {
    this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
  }

  /** Starts the server again on the same port and data (after {@link crash}). */
  startAgain(): void {
    this.launch();
  }

  connection(database = 'postgres'): { host: string; port: number; user: string; database: string } {
    return { host: '127.0.0.1', port: this.port, user: 'kickstand', database };
  }

  /** Creates an empty database `name`; returns its URL (no password: the server trusts loopback). */
  async createDatabase(name: string): Promise<string> {
    const admin = new pg.Client(this.connection());
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return `postgres://kickstand@127.0.0.1:${this.port}/${name}`;
  }

  async stop(): Promise<void> {
    if (!this.dir) return;
    try {
      this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    } catch {
      /* not running */
    }
    rmSync(this.dir, { recursive: true, force: true });
    this.dir = '';
  }
}
